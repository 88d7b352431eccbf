//! Feed-forward networks that learn by local rules only (no gradients): each synapse changes
//! as a function of its presynaptic activity, its postsynaptic activity (or a target), its
//! own weight and at most one global signal.
//!
//! Many independent networks of one architecture are trained side by side as a batch: layer
//! `k`'s weights are a tensor `[replications, out, in]`, activities are
//! `[replications, examples, units]`, and one update of every replication is a handful of
//! batched matrix products.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A configuration or an input that a local rule cannot work with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HebbianError {
    #[error("invalid network: {0}")]
    InvalidNetwork(String),
    #[error("invalid learning rule: {0}")]
    InvalidRule(String),
    #[error("the {0} rule needs a target for every example")]
    NeedsTarget(&'static str),
}

/// What the output layer applies to its drive; hidden layers are always ReLU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputActivation {
    /// Outputs in (−1, 1), read by their sign.
    Tanh,
    /// The drive itself (one linear neuron for Oja's rule).
    Linear,
}

/// Layer sizes of a feed-forward network without biases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedForwardConfig {
    pub inputs: usize,
    /// Hidden layer sizes, input side first; may be empty (inputs straight to outputs).
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub output_activation: OutputActivation,
}

impl FeedForwardConfig {
    /// `[out, in]` of every layer, input side first.
    pub fn layer_shapes(&self) -> Vec<[usize; 2]> {
        let mut sizes = vec![self.inputs];
        sizes.extend(&self.hidden);
        sizes.push(self.outputs);
        sizes.windows(2).map(|pair| [pair[1], pair[0]]).collect()
    }

    pub fn validate(&self) -> Result<(), HebbianError> {
        if self.inputs == 0 || self.outputs == 0 {
            return Err(HebbianError::InvalidNetwork(
                "inputs and outputs must be at least 1".into(),
            ));
        }
        if self.hidden.contains(&0) {
            return Err(HebbianError::InvalidNetwork(format!(
                "every hidden layer needs at least 1 neuron, got {:?}",
                self.hidden
            )));
        }
        Ok(())
    }

    /// `replications` networks with PyTorch's default `nn.Linear` initialisation, each
    /// weight uniform in `±1/√fan_in`, drawn from `rng`.
    pub fn init<B: Backend>(
        &self,
        replications: usize,
        rng: &mut impl Rng,
        device: &B::Device,
    ) -> Result<FeedForward<B>, HebbianError> {
        self.validate()?;
        if replications == 0 {
            return Err(HebbianError::InvalidNetwork(
                "at least 1 replication is needed".into(),
            ));
        }
        let weights = self
            .layer_shapes()
            .into_iter()
            .map(|[out, inp]| {
                let bound = 1.0 / (inp as f32).sqrt();
                let values: Vec<f32> = (0..replications * out * inp)
                    .map(|_| rng.random_range(-bound..bound))
                    .collect();
                Tensor::from_data(TensorData::new(values, [replications, out, inp]), device)
            })
            .collect();
        Ok(FeedForward {
            weights,
            output_activation: self.output_activation,
        })
    }
}

/// Several independent networks of one architecture; layer `k`'s weights are
/// `[replications, out, in]`.
#[derive(Debug, Clone)]
pub struct FeedForward<B: Backend> {
    pub weights: Vec<Tensor<B, 3>>,
    pub output_activation: OutputActivation,
}

impl<B: Backend> FeedForward<B> {
    pub fn replications(&self) -> usize {
        self.weights[0].dims()[0]
    }

    /// Layer `layer`'s summed input for presynaptic activity `pre` `[R, M, in]`: `[R, M, out]`.
    fn drive(&self, layer: usize, pre: Tensor<B, 3>) -> Tensor<B, 3> {
        pre.matmul(self.weights[layer].clone().swap_dims(1, 2))
    }

    /// The activity of every layer, input first: ReLU hidden layers, then the output.
    pub fn activations(&self, input: Tensor<B, 3>) -> Vec<Tensor<B, 3>> {
        let last = self.weights.len() - 1;
        let mut activities = vec![input];
        for layer in 0..=last {
            let drive = self.drive(layer, activities[layer].clone());
            activities.push(match (layer == last, self.output_activation) {
                (false, _) => burn::tensor::activation::relu(drive),
                (true, OutputActivation::Tanh) => drive.tanh(),
                (true, OutputActivation::Linear) => drive,
            });
        }
        activities
    }

