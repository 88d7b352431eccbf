//! The two kinds of step a [`Trainer`](super::Trainer) drives: gradient steps into Adam,
//! and local updates by which a network changes itself.

use std::collections::BTreeMap;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use rand_chacha::ChaCha8Rng;

use super::adam::FusedAdam;
use super::clip::clip_global_norm;
use super::Learner;
use crate::checkpoint::{module_bytes, optimizer_bytes, Checkpoint, MODEL_FILE, OPTIMIZER_FILE};
use crate::config::AdamSettings;
use crate::metrics::{EpisodeMetrics, MetricsLines};

/// The optimizer every gradient-trained model uses.
pub type AdamOptimizer<M, B> = OptimizerAdaptor<FusedAdam, M, B>;

/// Adam with `settings` (β1, β2, ε; the rate is given at each step, the gradient clipped
/// before it, by [`clip_global_norm`]).
pub fn adam<B: AutodiffBackend, M: AutodiffModule<B>>(
    settings: &AdamSettings,
) -> AdamOptimizer<M, B> {
    OptimizerAdaptor::from(FusedAdam::new(settings))
}

/// The loss of one episode and the figures worth logging beside it.
pub struct EpisodeOutcome<B: AutodiffBackend> {
    /// Scalar loss, `[1]`: attached to the graph unless `gradients` is given.
    pub loss: Tensor<B, 1>,
    /// Gradients the model computed itself (e.g. forward in time); `None`: backpropagate
    /// `loss`.
    pub gradients: Option<GradientsParams>,
    /// Model-specific metrics (errors, learned constants).
    pub values: BTreeMap<String, f64>,
}

/// Gradient steps: every step runs `episode` on the model, then one Adam step on the
/// gradients it gave (or on the gradients of its loss by backpropagation), clipped to the
/// global norm `grad_clip` when it is set (the norm before clipping is logged as
/// `grad_norm`).
pub struct GradientSteps<B: AutodiffBackend, M: AutodiffModule<B>, F> {
    model: Option<M>,
    optim: AdamOptimizer<M, B>,
    learning_rate: f64,
    /// Largest global norm of a gradient.
    grad_clip: Option<f64>,
    episode: F,
    device: B::Device,
}

impl<B, M, F> GradientSteps<B, M, F>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    F: FnMut(&M, &mut ChaCha8Rng) -> anyhow::Result<EpisodeOutcome<B>>,
{
    pub fn new(model: M, settings: &AdamSettings, episode: F, device: &B::Device) -> Self {
        Self {
            model: Some(model),
            optim: adam(settings),
            learning_rate: settings.learning_rate,
            grad_clip: settings.grad_clip,
            episode,
            device: device.clone(),
        }
    }

    pub fn model(&self) -> &M {
        self.model
            .as_ref()
            .expect("the model is back after every step")
    }

    pub fn into_model(self) -> M {
        self.model.expect("the model is back after every step")
    }
}

impl<B, M, F> Learner for GradientSteps<B, M, F>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    F: FnMut(&M, &mut ChaCha8Rng) -> anyhow::Result<EpisodeOutcome<B>>,
{
    fn step(&mut self, step: usize, rng: &mut ChaCha8Rng) -> MetricsLines {
        let model = self
            .model
            .take()
            .expect("the model is back after every step");
        let outcome = match (self.episode)(&model, rng) {
            Ok(outcome) => outcome,
            Err(e) => {
                self.model = Some(model);
                return Err(e);
            }
        };
        let loss = outcome.loss.clone().into_scalar().elem::<f64>();
        let mut values = outcome.values;
        self.model = Some(if loss.is_finite() {
            let mut gradients = outcome
                .gradients
                .unwrap_or_else(|| GradientsParams::from_grads(outcome.loss.backward(), &model));
            if let Some(max_norm) = self.grad_clip {
                let norm = clip_global_norm::<B, M>(&model, &mut gradients, max_norm);
                values.insert("grad_norm".into(), norm);
            }
            self.optim.step(self.learning_rate, model, gradients)
        } else {
            model
        });
        Ok(vec![EpisodeMetrics {
            episode: step,
            loss,
            values,
        }])
    }

    fn parameters_finite(&self) -> bool {
        parameters_are_finite(self.model())
    }

    fn files(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![
            (MODEL_FILE.into(), module_bytes::<B, M>(self.model())?),
            (
                OPTIMIZER_FILE.into(),
                optimizer_bytes(&self.optim, self.model())?,
            ),
        ])
    }

    fn restore(&mut self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        let model = self
            .model
            .take()
            .expect("the model is back after every step");
        self.model = Some(checkpoint.load_module(MODEL_FILE, model, &self.device)?);
        let optim = std::mem::replace(&mut self.optim, adam(&AdamSettings::default()));
        self.optim = checkpoint.load_optimizer::<B, M, _>(OPTIMIZER_FILE, optim, &self.device)?;
        Ok(())
    }
}

/// A network that changes itself, one update at a time: a local learning rule or an
/// explicit backward pass with plain SGD.
pub trait LocalUpdate {
    type Backend: Backend;
    /// The learned weights as a module: what checkpoints hold.
    type Network: Module<Self::Backend>;

    /// The metrics lines of a fresh run before its first update.
    fn start(&mut self) -> MetricsLines {
        Ok(Vec::new())
    }

    /// Update number `step` (from 1), drawing from `rng`: the metrics lines it logs.
    fn update(&mut self, step: usize, rng: &mut ChaCha8Rng) -> MetricsLines;

    fn network(&self) -> Self::Network;

    fn set_network(&mut self, network: Self::Network);

    fn device(&self) -> burn::tensor::Device<Self::Backend>;

    /// What the learner carries between updates besides its weights.
    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }

    fn restore_state(&mut self, _state: &serde_json::Value) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Local updates, as the trainer drives them.
pub struct LocalSteps<U>(pub U);

impl<U: LocalUpdate> Learner for LocalSteps<U> {
    fn step(&mut self, step: usize, rng: &mut ChaCha8Rng) -> MetricsLines {
        self.0.update(step, rng)
    }

    fn start(&mut self) -> MetricsLines {
        self.0.start()
    }

    fn parameters_finite(&self) -> bool {
        parameters_are_finite(&self.0.network())
    }

    fn files(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![(
            MODEL_FILE.into(),
            module_bytes::<U::Backend, _>(&self.0.network())?,
        )])
    }

    fn state(&self) -> anyhow::Result<serde_json::Value> {
        self.0.state()
    }

    fn restore(&mut self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        let network = checkpoint.load_module(MODEL_FILE, self.0.network(), &self.0.device())?;
        self.0.set_network(network);
        self.0.restore_state(&checkpoint.state.learner)
    }
}

struct FiniteCheck {
    finite: bool,
}

impl<B: Backend> ModuleVisitor<B> for FiniteCheck {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        // A sum is finite only if every term is: one reduction instead of a host copy.
        let total = param.val().sum().into_scalar().elem::<f64>();
        self.finite &= total.is_finite();
    }
}

/// Whether every float parameter of `module` is a finite number.
pub fn parameters_are_finite<B: Backend, M: Module<B>>(module: &M) -> bool {
    let mut check = FiniteCheck { finite: true };
    module.visit(&mut check);
    check.finite
}
