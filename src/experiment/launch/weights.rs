//! Weights in and out. `export` writes the network a checkpoint holds as safetensors
//! (Burn's `burn-store`), its tensors named by their field paths in the model's module
//! (`w`, `alpha`, `lstm.input_gate.weight`, …), with the run's configuration, step and
//! learner state in the file's metadata. `import` reads such a file, or a PyTorch file of
//! tensors with the same names, into a new run directory whose checkpoint `eval` scores.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn_store::{ApplyResult, ModuleSnapshot, PytorchStore, SafetensorsStore};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resolve;
use crate::backend::{self, BackendChoice, BackendJob};
use crate::checkpoint::{module_bytes, Checkpoint, RunDir, RunState, CONFIG_FILE, MODEL_FILE};
use crate::experiment::{saved_network, Experiment};

/// Metadata keys of an exported file.
const MODEL_KEY: &str = "plastic-zoo.model";
const CONFIG_KEY: &str = "plastic-zoo.config";
const STEP_KEY: &str = "plastic-zoo.step";
const LEARNER_KEY: &str = "plastic-zoo.learner";
const VERSION_KEY: &str = "plastic-zoo.version";

/// Written into a run directory made by `import`: where its weights came from. Such a run
/// is evaluated, not resumed (it has no optimizer state or metrics history).
pub const IMPORTED_FILE: &str = "imported.json";

/// A file format for weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// safetensors, read and written.
    Safetensors,
    /// PyTorch's `torch.save` of a dict of tensors (a state dict), read only.
    Pytorch,
}

impl WeightsFormat {
    pub const NAMES: [&'static str; 2] = ["safetensors", "pytorch"];

    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::Pytorch => "pytorch",
        }
    }

    /// The format a file's extension names: `.safetensors`, or `.pt`/`.pth`/`.bin`.
    pub fn of_path(path: &Path) -> anyhow::Result<Self> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match extension {
            "safetensors" => Ok(Self::Safetensors),
            "pt" | "pth" | "bin" => Ok(Self::Pytorch),
            _ => bail!(
                "cannot tell the format of {} from its extension: name it .safetensors or .pt, or give --format ({})",
                path.display(),
                Self::NAMES.join(", ")
            ),
        }
    }
}

impl std::str::FromStr for WeightsFormat {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "safetensors" => Ok(Self::Safetensors),
            "pytorch" => Ok(Self::Pytorch),
            _ => Err(format!(
                "unknown format '{name}' (known: {})",
                Self::NAMES.join(", ")
            )),
        }
    }
}

/// One tensor of a network: its name in the file, shape and element type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: String,
}

/// What `export` or `import` did.
#[derive(Debug, Clone, Serialize)]
pub struct WeightsReport {
    pub model: String,
    /// The file written or read.
    pub file: PathBuf,
    /// The run directory read or made.
    pub run: PathBuf,
    pub step: usize,
    pub tensors: Vec<TensorInfo>,
}

impl WeightsReport {
    /// What people read: one line, then one per tensor.
    pub fn text(&self, verb: &str) -> String {
        let mut text = format!(
            "{verb} {} tensors of {} (step {}): {}",
            self.tensors.len(),
            self.model,
            self.step,
            self.file.display()
        );
        for tensor in &self.tensors {
            text.push_str(&format!(
                "\n  {:<32} {:?} {}",
                tensor.name, tensor.shape, tensor.dtype
            ));
        }
        text
    }
}

/// The tensors of `network`, as they are named in a file.
pub fn tensors_of<B: Backend, M: Module<B>>(network: &M) -> Vec<TensorInfo> {
    network
        .collect(None, None, true)
        .iter()
        .map(|snapshot| TensorInfo {
            name: snapshot.full_path(),
            shape: snapshot.shape.to_vec(),
            dtype: format!("{:?}", snapshot.dtype),
        })
        .collect()
}

/// `export DIR --output FILE`: the network of `checkpoint` as safetensors.
pub fn export<E: Experiment>(
    checkpoint: &Checkpoint,
    file: &Path,
    backend: BackendChoice,
) -> anyhow::Result<WeightsReport> {
    let run: E::Run = checkpoint.config()?;
    E::validate(&run).with_context(|| {
        format!(
            "{} holds an invalid configuration",
            checkpoint.dir.display()
        )
    })?;
    if file.exists() {
        bail!(
            "{} already exists: choose another --output or remove it",
            file.display()
        );
    }
    backend::run_on(
        backend,
        ExportJob::<E> {
            run: &run,
            checkpoint,
            file,
        },
    )?
}

