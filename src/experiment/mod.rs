//! The shape every model of the zoo takes: an [`Experiment`] names the model, owns one
//! serde run type (what `config.json` holds), validates it, trains it through the
//! [`Trainer`](crate::trainer::Trainer) and evaluates its checkpoints. Everything around
//! that — assembling the configuration, run directories, resuming, memory checks, backends —
//! is written once, in [`launch`].

pub mod launch;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checkpoint::{Checkpoint, RunState, MODEL_FILE};
use crate::trainer::{Schedule, Trainer};

/// The `eval` options of a model whose evaluation takes none.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// One model of the zoo.
pub trait Experiment: 'static {
    /// Name on the command line and in checkpoints.
    const NAME: &'static str;
    /// One line for `list` and `--help`.
    const ABOUT: &'static str;
    /// Metrics the progress bar shows beside the loss.
    const HEADLINE: &'static [&'static str];
    /// What a resumed run may change: (JSON pointer into the run, the flag that sets it).
    const RESUMABLE: &'static [(&'static str, &'static str)];
    /// What to lower when a run needs more memory than there is, e.g. "lower --neurons".
    const MEMORY_HINT: &'static str;

    /// Everything a run needs: what `config.json` holds.
    type Run: Serialize + DeserializeOwned + Clone + Debug + Send + Sync;
    /// The options of `eval` on this model's checkpoints.
    type EvalOptions: Serialize + DeserializeOwned + Default + Debug + Send + Sync;
    /// The network a checkpoint holds (its `model.mpk`): what `export` writes and `import`
    /// reads.
    type Network<B: Backend>: Module<B>;

    /// Presets by name, each with a one-line description; the first is the default.
    fn presets() -> Vec<(&'static str, String)>;

    /// The run of a preset.
    fn preset(name: &str) -> anyhow::Result<Self::Run>;

    /// The preset that a command line's flags imply when it names none (e.g. a task that
    /// needs another network).
    fn implied_preset(_flags: &Value) -> Option<&'static str> {
        None
    }

    /// Checks a run as a whole, however it was assembled.
    fn validate(run: &Self::Run) -> anyhow::Result<()>;

    /// The run directory's default name.
    fn run_name(run: &Self::Run) -> String;

    /// How many steps the run takes and how often it is saved.
    fn schedule(run: &Self::Run) -> anyhow::Result<Schedule>;

    /// Bytes of memory the run needs at its peak, estimated before anything is allocated.
    fn memory_needed(run: &Self::Run) -> u64;

    /// Work before any run directory is made, so that a failure leaves nothing behind
    /// (e.g. reading a data set).
    fn prepare(_run: &Self::Run) -> anyhow::Result<()> {
        Ok(())
    }

    /// A network of the shapes a checkpoint of `run` in `state` holds, its weights not yet
    /// loaded (see [`saved_network`]).
    fn network<B: Backend>(
        run: &Self::Run,
        state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>>;

    /// Trains `run` on backend `B` (from its first step or from the trainer's checkpoint).
    fn train<B: AutodiffBackend>(
        run: &Self::Run,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report>;

    /// Evaluates a checkpoint of `run`.
    fn eval<B: AutodiffBackend>(
        run: &Self::Run,
        checkpoint: &Checkpoint,
        options: &Self::EvalOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report>;

    /// After one command trained several runs (one per method, the cells of a sweep): what
    /// they show together, written under `dir`; `None`: nothing to add.
    fn summarise(_runs: &[Finished<Self>], _dir: &Path) -> anyhow::Result<Option<String>>
    where
        Self: Sized,
    {
        Ok(None)
    }
}

/// The network `checkpoint` of `run` holds, refused unless every parameter has the shape
/// the run's configuration gives it.
pub fn saved_network<E: Experiment, B: Backend>(
    run: &E::Run,
    checkpoint: &Checkpoint,
    device: &B::Device,
) -> anyhow::Result<E::Network<B>> {
    let fresh = E::network::<B>(run, &checkpoint.state, device)?;
    checkpoint.load_module_checked(MODEL_FILE, fresh, device)
}

/// A run that one command trained.
pub struct Finished<E: Experiment> {
    /// What set it apart from the other runs of the command (e.g. `fa`).
    pub variant: String,
    pub run: E::Run,
    pub dir: PathBuf,
    pub report: Report,
}

/// The headline figures of a training run or an evaluation: printed for people, and as one
/// JSON object with `--json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub model: String,
    pub task: String,
    /// The run directory, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<PathBuf>,
    pub metrics: BTreeMap<String, f64>,
    pub seconds: f64,
    /// What people read.
    #[serde(skip)]
    pub text: String,
}

impl Report {
    pub fn new(model: &str, task: impl Into<String>) -> Self {
        Self {
            model: model.to_string(),
            task: task.into(),
            run: None,
            metrics: BTreeMap::new(),
            seconds: 0.0,
            text: String::new(),
        }
    }

    pub fn metric(mut self, name: &str, value: f64) -> Self {
        self.metrics.insert(name.to_string(), value);
        self
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }

    pub fn run(mut self, dir: &Path) -> Self {
        self.run = Some(dir.to_path_buf());
        self
    }

    pub fn seconds(mut self, seconds: f64) -> Self {
        self.seconds = seconds;
        self
    }
}
