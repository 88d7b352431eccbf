//! One window of the tensor RTRL path: what the forward pass of a step hands to the
//! sensitivity recursion ([`StepRecord`]), and the coefficients a window of such steps
//! shares across every group of parameters ([`Window`]), built once per window (see the
//! module above for the recursion they batch).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::plastic_rnn::{HebbRule, PlasticRnn, StepParams};
use crate::PlasticState;

/// Forward sensitivities of one group of `p` parameters.
#[derive(Debug, Clone)]
pub(super) struct Sensitivity<B: Backend> {
    /// `∂y_k/∂θ`, `[batch, n, p]`.
    pub(super) activity: Tensor<B, 3>,
    /// `G_ij = α_ij ∂Hebb_ij/∂θ`, presynaptic-major, `[batch, n_i, n_j·p]`: the drive term
    /// `Σ_i y_i G_ij` is a plain matrix product.
    pub(super) trace: Tensor<B, 3>,
}

impl<B: Backend> Sensitivity<B> {
    pub(super) fn zeros(batch: usize, n: usize, parameters: usize, device: &B::Device) -> Self {
        Self {
            activity: Tensor::zeros([batch, n, parameters], device),
            trace: Tensor::zeros([batch, n, n * parameters], device),
        }
    }
}

/// What the forward pass of one step hands to the sensitivity recursion.
pub(super) struct StepRecord<B: Backend> {
    /// The presynaptic activities `y_i`, `[batch, n]`.
    pub(super) pre: Tensor<B, 2>,
    /// `M_ij = W_ij + α_ij Hebb_ij`, `[batch, n_i, n_j]`.
    pub(super) effective: Tensor<B, 3>,
    /// `1 − y'²`, zero for the bias neuron, `[batch, n_j]`.
    pub(super) slope: Tensor<B, 2>,
    /// `r_j`, `[batch, n_j]`.
    pub(super) retention: Tensor<B, 2>,
    /// `α_ij η y'_j`: how `∂y_i/∂θ` enters `G_ij`, `[batch, n_i, n_j]`.
    pub(super) pre_gain: Tensor<B, 3>,
    /// `α_ij c_ij`: how `∂y'_j/∂θ` enters `G_ij`, `[batch, n_i, n_j]`.
    pub(super) post_gain: Tensor<B, 3>,
    /// `α_ij ∂Hebb'_ij/∂η` (explicit part), when η is learned, `[batch, n_i, n_j]`.
    pub(super) eta_trace: Option<Tensor<B, 3>>,
    /// The explicit drive of W and α, `[batch, n_j, n² + |α|]`.
    pub(super) connection_drive: Tensor<B, 3>,
    /// 1 where the trace was not clamped, `[batch, n_i, n_j]`, when the clamp is on.
    pub(super) unclamped: Option<Tensor<B, 3>>,
}

/// The coefficients of one window, shared by every group of parameters.
pub(super) struct Window<B: Backend> {
    /// The presynaptic activities of every step, `[batch, K, n_i]`.
    pub(super) pre: Tensor<B, 3>,
    /// Per step τ: how the stacked `∂y/∂θ` of steps 0..=τ give `∂y'/∂θ`, through `M` and
    /// the window's own trace updates, `[batch, n_j, (τ+1)·n]`. Every term of a step's
    /// `∂y'/∂θ` is scaled by that step's slope `1 − y'²`, so the slope is folded into each.
    pub(super) coupling: Vec<Tensor<B, 3>>,
    /// Per step τ: the retention since the window start times the slope, applied to the
    /// stored part, `[batch, K, n_j, 1]`.
    pub(super) stored_scale: Tensor<B, 4>,
    /// Per step: the explicit drive of W and α times the slope, `[batch, n_j, n² + |α|]`.
    pub(super) connection_drive: Vec<Tensor<B, 3>>,
    /// Per step: the drive of η through the window's explicit trace terms times the slope,
    /// `[batch, n_j, 1]`.
    pub(super) eta_drive: Option<Vec<Tensor<B, 3>>>,
    /// Folding: the coefficients of `∂y_i/∂θ` at each step, `[batch·n_i, n_j, K]`.
    pub(super) fold_pre: Tensor<B, 3>,
    /// Folding: the coefficients of `∂y'_j/∂θ` at each step, `[batch·n_j, n_i, K]`.
    pub(super) fold_post: Tensor<B, 3>,
    /// Folding: the window's explicit η terms, `[batch, n_i, n_j]`.
    pub(super) fold_eta: Option<Tensor<B, 3>>,
    /// The retention of the stored part over the whole window.
    pub(super) decay: Retention<B>,
    /// The clamp of the window's last step, `[batch, n_i, n_j, 1]`, when it cut an entry.
    pub(super) unclamped: Option<Tensor<B, 4>>,
}

