//! The gradient of the plastic RNN by real-time recurrent learning: "backpropagation of
//! Hebbian plasticity" (Miconi). Instead of storing the episode and walking back (BPTT), it
//! carries forward, step by step, the derivatives of every activity and of every Hebbian
//! trace entry with respect to every parameter. Memory is O(N⁴) whatever the episode
//! length; time is O(T·N⁴).
//!
//! Written from tensor operations only, with no autodiff, so it runs on any backend and
//! shares the network's parameters and forward step with the BPTT path.
//!
//! With `d_j = Σ_i y_i (W_ij + α_ij Hebb_ij) + x_j` and `y'_j = tanh(d_j)`, for any parameter θ:
//!
//! ```text
//! ∂d_j/∂θ    = Σ_i M_ij ∂y_i/∂θ + Σ_i y_i α_ij ∂Hebb_ij/∂θ + (explicit: y_a δ_jb for W_ab,
//!              y_a Hebb_ab δ_jb for α_ab)
//! ∂y'_j/∂θ   = (1 − y'_j²) ∂d_j/∂θ                      (0 for the bias neuron)
//! ∂Hebb'_ij/∂θ = r_j ∂Hebb_ij/∂θ + η y'_j ∂y_i/∂θ + a_ij ∂y'_j/∂θ (+ explicit η term)
//! ```
//!
//! where the plain Hebb rule has `r_j = 1 − η`, `a_ij = η y_i`, and Oja's rule has
//! `r_j = 1 − η y'_j²`, `a_ij = η y_i − 2η Hebb_ij y'_j`. A clamped trace entry passes no
//! derivative.

use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor};

use crate::plastic_rnn::{
    input_at, last_step_loss, HebbRule, PlasticRnn, PlasticRnnConfig, StepParams,
};
use crate::PlasticState;

