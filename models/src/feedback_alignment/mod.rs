//! A multi-layer perceptron whose weight updates are computed by an explicit backward pass:
//! backpropagation (BP), feedback alignment (FA: each layer sends its error back through a
//! fixed random matrix instead of the transpose of its weights) or direct feedback alignment
//! (DFA: the output error reaches every hidden layer through its own fixed random matrix).
//!
//! The backward passes are plain tensor operations, with no autodiff, so they run on every
//! backend; autodiff is used only to check that explicit BP is the gradient.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::{Distribution, ElementConversion, Tensor};
//! use plastic_models::feedback_alignment::angle_degrees;
//! use plastic_models::{Activation, Loss, Method, MlpConfig, MlpLearner};
//! use rand::SeedableRng;
//!
//! // Feedback alignment learns a random linear map (Lillicrap et al. 2016's first task, small):
//! // a 10-[50]-5 tanh net whose hidden layer learns through a fixed random matrix.
//! type B = NdArray;
//! let device = Default::default();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let config = MlpConfig::new(10, vec![50], 5, Activation::Tanh);
//! let mut learner =
//!     MlpLearner::<B>::new(&config, Method::Fa, 0.05, Loss::SquaredError, &mut rng, &device);
//! <B as burn::tensor::backend::Backend>::seed(&device, 0);
//! let teacher = Tensor::<B, 2>::random([10, 5], Distribution::Normal(0.0, 0.3), &device);
//! let (mut losses, mut angles) = (Vec::new(), Vec::new());
//! for step in 0..300 {
//!     let input = Tensor::<B, 2>::random([64, 10], Distribution::Normal(0.0, 1.0), &device);
//!     let target = input.clone().matmul(teacher.clone());
//!     let measure = step % 50 == 0 || step == 299;
//!     let (loss, terms) = learner.update(input, target, measure);
//!     losses.push(loss.into_scalar().elem::<f64>());
//!     if let Some(terms) = terms {
//!         let terms: Vec<f64> = terms.into_data().convert::<f64>().to_vec().unwrap();
//!         angles.push(angle_degrees([terms[0], terms[1], terms[2]]));
//!     }
//! }
//! let (first, last) = (losses[..10].iter().sum::<f64>(), losses[290..].iter().sum::<f64>());
//! assert!(last < 0.2 * first, "the loss falls from {first} to {last} (sums of 10)");
//! // By the end, the hidden layer's update lies within 90° of the true gradient: the
//! // forward weights have come to align with the feedback.
//! assert!(angles[angles.len() - 1] < 90.0, "{angles:?}");
//! ```

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The nonlinearity of every hidden layer (the output layer is linear).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// tanh.
    Tanh,
    /// max(0, x).
    Relu,
    /// 1 / (1 + e^(−x)).
    Sigmoid,
}

impl Activation {
    /// The nonlinearity applied to `drive`, elementwise.
    pub fn apply<B: Backend>(self, drive: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Self::Tanh => drive.tanh(),
            Self::Relu => activation::relu(drive),
            Self::Sigmoid => activation::sigmoid(drive),
        }
    }

    /// The derivative at the drive that produced `activity`, from the activity alone.
    pub fn derivative<B: Backend>(self, activity: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Self::Tanh => activity.powi_scalar(2).neg().add_scalar(1.0),
            Self::Relu => activity.greater_elem(0.0).float(),
            Self::Sigmoid => activity.clone() * activity.neg().add_scalar(1.0),
        }
    }
}

/// How a layer's error reaches the layer below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Backpropagation: through the transpose of the forward weights.
    Bp,
    /// Feedback alignment: through a fixed random matrix per layer.
    Fa,
    /// Direct feedback alignment: the output error, through a fixed random matrix per hidden
    /// layer.
    Dfa,
}

impl Method {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bp => "bp",
            Self::Fa => "fa",
            Self::Dfa => "dfa",
        }
    }
}

/// What the output is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// `½·Σ(y − t)²` per example, averaged over the batch.
    SquaredError,
    /// Softmax cross-entropy against one class per example, averaged over the batch.
    CrossEntropy,
}

/// Layer sizes and nonlinearity of an [`Mlp`].
#[derive(Config, Debug, PartialEq)]
pub struct MlpConfig {
    /// Input features.
    pub inputs: usize,
    /// Hidden layer sizes, input side first.
    pub hidden: Vec<usize>,
    /// Output units (linear).
    pub outputs: usize,
    /// The nonlinearity of every hidden layer.
    pub activation: Activation,
}

