//! The plastic RNN's configuration (its shape and learning rule), the gradient engines, and
//! what an engine that computes the gradient by hand returns.

use burn::config::Config;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::modulation::Modulation;

/// How the Hebbian trace follows pre- and postsynaptic activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum HebbRule {
    /// Decaying average: `Hebb(t) = (1-η)·Hebb(t-1) + η·outer(y(t-1), y(t))`.
    Hebb,
    /// Oja: `Hebb_ij += η·y_j(t)·(y_i(t-1) − y_j(t)·Hebb_ij)`, self-normalising.
    Oja,
}

/// Distribution of the initial plasticity coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlphaInit {
    /// `scale · N(0, 1)` (differentiable plasticity).
    Normal,
    /// `scale · |U(0, 1)|` (backpropagation of Hebbian plasticity).
    Uniform,
}

/// How the gradient of a [`PlasticRnn`]'s loss is computed; both give the same gradient.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum GradientEngine {
    /// Backpropagation through time (autodiff): memory grows with the episode length.
    Bptt,
    /// Real-time recurrent learning, forward in time: O(N⁴) memory, any episode length.
    Rtrl,
    /// A hand-written adjoint: backward in time, rebuilding each trace from the next,
    /// O(N²) memory per episode. The fastest on every size measured.
    #[default]
    Adjoint,
}

impl GradientEngine {
    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bptt => "bptt",
            Self::Rtrl => "rtrl",
            Self::Adjoint => "adjoint",
        }
    }
}

/// The gradient of the last-step loss with respect to every parameter, from an engine that
/// computes it by hand (RTRL, the adjoint) rather than through autodiff.
#[derive(Debug, Clone)]
pub struct PlasticGradients<B: Backend> {
    /// `∂L/∂W`, shaped like `W`.
    pub w: Tensor<B, 2>,
    /// `∂L/∂α`, shaped like `α` (zero on a masked diagonal).
    pub alpha: Tensor<B, 2>,
    /// `∂L/∂η`, `[1]`; `None` when η is fixed.
    pub eta: Option<Tensor<B, 1>>,
    /// The loss these are the gradient of, `[1]`.
    pub loss: Tensor<B, 1>,
    /// The last step's activities of the input neurons, `[batch, neurons]`.
    pub outputs: Tensor<B, 2>,
}

/// Shape and learning rule of a [`PlasticRnn`].
#[derive(Config, Debug, PartialEq)]
pub struct PlasticRnnConfig {
    /// Neurons that receive the input and are read out.
    pub neurons: usize,
    /// Learning rule of the Hebbian trace.
    #[config(default = "HebbRule::Hebb")]
    pub rule: HebbRule,
    /// One plasticity coefficient per connection (true) or one shared by all (false).
    #[config(default = true)]
    pub alpha_per_connection: bool,
    /// Whether η is learned (true) or held at its initial value.
    #[config(default = true)]
    pub learn_eta: bool,
    /// Initial (or fixed) trace learning rate η.
    #[config(default = 0.01)]
    pub eta_init: f64,
    /// Adds one neuron whose activity is held at 1, so every neuron gets a learned bias.
    #[config(default = false)]
    pub bias_neuron: bool,
    /// Clamps the trace to [-1, 1] after every update.
    #[config(default = false)]
    pub clamp_trace: bool,
    /// Holds α's diagonal at zero: no plastic self-connections.
    #[config(default = false)]
    pub zero_alpha_diagonal: bool,
    /// Standard deviation of the initial fixed weights.
    #[config(default = 0.01)]
    pub w_init_std: f64,
    /// Distribution of the initial plasticity coefficients.
    #[config(default = "AlphaInit::Normal")]
    pub alpha_init: AlphaInit,
    /// Scale of the initial plasticity coefficients.
    #[config(default = 0.01)]
    pub alpha_init_scale: f64,
    /// Whether the network modulates its own trace (Backpropamine); a modulated trace
    /// ignores the rule, η and the clamp setting (see [`crate::modulation`]). Absent: none
    /// (optional, so that configurations written before the field existed still load).
    pub modulation: Option<Modulation>,
    /// Initial rate `η_e` of the eligibility trace (retroactive modulation), learned;
    /// absent: [`DEFAULT_ELIGIBILITY_RATE`].
    pub eligibility_rate_init: Option<f64>,
}

/// `η_e` at the start of training when the configuration names none (Backpropamine's).
pub const DEFAULT_ELIGIBILITY_RATE: f64 = 0.01;

impl PlasticRnnConfig {
    /// How the trace is modulated.
    pub fn modulation(&self) -> Modulation {
        self.modulation.unwrap_or_default()
    }

    /// The initial eligibility-trace rate `η_e`.
    pub fn eligibility_rate(&self) -> f64 {
        self.eligibility_rate_init
            .unwrap_or(DEFAULT_ELIGIBILITY_RATE)
    }

    /// Neurons in the network, the bias neuron included.
    pub fn total_neurons(&self) -> usize {
        self.neurons + usize::from(self.bias_neuron)
    }

    /// Shape of `α`.
    pub fn alpha_shape(&self) -> [usize; 2] {
        if self.alpha_per_connection {
            [self.total_neurons(); 2]
        } else {
            [1, 1]
        }
    }
}