/// The gradient of the last-step loss with respect to every parameter, computed forward.
#[derive(Debug, Clone)]
pub struct RtrlGradients<B: Backend> {
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

/// Forward sensitivities of one group of `p` parameters.
#[derive(Debug, Clone)]
struct Sensitivity<B: Backend> {
    /// `∂y_k/∂θ`, `[batch, n, p]`.
    activity: Tensor<B, 3>,
    /// `∂Hebb_ij/∂θ` stored post-major, `[batch, n_j, n_i, p]`: the drive term
    /// `Σ_i y_i α_ij ∂Hebb_ij/∂θ` is then one batched matrix-vector product per neuron j.
    trace: Tensor<B, 4>,
}

impl<B: Backend> Sensitivity<B> {
    fn zeros(batch: usize, n: usize, parameters: usize, device: &B::Device) -> Self {
        Self {
            activity: Tensor::zeros([batch, n, parameters], device),
            trace: Tensor::zeros([batch, n, n, parameters], device),
        }
    }
}

/// What one time step contributes to the sensitivity recursion, shared by every group.
struct StepTerms<B: Backend> {
    /// `M_ijᵀ`, `[batch, n_j, n_i]`: how activity sensitivities feed the drive.
    effective_t: Tensor<B, 3>,
    /// `y_i α_ij` transposed, `[batch·n_j, 1, n_i]`: how trace sensitivities feed the drive.
    plastic_gain_t: Tensor<B, 3>,
    /// `1 − y'²`, zero for the bias neuron, `[batch, n, 1]`.
    slope: Tensor<B, 3>,
    /// `r_j`.
    retention: Retention<B>,
    /// `η y'_j`, `[batch, n_j, 1, 1]`.
    post_rate: Tensor<B, 4>,
    /// `a_ij` transposed, `[batch, n_j or 1, n_i, 1]`.
    pre_rate: Tensor<B, 4>,
    /// 1 where the trace was not clamped, `[batch, n_j, n_i, 1]`.
    unclamped: Option<Tensor<B, 4>>,
}

/// How much of the old trace sensitivity a step keeps.
enum Retention<B: Backend> {
    /// `1 − η`, the same for every entry: a scalar multiply, far cheaper on CPU backends
    /// than a broadcast one.
    Uniform(f64),
    /// `1 − η y'_j²`, `[batch, n_j, 1, 1]`.
    PerNeuron(Tensor<B, 4>),
}

/// Bytes the forward sensitivities of `batch` episodes occupy (f32: 4 bytes per float):
/// `∂y/∂θ` and `∂Hebb/∂θ` for `W`, `α` and, when learned, `η`.
pub fn rtrl_sensitivity_bytes(config: &PlasticRnnConfig, batch: usize, float_bytes: usize) -> u128 {
    let n = config.total_neurons() as u128;
    let [a0, a1] = config.alpha_shape();
    let parameters = n * n + (a0 * a1) as u128 + u128::from(config.learn_eta);
    batch as u128 * (n + n * n) * parameters * float_bytes as u128
}

impl<B: Backend> PlasticRnn<B> {
    /// Runs the episodes `inputs` `[batch, steps, neurons]` and returns the gradient of
    /// [`last_step_loss`] against `targets` `[batch, neurons]`, computed forward in time.
    /// Equal to the autodiff (BPTT) gradient up to rounding.
    pub fn rtrl_gradients(&self, inputs: Tensor<B, 3>, targets: Tensor<B, 2>) -> RtrlGradients<B> {
        let [batch, steps, _] = inputs.dims();
        let n = self.config.total_neurons();
        let device = self.w.device();
        let params = self.step_params();
        let inputs = self.pad_bias(inputs);
        let [alpha_rows, alpha_cols] = self.config.alpha_shape();
        let connection_count = n * n + alpha_rows * alpha_cols;
        let blocks = column_blocks(batch, n, connection_count);
        let workers = std::thread::available_parallelism()
            .map_or(1, |count| count.get())
            .min(blocks.len());
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
        // η enters the drive only through the trace.
        let eta_drive = Tensor::<B, 3>::zeros([batch, n, 1], &device);
        let mut state = self.initial_state(batch);
        for t in 0..steps {
            let next = self.advance(&params, state.clone(), input_at(&inputs, t));
            let terms = self.step_terms(&params, eta_value, &state, &next);
            let direct = self.connection_drive(&state, &delta, alpha_mask.clone());
            connections = advance_blocks(connections, &blocks, &terms, &direct, workers);
            if let Some(sensitivity) = eta {
                let trace = self.eta_trace_term(&state, &next);
                eta = Some(advance_sensitivity(
                    sensitivity,
                    &terms,
                    eta_drive.clone(),
                    Some(trace),
                ));
            }
            state = next;
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
        let w = flat.clone().slice([0..n * n]).reshape([n, n]);
        let alpha = flat
            .slice([n * n..connection_count])
            .reshape([alpha_rows, alpha_cols]);
        RtrlGradients {
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

    fn step_terms(
        &self,
        params: &StepParams<B>,
        eta_value: f64,
        before: &PlasticState<B>,
        after: &PlasticState<B>,
    ) -> StepTerms<B> {
        let [batch, n] = before.y.dims();
        let y_prev = before.y.clone();
        let hebb = before.hebb_trace.clone();
        let y = after.y.clone();
        let effective_t = (params.w.clone() + params.alpha.clone() * hebb.clone()).swap_dims(1, 2);
        // `expand` covers a single shared α.
        let plastic_gain_t = (y_prev.clone().unsqueeze_dim::<3>(2) * params.alpha.clone())
            .expand([batch, n, n])
            .swap_dims(1, 2)
            .reshape([batch * n, 1, n]);
        let mut slope = y.clone().powi_scalar(2).neg() + 1.0;
        if let Some((keep, _)) = &params.bias {
            slope = slope * keep.clone();
        }
        let eta = params.eta.clone().unsqueeze_dim::<4>(0);
        let post_rate = y.clone().reshape([batch, n, 1, 1]) * eta.clone();
        let pre = y_prev.reshape([batch, 1, n, 1]) * eta.clone();
        let (retention, pre_rate) = match self.config.rule {
            HebbRule::Hebb => (Retention::Uniform(1.0 - eta_value), pre),
            HebbRule::Oja => {
                let y_post = y.clone().reshape([batch, n, 1, 1]);
                let retention = (y_post.clone().powi_scalar(2) * eta.clone()).neg() + 1.0;
                let hebb_t = hebb.swap_dims(1, 2).unsqueeze_dim::<4>(3);
                let pre_rate = pre - hebb_t * y_post * eta.mul_scalar(2.0);
                (Retention::PerNeuron(retention), pre_rate)
            }
        };
        let unclamped = self.config.clamp_trace.then(|| {
            // A clamped entry sits exactly at ±1; an unclamped one there has measure zero.
            after
                .hebb_trace
                .clone()
                .abs()
                .lower_elem(1.0)
                .float()
                .swap_dims(1, 2)
                .unsqueeze_dim::<4>(3)
        });
        StepTerms {
            effective_t,
            plastic_gain_t,
            slope: slope.unsqueeze_dim(2),
            retention,
            post_rate,
            pre_rate,
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

    /// The explicit dependence of the new trace on η, `[batch, n_j, n_i, 1]`:
    /// `y_i y'_j − Hebb_ij` (Hebb) or `y_i y'_j − Hebb_ij y'_j²` (Oja).
    fn eta_trace_term(&self, before: &PlasticState<B>, after: &PlasticState<B>) -> Tensor<B, 4> {
        let [batch, n] = before.y.dims();
        let post = after.y.clone().unsqueeze_dim::<3>(2);
        let coactivity = post.clone().matmul(before.y.clone().unsqueeze_dim::<3>(1));
        let hebb_t = before.hebb_trace.clone().swap_dims(1, 2);
        let decay = match self.config.rule {
            HebbRule::Hebb => hebb_t,
            HebbRule::Oja => hebb_t * post.powi_scalar(2),
        };
        (coactivity - decay).reshape([batch, n, n, 1])
    }
}

/// Floats of trace sensitivity per block of parameter columns: each block is small enough
/// to stay in a core's cache through a whole step, which on CPUs matters more than the
/// extra tensor operations.
const BLOCK_FLOATS: usize = 1 << 19;

/// Splits `columns` parameters into blocks: the sensitivity recursion of each parameter
/// is independent of the others', given the forward trajectory.
fn column_blocks(batch: usize, n: usize, columns: usize) -> Vec<std::ops::Range<usize>> {
    let per_column = batch * n * n;
    let width = (BLOCK_FLOATS / per_column.max(1)).clamp(1, columns.max(1));
    (0..columns)
        .step_by(width)
        .map(|start| start..(start + width).min(columns))
        .collect()
}

/// Advances every block of connection sensitivities by one step, spread over `workers`
/// threads: CPU backends run each tensor operation on one core, and the blocks are
/// independent.
fn advance_blocks<B: Backend>(
    sensitivities: Vec<Sensitivity<B>>,
    blocks: &[std::ops::Range<usize>],
    terms: &StepTerms<B>,
    direct: &Tensor<B, 3>,
    workers: usize,
) -> Vec<Sensitivity<B>> {
    let [batch, n, _] = direct.dims();
    let advance = |(sensitivity, columns): (Sensitivity<B>, &std::ops::Range<usize>)| {
        let drive = direct.clone().slice([0..batch, 0..n, columns.clone()]);
        advance_sensitivity(sensitivity, terms, drive, None)
    };
    if workers <= 1 {
        return sensitivities.into_iter().zip(blocks).map(advance).collect();
    }
    let per_worker = sensitivities.len().div_ceil(workers);
    let mut work: Vec<Vec<_>> = Vec::new();
    let mut pairs = sensitivities.into_iter().zip(blocks).peekable();
    while pairs.peek().is_some() {
        work.push(pairs.by_ref().take(per_worker).collect());
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(advance).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("an RTRL worker panicked"))
            .collect()
    })
}

/// One step of the sensitivity recursion for a group of parameters, given the explicit
/// dependence of the drive (`[batch, n, p]`) and of the trace (`[batch, n_j, n_i, p]`).
fn advance_sensitivity<B: Backend>(
    sensitivity: Sensitivity<B>,
    terms: &StepTerms<B>,
    direct_drive: Tensor<B, 3>,
    direct_trace: Option<Tensor<B, 4>>,
) -> Sensitivity<B> {
    let Sensitivity {
        activity: activity_prev,
        trace,
    } = sensitivity;
    let [batch, n, parameters] = activity_prev.dims();
    let through_trace = terms
        .plastic_gain_t
        .clone()
        .matmul(trace.clone().reshape([batch * n, n, parameters]))
        .reshape([batch, n, parameters]);
    let drive =
        terms.effective_t.clone().matmul(activity_prev.clone()) + through_trace + direct_drive;
    let activity = drive * terms.slope.clone();
    let kept = match &terms.retention {
        Retention::Uniform(factor) => trace.mul_scalar(*factor),
        Retention::PerNeuron(factor) => trace * factor.clone(),
    };
    let mut trace = kept
        + terms.post_rate.clone() * activity_prev.reshape([batch, 1, n, parameters])
        + terms.pre_rate.clone() * activity.clone().reshape([batch, n, 1, parameters]);
    if let Some(direct) = direct_trace {
        trace = trace + direct;
    }
    if let Some(unclamped) = &terms.unclamped {
        trace = trace * unclamped.clone();
    }
    Sensitivity { activity, trace }
}
