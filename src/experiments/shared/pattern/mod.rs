//! The pattern-completion tasks as every network on them sees them: episodes as tensors, a
//! training batch through any [`PatternNet`] trained by BPTT, the evaluation on episodes from
//! a fixed seed, the metrics the progress bar shows, what a resumed run may change, and the
//! flags of the task and its optimisation.

pub mod flags;

use std::collections::BTreeMap;

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use plastic_models::{last_step_loss, HandBptt, Kernels, PatternNet};
use plastic_tasks::pattern::{degraded_sign_error, sign_error, sum_abs_error};
use plastic_tasks::{generate_batch, PatternBatch, PatternTaskConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::write_curve_of;
use crate::checkpoint::{RunDir, RunState};
use crate::experiment::Report;
use crate::trainer::{summary, EpisodeOutcome};
use crate::util::host_values;

/// What the progress bar shows for every network on the pattern tasks.
pub(crate) const PATTERN_HEADLINE: &[&str] =
    &["sum_abs_error", "sign_error", "degraded_sign_error"];

/// What a resumed run on the pattern tasks (and the cue-reward task) may change: its length,
/// checkpoint cadence and evaluation.
pub(crate) const PATTERN_RESUMABLE: &[(&str, &str)] = &[
    ("/train/episodes", "--episodes"),
    ("/train/checkpoint_every", "--checkpoint-every"),
    ("/eval_episodes", "--eval-episodes"),
];

/// Options of `eval` on a checkpoint of a network on the pattern tasks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternEval {
    /// Evaluation episodes, drawn from a fixed seed.
    pub episodes: usize,
}

impl PatternEval {
    /// The episodes to score, refused when there are none.
    pub fn checked_episodes(&self) -> anyhow::Result<usize> {
        anyhow::ensure!(self.episodes > 0, "eval needs at least 1 episode");
        Ok(self.episodes)
    }
}

impl Default for PatternEval {
    fn default() -> Self {
        Self { episodes: 100 }
    }
}

/// Evaluation episodes come from this seed, never from the training stream.
pub const EVAL_SEED: u64 = 0xE7A1_5EED;

/// Episodes per forward pass during evaluation.
const EVAL_CHUNK: usize = 16;

/// A batch of episodes as tensors: inputs `[batch, steps, neurons]`, targets `[batch, neurons]`.
pub fn batch_tensors<B: Backend>(
    batch: &PatternBatch,
    device: &B::Device,
) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let inputs = TensorData::new(
        batch.inputs.clone(),
        [batch.batch, batch.steps, batch.neurons],
    );
    let targets = TensorData::new(batch.targets.clone(), [batch.batch, batch.neurons]);
    (
        Tensor::from_data(inputs, device),
        Tensor::from_data(targets, device),
    )
}

/// Runs one training batch through a network trained by BPTT, backpropagated through at most
/// `truncate` steps: the loss and metrics, and on the CPU backends the gradient, written out
/// by hand on the host; elsewhere the loss stays attached to the autodiff graph.
pub fn bptt_episode<B, N>(
    net: &N,
    truncate: Option<usize>,
    task: &PatternTaskConfig,
    batch_size: usize,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> anyhow::Result<EpisodeOutcome<B>>
where
    B: AutodiffBackend,
    N: AutodiffModule<B> + PatternNet<B>,
    N::InnerModule: HandBptt<B::InnerBackend>,
{
    let batch = generate_batch(task, batch_size, rng)?;
    let (loss, outputs, gradients) = if Kernels::preferred() == Kernels::Host {
        let (inputs, targets) = batch_tensors::<B::InnerBackend>(&batch, device);
        let hand = net.valid().hand_bptt(inputs, targets, truncate);
        let outputs = host_values(hand.outputs)?;
        (Tensor::from_inner(hand.loss), outputs, Some(hand.gradients))
    } else {
        let (loss, outputs) = bptt_loss(net, &batch, truncate, device)?;
        (loss, outputs, None)
    };
    Ok(EpisodeOutcome {
        loss,
        gradients,
        values: batch_metrics(&outputs, &batch, task),
    })
}

/// The last-step loss of `batch` on the graph, and the outputs on the host.
pub fn bptt_loss<B: AutodiffBackend, N: PatternNet<B>>(
    net: &N,
    batch: &PatternBatch,
    truncate: Option<usize>,
    device: &B::Device,
) -> anyhow::Result<(Tensor<B, 1>, Vec<f32>)> {
    let (inputs, targets) = batch_tensors::<B>(batch, device);
    let outputs = net.last_outputs(inputs, truncate);
    let loss = last_step_loss(outputs.clone(), targets);
    Ok((loss, host_values(outputs)?))
}

/// The pattern scores of a batch's last-step outputs.
pub fn batch_metrics(
    outputs: &[f32],
    batch: &PatternBatch,
    task: &PatternTaskConfig,
) -> BTreeMap<String, f64> {
    let mut values = BTreeMap::new();
    values.insert(
        "sum_abs_error".to_string(),
        sum_abs_error(outputs, &batch.targets, task.neurons),
    );
    values.insert(
        "sign_error".to_string(),
        sign_error(outputs, &batch.targets),
    );
    if task.degraded_bits() > 0 {
        values.insert(
            "degraded_sign_error".to_string(),
            degraded_sign_error(outputs, &batch.targets, &batch.degraded),
        );
    }
    values
}

/// Averages over fresh evaluation episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalScore {
    pub episodes: usize,
    pub loss: f64,
    pub sum_abs_error: f64,
    pub sign_error: f64,
    /// The sign error on the cue's zeroed bits alone (`NaN` when none is zeroed).
    pub degraded_sign_error: f64,
}

