//! Run directories and their checkpoints.
//!
//! A run lives in `<out>/<model>/<run-name>/`: `config.json`, `metrics.jsonl`, plots, and
//! checkpoints. Each checkpoint is a directory `checkpoint-<step>/` holding the run's
//! configuration, its state (step, RNG, last metrics), the model and optimizer records and a
//! `MANIFEST` with the digest of every file. A checkpoint is written in full under a
//! temporary name, renamed into place, and only then named current in `LATEST` (replaced
//! atomically); the previous checkpoint stays until a newer one is complete. Loading
//! verifies the manifest and refuses a torn or corrupted checkpoint, naming the last good
//! one.

mod lock;
mod manifest;
mod verified;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use lock::{DirLock, LOCK_FILE};
pub use manifest::{sha256_hex, Manifest, MANIFEST_FILE};
pub use verified::{module_bytes, optimizer_bytes, parameter_shapes, Checkpoint};

use crate::experiment::Report;
use crate::metrics::{EpisodeMetrics, History};
use crate::util::{sync_dir, write_atomically, write_synced};

pub const CONFIG_FILE: &str = "config.json";
pub const STATE_FILE: &str = "state.json";
pub const MODEL_FILE: &str = "model.mpk";
pub const OPTIMIZER_FILE: &str = "optimizer.mpk";
pub const METRICS_FILE: &str = "metrics.jsonl";
/// Names the current checkpoint of a run.
pub const LATEST_FILE: &str = "LATEST";
/// The report of a finished run, written after its plots: a run is finished when it holds
/// one.
pub const REPORT_FILE: &str = "report.json";

/// Complete checkpoints kept per run: the current one and the one before it.
const KEPT: usize = 2;

const PREFIX: &str = "checkpoint-";

/// Where a run lives: `<out>/<model>/<run-name>/`.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

/// Progress of a run, saved in every checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    /// Name of the model on the command line.
    pub model: String,
    /// Version of plastic-zoo that wrote the checkpoint.
    pub crate_version: String,
    /// Steps (episodes, updates, meta-steps) completed.
    pub step: usize,
    /// The generator of the training examples, exactly where it stopped.
    pub rng: ChaCha8Rng,
    /// Metrics of the last logged step.
    pub last_metrics: Option<EpisodeMetrics>,
    /// What the learner carries between steps besides its parameters (e.g. losses not yet
    /// averaged into a metrics line).
    #[serde(default)]
    pub learner: serde_json::Value,
    /// `metrics.jsonl` as it stood at this step: how many lines and their digest (absent in
    /// checkpoints written before it was recorded).
    #[serde(default)]
    pub history: Option<History>,
}

impl RunState {
    /// The state of a run about to take its first step.
    pub fn fresh(model: &str, rng: ChaCha8Rng) -> Self {
        Self {
            model: model.to_string(),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            step: 0,
            rng,
            last_metrics: None,
            learner: serde_json::Value::Null,
            history: None,
        }
    }
}

impl RunDir {
    /// Creates a fresh run directory; refuses one that already holds a run.
    pub fn create(out: &Path, model: &str, run_name: &str) -> anyhow::Result<Self> {
        let run = Self::at(&out.join(model), run_name)?;
        if run.holds_run() {
            let shown = run.path.display();
            bail!("run directory {shown} already holds a run: continue it with --resume {shown}, choose another --run-name, or remove it");
        }
        fs::create_dir_all(&run.path)
            .with_context(|| format!("cannot create run directory {}", run.path.display()))?;
        Ok(run)
    }

    /// The run directory `parent/run_name`, not yet created; refuses a name that is not a
    /// plain directory name.
    pub fn at(parent: &Path, run_name: &str) -> anyhow::Result<Self> {
        if run_name.is_empty()
            || run_name.contains(['/', '\\'])
            || run_name == "."
            || run_name == ".."
        {
            bail!("run name '{run_name}' must be a plain, non-empty directory name");
        }
        Ok(Self {
            path: parent.join(run_name),
        })
    }

