//! Feed-forward networks that learn by local rules only (no gradients): each synapse changes
//! as a function of its presynaptic activity, its postsynaptic activity (or a target), its
//! own weight and at most one global signal.
//!
//! Many independent networks of one architecture are trained side by side as a batch: layer
//! `k`'s weights are a tensor `[replications, out, in]`, activities are
//! `[replications, examples, units]`, and one update of every replication is a handful of
//! batched matrix products.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::{Tensor, TensorData};
//! use plastic_models::hebbian_ff::{RuleStep, SupervisedHebbian};
//! use plastic_models::{FeedForwardConfig, LocalRule, OutputActivation};
//! use plastic_tasks::{BooleanFunction, BOOLEAN_INPUTS};
//! use rand::SeedableRng;
//!
//! // 100 replications of a 2-[100]-1 net learn AND by supervised Hebbian updates alone.
//! let (replications, device) = (100, Default::default());
//! let config = FeedForwardConfig {
//!     inputs: 2,
//!     hidden: vec![100],
//!     outputs: 1,
//!     output_activation: OutputActivation::Tanh,
//! };
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut network = config.init::<NdArray>(replications, &mut rng, &device).unwrap();
//! let and = BooleanFunction::named("and").unwrap();
//! let targets: Vec<f32> = (0..4).map(|row| and.target(row)).collect();
//! let input = Tensor::from_data(
//!     TensorData::new(BOOLEAN_INPUTS.concat().repeat(replications), [replications, 4, 2]),
//!     &device,
//! );
//! let target = Tensor::from_data(
//!     TensorData::new(targets.repeat(replications), [replications, 4, 1]),
//!     &device,
//! );
//! let step = RuleStep { learning_rate: 0.01, w_max: 1.0 };
//! let rule = SupervisedHebbian { step, first_layer_learns: false };
//! for _ in 0..100 {
//!     network = rule.update(&network, input.clone(), Some(target.clone())).unwrap();
//! }
//! let outputs: Vec<f32> = network.forward(input).into_data().to_vec().unwrap();
//! let solved = outputs
//!     .chunks(4)
//!     .filter(|net| net.iter().zip(&targets).all(|(y, t)| y.signum() == t.signum()))
//!     .count();
//! assert!(solved >= 90, "{solved} of 100 nets compute AND");
//! ```

mod rules;

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use rules::{
    AnyRule, BoundedHebbian, DeltaRule, Examples, LocalRule, OjaRule, RewardModulatedHebbian,
    RuleKind, RuleStep, SupervisedHebbian, UnsupervisedHebbian, Updated,
};

/// A configuration or an input that a local rule cannot work with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HebbianError {
    /// The layer sizes cannot make a network.
    #[error("invalid network: {0}")]
    InvalidNetwork(String),
    /// The rule's settings cannot work (a rate or bound out of range).
    #[error("invalid learning rule: {0}")]
    InvalidRule(String),
    /// The rule reads targets, and an example has none.
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
    /// Input units.
    pub inputs: usize,
    /// Hidden layer sizes, input side first; may be empty (inputs straight to outputs).
    pub hidden: Vec<usize>,
    /// Output units.
    pub outputs: usize,
    /// What the output layer applies to its drive.
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

    /// Refuses a network with no inputs, no outputs or an empty hidden layer.
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
    /// Layer `k`'s weights, `[replications, out, in]`, input side first.
    pub weights: Vec<Tensor<B, 3>>,
    /// What the output layer applies to its drive.
    pub output_activation: OutputActivation,
}

impl<B: Backend> FeedForward<B> {
    /// How many networks are trained side by side.
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

#[cfg(test)]
mod tests;