/// `shape` values uniform in ±`bound`, drawn on the host from `rng` so that every backend
/// starts from the same numbers.
fn uniform<B: Backend, const D: usize>(
    shape: [usize; D],
    bound: f64,
    rng: &mut impl Rng,
    device: &B::Device,
) -> Tensor<B, D> {
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count)
        .map(|_| rng.random_range(-bound..bound) as f32)
        .collect();
    // In the backend's own float type: an f32 tensor on an f64 backend would stay f32.
    Tensor::from_data(
        TensorData::new(values, shape).convert::<B::FloatElem>(),
        device,
    )
}

impl MlpConfig {
    /// Weights and biases uniform in ±1/√fan_in (as Burn's and PyTorch's `Linear`), drawn
    /// from `rng`.
    pub fn init<B: Backend>(&self, rng: &mut impl Rng, device: &B::Device) -> Mlp<B> {
        let layers = self
            .sizes()
            .windows(2)
            .map(|pair| {
                let bound = 1.0 / (pair[0] as f64).sqrt();
                Linear {
                    weight: Param::from_tensor(uniform([pair[0], pair[1]], bound, rng, device)),
                    bias: Some(Param::from_tensor(uniform([pair[1]], bound, rng, device))),
                }
            })
            .collect();
        Mlp {
            layers,
            activation: self.activation,
        }
    }

    /// Every layer's width, input first.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.inputs];
        sizes.extend(&self.hidden);
        sizes.push(self.outputs);
        sizes
    }

    /// Fixed random feedback matrices for `method` (none for BP), drawn from `rng`, each
    /// entry uniform in ±1/√n with n the width of the hidden layer the matrix reaches: for
    /// FA, the scale of the forward weights `Wᵀ` it stands in for.
    pub fn feedback<B: Backend>(
        &self,
        method: Method,
        rng: &mut impl Rng,
        device: &B::Device,
    ) -> Feedback<B> {
        let sizes = self.sizes();
        let layers = sizes.len() - 1;
        let mut uniform = |rows: usize, cols: usize, fan: usize| -> Tensor<B, 2> {
            uniform([rows, cols], 1.0 / (fan as f64).sqrt(), rng, device)
        };
        let matrices = match method {
            Method::Bp => Vec::new(),
            // Layer l (1..layers) sends its error [batch, sizes[l+1]] back to width sizes[l].
            Method::Fa => (1..layers)
                .map(|l| uniform(sizes[l + 1], sizes[l], sizes[l]))
                .collect(),
            // The output error [batch, outputs] goes to every hidden layer h (width sizes[h]).
            Method::Dfa => (1..layers)
                .map(|h| uniform(self.outputs, sizes[h], sizes[h]))
                .collect(),
        };
        Feedback { method, matrices }
    }
}

/// The perceptron. Layer `l` computes `h_l = f(h_{l−1}·W_l + b_l)`, the last one without `f`.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// The layers, input side first; the last is the (linear) output layer.
    pub layers: Vec<Linear<B>>,
    /// The hidden layers' nonlinearity.
    #[module(skip)]
    pub activation: Activation,
}

/// The fixed feedback path of FA or DFA: one matrix per hidden layer, `[from, to]`.
#[derive(Debug, Clone)]
pub struct Feedback<B: Backend> {
    /// FA or DFA: which errors the matrices carry (BP has no feedback path).
    pub method: Method,
    /// FA: matrix `k` carries layer `k+1`'s error back to hidden layer `k`, in place of
    /// `W_{k+1}ᵀ`. DFA: matrix `k` carries the output error to hidden layer `k`.
    pub matrices: Vec<Tensor<B, 2>>,
}

/// Every layer's input and the output, kept from the forward pass for the backward one.
pub struct ForwardPass<B: Backend> {
    /// `activities[0]` is the input, `activities[k]` hidden layer k's activity; the last
    /// entry is the (linear) output.
    pub activities: Vec<Tensor<B, 2>>,
}

impl<B: Backend> ForwardPass<B> {
    /// The network's output, `[batch, outputs]`: the last activity.
    pub fn output(&self) -> Tensor<B, 2> {
        self.activities
            .last()
            .expect("a pass holds its output")
            .clone()
    }
}

/// A change of every weight and bias: gradients for BP, their stand-ins for FA and DFA.
#[derive(Debug, Clone)]
pub struct Updates<B: Backend> {
    /// `[in, out]` per layer, as `Linear`'s weight.
    pub weights: Vec<Tensor<B, 2>>,
    /// `[out]` per layer.
    pub biases: Vec<Tensor<B, 1>>,
}

impl<B: Backend> Mlp<B> {
    /// The output (logits for classification), `[batch, outputs]`.
    pub fn forward(&self, input: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward_pass(input).output()
    }

    /// The forward pass, keeping every layer's input for a backward pass.
    pub fn forward_pass(&self, input: Tensor<B, 2>) -> ForwardPass<B> {
        let last = self.layers.len() - 1;
        let mut activities = vec![input];
        for (l, layer) in self.layers.iter().enumerate() {
            let drive = layer.forward(activities[l].clone());
            activities.push(if l == last {
                drive
            } else {
                self.activation.apply(drive)
            });
        }
        ForwardPass { activities }
    }