    /// The run directory that `path` names: itself, or the run of the checkpoint directory
    /// it names.
    pub fn of(path: &Path) -> anyhow::Result<Self> {
        if path.is_file() {
            bail!(
                "{} is a file, not a run directory: give the directory that holds config.json and the checkpoints",
                path.display()
            );
        }
        if !path.is_dir() {
            bail!("run directory {} does not exist", path.display());
        }
        let path = if path.join(MANIFEST_FILE).exists() {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        Ok(Self { path })
    }

    /// Takes the directory's lock: this process is then its only writer (see [`DirLock`]).
    pub fn lock(&self) -> anyhow::Result<DirLock> {
        DirLock::acquire(&self.path)
    }

    /// Whether the directory holds a complete checkpoint (intact or not): something a run
    /// wrote that is worth keeping.
    pub fn holds_run(&self) -> bool {
        !self.checkpoint_dirs().is_empty()
    }

    /// Whether anything of a run (its configuration, metrics, checkpoints) is here.
    pub fn holds_anything(&self) -> bool {
        self.holds_run()
            || [CONFIG_FILE, METRICS_FILE, LATEST_FILE]
                .iter()
                .any(|name| self.file(name).exists())
    }

    /// Removes what a run that never completed a checkpoint left behind, so that it starts
    /// afresh: its metrics, report and pointer to a checkpoint (the configuration is written
    /// again, plots are replaced, partial checkpoints are removed by the next save).
    pub fn clear_unfinished(&self) -> anyhow::Result<()> {
        for name in [METRICS_FILE, REPORT_FILE, LATEST_FILE] {
            remove_file_if_present(&self.file(name))?;
        }
        Ok(())
    }

    /// Records `report` as the run's final report: the run is finished.
    pub fn write_report(&self, report: &Report) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(&FinishedReport {
            report: report.clone(),
            text: report.text.clone(),
        })?;
        write_atomically(&self.file(REPORT_FILE), text.as_bytes())?;
        sync_dir(&self.path);
        Ok(())
    }

