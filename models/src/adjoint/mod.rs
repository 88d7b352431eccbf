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

mod host;
mod tensor;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::kernels::Real;
use crate::plastic_rnn::host::HostEpisodes;
use crate::plastic_rnn::{PlasticGradients, PlasticRnn};

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

impl<B: Backend> PlasticRnn<B> {
    /// [`PlasticRnn::adjoint_gradients`] on the host kernels.
    pub(crate) fn host_adjoint<T: Real>(
        &self,
        episodes: HostEpisodes<T>,
        targets: Tensor<B, 2>,
    ) -> PlasticGradients<B> {
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
}
