//! The differentiable plastic RNN (Miconi et al.): every connection has a fixed weight `w`
//! and a plastic part `alpha ⊙ hebb_trace`, where the Hebbian trace is built up during the
//! episode and the plasticity coefficients are learned across episodes.
//!
//! Row-vector convention, column j of a matrix feeds neuron j:
//! `y(t) = tanh( y(t-1)·(W + α⊙Hebb(t-1)) + input(t) )`.
//!
//! Trained across episodes by any gradient engine into any Burn optimizer; here the
//! hand-written adjoint on the host, on BOHP's pattern-completion task:
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use burn::module::AutodiffModule;
//! use burn::optim::{AdamConfig, GradientsParams, Optimizer};
//! use burn::tensor::{ElementConversion, Tensor, TensorData};
//! use plastic_models::{last_step_loss, AlphaInit, Kernels, PlasticRnnConfig};
//! use plastic_tasks::{generate_batch, pattern_preset, PatternBatch};
//! use rand::SeedableRng;
//!
//! type B = Autodiff<NdArray>;
//! let device = Default::default();
//! let tensors = |batch: &PatternBatch| {
//!     let shape = [batch.batch, batch.steps, batch.neurons];
//!     let inputs = Tensor::<NdArray, 3>::from_data(TensorData::new(batch.inputs.clone(), shape), &device);
//!     let targets = TensorData::new(batch.targets.clone(), [batch.batch, batch.neurons]);
//!     (inputs, Tensor::<NdArray, 2>::from_data(targets, &device))
//! };
//! // BOHP's network: a bias neuron, fixed η, no plastic self-connections.
//! let task = pattern_preset("bohp").unwrap();
//! let config = PlasticRnnConfig::new(task.neurons)
//!     .with_bias_neuron(true)
//!     .with_learn_eta(false)
//!     .with_zero_alpha_diagonal(true)
//!     .with_w_init_std(1.1 / ((task.neurons + 1) as f64).sqrt())
//!     .with_alpha_init(AlphaInit::Uniform);
//! let mut model = config.init::<B>(0, &device);
//! let held_out = generate_batch(&task, 64, &mut rand_chacha::ChaCha8Rng::seed_from_u64(99)).unwrap();
//! let (eval_inputs, eval_targets) = tensors(&held_out);
//! let eval_loss = |model: &plastic_models::PlasticRnn<NdArray>| -> f64 {
//!     let outputs = model.forward(eval_inputs.clone());
//!     last_step_loss(outputs, eval_targets.clone()).into_scalar().elem()
//! };
//! let before = eval_loss(&model.valid());
//!
//! let mut optimizer = AdamConfig::new().init();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! for _ in 0..50 {
//!     let (inputs, targets) = tensors(&generate_batch(&task, 1, &mut rng).unwrap());
//!     let gradients = model.valid().adjoint_gradients(inputs, targets, Kernels::Host);
//!     let mut params = GradientsParams::new();
//!     params.register(model.w.id, gradients.w);
//!     params.register(model.alpha.id, gradients.alpha);
//!     model = optimizer.step(0.03, model, params);
//! }
//! let after = eval_loss(&model.valid());
//! assert!(after < 0.95 * before, "50 episodes lower the loss: {before} → {after}");
//! ```

mod config;
pub(crate) mod host;
pub(crate) mod traces;

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::modulation::{modulated_update, Modulation};
use crate::pattern_net::{truncation_cut, PatternNet};

pub use config::{
    AlphaInit, GradientEngine, HebbRule, PlasticGradients, PlasticRnnConfig,
    DEFAULT_ELIGIBILITY_RATE,
};

/// Recurrent network with Hebbian plastic connections; `W`, `α` and `η` are shared by every
/// episode of a batch, each episode has its own trace.
#[derive(Module, Debug)]
pub struct PlasticRnn<B: Backend> {
    /// Fixed weights `W`, `[neurons, neurons]` (bias neuron included), row i → column j.
    pub w: Param<Tensor<B, 2>>,
    /// Plasticity coefficients `α`, `[neurons, neurons]`, or `[1, 1]` when shared.
    pub alpha: Param<Tensor<B, 2>>,
    /// Trace learning rate `η`, `[1]`.
    pub eta: Param<Tensor<B, 1>>,
    /// `w_mod`, `[neurons, 1]`: the modulator `M = tanh(y·w_mod)`, when modulated.
    pub modulation_weights: Option<Param<Tensor<B, 2>>>,
    /// `η_e`, `[1]`, under retroactive modulation.
    pub eligibility_rate: Option<Param<Tensor<B, 1>>>,
    /// The configuration this network was built from.
    #[module(skip)]
    pub config: PlasticRnnConfig,
}

