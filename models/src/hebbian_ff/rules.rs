//! The hand-written local rules: how each synapse changes from its own pre- and
//! postsynaptic activity (or a target) and its weight.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{hebbian_product, FeedForward, HebbianError};

/// The examples of one update: inputs `[R, M, in]` and, for rules that read one, the
/// targets `[R, M, out]`.
pub struct Examples<B: Backend> {
    /// Inputs, `[R, M, in]`.
    pub input: Tensor<B, 3>,
    /// Targets, `[R, M, out]`, for the rules that read them.
    pub target: Option<Tensor<B, 3>>,
}

impl<B: Backend> Examples<B> {
    /// The targets, which rule `kind` needs.
    fn target(&self, kind: RuleKind) -> Result<Tensor<B, 3>, HebbianError> {
        self.target
            .clone()
            .ok_or(HebbianError::NeedsTarget(kind.name()))
    }
}

/// The network after an update, or why a rule could not make one.
pub type Updated<B> = Result<FeedForward<B>, HebbianError>;

/// A local learning rule: one update of every replication on one batch of examples.
pub trait LocalRule {
    /// The network after one update on `examples`.
    fn apply<B: Backend>(&self, network: &FeedForward<B>, examples: Examples<B>) -> Updated<B>;

    /// The network after one update on `input` `[R, M, in]` with `target` `[R, M, out]`
    /// (rules that learn without a target ignore it).
    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        target: Option<Tensor<B, 3>>,
    ) -> Updated<B> {
        self.apply(network, Examples { input, target })
    }
}

/// Learning rate and weight bound, shared by every rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleStep {
    /// The factor of every weight change.
    pub learning_rate: f64,
    /// Weights are clamped to `[−w_max, w_max]` after every update.
    pub w_max: f64,
}

impl RuleStep {
    /// Refuses a rate or bound that is not a positive finite number.
    pub fn validate(&self) -> Result<(), HebbianError> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(HebbianError::InvalidRule(format!(
                "the learning rate must be a positive number, got {}",
                self.learning_rate
            )));
        }
        if !(self.w_max.is_finite() && self.w_max > 0.0) {
            return Err(HebbianError::InvalidRule(format!(
                "the weight bound w_max must be a positive number, got {}",
                self.w_max
            )));
        }
        Ok(())
    }
}

/// Bounded Hebbian: `ΔW = lr·yᵀx·(w_max − |W|)` on the network's own activities, layer by
/// layer from the input; growth slows as a weight nears the bound. An adaptation of the
/// seed's bounded rule, which computes the product on sigmoid activities of every layer and
/// does not clamp: here the activities are the network's own (ReLU, tanh) and the weights
/// are clamped like every rule's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundedHebbian {
    /// Learning rate and weight bound.
    pub step: RuleStep,
}

impl LocalRule for BoundedHebbian {
    fn apply<B: Backend>(&self, network: &FeedForward<B>, examples: Examples<B>) -> Updated<B> {
        let RuleStep {
            learning_rate,
            w_max,
        } = self.step;
        let activities = network.activations(examples.input);
        Ok(
            network.updated(&activities, w_max, |_, post, pre, weights| {
                let headroom = weights.clone().abs().neg().add_scalar(w_max);
                Some(
                    hebbian_product(post, pre)
                        .mul(headroom)
                        .mul_scalar(learning_rate),
                )
            }),
        )
    }
}

/// Supervised Hebbian: the output layer's postsynaptic term is the target; each earlier
/// layer's is the ReLU activity it feeds forward. `ΔW = lr·yᵀx`, applied from the output
/// back. As in the seed network, the first layer stays at its random initial weights (a
/// fixed random expansion of the input) unless `first_layer_learns`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SupervisedHebbian {
    /// Learning rate and weight bound.
    pub step: RuleStep,
    /// Whether the first layer learns too (the seed's network keeps it fixed).
    pub first_layer_learns: bool,
}

impl LocalRule for SupervisedHebbian {
    fn apply<B: Backend>(&self, network: &FeedForward<B>, examples: Examples<B>) -> Updated<B> {
        let target = examples.target(RuleKind::Supervised)?;
        // Every presynaptic term is a hidden activity computed before any weight changes.
        let mut activities = network.activations(examples.input);
        let last = network.weights.len() - 1;
        activities[last + 1] = target;
        Ok(
            network.updated(&activities, self.step.w_max, |layer, post, pre, _| {
                (layer > 0 || self.first_layer_learns)
                    .then(|| hebbian_product(post, pre).mul_scalar(self.step.learning_rate))
            }),
        )
    }
}