struct ExportJob<'a, E: Experiment> {
    run: &'a E::Run,
    checkpoint: &'a Checkpoint,
    file: &'a Path,
}

impl<E: Experiment> BackendJob for ExportJob<'_, E> {
    type Output = anyhow::Result<WeightsReport>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let checkpoint = self.checkpoint;
        let network = saved_network::<E, B::InnerBackend>(self.run, checkpoint, &device)?;
        let mut store = SafetensorsStore::from_file(self.file)
            .metadata(MODEL_KEY, E::NAME)
            .metadata(CONFIG_KEY, checkpoint.config_value()?.to_string())
            .metadata(STEP_KEY, checkpoint.step().to_string())
            .metadata(LEARNER_KEY, checkpoint.state.learner.to_string())
            .metadata(VERSION_KEY, env!("CARGO_PKG_VERSION"));
        network
            .save_into(&mut store)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.file.display()))?;
        let run = checkpoint
            .dir
            .parent()
            .unwrap_or(&checkpoint.dir)
            .to_path_buf();
        Ok(WeightsReport {
            model: E::NAME.to_string(),
            file: self.file.to_path_buf(),
            run,
            step: checkpoint.step(),
            tensors: tensors_of(&network),
        })
    }
}

/// What `import` is asked to do, in plain values.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub file: PathBuf,
    /// `None`: from the file's extension.
    pub format: Option<WeightsFormat>,
    /// The preset the run starts from (`None`: the configuration in the file, or the
    /// model's default preset).
    pub preset: Option<String>,
    /// A JSON file laid over the preset (a run's `config.json` is one).
    pub config_file: Option<PathBuf>,
    pub out: PathBuf,
    pub run_name: Option<String>,
}

/// What a file made by `export` says about the run it came from.
#[derive(Debug, Default)]
struct ExportedRun {
    model: Option<String>,
    config: Option<Value>,
    step: usize,
    learner: Value,
}

fn exported_run(file: &Path) -> anyhow::Result<ExportedRun> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a safetensors file ({e:?})", file.display()))?;
    let empty = HashMap::new();
    let map = metadata.metadata().as_ref().unwrap_or(&empty);
    let json = |key: &str| -> anyhow::Result<Option<Value>> {
        map.get(key)
            .map(|text| {
                serde_json::from_str(text)
                    .with_context(|| format!("{} holds unreadable {key}", file.display()))
            })
            .transpose()
    };
    Ok(ExportedRun {
        model: map.get(MODEL_KEY).cloned(),
        config: json(CONFIG_KEY)?,
        step: json(STEP_KEY)?.and_then(|step| step.as_u64()).unwrap_or(0) as usize,
        learner: json(LEARNER_KEY)?.unwrap_or(Value::Null),
    })
}

