//! The exact gradient of the plastic RNN by a hand-written adjoint (reverse mode) in O(N²)
//! memory. Autodiff keeps two N×N tensors per step; this keeps the activities `y(0…T)`
//! (O(T·N)) and the final trace, and walks back rebuilding each trace from the next:
//!
//! ```text
//! Hebb: H(t−1) = (H(t) − η·outer(y(t−1), y(t))) / (1 − η)
//! Oja:  H(t−1)_ij = (H(t)_ij − η·y_i(t−1)·y_j(t)) / (1 − η·y_j(t)²)
//! ```
//!
//! Each rebuild divides by the retention, which amplifies rounding errors by up to 1/(1 − η)
//! per step, so exact copies of the trace ("anchors") are kept every [`anchor_interval`]
//! steps, chosen from η so that the amplification between anchors stays below
//! [`MAX_REBUILD_GROWTH`]. Where the clamp cut an entry the trace cannot be rebuilt, so the
//! trace before such a step is kept too.
//!
//! Backward, with `a(t) = y(t−1)·(W + α⊙H(t−1)) + x(t)`, `y(t) = tanh(a(t))`,
//! `H(t) = H(t−1)⊙r(t) + η·outer(y(t−1), y(t))`, and `Ĝ(t) = ∂L/∂H(t)` masked where the
//! clamp cut:
//!
//! ```text
//! ∂L/∂a(t)    = ∂L/∂y(t) ⊙ (1 − y(t)²)
//! ∂L/∂H(t−1)  = Ĝ(t)⊙r(t) + α ⊙ outer(y(t−1), ∂L/∂a(t))
//! ∂L/∂y(t−1) = (W + α⊙H(t−1))·∂L/∂a(t) + η·Ĝ(t)·y(t) + Σ_i Ĝ(t−1)_i· ∂H(t−1)_i·/∂y(t−1)
//! ∂L/∂W      += outer(y(t−1), ∂L/∂a(t)),   ∂L/∂α += H(t−1) ⊙ outer(y(t−1), ∂L/∂a(t))
//! ∂L/∂η      += Σ Ĝ(t) ⊙ (outer(y(t−1), y(t)) − q(t)⊙H(t−1))   (q = 1, or y_j(t)² under Oja)
//! ```
//!
//! Two implementations: fused loops on the host ([`Kernels::Host`], for the CPU backends)
//! and tensor operations that run on any backend ([`Kernels::Tensor`], for the GPU).

pub(crate) mod host;
mod tensor;

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use burn::tensor::{DType, ElementConversion, Tensor, TensorData};

use crate::kernels::{host_vec, Kernels, Real};
use crate::plastic_rnn::{last_step_loss, HebbRule, PlasticGradients, PlasticRnn};
use host::HostEpisodes;

/// The largest factor by which rebuilding the trace between two anchors may amplify an
/// error: the anchors come every `ln(4)/−ln(1 − η)` steps.
pub const MAX_REBUILD_GROWTH: f64 = 4.0;

/// Steps between two exact copies of the trace, so that rebuilding the trace backward
/// amplifies an error at most [`MAX_REBUILD_GROWTH`] times: every step when the retention
/// `1 − η` is not positive.
pub fn anchor_interval(eta: f64) -> usize {
    let retention = 1.0 - eta;
    if retention <= 0.0 {
        1
    } else if retention >= 1.0 {
        usize::MAX
    } else {
        (MAX_REBUILD_GROWTH.ln() / -retention.ln()).floor().max(1.0) as usize
    }
}

/// Exact traces kept by the forward pass, by step.
pub(crate) struct Stored<V> {
    traces: BTreeMap<usize, V>,
}

impl<V> Default for Stored<V> {
    fn default() -> Self {
        Self {
            traces: BTreeMap::new(),
        }
    }
}

impl<V> Stored<V> {
    fn insert(&mut self, step: usize, trace: V) {
        self.traces.insert(step, trace);
    }

    /// Where the trace `H(step)` comes from on the way back.
    fn source(&self, step: usize) -> TraceSource<&V> {
        match self.traces.get(&step) {
            _ if step == 0 => TraceSource::Zero,
            Some(trace) => TraceSource::Stored(trace),
            None => TraceSource::Rebuild,
        }
    }
}

/// Where the backward pass takes a trace from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TraceSource<S> {
    /// `H(0)`: the empty trace.
    Zero,
    /// An exact copy.
    Stored(S),
    /// Rebuilt from the next trace.
    Rebuild,
}

impl<S> TraceSource<S> {
    fn map<U>(self, f: impl FnOnce(S) -> U) -> TraceSource<U> {
        match self {
            Self::Zero => TraceSource::Zero,
            Self::Stored(s) => TraceSource::Stored(f(s)),
            Self::Rebuild => TraceSource::Rebuild,
        }
    }
}

impl<B: Backend> PlasticRnn<B> {
    /// Runs the episodes `inputs` `[batch, steps, neurons]` and returns the gradient of
    /// [`last_step_loss`] against `targets` `[batch, neurons]` by the adjoint method, in
    /// O(N²) memory per episode. Equal to the autodiff (BPTT) gradient up to rounding.
    pub fn adjoint_gradients(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        kernels: Kernels,
    ) -> PlasticGradients<B> {
        assert_eq!(
            self.config.modulation(),
            crate::Modulation::None,
            "the adjoint covers unmodulated traces: a modulated network trains by BPTT"
        );
        match (kernels, self.w.val().dtype()) {
            (Kernels::Tensor, _) => self.tensor_adjoint(inputs, targets),
            (Kernels::Host, DType::F64) => self.host_adjoint::<f64>(inputs, targets),
            (Kernels::Host, _) => self.host_adjoint::<f32>(inputs, targets),
        }
    }