/// The state one episode carries from step to step.
#[derive(Debug, Clone)]
pub struct PlasticState<B: Backend> {
    /// Activities, `[batch, neurons]` (bias neuron included).
    pub y: Tensor<B, 2>,
    /// Hebbian trace, `[batch, neurons, neurons]`.
    pub hebb_trace: Tensor<B, 3>,
    /// Eligibility trace, `[batch, neurons, neurons]`, under retroactive modulation.
    pub eligibility: Option<Tensor<B, 3>>,
}

/// Tensors derived from the parameters once per episode rather than once per step.
pub(crate) struct StepParams<B: Backend> {
    /// `[1, n, n]`.
    pub(crate) w: Tensor<B, 3>,
    /// `[1, n, n]` or `[1, 1, 1]`, diagonal masked when asked.
    pub(crate) alpha: Tensor<B, 3>,
    /// `[1, 1, 1]`.
    pub(crate) eta: Tensor<B, 3>,
    /// `(keep, unit)`: `y·keep + unit` holds the bias neuron at 1; `[1, n]` each.
    pub(crate) bias: Option<(Tensor<B, 2>, Tensor<B, 2>)>,
}

/// A batch of episodes as the hand-written gradient engines take it on tensor kernels.
pub(crate) struct TensorEpisodes<B: Backend> {
    pub(crate) batch: usize,
    pub(crate) steps: usize,
    /// Neurons, the bias neuron included.
    pub(crate) n: usize,
    /// `[batch, steps, n]`: the inputs with the bias neuron's channel.
    pub(crate) inputs: Tensor<B, 3>,
    pub(crate) params: StepParams<B>,
}

impl PlasticRnnConfig {
    /// Builds the network with parameters drawn from `seed`: the same seed gives the same
    /// parameters on every backend.
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> PlasticRnn<B> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = self.total_neurons();
        let w: Vec<f32> = (0..n * n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                (z * self.w_init_std) as f32
            })
            .collect();
        let alpha_shape = self.alpha_shape();
        let mut alpha: Vec<f32> = (0..alpha_shape[0] * alpha_shape[1])
            .map(|_| {
                let z: f64 = match self.alpha_init {
                    AlphaInit::Normal => StandardNormal.sample(&mut rng),
                    AlphaInit::Uniform => rng.random::<f64>(),
                };
                (z * self.alpha_init_scale) as f32
            })
            .collect();
        if self.zero_alpha_diagonal && self.alpha_per_connection {
            for i in 0..n {
                alpha[i * n + i] = 0.0;
            }
        }
        // Drawn after W and α, so that a seed gives the same W and α with and without.
        let modulation_weights = (self.modulation() != Modulation::None).then(|| {
            let bound = 1.0 / (n as f64).sqrt();
            let values: Vec<f32> = (0..n)
                .map(|_| rng.random_range(-bound..bound) as f32)
                .collect();
            Param::from_tensor(Tensor::from_data(TensorData::new(values, [n, 1]), device))
        });
        let eligibility_rate = (self.modulation() == Modulation::Retroactive).then(|| {
            let rate = vec![self.eligibility_rate() as f32];
            Param::from_tensor(Tensor::from_data(TensorData::new(rate, [1]), device))
        });
        let eta =
            Tensor::<B, 1>::from_data(TensorData::new(vec![self.eta_init as f32], [1]), device);
        PlasticRnn {
            w: Param::from_tensor(Tensor::from_data(TensorData::new(w, [n, n]), device)),
            alpha: Param::from_tensor(Tensor::from_data(
                TensorData::new(alpha, alpha_shape),
                device,
            )),
            eta: Param::from_tensor(eta).set_require_grad(self.learn_eta),
            modulation_weights,
            eligibility_rate,
            config: self.clone(),
        }
    }
}

