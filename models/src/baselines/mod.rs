//! Non-plastic baselines on the pattern tasks (differentiable plasticity's comparisons): a
//! recurrent net of tanh units whose first neurons receive the input and are read out, and
//! an LSTM whose first hidden units are read out. Both are trained by BPTT.
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use burn::optim::{AdamConfig, GradientsParams, Optimizer};
//! use burn::tensor::{ElementConversion, Tensor, TensorData};
//! use plastic_models::{last_step_loss, LstmNetConfig, PatternNet, RnnNetConfig};
//! use plastic_tasks::{generate_batch, pattern_preset};
//! use rand::SeedableRng;
//!
//! type B = Autodiff<NdArray>;
//! let device = Default::default();
//! // One batch of 8 BOHP episodes, fitted by BPTT and Adam: the loss on it falls.
//! let task = pattern_preset("bohp").unwrap();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let batch = generate_batch(&task, 8, &mut rng).unwrap();
//! let shape = [batch.batch, batch.steps, batch.neurons];
//! let inputs = Tensor::<B, 3>::from_data(TensorData::new(batch.inputs, shape), &device);
//! let targets =
//!     Tensor::<B, 2>::from_data(TensorData::new(batch.targets, [8, batch.neurons]), &device);
//! fn fit<N: PatternNet<B> + burn::module::AutodiffModule<B>>(
//!     mut net: N,
//!     inputs: &Tensor<B, 3>,
//!     targets: &Tensor<B, 2>,
//! ) -> (f64, f64) {
//!     let mut optimizer = AdamConfig::new().init();
//!     let mut losses = Vec::new();
//!     for _ in 0..30 {
//!         let loss = last_step_loss(net.last_outputs(inputs.clone(), None), targets.clone());
//!         losses.push(loss.clone().into_scalar().elem::<f64>());
//!         let gradients = GradientsParams::from_grads(loss.backward(), &net);
//!         net = optimizer.step(0.01, net, gradients);
//!     }
//!     (losses[0], losses[29])
//! }
//! let (first, last) = fit(RnnNetConfig::new(task.neurons).init::<B>(0, &device), &inputs, &targets);
//! assert!(last < 0.8 * first, "RNN: {first} → {last}");
//! let lstm = LstmNetConfig::new(task.neurons, 2 * task.neurons).init::<B>(0, &device);
//! let (first, last) = fit(lstm, &inputs, &targets);
//! assert!(last < 0.8 * first, "LSTM: {first} → {last}");
//! ```

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::pattern_net::{truncation_cut, PatternNet};

mod host;

/// A parameter of `shape`, its entries drawn from `sample` in order.
pub(crate) fn drawn<B: Backend, const D: usize>(
    shape: [usize; D],
    mut sample: impl FnMut() -> f64,
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count).map(|_| sample() as f32).collect();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

/// Step `t` of episodes `[batch, steps, n]`, as `[batch, n]`.
fn step_input<B: Backend>(inputs: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let [batch, _, n] = inputs.dims();
    inputs
        .clone()
        .slice([0..batch, t..t + 1, 0..n])
        .reshape([batch, n])
}

/// A recurrent net without plasticity: `y(t) = tanh(y(t−1)·W + input(t))`, the input on the
/// first `neurons` units, `hidden` more units, and optionally a bias neuron held at 1.
#[derive(Config, Debug, PartialEq)]
pub struct RnnNetConfig {
    /// Neurons that receive the input and are read out.
    pub neurons: usize,
    /// Further units that neither receive input nor are read out.
    #[config(default = 0)]
    pub hidden: usize,
    /// Adds a neuron held at 1: every unit gets a learned bias.
    #[config(default = true)]
    pub bias_neuron: bool,
    /// Standard deviation of the initial weights.
    #[config(default = 0.01)]
    pub w_init_std: f64,
}

impl RnnNetConfig {
    /// All units, the bias neuron included.
    pub fn total_units(&self) -> usize {
        self.neurons + self.hidden + usize::from(self.bias_neuron)
    }