    /// [`PlasticRnn::forward`] on the given kernels: the last step's activities of the input
    /// neurons, `[batch, neurons]`. No gradient flows through the host kernels.
    /// A modulated network always runs on tensor operations.
    pub fn forward_on(&self, inputs: Tensor<B, 3>, kernels: Kernels) -> Tensor<B, 2> {
        let modulated = self.config.modulation() != crate::Modulation::None;
        match (kernels, self.w.val().dtype()) {
            _ if modulated => self.forward(inputs),
            (Kernels::Tensor, _) => self.forward(inputs),
            (Kernels::Host, DType::F64) => self.host_forward::<f64>(inputs),
            (Kernels::Host, _) => self.host_forward::<f32>(inputs),
        }
    }

    fn host_forward<T: Real>(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        let episodes = self.host_episodes::<T>(inputs);
        let last = episodes.forward(None).activity;
        self.readout(self.host_tensor(last, [episodes.batch, episodes.n]))
    }

    fn host_adjoint<T: Real>(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
    ) -> PlasticGradients<B> {
        let episodes = self.host_episodes::<T>(inputs);
        let (n, batch, steps) = (episodes.n, episodes.batch, episodes.steps);
        let anchor_every = anchor_interval(episodes.eta.elem::<f64>());
        let recorded = episodes.forward(Some(anchor_every));
        let last = &recorded.activity[steps * batch * n..];
        let (outputs, loss, dl_dy) = self.host_loss(last, targets);
        let pre_activity = self.host_tensor(
            recorded.activity[..steps * batch * n].to_vec(),
            [steps * batch, n],
        );
        let (alpha, eta, drive_adjoints) = episodes.backward(recorded, dl_dy);
        let drive_adjoints = self.host_tensor(drive_adjoints, [steps * batch, n]);
        let w = pre_activity.transpose().matmul(drive_adjoints);
        let alpha = self.alpha_gradient(self.host_tensor(alpha, [n, n]));
        let eta = self
            .config
            .learn_eta
            .then(|| Tensor::from_data(TensorData::new(vec![eta], [1]), &self.w.device()));
        PlasticGradients {
            w,
            alpha,
            eta,
            loss,
            outputs,
        }
    }

    /// The outputs and the loss of the last activities `last` (`[batch, n]`, on the host),
    /// and `∂L/∂y(T)` (`[batch, n]`, zero past the input neurons).
    pub(crate) fn host_loss<T: Real>(
        &self,
        last: &[T],
        targets: Tensor<B, 2>,
    ) -> (Tensor<B, 2>, Tensor<B, 1>, Vec<T>) {
        let n = self.config.total_neurons();
        let batch = last.len() / n;
        let outputs = self.readout(self.host_tensor(last.to_vec(), [batch, n]));
        let loss = last_step_loss(outputs.clone(), targets.clone());
        let targets: Vec<T> = host_vec(targets);
        let neurons = self.config.neurons;
        let scale = T::from(2.0 / batch as f64).expect("a float");
        let dl_dy = (0..batch * n)
            .map(|k| {
                let (b, j) = (k / n, k % n);
                if j < neurons {
                    scale * (last[k] - targets[b * neurons + j])
                } else {
                    T::zero()
                }
            })
            .collect();
        (outputs, loss, dl_dy)
    }

    /// `∂L/∂α` from the gradient with respect to the effective, full `[n, n]` α.
    pub(crate) fn alpha_gradient(&self, effective: Tensor<B, 2>) -> Tensor<B, 2> {
        if !self.config.alpha_per_connection {
            return effective.sum().reshape([1, 1]);
        }
        if self.config.zero_alpha_diagonal {
            let n = self.config.total_neurons();
            let device = effective.device();
            return effective * (Tensor::ones([n, n], &device) - Tensor::eye(n, &device));
        }
        effective
    }

    pub(crate) fn host_tensor<const D: usize, T: Real>(
        &self,
        values: Vec<T>,
        shape: [usize; D],
    ) -> Tensor<B, D> {
        Tensor::from_data(TensorData::new(values, shape), &self.w.device())
    }

    pub(crate) fn host_episodes<T: Real>(&self, inputs: Tensor<B, 3>) -> HostEpisodes<T> {
        let [batch, steps, _] = inputs.dims();
        let n = self.config.total_neurons();
        let alpha = host_vec::<B, 2, T>(self.effective_alpha());
        let alpha = if alpha.len() == 1 {
            vec![alpha[0]; n * n]
        } else {
            alpha
        };
        HostEpisodes {
            n,
            batch,
            steps,
            oja: self.config.rule == HebbRule::Oja,
            clamp: self.config.clamp_trace,
            bias: self.config.bias_neuron.then_some(n - 1),
            eta: T::from(self.eta.val().into_scalar().elem::<f64>()).expect("a float"),
            w: host_vec(self.w.val()),
            alpha,
            inputs: host_vec(self.pad_bias(inputs)),
        }
    }
}