/// How much of the stored trace sensitivity a window keeps.
pub(super) enum Retention<B: Backend> {
    /// `(1 − η)^K`, the same for every entry: a scalar multiply, far cheaper on CPU backends
    /// than a broadcast one.
    Uniform(f64),
    /// `Π (1 − η y'_j²)`, `[batch, 1, n_j, 1]`.
    PerNeuron(Tensor<B, 4>),
}

impl<B: Backend> PlasticRnn<B> {
    /// `∂α_eff/∂α`: zero on the diagonal when plastic self-connections are off.
    pub(super) fn alpha_mask(&self, device: &B::Device) -> Option<Tensor<B, 3>> {
        if !(self.config.zero_alpha_diagonal && self.config.alpha_per_connection) {
            return None;
        }
        let n = self.config.total_neurons();
        let mask = Tensor::<B, 2>::ones([n, n], device) - Tensor::eye(n, device);
        Some(mask.unsqueeze_dim(0))
    }

    pub(super) fn step_record(
        &self,
        params: &StepParams<B>,
        before: &PlasticState<B>,
        after: &PlasticState<B>,
        delta: &Tensor<B, 4>,
        alpha_mask: &Option<Tensor<B, 3>>,
    ) -> StepRecord<B> {
        let [batch, n] = before.y.dims();
        let pre = before.y.clone();
        let hebb = before.hebb_trace.clone();
        let post = after.y.clone();
        // `expand` covers a single shared α.
        let alpha = params.alpha.clone().expand([batch, n, n]);
        let eta = params.eta.clone();
        let effective = params.w.clone() + alpha.clone() * hebb.clone();
        let mut slope = post.clone().powi_scalar(2).neg() + 1.0;
        if let Some((keep, _)) = &params.bias {
            slope = slope * keep.clone();
        }
        let post_row = post.clone().unsqueeze_dim::<3>(1);
        let pre_column = pre.clone().unsqueeze_dim::<3>(2);
        let eta_post = post_row.clone() * eta.clone();
        let eta_pre = pre_column.clone() * eta.clone();
        let (retention, post_rate) = match self.config.rule {
            HebbRule::Hebb => (
                (eta.clone().neg() + 1.0).reshape([1, 1]).expand([batch, n]),
                eta_pre,
            ),
            HebbRule::Oja => (
                (post.clone().powi_scalar(2) * eta.clone().reshape([1, 1])).neg() + 1.0,
                eta_pre - hebb.clone() * eta_post.clone().mul_scalar(2.0),
            ),
        };
        let eta_trace = self.config.learn_eta.then(|| {
            let coactivity = pre_column.matmul(post_row.clone());
            let decay = match self.config.rule {
                HebbRule::Hebb => hebb.clone(),
                HebbRule::Oja => hebb.clone() * post_row.powi_scalar(2),
            };
            alpha.clone() * (coactivity - decay)
        });
        let unclamped = self.config.clamp_trace.then(|| {
            // A clamped entry sits exactly at ±1; an unclamped one there has measure zero.
            after.hebb_trace.clone().abs().lower_elem(1.0).float()
        });
        StepRecord {
            connection_drive: self.connection_drive(before, delta, alpha_mask.clone())
                * slope.clone().unsqueeze_dim(2),
            pre,
            effective,
            slope,
            retention,
            pre_gain: alpha.clone() * eta_post,
            post_gain: alpha * post_rate,
            eta_trace,
            unclamped,
        }
    }

