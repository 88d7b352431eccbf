//! The gradient of the plastic RNN by real-time recurrent learning: "backpropagation of
//! Hebbian plasticity" (Miconi). Instead of storing the episode and walking back (BPTT), it
//! carries forward, step by step, the derivatives of every activity and of every Hebbian
//! trace entry with respect to every parameter. Memory is O(N⁴) whatever the episode
//! length; time is O(T·N⁴).
//!
//! No autodiff: two hand-written implementations. Fused loops on the host (`host.rs`, for the
//! CPU backends) carry blocks of parameter columns through a window of recorded steps while
//! they sit in cache. Tensor operations (the rest of this module, for any backend) share the
//! network's forward step with the BPTT path and batch a window's updates into matrix
//! products, as follows.
//!
//! With `d_j = Σ_i y_i (W_ij + α_ij Hebb_ij) + x_j` and `y'_j = tanh(d_j)`, for any parameter θ:
//!
//! ```text
//! ∂d_j/∂θ    = Σ_i M_ij ∂y_i/∂θ + Σ_i y_i α_ij ∂Hebb_ij/∂θ + (explicit: y_a δ_jb for W_ab,
//!              y_a Hebb_ab δ_jb for α_ab)
//! ∂y'_j/∂θ   = (1 − y'_j²) ∂d_j/∂θ                      (0 for the bias neuron)
//! ∂Hebb'_ij/∂θ = r_j ∂Hebb_ij/∂θ + η y'_j ∂y_i/∂θ + c_ij ∂y'_j/∂θ (+ explicit η term)
//! ```
//!
//! where the plain Hebb rule has `r_j = 1 − η`, `c_ij = η y_i`, and Oja's rule has
//! `r_j = 1 − η y'_j²`, `c_ij = η y_i − 2η Hebb_ij y'_j`. A clamped trace entry passes no
//! derivative.
//!
//! Only `G = α ⊙ ∂Hebb/∂θ` ever reaches the activities, so that is what is stored. Its
//! recursion is linear with coefficients known from the forward pass, so the updates of a
//! window of up to [`WINDOW_STEPS`] steps are kept as the activity sensitivities that cause
//! them, and folded into `G` once per window as two batched matrix products. Inside the
//! window, `Σ_i y_i G_ij` is the stored part (one matrix product for the whole window)
//! plus the window's own updates, a product of a small coefficient matrix with the stacked
//! activity sensitivities. Each step then costs a few matrix products instead of a dozen
//! elementwise passes over the N⁴ tensor. A window ends early at a step where the clamp
//! cuts a trace entry, since the clamp is not linear.

mod blocks;
mod host;

pub use host::HOST_WINDOW_STEPS;

use burn::tensor::backend::Backend;
use burn::tensor::{DType, ElementConversion, Tensor};

use blocks::{advance_blocks, advance_window, block_width, column_blocks};

use crate::plastic_rnn::{
    input_at, last_step_loss, HebbRule, PlasticGradients, PlasticRnn, PlasticRnnConfig, StepParams,
};
use crate::{Kernels, PlasticState};

/// Steps whose trace updates are accumulated before they are folded into the stored trace
/// sensitivities. Longer windows fold less often; each step's coupling product grows with
/// the window.
pub const WINDOW_STEPS: usize = 16;

/// Forward sensitivities of one group of `p` parameters.
#[derive(Debug, Clone)]
struct Sensitivity<B: Backend> {
    /// `∂y_k/∂θ`, `[batch, n, p]`.
    activity: Tensor<B, 3>,
    /// `G_ij = α_ij ∂Hebb_ij/∂θ`, presynaptic-major, `[batch, n_i, n_j·p]`: the drive term
    /// `Σ_i y_i G_ij` is a plain matrix product.
    trace: Tensor<B, 3>,
}

impl<B: Backend> Sensitivity<B> {
    fn zeros(batch: usize, n: usize, parameters: usize, device: &B::Device) -> Self {
        Self {
            activity: Tensor::zeros([batch, n, parameters], device),
            trace: Tensor::zeros([batch, n, n * parameters], device),
        }
    }
}

/// What the forward pass of one step hands to the sensitivity recursion.
struct StepRecord<B: Backend> {
    /// The presynaptic activities `y_i`, `[batch, n]`.
    pre: Tensor<B, 2>,
    /// `M_ij = W_ij + α_ij Hebb_ij`, `[batch, n_i, n_j]`.
    effective: Tensor<B, 3>,
    /// `1 − y'²`, zero for the bias neuron, `[batch, n_j]`.
    slope: Tensor<B, 2>,
    /// `r_j`, `[batch, n_j]`.
    retention: Tensor<B, 2>,
    /// `α_ij η y'_j`: how `∂y_i/∂θ` enters `G_ij`, `[batch, n_i, n_j]`.
    pre_gain: Tensor<B, 3>,
    /// `α_ij c_ij`: how `∂y'_j/∂θ` enters `G_ij`, `[batch, n_i, n_j]`.
    post_gain: Tensor<B, 3>,
    /// `α_ij ∂Hebb'_ij/∂η` (explicit part), when η is learned, `[batch, n_i, n_j]`.
    eta_trace: Option<Tensor<B, 3>>,
    /// The explicit drive of W and α, `[batch, n_j, n² + |α|]`.
    connection_drive: Tensor<B, 3>,
    /// 1 where the trace was not clamped, `[batch, n_i, n_j]`, when the clamp is on.
    unclamped: Option<Tensor<B, 3>>,
}