/// Hebbian learning on the linear activities `y = W·x` (no nonlinearity), computed before
/// any weight changes, layer by layer from the input: `ΔW = lr·m·yᵀx`, with `m` one global
/// value per replication and example, `[R, M, 1]`.
fn modulated_linear_hebbian<B: Backend>(
    step: RuleStep,
    network: &FeedForward<B>,
    input: Tensor<B, 3>,
    modulation: Tensor<B, 3>,
) -> FeedForward<B> {
    let activities = network.linear_activations(input);
    network.updated(&activities, step.w_max, |_, post, pre, _| {
        // The modulation scales each example's postsynaptic activity, and so its product.
        let post = post.mul(modulation.clone());
        Some(hebbian_product(post, pre).mul_scalar(step.learning_rate))
    })
}

/// Unsupervised Hebbian, in the seed's order: layer by layer from the input, `y = W·x`,
/// `ΔW = lr·yᵀx` (then the clamp), and the next layer receives the activity of the updated
/// layer, `W'·x`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UnsupervisedHebbian {
    /// Learning rate and weight bound.
    pub step: RuleStep,
}

impl LocalRule for UnsupervisedHebbian {
    fn apply<B: Backend>(&self, network: &FeedForward<B>, examples: Examples<B>) -> Updated<B> {
        let RuleStep {
            learning_rate,
            w_max,
        } = self.step;
        let mut pre = examples.input;
        let mut weights = Vec::with_capacity(network.weights.len());
        for layer in &network.weights {
            let post = pre.clone().matmul(layer.clone().swap_dims(1, 2));
            let change = hebbian_product(post, pre.clone()).mul_scalar(learning_rate);
            let updated = (layer.clone() + change).clamp(-w_max, w_max);
            pre = pre.matmul(updated.clone().swap_dims(1, 2));
            weights.push(updated);
        }
        Ok(FeedForward {
            weights,
            output_activation: network.output_activation,
        })
    }
}

/// Reward-modulated ("semi-supervised") Hebbian, as in the seed: `ΔW = lr·m·yᵀx` on the
/// linear activities, with the global signal `m = −(2b − 1)·(1 − 2·mse(b, b*))`, `b` the
/// binarised prediction (1 if the network's output is positive, else 0) and `b*` the
/// binarised target. For one output, `m` is ±1: its sign is conditioned on the prediction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RewardModulatedHebbian {
    /// Learning rate and weight bound.
    pub step: RuleStep,
}

impl RewardModulatedHebbian {
    /// The global signal per replication and example, `[R, M, 1]`.
    fn reward<B: Backend>(
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        target: Tensor<B, 3>,
    ) -> Tensor<B, 3> {
        let predicted = network.forward(input).greater_elem(0.0).float();
        let wanted = target.greater_elem(0.0).float();
        let squared_miss = (predicted.clone() - wanted).powi_scalar(2).mean_dim(2);
        let correctness = squared_miss.mul_scalar(-2.0).add_scalar(1.0);
        let prediction_sign = predicted.mul_scalar(2.0).sub_scalar(1.0).mean_dim(2);
        prediction_sign.neg().mul(correctness)
    }
}

impl LocalRule for RewardModulatedHebbian {
    fn apply<B: Backend>(&self, network: &FeedForward<B>, examples: Examples<B>) -> Updated<B> {
        let target = examples.target(RuleKind::Reward)?;
        let reward = Self::reward(network, examples.input.clone(), target);
        Ok(modulated_linear_hebbian(
            self.step,
            network,
            examples.input,
            reward,
        ))
    }
}

/// Oja's rule on the linear activities `y = W·x`: `ΔW_ij = lr·y_i·(x_j − y_i·W_ij)`.
/// The decay term keeps each row near unit length; one linear neuron converges to the
/// first principal component of its input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OjaRule {
    /// Learning rate and weight bound.
    pub step: RuleStep,
}

impl LocalRule for OjaRule {
    fn apply<B: Backend>(&self, network: &FeedForward<B>, examples: Examples<B>) -> Updated<B> {
        let activities = network.linear_activations(examples.input);
        Ok(
            network.updated(&activities, self.step.w_max, |_, post, pre, weights| {
                let post_power = post.clone().powi_scalar(2).sum_dim(1).swap_dims(1, 2);
                let decay = weights.clone().mul(post_power);
                let growth = hebbian_product(post, pre);
                Some((growth - decay).mul_scalar(self.step.learning_rate))
            }),
        )
    }
}

/// The delta rule (Widrow–Hoff) on the output layer: `ΔW = lr·(t − y)ᵀx`, the target minus
/// the output times the presynaptic activity. Every earlier layer stays at its random
/// initial weights. Each synapse still sees only its own two ends, one of them corrected by
/// the target: the local rule that an error signal makes possible.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeltaRule {
    /// Learning rate and weight bound.
    pub step: RuleStep,
}

impl LocalRule for DeltaRule {
    fn apply<B: Backend>(&self, network: &FeedForward<B>, examples: Examples<B>) -> Updated<B> {
        let target = examples.target(RuleKind::Delta)?;
        let activities = network.activations(examples.input);
        let last = network.weights.len() - 1;
        Ok(
            network.updated(&activities, self.step.w_max, |layer, post, pre, _| {
                (layer == last).then(|| {
                    hebbian_product(target.clone() - post, pre).mul_scalar(self.step.learning_rate)
                })
            }),
        )
    }
}