    /// The network's outputs for `input` `[R, M, in]`: `[R, M, out]`.
    pub fn forward(&self, input: Tensor<B, 3>) -> Tensor<B, 3> {
        self.activations(input)
            .pop()
            .expect("activations hold at least the input")
    }

    /// The activity of every layer when no layer applies a nonlinearity, input first.
    pub fn linear_activations(&self, input: Tensor<B, 3>) -> Vec<Tensor<B, 3>> {
        let mut activities = vec![input];
        for layer in 0..self.weights.len() {
            let drive = self.drive(layer, activities[layer].clone());
            activities.push(drive);
        }
        activities
    }

    /// The network after each layer's weights change by `change(layer, post, pre, weights)`
    /// (`None`: unchanged), with `post` and `pre` the layer's entries of `activities` (input
    /// first), every weight then clamped to `[−w_max, w_max]`.
    pub fn updated<F>(&self, activities: &[Tensor<B, 3>], w_max: f64, mut change: F) -> Self
    where
        F: FnMut(usize, Tensor<B, 3>, Tensor<B, 3>, &Tensor<B, 3>) -> Option<Tensor<B, 3>>,
    {
        let weights = self
            .weights
            .iter()
            .enumerate()
            .map(|(layer, weights)| {
                let (post, pre) = (activities[layer + 1].clone(), activities[layer].clone());
                match change(layer, post, pre, weights) {
                    Some(change) => (weights.clone() + change).clamp(-w_max, w_max),
                    None => weights.clone(),
                }
            })
            .collect();
        Self {
            weights,
            output_activation: self.output_activation,
        }
    }

    /// Replication `index` alone, as a network of one replication.
    pub fn replication(&self, index: usize) -> Self {
        Self {
            weights: self
                .weights
                .iter()
                .map(|w| w.clone().narrow(0, index, 1))
                .collect(),
            output_activation: self.output_activation,
        }
    }
}

/// `Σ_examples postᵀ·pre` per replication: the Hebbian product of every synapse,
/// `[R, out, in]` from `post` `[R, M, out]` and `pre` `[R, M, in]`.
pub fn hebbian_product<B: Backend>(post: Tensor<B, 3>, pre: Tensor<B, 3>) -> Tensor<B, 3> {
    post.swap_dims(1, 2).matmul(pre)
}

/// The weights of a [`FeedForward`] (every replication) as a Burn module, so that they can
/// be saved and loaded as a checkpoint.
#[derive(Module, Debug)]
pub struct SavedNetwork<B: Backend> {
    /// Layer weights `[replications, out, in]`, input side first.
    pub layers: Vec<Param<Tensor<B, 3>>>,
}

impl<B: Backend> SavedNetwork<B> {
    /// Zero weights of `config`'s shapes for `replications` nets, to load a record into.
    pub fn empty(config: &FeedForwardConfig, replications: usize, device: &B::Device) -> Self {
        let layers = config
            .layer_shapes()
            .into_iter()
            .map(|[out, inp]| Param::from_tensor(Tensor::zeros([replications, out, inp], device)))
            .collect();
        Self { layers }
    }

    /// Every replication of `network`.
    pub fn from_network(network: &FeedForward<B>) -> Self {
        let layers = network
            .weights
            .iter()
            .map(|w| Param::from_tensor(w.clone()))
            .collect();
        Self { layers }
    }

    /// The networks these weights describe.
    pub fn to_network(&self, output_activation: OutputActivation) -> FeedForward<B> {
        FeedForward {
            weights: self.layers.iter().map(|w| w.val()).collect(),
            output_activation,
        }
    }
}

/// A local learning rule: one update of every replication on one batch of examples.
pub trait LocalRule {
    /// Name on the command line.
    fn name(&self) -> &'static str;

    /// The network after one update on `input` `[R, M, in]` with `target` `[R, M, out]`
    /// (rules that learn without a target ignore it).
    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        target: Option<Tensor<B, 3>>,
    ) -> Result<FeedForward<B>, HebbianError>;
}

/// Learning rate and weight bound, shared by every rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleStep {
    pub learning_rate: f64,
    /// Weights are clamped to `[−w_max, w_max]` after every update.
    pub w_max: f64,
}

impl RuleStep {
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
/// layer from the input; growth slows as a weight nears the bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundedHebbian {
    pub step: RuleStep,
}

impl LocalRule for BoundedHebbian {
    fn name(&self) -> &'static str {
        "bounded"
    }

    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        _target: Option<Tensor<B, 3>>,
    ) -> Result<FeedForward<B>, HebbianError> {
        let RuleStep {
            learning_rate,
            w_max,
        } = self.step;
        let activities = network.activations(input);
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
    pub step: RuleStep,
    pub first_layer_learns: bool,
}