/// `import FILE --model M`: a new run directory holding the weights of `FILE`.
pub fn import<E: Experiment>(
    request: &ImportRequest,
    backend: BackendChoice,
) -> anyhow::Result<WeightsReport> {
    let file = &request.file;
    if !file.is_file() {
        bail!("{} does not exist or is not a file", file.display());
    }
    let format = match request.format {
        Some(format) => format,
        None => WeightsFormat::of_path(file)?,
    };
    let exported = match format {
        WeightsFormat::Safetensors => exported_run(file)?,
        WeightsFormat::Pytorch => ExportedRun::default(),
    };
    if let Some(model) = &exported.model {
        if model != E::NAME {
            bail!(
                "{} holds a {model} network, not a {} one: import it with --model {model}",
                file.display(),
                E::NAME
            );
        }
    }
    let run: E::Run = match (&exported.config, &request.preset, &request.config_file) {
        // The run it was exported from, unless the command line says otherwise.
        (Some(config), None, None) => serde_json::from_value(config.clone()).with_context(|| {
            format!("{} holds a configuration of another shape than this model's", file.display())
        })?,
        (None, None, None) => bail!(
            "{} does not say which {} run its weights belong to: give --config (a run's config.json) and/or --preset",
            file.display(),
            E::NAME
        ),
        (_, preset, config_file) => {
            let no_flags = Value::Object(Default::default());
            resolve::<E>(preset.as_deref(), config_file.as_deref(), &no_flags)?
        }
    };
    E::validate(&run)?;
    let name = request
        .run_name
        .clone()
        .unwrap_or_else(|| E::run_name(&run));
    let dir = RunDir::at(&request.out.join(E::NAME), &name)?;
    if dir.holds_anything() {
        bail!(
            "{} already holds a run: choose another --run-name or --out, or remove it",
            dir.path.display()
        );
    }
    let mut state = RunState::fresh(E::NAME, ChaCha8Rng::seed_from_u64(0));
    state.step = exported.step;
    state.learner = exported.learner;
    let (bytes, tensors) = backend::run_on(
        backend,
        ImportJob::<E> {
            run: &run,
            state: &state,
            file,
            format,
        },
    )??;
    std::fs::create_dir_all(&dir.path)
        .with_context(|| format!("cannot create {}", dir.path.display()))?;
    let _lock = dir.lock()?;
    let config = serde_json::to_value(&run)?;
    dir.write_json(CONFIG_FILE, &config)?;
    dir.write_json(
        IMPORTED_FILE,
        &serde_json::json!({
            "file": file,
            "format": format.name(),
            "sha256": crate::checkpoint::sha256_hex(&std::fs::read(file)?),
        }),
    )?;
    dir.save(&state, &config, vec![(MODEL_FILE.to_string(), bytes)])?;
    Ok(WeightsReport {
        model: E::NAME.to_string(),
        file: file.clone(),
        run: dir.path,
        step: state.step,
        tensors,
    })
}

struct ImportJob<'a, E: Experiment> {
    run: &'a E::Run,
    state: &'a RunState,
    file: &'a Path,
    format: WeightsFormat,
}

impl<E: Experiment> BackendJob for ImportJob<'_, E> {
    type Output = anyhow::Result<(Vec<u8>, Vec<TensorInfo>)>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let mut network = E::network::<B::InnerBackend>(self.run, self.state, &device)?;
        let expected = tensors_of(&network);
        let shown = self.file.display();
        let result = match self.format {
            WeightsFormat::Safetensors => network
                .load_from(
                    &mut SafetensorsStore::from_file(self.file)
                        .validate(false)
                        .allow_partial(true),
                )
                .map_err(|e| anyhow::anyhow!("cannot read {shown}: {e}"))?,
            WeightsFormat::Pytorch => network
                .load_from(
                    &mut PytorchStore::from_file(self.file)
                        .validate(false)
                        .allow_partial(true),
                )
                .map_err(|e| anyhow::anyhow!("cannot read {shown}: {e}"))?,
        };
        refuse_mismatch(&result, self.file)?;
        let found = tensors_of(&network);
        let shapes = |tensors: &[TensorInfo]| -> Vec<(String, Vec<usize>)> {
            tensors
                .iter()
                .map(|t| (t.name.clone(), t.shape.clone()))
                .collect()
        };
        if shapes(&found) != shapes(&expected) {
            bail!(
                "{shown} holds tensors of shapes {:?}, but the run's configuration needs {:?}",
                shapes(&found),
                shapes(&expected)
            );
        }
        Ok((module_bytes::<B::InnerBackend, _>(&network)?, found))
    }
}

/// Refuses a file whose tensors are not exactly the network's: none missing, none left over,
/// none of another shape.
fn refuse_mismatch(result: &ApplyResult, file: &Path) -> anyhow::Result<()> {
    let shown = file.display();
    if !result.errors.is_empty() {
        let errors: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        bail!("{shown} does not fit this network: {}", errors.join("; "));
    }
    if !result.missing.is_empty() {
        let missing: Vec<&str> = result
            .missing
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        bail!(
            "{shown} lacks tensors the network needs: {} (it holds: {})",
            missing.join(", "),
            result.unused.join(", ")
        );
    }
    if !result.unused.is_empty() {
        bail!(
            "{shown} holds tensors the network has no place for: {}",
            result.unused.join(", ")
        );
    }
    Ok(())
}