/// Any of the rules, chosen at run time and saved in a run's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum AnyRule {
    /// Bounded Hebbian.
    Bounded(BoundedHebbian),
    /// Supervised Hebbian.
    Supervised(SupervisedHebbian),
    /// Unsupervised Hebbian.
    Unsupervised(UnsupervisedHebbian),
    /// Reward-modulated Hebbian.
    Reward(RewardModulatedHebbian),
    /// Oja's rule.
    Oja(OjaRule),
    /// The delta rule.
    Delta(DeltaRule),
}

/// The hand-written rules by name, in the order tables list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// Supervised Hebbian: the output layer's postsynaptic term is the target
    Supervised,
    /// Bounded Hebbian: growth slows as a weight nears ±w_max
    Bounded,
    /// Unsupervised Hebbian on the linear activities
    Unsupervised,
    /// Reward-modulated Hebbian with the seed's global signal
    Reward,
    /// Oja's rule: Hebbian growth with a decay that keeps rows near unit length
    Oja,
    /// The delta rule (Widrow–Hoff) on the output layer
    Delta,
}

impl RuleKind {
    /// Every rule, in the order tables list them.
    pub const ALL: [RuleKind; 6] = [
        Self::Supervised,
        Self::Bounded,
        Self::Unsupervised,
        Self::Reward,
        Self::Oja,
        Self::Delta,
    ];

    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Supervised => "supervised",
            Self::Bounded => "bounded",
            Self::Unsupervised => "unsupervised",
            Self::Reward => "reward",
            Self::Oja => "oja",
            Self::Delta => "delta",
        }
    }

    /// The rule called `name`.
    pub fn named(name: &str) -> Result<Self, HebbianError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
                HebbianError::InvalidRule(format!(
                    "unknown rule '{name}' (known: {})",
                    known.join(", ")
                ))
            })
    }

    /// Whether the rule reads a target.
    pub fn needs_target(self) -> bool {
        matches!(self, Self::Supervised | Self::Reward | Self::Delta)
    }
}

impl AnyRule {
    /// The rule of `kind` with this step (the supervised rule's first layer fixed).
    pub fn new(kind: RuleKind, step: RuleStep) -> Result<Self, HebbianError> {
        step.validate()?;
        Ok(match kind {
            RuleKind::Supervised => Self::Supervised(SupervisedHebbian {
                step,
                first_layer_learns: false,
            }),
            RuleKind::Bounded => Self::Bounded(BoundedHebbian { step }),
            RuleKind::Unsupervised => Self::Unsupervised(UnsupervisedHebbian { step }),
            RuleKind::Reward => Self::Reward(RewardModulatedHebbian { step }),
            RuleKind::Oja => Self::Oja(OjaRule { step }),
            RuleKind::Delta => Self::Delta(DeltaRule { step }),
        })
    }

    /// The rule called `name` (see [`RuleKind`]) with this step.
    pub fn named(name: &str, step: RuleStep) -> Result<Self, HebbianError> {
        Self::new(RuleKind::named(name)?, step)
    }

    /// Which rule this is.
    pub fn kind(&self) -> RuleKind {
        match self {
            Self::Bounded(_) => RuleKind::Bounded,
            Self::Supervised(_) => RuleKind::Supervised,
            Self::Unsupervised(_) => RuleKind::Unsupervised,
            Self::Reward(_) => RuleKind::Reward,
            Self::Oja(_) => RuleKind::Oja,
            Self::Delta(_) => RuleKind::Delta,
        }
    }

    /// The rule's learning rate and weight bound.
    pub fn step(&self) -> RuleStep {
        match self {
            Self::Bounded(rule) => rule.step,
            Self::Supervised(rule) => rule.step,
            Self::Unsupervised(rule) => rule.step,
            Self::Reward(rule) => rule.step,
            Self::Oja(rule) => rule.step,
            Self::Delta(rule) => rule.step,
        }
    }

    /// Whether the rule reads a target.
    pub fn needs_target(&self) -> bool {
        self.kind().needs_target()
    }

    /// Name on the command line.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

impl LocalRule for AnyRule {
    fn apply<B: Backend>(&self, network: &FeedForward<B>, examples: Examples<B>) -> Updated<B> {
        match self {
            Self::Bounded(rule) => rule.apply(network, examples),
            Self::Supervised(rule) => rule.apply(network, examples),
            Self::Unsupervised(rule) => rule.apply(network, examples),
            Self::Reward(rule) => rule.apply(network, examples),
            Self::Oja(rule) => rule.apply(network, examples),
            Self::Delta(rule) => rule.apply(network, examples),
        }
    }
}
