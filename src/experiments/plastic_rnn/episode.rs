//! Episodes of the pattern task through the plastic RNN or any other [`PatternNet`]: a
//! training batch with its loss and gradient, and the evaluation on episodes from a fixed
//! seed.

use std::collections::BTreeMap;

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use plastic_models::{last_step_loss, GradientEngine, Kernels, PatternNet, PlasticRnn};
use plastic_tasks::pattern::{degraded_sign_error, sign_error, sum_abs_error};
use plastic_tasks::{generate_batch, PatternBatch, PatternTaskConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::trainer::EpisodeOutcome;
use crate::util::host_values;

/// Evaluation episodes come from this seed, never from the training stream.
pub const EVAL_SEED: u64 = 0xE7A1_5EED;

/// Episodes per forward pass during evaluation.
const EVAL_CHUNK: usize = 16;

/// The episode generator of a run: the same seed as the parameters, another ChaCha stream.
pub fn episode_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    rng
}

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

/// Runs one training batch through the plastic RNN: the loss and its gradient (BPTT: the
/// loss attached to the graph, backpropagated through at most `truncate` steps; RTRL and the
/// adjoint: the gradients, computed by hand) and metrics.
pub fn run_episode<B: AutodiffBackend>(
    model: &PlasticRnn<B>,
    gradient: GradientEngine,
    truncate: Option<usize>,
    task: &PatternTaskConfig,
    batch_size: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<EpisodeOutcome<B>> {
    let batch = generate_batch(task, batch_size, rng)?;
    let device = model.w.device();
    let (loss, outputs, gradients) = match gradient {
        GradientEngine::Bptt => {
            let (loss, outputs) = bptt_loss(model, &batch, truncate, &device)?;
            (loss, outputs, None)
        }
        GradientEngine::Rtrl | GradientEngine::Adjoint => {
            let (inputs, targets) = batch_tensors::<B::InnerBackend>(&batch, &device);
            let inner = model.valid();
            let kernels = Kernels::preferred();
            let computed = match gradient {
                GradientEngine::Rtrl => inner.rtrl_gradients(inputs, targets, kernels),
                _ => inner.adjoint_gradients(inputs, targets, kernels),
            };
            let mut gradients = GradientsParams::new();
            gradients.register(model.w.id, computed.w);
            gradients.register(model.alpha.id, computed.alpha);
            if let Some(eta) = computed.eta {
                gradients.register(model.eta.id, eta);
            }
            let loss = Tensor::from_inner(computed.loss);
            (loss, host_values(computed.outputs)?, Some(gradients))
        }
    };
    let mut values = batch_metrics(&outputs, &batch, task);
    values.insert(
        "eta".to_string(),
        model.eta.val().into_scalar().elem::<f64>(),
    );
    Ok(EpisodeOutcome {
        loss,
        gradients,
        values,
    })
}

/// Runs one training batch through a network trained by BPTT: the loss attached to the
/// graph (backpropagated through at most `truncate` steps) and metrics.
pub fn bptt_episode<B: AutodiffBackend, N: PatternNet<B>>(
    net: &N,
    truncate: Option<usize>,
    task: &PatternTaskConfig,
    batch_size: usize,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> anyhow::Result<EpisodeOutcome<B>> {
    let batch = generate_batch(task, batch_size, rng)?;
    let (loss, outputs) = bptt_loss(net, &batch, truncate, device)?;
    Ok(EpisodeOutcome {
        loss,
        gradients: None,
        values: batch_metrics(&outputs, &batch, task),
    })
}

/// The last-step loss of `batch` on the graph, and the outputs on the host.
fn bptt_loss<B: AutodiffBackend, N: PatternNet<B>>(
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
fn batch_metrics(
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