    /// Draws the weights from `seed`, on `device`.
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> RnnNet<B> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = self.total_units();
        let std = self.w_init_std;
        let normal = move || -> f64 {
            let z: f64 = StandardNormal.sample(&mut rng);
            z * std
        };
        RnnNet {
            w: drawn([n, n], normal, device),
            config: self.clone(),
        }
    }
}

/// See [`RnnNetConfig`].
#[derive(Module, Debug)]
pub struct RnnNet<B: Backend> {
    /// `[units, units]`, row i → column j.
    pub w: Param<Tensor<B, 2>>,
    /// The shape the network was built from.
    pub config: RnnNetConfig,
}

impl<B: Backend> PatternNet<B> for RnnNet<B> {
    fn last_outputs(&self, inputs: Tensor<B, 3>, truncate: Option<usize>) -> Tensor<B, 2> {
        let [batch, steps, neurons] = inputs.dims();
        let n = self.config.total_units();
        let device = self.w.device();
        let w = self.w.val();
        // The input channels padded to every unit; the bias neuron is set to 1 after tanh.
        let padded = Tensor::cat(
            vec![inputs, Tensor::zeros([batch, steps, n - neurons], &device)],
            2,
        );
        let bias = self.config.bias_neuron.then(|| {
            let mut unit = vec![0.0f32; n];
            unit[n - 1] = 1.0;
            let unit = Tensor::<B, 2>::from_data(TensorData::new(unit, [1, n]), &device);
            (unit.clone().neg() + 1.0, unit)
        });
        let with_bias = |y: Tensor<B, 2>| match &bias {
            Some((keep, unit)) => y * keep.clone() + unit.clone(),
            None => y,
        };
        let cut = truncation_cut(steps, truncate);
        let mut y = with_bias(Tensor::zeros([batch, n], &device));
        for t in 0..steps {
            if cut == Some(t) {
                y = y.detach();
            }
            y = with_bias((y.matmul(w.clone()) + step_input(&padded, t)).tanh());
        }
        y.slice([0..batch, 0..neurons])
    }

    fn eval_outputs(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        host::outputs_on(self, inputs, crate::Kernels::preferred())
    }
}

/// An LSTM (gates in PyTorch's order: input, forget, cell, output), its first `neurons`
/// hidden units read out.
#[derive(Config, Debug, PartialEq)]
pub struct LstmNetConfig {
    /// Input channels, and hidden units read out.
    pub neurons: usize,
    /// Hidden units (at least `neurons`).
    pub hidden: usize,
    /// Fixes the first `neurons` units as copies of their input, as the differentiable
    /// plasticity LSTM does to match the recurrent nets (whose input neurons are driven by
    /// the input): cell-gate input weight 10 from their own input channel and 0 from the
    /// others, gate biases input 10, forget −1000, cell 0, output 10. Their recurrent
    /// weights stay learned.
    #[config(default = true)]
    pub clamp_inputs: bool,
}

impl LstmNetConfig {
    /// PyTorch's initialisation: every weight and bias uniform in ±1/√hidden.
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> LstmNet<B> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (n, h) = (self.neurons, self.hidden);
        let bound = 1.0 / (h.max(1) as f64).sqrt();
        let mut uniform = move || rng.random_range(-bound..bound);
        LstmNet {
            w_input: drawn([n, 4 * h], &mut uniform, device),
            w_recurrent: drawn([h, 4 * h], &mut uniform, device),
            bias: drawn([4 * h], &mut uniform, device),
            config: self.clone(),
        }
    }
}

/// See [`LstmNetConfig`].
#[derive(Module, Debug)]
pub struct LstmNet<B: Backend> {
    /// `[neurons, 4·hidden]`.
    pub w_input: Param<Tensor<B, 2>>,
    /// `[hidden, 4·hidden]`.
    pub w_recurrent: Param<Tensor<B, 2>>,
    /// `[4·hidden]`.
    pub bias: Param<Tensor<B, 1>>,
    /// The shape the network was built from.
    pub config: LstmNetConfig,
}

