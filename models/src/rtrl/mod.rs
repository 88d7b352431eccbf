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
mod window;

pub use host::HOST_WINDOW_STEPS;

use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor};

use blocks::{advance_blocks, advance_window, block_width, column_blocks};

use window::Sensitivity;

use crate::plastic_rnn::{
    input_at, last_step_loss, PlasticGradients, PlasticRnn, PlasticRnnConfig, TensorEpisodes,
};
use crate::PlasticState;

/// Steps whose trace updates are accumulated before they are folded into the stored trace
/// sensitivities. Longer windows fold less often; each step's coupling product grows with
/// the window.
pub const WINDOW_STEPS: usize = 16;

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
    /// [`PlasticRnn::rtrl_gradients`] on the tensor kernels.
    pub(crate) fn tensor_rtrl(
        &self,
        episodes: TensorEpisodes<B>,
        targets: Tensor<B, 2>,
    ) -> PlasticGradients<B> {
        // On a rayon worker, the many small matrix products burn-ndarray runs in rayon
        // scopes execute in place instead of each waking a pool thread.
        rayon::scope(|_| self.rtrl_gradients_on_worker(episodes, targets))
    }

    fn rtrl_gradients_on_worker(
        &self,
        episodes: TensorEpisodes<B>,
        targets: Tensor<B, 2>,
    ) -> PlasticGradients<B> {
        let device = self.w.device();
        let (batch, steps, n) = (episodes.batch, episodes.steps, episodes.n);
        let (inputs, params) = (episodes.inputs, episodes.params);
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
}
