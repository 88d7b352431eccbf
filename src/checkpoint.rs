//! Run directories and checkpoints. Every file is written under a temporary name and then
//! renamed, and `state.json` is renamed last, so an interrupted save leaves the previous
//! checkpoint readable.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use burn::module::Module;
use burn::optim::Optimizer;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::metrics::EpisodeMetrics;

pub const CONFIG_FILE: &str = "config.json";
pub const MODEL_FILE: &str = "model.mpk";
pub const OPTIMIZER_FILE: &str = "optimizer.mpk";
pub const STATE_FILE: &str = "state.json";
pub const METRICS_FILE: &str = "metrics.jsonl";

type ByteRecorder = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// Where a run lives: `<out>/<model>/<run-name>/`.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

/// Progress of a run, written with every checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Name of the model on the command line.
    pub model: String,
    /// Version of plastic-zoo that wrote the checkpoint.
    pub crate_version: String,
    /// Episodes completed.
    pub episode: usize,
    /// The episode generator, exactly where it stopped.
    pub rng: ChaCha8Rng,
    /// Metrics of the last completed episode.
    pub last_metrics: Option<EpisodeMetrics>,
}

impl RunDir {
    /// Creates a fresh run directory; refuses to reuse one that already holds a checkpoint.
    /// `resumable`: whether the model's runs can be continued with `--resume`.
    pub fn create(
        out: &Path,
        model: &str,
        run_name: &str,
        resumable: bool,
    ) -> anyhow::Result<Self> {
        if run_name.is_empty()
            || run_name.contains(['/', '\\'])
            || run_name == "."
            || run_name == ".."
        {
            bail!("run name '{run_name}' must be a plain, non-empty directory name");
        }
        let path = out.join(model).join(run_name);
        if path.join(STATE_FILE).exists() || path.join(CONFIG_FILE).exists() {
            let shown = path.display();
            if resumable {
                bail!("run directory {shown} already holds a run: continue it with --resume {shown} or choose another --run-name");
            }
            bail!("run directory {shown} already holds a run: choose another --run-name (or --seed), or remove it");
        }
        fs::create_dir_all(&path)
            .with_context(|| format!("cannot create run directory {}", path.display()))?;
        Ok(Self { path })
    }

    /// Opens an existing run directory for `eval` or `--resume`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if !path.is_dir() {
            bail!("run directory {} does not exist", path.display());
        }
        for file in [CONFIG_FILE, STATE_FILE, MODEL_FILE] {
            if !path.join(file).is_file() {
                bail!("{} is not a checkpoint: {file} is missing", path.display());
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        write_atomically(&self.file(name), text.as_bytes())
    }

    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> anyhow::Result<T> {
        let path = self.file(name);
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is corrupt or of another kind", path.display()))
    }

    /// The model name and progress recorded in `state.json`, checked against `model`.
    pub fn read_state(&self, model: &str) -> anyhow::Result<RunState> {
        let state: RunState = self.read_json(STATE_FILE)?;
        if state.model != model {
            bail!(
                "{} holds a '{}' checkpoint, not a '{model}' one",
                self.path.display(),
                state.model
            );
        }
        Ok(state)
    }

    /// Saves model, optimizer and state, each atomically, the state last.
    pub fn save_checkpoint<B, M, O>(
        &self,
        model: &M,
        optim: &O,
        state: &RunState,
    ) -> anyhow::Result<()>
    where
        B: AutodiffBackend,
        M: burn::module::AutodiffModule<B>,
        O: Optimizer<M, B>,
    {
        let optim_bytes = Recorder::<B>::record(&ByteRecorder::default(), optim.to_record(), ())
            .context("cannot serialise the optimizer")?;
        write_atomically(&self.file(OPTIMIZER_FILE), &optim_bytes)?;
        self.save_model(model, state)
    }

    /// Saves a model that no optimizer trains (local learning rules) and the state, the
    /// state last.
    pub fn save_model<B: Backend, M: Module<B>>(
        &self,
        model: &M,
        state: &RunState,
    ) -> anyhow::Result<()> {
        let model_bytes =
            Recorder::<B>::record(&ByteRecorder::default(), model.clone().into_record(), ())
                .context("cannot serialise the model")?;
        write_atomically(&self.file(MODEL_FILE), &model_bytes)?;
        self.write_json(STATE_FILE, state)
    }

    /// Loads the model record into `model` (which fixes the expected structure).
    pub fn load_model<B: Backend, M: Module<B>>(
        &self,
        model: M,
        device: &B::Device,
    ) -> anyhow::Result<M> {
        let record = self.load_record::<B, M::Record>(MODEL_FILE, device)?;
        Ok(model.load_record(record))
    }

    /// Loads the optimizer state saved beside the model.
    pub fn load_optimizer<B, M, O>(&self, optim: O, device: &B::Device) -> anyhow::Result<O>
    where
        B: AutodiffBackend,
        M: burn::module::AutodiffModule<B>,
        O: Optimizer<M, B>,
    {
        let record = self.load_record::<B, O::Record>(OPTIMIZER_FILE, device)?;
        Ok(optim.load_record(record))
    }

    fn load_record<B: Backend, R: burn::record::Record<B>>(
        &self,
        name: &str,
        device: &B::Device,
    ) -> anyhow::Result<R> {
        let path = self.file(name);
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Recorder::<B>::load(&ByteRecorder::default(), bytes, device)
            .map_err(|e| anyhow::anyhow!("{} is truncated or corrupt ({e})", path.display()))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut file =
        fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}