impl<B: Backend> LstmNet<B> {
    /// The input weights and the bias with the clamped units' entries fixed.
    fn effective_input(&self) -> (Tensor<B, 2>, Tensor<B, 1>) {
        let (w, b) = (self.w_input.val(), self.bias.val());
        let Some(clamp) = self.clamp() else {
            return (w, b);
        };
        let (n, h) = (self.config.neurons, self.config.hidden);
        let device = w.device();
        let tensor2 = |values: Vec<f32>| {
            Tensor::<B, 2>::from_data(TensorData::new(values, [n, 4 * h]), &device)
        };
        let tensor1 =
            |values: Vec<f32>| Tensor::<B, 1>::from_data(TensorData::new(values, [4 * h]), &device);
        (
            w * tensor2(clamp.keep_w) + tensor2(clamp.fixed_w),
            b * tensor1(clamp.keep_b) + tensor1(clamp.fixed_b),
        )
    }

    /// The clamp of the first `neurons` units as masks, when the network clamps them.
    fn clamp(&self) -> Option<Clamp> {
        self.config
            .clamp_inputs
            .then(|| Clamp::new(self.config.neurons, self.config.hidden))
    }
}

/// The input-clamped units' fixed entries: the effective input weights are
/// `w ⊙ keep_w + fixed_w` (`[neurons, 4·hidden]`) and the bias `b ⊙ keep_b + fixed_b`.
struct Clamp {
    keep_w: Vec<f32>,
    fixed_w: Vec<f32>,
    keep_b: Vec<f32>,
    fixed_b: Vec<f32>,
}

impl Clamp {
    fn new(n: usize, h: usize) -> Self {
        let (mut keep_w, mut fixed_w) = (vec![1.0f32; n * 4 * h], vec![0.0f32; n * 4 * h]);
        for unit in 0..n {
            for channel in 0..n {
                keep_w[channel * 4 * h + 2 * h + unit] = 0.0;
            }
            fixed_w[unit * 4 * h + 2 * h + unit] = 10.0;
        }
        let (mut keep_b, mut fixed_b) = (vec![1.0f32; 4 * h], vec![0.0f32; 4 * h]);
        for unit in 0..n {
            for (gate, value) in [10.0, -1000.0, 0.0, 10.0].into_iter().enumerate() {
                keep_b[gate * h + unit] = 0.0;
                fixed_b[gate * h + unit] = value;
            }
        }
        Self {
            keep_w,
            fixed_w,
            keep_b,
            fixed_b,
        }
    }
}

impl<B: Backend> PatternNet<B> for LstmNet<B> {
    fn last_outputs(&self, inputs: Tensor<B, 3>, truncate: Option<usize>) -> Tensor<B, 2> {
        let [batch, steps, neurons] = inputs.dims();
        let h = self.config.hidden;
        let device = self.w_recurrent.device();
        let (w_input, bias) = self.effective_input();
        let w_recurrent = self.w_recurrent.val();
        // Every step's input drive at once: one product instead of one per step.
        let driven = inputs
            .reshape([batch * steps, neurons])
            .matmul(w_input)
            .reshape([batch, steps, 4 * h])
            + bias.reshape([1, 1, 4 * h]);
        let cut = truncation_cut(steps, truncate);
        let mut hidden = Tensor::<B, 2>::zeros([batch, h], &device);
        let mut cell = Tensor::<B, 2>::zeros([batch, h], &device);
        for t in 0..steps {
            if cut == Some(t) {
                hidden = hidden.detach();
                cell = cell.detach();
            }
            let gates = step_input(&driven, t) + hidden.matmul(w_recurrent.clone());
            let gate = |k: usize| gates.clone().slice([0..batch, k * h..(k + 1) * h]);
            let (input, forget) = (sigmoid(gate(0)), sigmoid(gate(1)));
            let (candidate, output) = (gate(2).tanh(), sigmoid(gate(3)));
            cell = forget * cell + input * candidate;
            hidden = output * cell.clone().tanh();
        }
        hidden.slice([0..batch, 0..neurons])
    }

    fn eval_outputs(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        host::outputs_on(self, inputs, crate::Kernels::preferred())
    }
}

#[cfg(test)]
mod tests;