impl LocalRule for SupervisedHebbian {
    fn name(&self) -> &'static str {
        "supervised"
    }

    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        target: Option<Tensor<B, 3>>,
    ) -> Result<FeedForward<B>, HebbianError> {
        let target = target.ok_or(HebbianError::NeedsTarget(self.name()))?;
        // Every presynaptic term is a hidden activity computed before any weight changes.
        let mut activities = network.activations(input);
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

/// Hebbian learning on the linear activities `y = W·x` (no nonlinearity), layer by layer
/// from the input: `ΔW = lr·m·yᵀx`, with `m` one global value per replication and example
/// (`None`: 1), `[R, M, 1]`.
fn linear_hebbian<B: Backend>(
    step: RuleStep,
    network: &FeedForward<B>,
    input: Tensor<B, 3>,
    modulation: Option<Tensor<B, 3>>,
) -> FeedForward<B> {
    let activities = network.linear_activations(input);
    network.updated(&activities, step.w_max, |_, post, pre, _| {
        // The modulation scales each example's postsynaptic activity, and so its product.
        let post = match &modulation {
            Some(m) => post.mul(m.clone()),
            None => post,
        };
        Some(hebbian_product(post, pre).mul_scalar(step.learning_rate))
    })
}

/// Unsupervised Hebbian: `ΔW = lr·yᵀx` on the linear activities `y = W·x`, layer by layer
/// from the input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UnsupervisedHebbian {
    pub step: RuleStep,
}

impl LocalRule for UnsupervisedHebbian {
    fn name(&self) -> &'static str {
        "unsupervised"
    }

    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        _target: Option<Tensor<B, 3>>,
    ) -> Result<FeedForward<B>, HebbianError> {
        Ok(linear_hebbian(self.step, network, input, None))
    }
}

/// Reward-modulated ("semi-supervised") Hebbian, as in the seed: `ΔW = lr·m·yᵀx` on the
/// linear activities, with the global signal `m = −(2b − 1)·(1 − 2·mse(b, b*))`, `b` the
/// binarised prediction (1 if the network's output is positive, else 0) and `b*` the
/// binarised target. For one output, `m` is ±1: its sign is conditioned on the prediction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RewardModulatedHebbian {
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
    fn name(&self) -> &'static str {
        "reward"
    }

    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        target: Option<Tensor<B, 3>>,
    ) -> Result<FeedForward<B>, HebbianError> {
        let target = target.ok_or(HebbianError::NeedsTarget(self.name()))?;
        let reward = Self::reward(network, input.clone(), target);
        Ok(linear_hebbian(self.step, network, input, Some(reward)))
    }
}

/// Oja's rule on the linear activities `y = W·x`: `ΔW_ij = lr·y_i·(x_j − y_i·W_ij)`.
/// The decay term keeps each row near unit length; one linear neuron converges to the
/// first principal component of its input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OjaRule {
    pub step: RuleStep,
}

impl LocalRule for OjaRule {
    fn name(&self) -> &'static str {
        "oja"
    }

    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        _target: Option<Tensor<B, 3>>,
    ) -> Result<FeedForward<B>, HebbianError> {
        let activities = network.linear_activations(input);
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
    pub step: RuleStep,
}

impl LocalRule for DeltaRule {
    fn name(&self) -> &'static str {
        "delta"
    }

    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        target: Option<Tensor<B, 3>>,
    ) -> Result<FeedForward<B>, HebbianError> {
        let target = target.ok_or(HebbianError::NeedsTarget(self.name()))?;
        let activities = network.activations(input);
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
    Bounded(BoundedHebbian),
    Supervised(SupervisedHebbian),
    Unsupervised(UnsupervisedHebbian),
    Reward(RewardModulatedHebbian),
    Oja(OjaRule),
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
}

impl LocalRule for AnyRule {
    fn name(&self) -> &'static str {
        self.kind().name()
    }

    fn update<B: Backend>(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        target: Option<Tensor<B, 3>>,
    ) -> Result<FeedForward<B>, HebbianError> {
        match self {
            Self::Bounded(rule) => rule.update(network, input, target),
            Self::Supervised(rule) => rule.update(network, input, target),
            Self::Unsupervised(rule) => rule.update(network, input, target),
            Self::Reward(rule) => rule.update(network, input, target),
            Self::Oja(rule) => rule.update(network, input, target),
            Self::Delta(rule) => rule.update(network, input, target),
        }
    }
}