    /// The coefficients of a window of steps, from their records.
    pub(super) fn window(
        &self,
        records: Vec<StepRecord<B>>,
        eta_value: f64,
        clamped: bool,
    ) -> Window<B> {
        let steps = records.len();
        let [batch, n] = records[0].pre.dims();
        let device = records[0].pre.device();
        let stack4 = |pick: fn(&StepRecord<B>) -> Tensor<B, 3>| -> Tensor<B, 4> {
            Tensor::stack(records.iter().map(pick).collect(), 1)
        };
        let pre_gain = stack4(|record| record.pre_gain.clone());
        let post_gain = stack4(|record| record.post_gain.clone());
        let eta_trace = self
            .config
            .learn_eta
            .then(|| stack4(|record| record.eta_trace.clone().expect("η is learned")));
        let pre = Tensor::stack::<3>(records.iter().map(|r| r.pre.clone()).collect(), 1);
        let identity = Tensor::<B, 2>::eye(n, &device).reshape([1, 1, n, n]);
        let block_zero = Tensor::<B, 4>::zeros([batch, 1, n, n], &device);
        // decay[q] = Π_{s=q}^{τ-1} r_s: the retention from step q to step τ, [batch, τ+1, n_j].
        let mut decay = Tensor::<B, 3>::ones([batch, 1, n], &device);
        let mut coupling = Vec::with_capacity(steps);
        let mut stored_scale = Vec::with_capacity(steps);
        let mut eta_drive = eta_trace.as_ref().map(|_| Vec::with_capacity(steps));
        for (tau, record) in records.iter().enumerate() {
            let slope = record.slope.clone().unsqueeze_dim::<3>(2);
            let pre_row = record.pre.clone().reshape([batch, 1, 1, n]);
            let mut pre_blocks = Vec::with_capacity(2);
            let mut post_blocks = vec![block_zero.clone()];
            if tau > 0 {
                // The updates of steps s < τ reach step τ decayed by decay[s + 1].
                let since = decay
                    .clone()
                    .slice([0..batch, 1..tau + 1])
                    .unsqueeze_dim::<4>(2);
                let gains = pre_gain.clone().slice([0..batch, 0..tau]);
                pre_blocks
                    .push(record.pre.clone().reshape([batch, 1, n, 1]) * gains * since.clone());
                // ∂y'_j of step s is ∂y_j of step s + 1: a diagonal block.
                let post_sum = pre_row
                    .clone()
                    .matmul(post_gain.clone().slice([0..batch, 0..tau]));
                post_blocks.push(post_sum * since.clone() * identity.clone());
                if let (Some(drive), Some(trace)) = (eta_drive.as_mut(), eta_trace.as_ref()) {
                    let through = pre_row
                        .clone()
                        .matmul(trace.clone().slice([0..batch, 0..tau]));
                    drive.push((through * since).sum_dim(1).reshape([batch, n, 1]) * slope.clone());
                }
            } else if let Some(drive) = eta_drive.as_mut() {
                drive.push(Tensor::zeros([batch, n, 1], &device));
            }
            pre_blocks.push(record.effective.clone().unsqueeze_dim(1));
            let blocks = Tensor::cat(pre_blocks, 1) + Tensor::cat(post_blocks, 1);
            coupling.push(
                blocks
                    .permute([0, 3, 1, 2])
                    .reshape([batch, n, (tau + 1) * n])
                    * slope.clone(),
            );
            stored_scale.push(decay.clone().slice([0..batch, 0..1]).reshape([batch, n, 1]) * slope);
            decay = Tensor::cat(
                vec![
                    decay * record.retention.clone().unsqueeze_dim(1),
                    Tensor::ones([batch, 1, n], &device),
                ],
                1,
            );
        }
        let since = decay
            .clone()
            .slice([0..batch, 1..steps + 1])
            .unsqueeze_dim::<4>(2);
        let fold_pre =
            (pre_gain * since.clone())
                .permute([0, 2, 3, 1])
                .reshape([batch * n, n, steps]);
        let fold_post =
            (post_gain * since.clone())
                .permute([0, 3, 2, 1])
                .reshape([batch * n, n, steps]);
        let fold_eta = eta_trace.map(|trace| (trace * since).sum_dim(1).reshape([batch, n, n]));
        let decay = match self.config.rule {
            HebbRule::Hebb => Retention::Uniform((1.0 - eta_value).powi(steps as i32)),
            HebbRule::Oja => {
                Retention::PerNeuron(decay.slice([0..batch, 0..1]).reshape([batch, 1, n, 1]))
            }
        };
        let last = records.last().expect("a window has a step");
        let unclamped = if clamped {
            last.unclamped.clone().map(|mask| mask.unsqueeze_dim(3))
        } else {
            None
        };
        Window {
            pre,
            coupling,
            stored_scale: Tensor::stack(stored_scale, 1),
            connection_drive: records
                .into_iter()
                .map(|record| record.connection_drive)
                .collect(),
            eta_drive,
            fold_pre,
            fold_post,
            fold_eta,
            decay,
            unclamped,
        }
    }

    /// The explicit dependence of the drive on `W` and `α`: `∂d_j/∂W_ab = y_a δ_jb`,
    /// `∂d_j/∂α_ab = y_a Hebb_ab δ_jb` (or `Σ_i y_i Hebb_ij` for one shared α);
    /// `[batch, n_j, n² + |α|]`.
    pub(super) fn connection_drive(
        &self,
        before: &PlasticState<B>,
        delta: &Tensor<B, 4>,
        alpha_mask: Option<Tensor<B, 3>>,
    ) -> Tensor<B, 3> {
        let [batch, n] = before.y.dims();
        let y_prev = before.y.clone();
        let delta = delta.clone();
        let w_part =
            (y_prev.clone().reshape([batch, 1, n, 1]) * delta.clone()).reshape([batch, n, n * n]);
        let alpha_part = if self.config.alpha_per_connection {
            let mut plastic = y_prev.unsqueeze_dim::<3>(2) * before.hebb_trace.clone();
            if let Some(mask) = alpha_mask {
                plastic = plastic * mask;
            }
            (plastic.reshape([batch, 1, n, n]) * delta).reshape([batch, n, n * n])
        } else {
            y_prev
                .unsqueeze_dim::<3>(1)
                .matmul(before.hebb_trace.clone())
                .reshape([batch, n, 1])
        };
        Tensor::cat(vec![w_part, alpha_part], 2)
    }
}