impl<B: Backend> PlasticRnn<B> {
    /// The state at the start of an episode: silent neurons (bias at 1) and an empty trace.
    pub fn initial_state(&self, batch: usize) -> PlasticState<B> {
        let n = self.config.total_neurons();
        let device = self.w.device();
        let mut y = Tensor::zeros([batch, n], &device);
        if let Some((_, unit)) = self.bias_tensors(&device) {
            y = y + unit;
        }
        PlasticState {
            y,
            hebb_trace: Tensor::zeros([batch, n, n], &device),
            eligibility: (self.config.modulation() == Modulation::Retroactive)
                .then(|| Tensor::zeros([batch, n, n], &device)),
        }
    }

    /// Runs whole episodes, `inputs` `[batch, steps, neurons]` (bias neuron excluded), and
    /// returns the last step's activities of the input neurons, `[batch, neurons]`.
    pub fn forward(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        self.forward_truncated(inputs, None)
    }

    /// [`PlasticRnn::forward`], backpropagated through at most `truncate` steps: the
    /// activities and the trace are cut from the graph before the last `truncate` steps.
    pub fn forward_truncated(&self, inputs: Tensor<B, 3>, truncate: Option<usize>) -> Tensor<B, 2> {
        let [batch, steps, _] = inputs.dims();
        let params = self.step_params();
        let inputs = self.pad_bias(inputs);
        let cut = truncation_cut(steps, truncate);
        let mut state = self.initial_state(batch);
        for t in 0..steps {
            if cut == Some(t) {
                state = PlasticState {
                    y: state.y.detach(),
                    hebb_trace: state.hebb_trace.detach(),
                    eligibility: state.eligibility.map(Tensor::detach),
                };
            }
            state = self.advance(&params, state, input_at(&inputs, t));
        }
        self.readout(state.y)
    }

    /// The activities of the input neurons (the bias neuron dropped), `[batch, neurons]`.
    pub(crate) fn readout(&self, y: Tensor<B, 2>) -> Tensor<B, 2> {
        let batch = y.dims()[0];
        y.slice([0..batch, 0..self.config.neurons])
    }

    /// One time step, `input` `[batch, neurons]` (bias neuron excluded).
    pub fn step(&self, state: PlasticState<B>, input: Tensor<B, 2>) -> PlasticState<B> {
        let params = self.step_params();
        let input = self
            .pad_bias(input.unsqueeze_dim::<3>(1))
            .squeeze_dim::<2>(1);
        self.advance(&params, state, input)
    }

    /// The trace learning rate as used in the forward pass (detached when it is fixed).
    pub fn eta_value(&self) -> Tensor<B, 1> {
        if self.config.learn_eta {
            self.eta.val()
        } else {
            self.eta.val().detach()
        }
    }

    /// `α` as it acts on the connections: zero diagonal when asked.
    pub fn effective_alpha(&self) -> Tensor<B, 2> {
        let alpha = self.alpha.val();
        if self.config.zero_alpha_diagonal && self.config.alpha_per_connection {
            let n = self.config.total_neurons();
            let off_diagonal =
                Tensor::<B, 2>::ones([n, n], &alpha.device()) - Tensor::eye(n, &alpha.device());
            alpha * off_diagonal
        } else {
            alpha
        }
    }

    pub(crate) fn step_params(&self) -> StepParams<B> {
        let device = self.w.device();
        StepParams {
            w: self.w.val().unsqueeze_dim(0),
            alpha: self.effective_alpha().unsqueeze_dim(0),
            eta: if self.config.modulation() == Modulation::None {
                self.eta_value()
            } else {
                // A modulated trace does not use η. Detached, it leaves no node in the
                // autodiff graph: a node that never reaches the loss hangs from η's leaf for as
                // long as η is unchanged (it gets no gradient), and Burn's graph cleanup walks
                // every such node at each backward pass, slower with every episode.
                self.eta.val().detach()
            }
            .reshape([1, 1, 1]),
            bias: self.bias_tensors(&device),
        }
    }

    fn bias_tensors(&self, device: &B::Device) -> Option<(Tensor<B, 2>, Tensor<B, 2>)> {
        if !self.config.bias_neuron {
            return None;
        }
        let n = self.config.total_neurons();
        let mut unit = vec![0.0f32; n];
        unit[n - 1] = 1.0;
        let keep: Vec<f32> = unit.iter().map(|u| 1.0 - u).collect();
        Some((
            Tensor::from_data(TensorData::new(keep, [1, n]), device),
            Tensor::from_data(TensorData::new(unit, [1, n]), device),
        ))
    }