impl std::fmt::Display for EvalScore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "eval over {} episodes (seed {EVAL_SEED:#x}): loss {:.6} sum_abs_error {:.6} sign_error {:.6} degraded_sign_error {:.6}",
            self.episodes, self.loss, self.sum_abs_error, self.sign_error, self.degraded_sign_error
        )
    }
}

impl EvalScore {
    /// `report` with the score's metrics added.
    pub fn add_to(&self, report: Report) -> Report {
        report
            .metric("eval_episodes", self.episodes as f64)
            .metric("loss", self.loss)
            .metric("sum_abs_error", self.sum_abs_error)
            .metric("sign_error", self.sign_error)
            .metric("degraded_sign_error", self.degraded_sign_error)
    }
}

/// What a training run on the pattern tasks prints at its end: `title`, the episodes of
/// this invocation and their time, the last episode's metrics, `details` (ending in a
/// newline, or empty), the checkpoint and the score.
pub fn trained_text(
    title: &str,
    start: usize,
    state: &RunState,
    seconds: f64,
    details: &str,
    run: &RunDir,
    score: &EvalScore,
) -> String {
    let last = state.last_metrics.as_ref().map(summary).unwrap_or_default();
    format!(
        "{title}: episodes {start}..{} in {seconds:.1} s; last episode: {last}\n{details}checkpoint: {}\n{score}",
        state.step,
        run.path.display()
    )
}

/// Scores `net` on `episodes` episodes drawn from [`EVAL_SEED`]; no gradients.
pub fn evaluate<B: Backend, N: PatternNet<B>>(
    net: &N,
    task: &PatternTaskConfig,
    episodes: usize,
    device: &B::Device,
) -> anyhow::Result<EvalScore> {
    let mut rng = ChaCha8Rng::seed_from_u64(EVAL_SEED);
    let (mut loss, mut abs_error, mut wrong, mut wrong_degraded) = (0.0, 0.0, 0.0, 0.0);
    let mut done = 0;
    while done < episodes {
        let size = EVAL_CHUNK.min(episodes - done);
        let batch = generate_batch(task, size, &mut rng)?;
        let (inputs, targets) = batch_tensors::<B>(&batch, device);
        let outputs = net.eval_outputs(inputs);
        loss += last_step_loss(outputs.clone(), targets)
            .into_scalar()
            .elem::<f64>()
            * size as f64;
        let outputs = host_values(outputs)?;
        abs_error += sum_abs_error(&outputs, &batch.targets, task.neurons) * size as f64;
        wrong += sign_error(&outputs, &batch.targets) * size as f64;
        wrong_degraded +=
            degraded_sign_error(&outputs, &batch.targets, &batch.degraded) * size as f64;
        done += size;
    }
    let n = episodes as f64;
    Ok(EvalScore {
        episodes,
        loss: loss / n,
        sum_abs_error: abs_error / n,
        sign_error: wrong / n,
        degraded_sign_error: wrong_degraded / n,
    })
}

/// Draws the learning curve of a run on the pattern tasks (any network).
pub fn write_learning_curve(run: &RunDir) -> anyhow::Result<()> {
    write_curve_of(run, &["loss", "sum_abs_error", "sign_error"], "episode")
}