/// The coefficients of one window, shared by every group of parameters.
struct Window<B: Backend> {
    /// The presynaptic activities of every step, `[batch, K, n_i]`.
    pre: Tensor<B, 3>,
    /// Per step τ: how the stacked `∂y/∂θ` of steps 0..=τ give `∂y'/∂θ`, through `M` and
    /// the window's own trace updates, `[batch, n_j, (τ+1)·n]`. Every term of a step's
    /// `∂y'/∂θ` is scaled by that step's slope `1 − y'²`, so the slope is folded into each.
    coupling: Vec<Tensor<B, 3>>,
    /// Per step τ: the retention since the window start times the slope, applied to the
    /// stored part, `[batch, K, n_j, 1]`.
    stored_scale: Tensor<B, 4>,
    /// Per step: the explicit drive of W and α times the slope, `[batch, n_j, n² + |α|]`.
    connection_drive: Vec<Tensor<B, 3>>,
    /// Per step: the drive of η through the window's explicit trace terms times the slope,
    /// `[batch, n_j, 1]`.
    eta_drive: Option<Vec<Tensor<B, 3>>>,
    /// Folding: the coefficients of `∂y_i/∂θ` at each step, `[batch·n_i, n_j, K]`.
    fold_pre: Tensor<B, 3>,
    /// Folding: the coefficients of `∂y'_j/∂θ` at each step, `[batch·n_j, n_i, K]`.
    fold_post: Tensor<B, 3>,
    /// Folding: the window's explicit η terms, `[batch, n_i, n_j]`.
    fold_eta: Option<Tensor<B, 3>>,
    /// The retention of the stored part over the whole window.
    decay: Retention<B>,
    /// The clamp of the window's last step, `[batch, n_i, n_j, 1]`, when it cut an entry.
    unclamped: Option<Tensor<B, 4>>,
}

/// How much of the stored trace sensitivity a window keeps.
enum Retention<B: Backend> {
    /// `(1 − η)^K`, the same for every entry: a scalar multiply, far cheaper on CPU backends
    /// than a broadcast one.
    Uniform(f64),
    /// `Π (1 − η y'_j²)`, `[batch, 1, n_j, 1]`.
    PerNeuron(Tensor<B, 4>),
}

/// Bytes the forward sensitivities of `batch` episodes occupy on the tensor kernels (f32: 4
/// bytes per float; the host kernels need less, having no window of stacked `∂y/∂θ`):
/// `∂y/∂θ` and `G` for `W`, `α` and, when learned, `η`, plus a window's stacked `∂y/∂θ`
/// and the working copies of the blocks in flight.
pub fn rtrl_sensitivity_bytes(config: &PlasticRnnConfig, batch: usize, float_bytes: usize) -> u128 {
    let n = config.total_neurons();
    let [a0, a1] = config.alpha_shape();
    let connections = n.saturating_mul(n).saturating_add(a0.saturating_mul(a1));
    let parameters = (connections as u128) + u128::from(config.learn_eta);
    let (n, batch, window) = (n as u128, batch as u128, WINDOW_STEPS as u128);
    let state = (n + n * n) * parameters;
    let drive = window * n * parameters;
    // The first blocks, one per worker, each `width` columns wide (the last may be cut).
    let width = block_width(batch as usize, n as usize, connections) as u128;
    let workers = rayon::current_num_threads().max(1) as u128;
    let columns_in_flight = (workers * width).min(connections as u128);
    // Per block in flight: the window's ∂y/∂θ (kept, concatenated, stacked twice) and
    // the stored product, then the two folded terms.
    let in_flight = (5 * window * n + 2 * n * n) * columns_in_flight;
    batch * (state + drive + in_flight) * float_bytes as u128
}

impl<B: Backend> PlasticRnn<B> {
    /// Runs the episodes `inputs` `[batch, steps, neurons]` and returns the gradient of
    /// [`last_step_loss`] against `targets` `[batch, neurons]`, computed forward in time.
    /// Equal to the autodiff (BPTT) gradient up to rounding.
    ///
    /// [`Kernels::Host`] runs the recursion as fused loops on the host (the CPU backends);
    /// [`Kernels::Tensor`] as tensor operations of the backend (any backend).
    pub fn rtrl_gradients(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        kernels: Kernels,
    ) -> PlasticGradients<B> {
        assert_eq!(
            self.config.modulation(),
            crate::Modulation::None,
            "RTRL covers unmodulated traces: a modulated network trains by BPTT"
        );
        match (kernels, self.w.val().dtype()) {
            (Kernels::Tensor, _) => self.tensor_rtrl(inputs, targets),
            (Kernels::Host, DType::F64) => self.host_rtrl::<f64>(inputs, targets),
            (Kernels::Host, _) => self.host_rtrl::<f32>(inputs, targets),
        }
    }