    /// The loss of `pass` against `target` (`[batch, outputs]`: values for the squared
    /// error, one-hot classes for cross-entropy), `[1]`, and its derivative with respect to
    /// the output, `[batch, outputs]`.
    pub fn loss_and_error(
        pass: &ForwardPass<B>,
        target: Tensor<B, 2>,
        loss: Loss,
    ) -> (Tensor<B, 1>, Tensor<B, 2>) {
        let output = pass.output();
        let batch = output.dims()[0] as f64;
        match loss {
            Loss::SquaredError => {
                let miss = output - target;
                let value = miss.clone().powi_scalar(2).sum().mul_scalar(0.5 / batch);
                (value, miss.mul_scalar(1.0 / batch))
            }
            Loss::CrossEntropy => {
                // log-softmax from elementary operations: Burn's fused one differentiates
                // in lower precision than f64 (4e-7 relative), and the check against
                // autodiff is to 1e-12.
                let shifted = output.clone() - output.clone().detach().max_dim(1);
                let log_p = shifted.clone() - shifted.exp().sum_dim(1).log();
                let value = (log_p.clone() * target.clone())
                    .sum()
                    .mul_scalar(-1.0 / batch);
                (value, (log_p.exp() - target).mul_scalar(1.0 / batch))
            }
        }
    }

    /// The update of every layer for the output error `error` (`∂loss/∂output`), carried
    /// down by `feedback` (`None`: backpropagation).
    pub fn updates(
        &self,
        pass: &ForwardPass<B>,
        error: Tensor<B, 2>,
        feedback: Option<&Feedback<B>>,
    ) -> Updates<B> {
        let layers = self.layers.len();
        let method = feedback.map_or(Method::Bp, |f| f.method);
        // deltas[l]: ∂loss/∂drive of layer l, or what stands in for it.
        let mut deltas: Vec<Option<Tensor<B, 2>>> = vec![None; layers];
        deltas[layers - 1] = Some(error.clone());
        for l in (0..layers - 1).rev() {
            let arriving = match (method, feedback) {
                (Method::Dfa, Some(f)) => error.clone().matmul(f.matrices[l].clone()),
                (Method::Fa, Some(f)) => deltas[l + 1]
                    .clone()
                    .expect("the layer above is done")
                    .matmul(f.matrices[l].clone()),
                _ => deltas[l + 1]
                    .clone()
                    .expect("the layer above is done")
                    .matmul(self.layers[l + 1].weight.val().transpose()),
            };
            let slope = self.activation.derivative(pass.activities[l + 1].clone());
            deltas[l] = Some(arriving * slope);
        }
        let (weights, biases) = deltas
            .into_iter()
            .enumerate()
            .map(|(l, delta)| {
                let delta = delta.expect("every layer has a delta");
                (
                    pass.activities[l].clone().transpose().matmul(delta.clone()),
                    delta.sum_dim(0).squeeze_dim::<1>(0),
                )
            })
            .unzip();
        Updates { weights, biases }
    }

    /// One step of plain gradient descent along `updates`: `θ ← θ − lr·update`.
    pub fn step(&mut self, updates: &Updates<B>, learning_rate: f64) {
        self.layers = std::mem::take(&mut self.layers)
            .into_iter()
            .zip(updates.weights.iter().zip(&updates.biases))
            .map(|(mut layer, (weight, bias))| {
                layer.weight = layer
                    .weight
                    .map(|w| w - weight.clone().mul_scalar(learning_rate));
                layer.bias = layer
                    .bias
                    .map(|b| b.map(|b| b - bias.clone().mul_scalar(learning_rate)));
                layer
            })
            .collect();
    }
}

/// What the angle between two updates of one layer's weights is computed from, `[3]`:
/// `a·b`, `a·a`, `b·b` (flattened). Kept on the device until [`angle_degrees`] reads it.
pub fn alignment_terms<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>) -> Tensor<B, 1> {
    Tensor::cat(
        vec![
            (a.clone() * b.clone()).sum(),
            a.powi_scalar(2).sum(),
            b.powi_scalar(2).sum(),
        ],
        0,
    )
}

/// The angle in degrees from [`alignment_terms`]; 90° when either update is zero.
pub fn angle_degrees(terms: [f64; 3]) -> f64 {
    let [dot, a, b] = terms;
    let norms = (a * b).sqrt();
    if norms > 0.0 {
        (dot / norms).clamp(-1.0, 1.0).acos().to_degrees()
    } else {
        90.0
    }
}

mod host;
mod learner;

pub use learner::MlpLearner;

#[cfg(test)]
mod tests;