    /// Appends the bias neuron's (zero) input channel.
    pub(crate) fn pad_bias(&self, inputs: Tensor<B, 3>) -> Tensor<B, 3> {
        if !self.config.bias_neuron {
            return inputs;
        }
        let [batch, steps, _] = inputs.dims();
        let zeros = Tensor::zeros([batch, steps, 1], &inputs.device());
        Tensor::cat(vec![inputs, zeros], 2)
    }

    /// The episodes `inputs` `[batch, steps, neurons]` as the tensor kernels take them.
    pub(crate) fn tensor_episodes(&self, inputs: Tensor<B, 3>) -> TensorEpisodes<B> {
        let [batch, steps, _] = inputs.dims();
        TensorEpisodes {
            batch,
            steps,
            n: self.config.total_neurons(),
            inputs: self.pad_bias(inputs),
            params: self.step_params(),
        }
    }

    pub(crate) fn advance(
        &self,
        params: &StepParams<B>,
        state: PlasticState<B>,
        input: Tensor<B, 2>,
    ) -> PlasticState<B> {
        let PlasticState {
            y: y_prev,
            hebb_trace,
            eligibility,
        } = state;
        let effective = params.w.clone() + params.alpha.clone() * hebb_trace.clone();
        let drive = y_prev
            .clone()
            .unsqueeze_dim::<3>(1)
            .matmul(effective)
            .squeeze_dim::<2>(1)
            + input;
        let mut y = drive.tanh();
        if let Some((keep, unit)) = &params.bias {
            y = y * keep.clone() + unit.clone();
        }
        if self.config.modulation() != Modulation::None {
            let weights = self
                .modulation_weights
                .as_ref()
                .expect("a modulated network has modulation weights")
                .val();
            let rate = self.eligibility_rate.as_ref().map(|rate| rate.val());
            let (hebb_trace, eligibility) = modulated_update(
                self.config.modulation(),
                weights,
                rate,
                y_prev,
                y.clone(),
                hebb_trace,
                eligibility,
            );
            return PlasticState {
                y,
                hebb_trace,
                eligibility,
            };
        }
        // Outer products as [n,1]x[1,n] matmuls: their backward is two matrix-vector
        // products, where a broadcast multiply would need full-size reductions.
        let pre = y_prev.unsqueeze_dim::<3>(2);
        let post = y.clone().unsqueeze_dim::<3>(1);
        let eta = params.eta.clone();
        let mut hebb_trace = match self.config.rule {
            // (1-η)·Hebb + outer(η·y_prev, y): η scales a vector, not a matrix.
            HebbRule::Hebb => hebb_trace * (eta.clone().neg() + 1.0) + (pre * eta).matmul(post),
            // Hebb ⊙ (1 − η·y_j²) + outer(η·y_prev, y).
            HebbRule::Oja => {
                let retention = (post.clone().powi_scalar(2) * eta.clone()).neg() + 1.0;
                hebb_trace * retention + (pre * eta).matmul(post)
            }
        };
        if self.config.clamp_trace {
            hebb_trace = hebb_trace.clamp(-1.0, 1.0);
        }
        PlasticState {
            y,
            hebb_trace,
            eligibility,
        }
    }
}

/// Step `t` of episodes `[batch, steps, n]`, `[batch, n]`.
pub(crate) fn input_at<B: Backend>(inputs: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let batch = inputs.dims()[0];
    inputs
        .clone()
        .slice([0..batch, t..t + 1])
        .squeeze_dim::<2>(1)
}

/// Squared error of the last step, summed over neurons and averaged over the batch.
pub fn last_step_loss<B: Backend>(outputs: Tensor<B, 2>, targets: Tensor<B, 2>) -> Tensor<B, 1> {
    let batch = outputs.dims()[0];
    (outputs - targets)
        .powi_scalar(2)
        .sum()
        // Not `div_scalar`: Burn's autodiff takes its reciprocal in f32 even on f64 backends.
        .mul_scalar(1.0 / batch as f64)
}

impl<B: Backend> PatternNet<B> for PlasticRnn<B> {
    fn last_outputs(&self, inputs: Tensor<B, 3>, truncate: Option<usize>) -> Tensor<B, 2> {
        self.forward_truncated(inputs, truncate)
    }

    fn eval_outputs(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        self.forward_on(inputs, crate::Kernels::preferred())
    }
}