    /// The run's final report, once it is finished (`None` before).
    pub fn read_report(&self) -> anyhow::Result<Option<Report>> {
        let path = self.file(REPORT_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let finished: FinishedReport = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is damaged: remove it and --resume the run to write it again",
                path.display()
            )
        })?;
        Ok(Some(finished.report.text(finished.text)))
    }

    /// Marks the run as not finished (it is about to train again).
    pub fn forget_report(&self) -> anyhow::Result<()> {
        remove_file_if_present(&self.file(REPORT_FILE))
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        write_atomically(&self.file(name), text.as_bytes())
    }

    /// Opens `path`, a run directory (its current checkpoint) or one checkpoint directory of
    /// a run, and verifies the checkpoint.
    pub fn open(path: &Path) -> anyhow::Result<(Self, Checkpoint)> {
        Self::of(path)?;
        if path.join(MANIFEST_FILE).exists() {
            let parent = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            let run = Self { path: parent };
            let checkpoint = run.verified(path)?;
            return Ok((run, checkpoint));
        }
        let run = Self {
            path: path.to_path_buf(),
        };
        let latest = run.file(LATEST_FILE);
        if latest.exists() {
            let bytes =
                fs::read(&latest).with_context(|| format!("cannot read {}", latest.display()))?;
            let name = String::from_utf8(bytes).unwrap_or_default();
            let name = name.strip_suffix('\n').unwrap_or(&name);
            if !is_checkpoint_name(name) {
                bail!(
                    "{} is damaged (it names no checkpoint); {}",
                    latest.display(),
                    run.last_good(None)
                );
            }
            let checkpoint = run.verified(&run.file(name))?;
            return Ok((run, checkpoint));
        }
        // A run killed between its first checkpoint and the first LATEST: the newest
        // complete checkpoint is current.
        if let Some((_, dir)) = run.checkpoint_dirs().pop() {
            let checkpoint = run.verified(&dir)?;
            return Ok((run, checkpoint));
        }
        if run.file(MODEL_FILE).exists() && run.file(STATE_FILE).exists() {
            bail!(
                "{} holds a checkpoint in the layout of an older plastic-zoo (no MANIFEST): train it again",
                path.display()
            );
        }
        bail!(
            "{} is not a checkpoint: it holds no checkpoint directory",
            path.display()
        )
    }

    /// Verifies the checkpoint in `dir`; the error names what is wrong and the last good
    /// checkpoint of the run.
    fn verified(&self, dir: &Path) -> anyhow::Result<Checkpoint> {
        Checkpoint::verify(dir).map_err(|problem| {
            anyhow::anyhow!(
                "checkpoint {} is unusable: {problem}; {}",
                dir.display(),
                self.last_good(Some(dir))
            )
        })
    }

    /// "the last good checkpoint is …", or that none is left.
    fn last_good(&self, besides: Option<&Path>) -> String {
        let good = self
            .checkpoint_dirs()
            .into_iter()
            .rev()
            .filter(|(_, dir)| Some(dir.as_path()) != besides)
            .find_map(|(step, dir)| Checkpoint::verify(&dir).ok().map(|_| (step, dir)));
        match good {
            Some((step, dir)) => format!(
                "the last good checkpoint is {} (step {step}): pass it to --resume or eval",
                dir.display()
            ),
            None => format!("no intact checkpoint is left in {}", self.path.display()),
        }
    }

    /// The complete checkpoint directories of the run, oldest first.
    pub fn checkpoint_dirs(&self) -> Vec<(usize, PathBuf)> {
        let Ok(entries) = fs::read_dir(&self.path) else {
            return Vec::new();
        };
        let mut dirs: Vec<(usize, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let step = checkpoint_step(&name)?;
                entry.path().is_dir().then(|| (step, entry.path()))
            })
            .collect();
        dirs.sort();
        dirs
    }

    /// Writes a checkpoint of `state` holding `config` and `files`, makes it current and
    /// drops all but the newest [`KEPT`] checkpoints.
    pub fn save(
        &self,
        state: &RunState,
        config: &serde_json::Value,
        files: Vec<(String, Vec<u8>)>,
    ) -> anyhow::Result<()> {
        let name = format!("{PREFIX}{:09}", state.step);
        let target = self.file(&name);
        if self.current_name().as_deref() == Some(name.as_str()) {
            return Ok(());
        }
        let mut all = vec![
            (CONFIG_FILE.to_string(), serde_json::to_vec_pretty(config)?),
            (STATE_FILE.to_string(), serde_json::to_vec_pretty(state)?),
        ];
        all.extend(files);
        let partial = self.file(&format!(".{name}.partial"));
        remove_dir_if_present(&partial)?;
        fs::create_dir(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
        for (file, bytes) in &all {
            write_synced(&partial.join(file), bytes)?;
        }
        let manifest = Manifest::describe(&state.model, state.step, &all);
        write_synced(&partial.join(MANIFEST_FILE), manifest.to_text().as_bytes())?;
        sync_dir(&partial);
        // A directory of this step that is not current is left over from a run resumed from
        // an earlier checkpoint: it is replaced.
        remove_dir_if_present(&target)?;
        fs::rename(&partial, &target).with_context(|| {
            format!(
                "cannot rename {} to {}",
                partial.display(),
                target.display()
            )
        })?;
        sync_dir(&self.path);
        write_atomically(&self.file(LATEST_FILE), format!("{name}\n").as_bytes())?;
        sync_dir(&self.path);
        let dirs = self.checkpoint_dirs();
        for (_, old) in dirs.iter().take(dirs.len().saturating_sub(KEPT)) {
            remove_dir_if_present(old)?;
        }
        Ok(())
    }

    /// Makes the checkpoint of `step` current and drops those after it: a run resumed from
    /// an earlier checkpoint writes them again.
    pub fn discard_after(&self, step: usize) -> anyhow::Result<()> {
        let name = format!("{PREFIX}{step:09}");
        if self.file(&name).is_dir() && self.current_name().as_deref() != Some(name.as_str()) {
            write_atomically(&self.file(LATEST_FILE), format!("{name}\n").as_bytes())?;
            sync_dir(&self.path);
        }
        for (later, dir) in self.checkpoint_dirs() {
            if later > step {
                remove_dir_if_present(&dir)?;
            }
        }
        Ok(())
    }

    fn current_name(&self) -> Option<String> {
        let text = fs::read_to_string(self.file(LATEST_FILE)).ok()?;
        Some(text.trim_end().to_string())
    }
}

fn checkpoint_step(name: &str) -> Option<usize> {
    name.strip_prefix(PREFIX)?.parse().ok()
}

fn is_checkpoint_name(name: &str) -> bool {
    checkpoint_step(name).is_some() && name.len() == PREFIX.len() + 9
}

fn remove_file_if_present(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `report.json`: a report and the text people read, which a [`Report`] does not serialise.
#[derive(Serialize, Deserialize)]
struct FinishedReport {
    report: Report,
    text: String,
}

fn remove_dir_if_present(dir: &Path) -> anyhow::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
}
