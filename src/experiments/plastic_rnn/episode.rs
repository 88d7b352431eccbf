//! A training batch of the pattern task through the plastic RNN, with its gradient from the
//! engine the run chose.

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use plastic_models::{GradientEngine, Kernels, PlasticRnn};
use plastic_tasks::{generate_batch, PatternTaskConfig};
use rand_chacha::ChaCha8Rng;

use crate::experiments::shared::pattern::{batch_metrics, batch_tensors, bptt_loss};
use crate::trainer::EpisodeOutcome;
use crate::util::host_values;

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