    fn tensor_rtrl(&self, inputs: Tensor<B, 3>, targets: Tensor<B, 2>) -> PlasticGradients<B> {
        // On a rayon worker, the many small matrix products burn-ndarray runs in rayon
        // scopes execute in place instead of each waking a pool thread.
        rayon::scope(|_| self.rtrl_gradients_on_worker(inputs, targets))
    }

    fn rtrl_gradients_on_worker(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
    ) -> PlasticGradients<B> {
        let [batch, steps, _] = inputs.dims();
        let n = self.config.total_neurons();
        let device = self.w.device();
        let params = self.step_params();
        let inputs = self.pad_bias(inputs);
        let [alpha_rows, alpha_cols] = self.config.alpha_shape();
        let connection_count = n * n + alpha_rows * alpha_cols;
        let blocks = column_blocks(batch, n, connection_count);
        let mut connections: Vec<Sensitivity<B>> = blocks
            .iter()
            .map(|columns| Sensitivity::zeros(batch, n, columns.len(), &device))
            .collect();
        let mut eta = self
            .config
            .learn_eta
            .then(|| Sensitivity::zeros(batch, n, 1, &device));
        let alpha_mask = self.alpha_mask(&device);
        let eta_value = self.eta.val().into_scalar().elem::<f64>();
        // δ_jb laid out as [1, n_j, 1, n_b]: row j keeps only column b = j.
        let delta = Tensor::<B, 2>::eye(n, &device).reshape([1, n, 1, n]);
        // The forward pass and the coefficients of a window do not depend on the
        // sensitivities: the next window is prepared while the blocks advance through the
        // current one.
        let forward_window = |mut state: PlasticState<B>, mut t: usize| {
            let mut records = Vec::with_capacity(WINDOW_STEPS);
            let mut clamped = false;
            while records.len() < WINDOW_STEPS && t < steps && !clamped {
                let next = self.advance(&params, state.clone(), input_at(&inputs, t));
                let record = self.step_record(&params, &state, &next, &delta, &alpha_mask);
                clamped = record.unclamped.as_ref().is_some_and(|unclamped| {
                    unclamped.clone().min().into_scalar().elem::<f64>() < 1.0
                });
                records.push(record);
                state = next;
                t += 1;
            }
            let window = (!records.is_empty()).then(|| self.window(records, eta_value, clamped));
            (window, state, t)
        };
        let (mut window, mut state, mut t) = forward_window(self.initial_state(batch), 0);
        while let Some(current) = window {
            let (ahead, advanced) = rayon::join(
                || forward_window(state, t),
                || {
                    rayon::join(
                        || advance_blocks(connections, &blocks, &current),
                        || {
                            eta.map(|sensitivity| {
                                let drive = current.eta_drive.as_ref().expect("η is learned");
                                let trace = current.fold_eta.clone();
                                advance_window(sensitivity, &current, drive, trace)
                            })
                        },
                    )
                },
            );
            (window, state, t) = ahead;
            (connections, eta) = advanced;
        }
        let outputs = self.readout(state.y);
        let loss = last_step_loss(outputs.clone(), targets.clone());
        // ∂L/∂y_k = 2(y_k − target_k)/batch; the bias neuron is not scored.
        // The same scaling, in the same order, as the backward pass of `last_step_loss`.
        let mut error = (outputs.clone() - targets)
            .mul_scalar(1.0 / batch as f64)
            .mul_scalar(2.0);
        if self.config.bias_neuron {
            error = Tensor::cat(vec![error, Tensor::zeros([batch, 1], &device)], 1);
        }
        let error = error.unsqueeze_dim::<3>(1);
        let gradient_of = |activity: Tensor<B, 3>| -> Tensor<B, 1> {
            let count = activity.dims()[2];
            error.clone().matmul(activity).sum_dim(0).reshape([count])
        };
        let flat = Tensor::cat(
            connections
                .into_iter()
                .map(|block| gradient_of(block.activity))
                .collect(),
            0,
        );
        let w = flat.clone().slice(0..n * n).reshape([n, n]);
        let alpha = flat
            .slice(n * n..connection_count)
            .reshape([alpha_rows, alpha_cols]);
        PlasticGradients {
            w,
            alpha,
            eta: eta.map(|sensitivity| gradient_of(sensitivity.activity)),
            loss,
            outputs,
        }
    }

    /// `∂α_eff/∂α`: zero on the diagonal when plastic self-connections are off.
    fn alpha_mask(&self, device: &B::Device) -> Option<Tensor<B, 3>> {
        if !(self.config.zero_alpha_diagonal && self.config.alpha_per_connection) {
            return None;
        }
        let n = self.config.total_neurons();
        let mask = Tensor::<B, 2>::ones([n, n], device) - Tensor::eye(n, device);
        Some(mask.unsqueeze_dim(0))
    }

    fn step_record(
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
    fn window(&self, records: Vec<StepRecord<B>>, eta_value: f64, clamped: bool) -> Window<B> {
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
    fn connection_drive(
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
