//! RTRL as fused loops on the host, for the CPU backends.
//!
//! The sensitivities do not feed back into the forward pass, so the forward pass runs ahead
//! a window of [`HOST_WINDOW_STEPS`] steps and records each step's coefficients; then every
//! block of parameter columns is carried through the whole window while its sensitivities
//! stay in a core's cache, the blocks in parallel. Sensitivities are laid out with the
//! parameter column innermost, `G[b][j][i][p]` and `∂y[b][i][p]`, so that every inner loop
//! is one contiguous run over the block's columns. Per step and output neuron `j`, one pass
//! over `G[·][j]` accumulates the drive sensitivity
//!
//! ```text
//! ∂d_j = Σ_i M_ij ∂y_i + Σ_i y_i G_ij + explicit,   ∂y'_j = (1 − y'_j²) ∂d_j
//! ```
//!
//! and a second pass over the same slab (still in L1) updates it:
//! `G'_ij = r_j G_ij + α_ij η y'_j ∂y_i + α_ij c_ij ∂y'_j`, cut where the clamp acted.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use crate::kernels::Real;
use crate::plastic_rnn::host::HostEpisodes;
use crate::plastic_rnn::{PlasticGradients, PlasticRnn};

/// Steps the forward pass runs ahead of the sensitivities: each block walks a whole window
/// while it is in cache. The recorded coefficients take `5·n²` floats per step and episode.
pub const HOST_WINDOW_STEPS: usize = 32;

/// Floats of trace sensitivity per block of parameter columns (1 MiB in f32): small
/// enough to stay in a core's L2 cache through a window.
const HOST_BLOCK_FLOATS: usize = 1 << 18;

/// One step's coefficients of the recursion; matrices are post-major, `[batch, n_j, n_i]`.
struct StepCoefficients<T> {
    /// `y_i` before the step, `[batch, n]`.
    pre: Vec<T>,
    /// `1 − y'_j²`, zero for the bias neuron, `[batch, n]`.
    slope: Vec<T>,
    /// `r_j`, `[batch, n]`.
    retention: Vec<T>,
    /// `M_ij = W_ij + α_ij H_ij`.
    effective: Vec<T>,
    /// `α_ij η y'_j`: how `∂y_i` enters `G_ij`.
    pre_gain: Vec<T>,
    /// `α_ij c_ij`: how `∂y'_j` enters `G_ij`.
    post_gain: Vec<T>,
    /// The explicit drive of α: `y_a H_aj` (masked) at `[b][j][a]`, or, for one shared α,
    /// `Σ_a y_a H_aj` at `[b][j]`.
    alpha_drive: Vec<T>,
    /// `α_ij ∂H'_ij/∂η` (explicit part), when η is learned.
    eta_trace: Option<Vec<T>>,
    /// Whether the clamp left each entry of the new trace alone, when the clamp is on.
    unclamped: Option<Vec<bool>>,
}

/// Where the explicit drive of one parameter column comes from.
#[derive(Debug, Clone, Copy)]
enum ExplicitDrive {
    /// `W_aj`: `y_a`.
    Weight(usize),
    /// `α_aj`: `y_a H_aj`.
    Plasticity(usize),
    /// The shared α: `Σ_a y_a H_aj`.
    SharedPlasticity,
}

/// The sensitivities of one block of parameter columns.
struct Block<T> {
    width: usize,
    /// `∂y`, `[batch, n_i, p]`.
    activity: Vec<T>,
    /// The next step's `∂y`, written while `activity` is read.
    next: Vec<T>,
    /// `G`, `[batch, n_j, n_i, p]`.
    trace: Vec<T>,
    /// Per output neuron `j`, the block's columns with an explicit drive into `j`.
    explicit: Vec<Vec<(usize, ExplicitDrive)>>,
    /// The block's column of η, if it has it.
    eta_column: Option<usize>,
}

/// The shape of the problem, shared by every block.
struct Layout {
    n: usize,
    batch: usize,
    clamp: bool,
    alpha_per_connection: bool,
    /// The diagonal of α is held at zero.
    alpha_diagonal_fixed: bool,
    learn_eta: bool,
}

impl Layout {
    fn connections(&self) -> usize {
        self.n * self.n
            + if self.alpha_per_connection {
                self.n * self.n
            } else {
                1
            }
    }

    fn columns(&self) -> usize {
        self.connections() + usize::from(self.learn_eta)
    }

    /// Columns per block: the trace sensitivity of a block fits [`HOST_BLOCK_FLOATS`], and
    /// the block count is a multiple of the worker count, so that the workers finish
    /// together.
    fn block_width(&self) -> usize {
        let columns = self.columns();
        let floats = self.batch * self.n * self.n * columns;
        let workers = rayon::current_num_threads().max(1);
        let count = floats
            .div_ceil(HOST_BLOCK_FLOATS)
            .next_multiple_of(workers)
            .clamp(1, columns.max(1));
        columns.div_ceil(count).max(1)
    }

    fn block<T: Real>(&self, columns: std::ops::Range<usize>) -> Block<T> {
        let (n, batch, width) = (self.n, self.batch, columns.len());
        let mut explicit = vec![Vec::new(); n];
        let plasticity_start = n * n;
        let eta_index = self.connections();
        let mut eta_column = None;
        for (local, column) in columns.enumerate() {
            if column < plasticity_start {
                explicit[column % n].push((local, ExplicitDrive::Weight(column / n)));
            } else if column == eta_index && self.learn_eta {
                eta_column = Some(local);
            } else if self.alpha_per_connection {
                let k = column - plasticity_start;
                let (a, j) = (k / n, k % n);
                if !(self.alpha_diagonal_fixed && a == j) {
                    explicit[j].push((local, ExplicitDrive::Plasticity(a)));
                }
            } else {
                for drives in explicit.iter_mut() {
                    drives.push((local, ExplicitDrive::SharedPlasticity));
                }
            }
        }
        Block {
            width,
            activity: vec![T::zero(); batch * n * width],
            next: vec![T::zero(); batch * n * width],
            trace: vec![T::zero(); batch * n * n * width],
            explicit,
            eta_column,
        }
    }
}

/// Row `k` of a matrix of rows of `n`.
fn row<T>(values: &[T], n: usize, k: usize) -> &[T] {
    &values[k * n..(k + 1) * n]
}

impl<T: Real> Block<T> {
    /// Carries the block through the steps of a window.
    fn advance(&mut self, layout: &Layout, window: &[StepCoefficients<T>]) {
        let (n, p) = (layout.n, self.width);
        for step in window {
            for b in 0..layout.batch {
                let pre = &step.pre[b * n..(b + 1) * n];
                let activity = &self.activity[b * n * p..(b + 1) * n * p];
                let next = &mut self.next[b * n * p..(b + 1) * n * p];
                let trace = &mut self.trace[b * n * n * p..(b + 1) * n * n * p];
                for (j, (drive, slab)) in
                    next.chunks_mut(p).zip(trace.chunks_mut(n * p)).enumerate()
                {
                    drive.fill(T::zero());
                    let alpha_drive = &step.alpha_drive[b * n..];
                    for &(column, source) in &self.explicit[j] {
                        drive[column] = drive[column]
                            + match source {
                                ExplicitDrive::Weight(a) => pre[a],
                                ExplicitDrive::Plasticity(a) => {
                                    row(&step.alpha_drive, n, b * n + j)[a]
                                }
                                ExplicitDrive::SharedPlasticity => alpha_drive[j],
                            };
                    }
                    let effective = row(&step.effective, n, b * n + j);
                    for ((&m, &y), (d_i, g_i)) in effective
                        .iter()
                        .zip(pre)
                        .zip(activity.chunks(p).zip(slab.chunks(p)))
                    {
                        for ((acc, &d), &g) in drive.iter_mut().zip(d_i).zip(g_i) {
                            *acc = *acc + m * d + y * g;
                        }
                    }
                    let slope = step.slope[b * n + j];
                    for acc in drive.iter_mut() {
                        *acc = *acc * slope;
                    }
                    let keep = step.retention[b * n + j];
                    let (pre_gain, post_gain) = (
                        row(&step.pre_gain, n, b * n + j),
                        row(&step.post_gain, n, b * n + j),
                    );
                    for (i, (g_i, d_i)) in slab.chunks_mut(p).zip(activity.chunks(p)).enumerate() {
                        let (u, v) = (pre_gain[i], post_gain[i]);
                        for ((g, &d), &d_post) in g_i.iter_mut().zip(d_i).zip(&*drive) {
                            *g = keep * *g + u * d + v * d_post;
                        }
                        if let (Some(column), Some(eta_trace)) = (self.eta_column, &step.eta_trace)
                        {
                            g_i[column] = g_i[column] + row(eta_trace, n, b * n + j)[i];
                        }
                        if let Some(unclamped) = &step.unclamped {
                            if !unclamped[(b * n + j) * n + i] {
                                g_i.fill(T::zero());
                            }
                        }
                    }
                }
            }
            std::mem::swap(&mut self.activity, &mut self.next);
        }
    }

    /// `Σ_b Σ_k ∂L/∂y_k ∂y_k/∂θ` for the block's columns.
    fn gradient(&self, dl_dy: &[T]) -> Vec<T> {
        let p = self.width;
        let mut gradient = vec![T::zero(); p];
        for (&e, d) in dl_dy.iter().zip(self.activity.chunks(p)) {
            for (g, &d) in gradient.iter_mut().zip(d) {
                *g = *g + e * d;
            }
        }
        gradient
    }
}

impl<T: Real> HostEpisodes<T> {
    /// The coefficients of the step from `pre` (with trace `hebb`, `[n_i, batch, n_j]`) to
    /// `post`, whose new trace is `after`.
    fn coefficients(
        &self,
        layout: &Layout,
        pre: &[T],
        post: &[T],
        hebb: &[T],
        after: &[T],
    ) -> StepCoefficients<T> {
        let (n, batch) = (self.n, self.batch);
        let eta = self.eta;
        let two = T::one() + T::one();
        let retention = self.retention(post);
        let slope: Vec<T> = post
            .iter()
            .enumerate()
            .map(|(k, &y)| {
                if Some(k % n) == self.bias {
                    T::zero()
                } else {
                    T::one() - y * y
                }
            })
            .collect();
        let size = batch * n * n;
        let mut effective = vec![T::zero(); size];
        let mut pre_gain = vec![T::zero(); size];
        let mut post_gain = vec![T::zero(); size];
        let shared = !layout.alpha_per_connection;
        let mut alpha_drive = vec![T::zero(); if shared { batch * n } else { size }];
        let mut eta_trace = layout.learn_eta.then(|| vec![T::zero(); size]);
        let mut unclamped = layout.clamp.then(|| vec![true; size]);
        for b in 0..batch {
            for j in 0..n {
                let y_post = post[b * n + j];
                for i in 0..n {
                    let h = hebb[(i * batch + b) * n + j];
                    let (w, alpha) = (self.w[i * n + j], self.alpha[i * n + j]);
                    let y_pre = pre[b * n + i];
                    let at = (b * n + j) * n + i;
                    effective[at] = w + alpha * h;
                    pre_gain[at] = alpha * eta * y_post;
                    post_gain[at] = if self.oja {
                        alpha * (eta * y_pre - two * eta * h * y_post)
                    } else {
                        alpha * eta * y_pre
                    };
                    let masked = layout.alpha_diagonal_fixed && i == j;
                    if shared {
                        alpha_drive[b * n + j] = alpha_drive[b * n + j] + y_pre * h;
                    } else if !masked {
                        alpha_drive[at] = y_pre * h;
                    }
                    if let Some(eta_trace) = eta_trace.as_mut() {
                        let decay = if self.oja { y_post * y_post * h } else { h };
                        eta_trace[at] = alpha * (y_pre * y_post - decay);
                    }
                    if let Some(unclamped) = unclamped.as_mut() {
                        unclamped[at] = after[(i * batch + b) * n + j].abs() < T::one();
                    }
                }
            }
        }
        StepCoefficients {
            pre: pre.to_vec(),
            slope,
            retention,
            effective,
            pre_gain,
            post_gain,
            alpha_drive,
            eta_trace,
            unclamped,
        }
    }
}

impl<B: Backend> PlasticRnn<B> {
    /// [`PlasticRnn::rtrl_gradients`] on the host kernels.
    pub(crate) fn host_rtrl<T: Real>(
        &self,
        episodes: HostEpisodes<T>,
        targets: Tensor<B, 2>,
    ) -> PlasticGradients<B> {
        let (n, batch, steps) = (episodes.n, episodes.batch, episodes.steps);
        let layout = Layout {
            n,
            batch,
            clamp: self.config.clamp_trace,
            alpha_per_connection: self.config.alpha_per_connection,
            alpha_diagonal_fixed: self.config.zero_alpha_diagonal
                && self.config.alpha_per_connection,
            learn_eta: self.config.learn_eta,
        };
        let width = layout.block_width();
        let mut blocks: Vec<Block<T>> = (0..layout.columns())
            .step_by(width)
            .map(|start| layout.block(start..(start + width).min(layout.columns())))
            .collect();
        let mut trace = vec![T::zero(); n * batch * n];
        let mut activity = episodes.initial_activity();
        let mut window = Vec::with_capacity(HOST_WINDOW_STEPS.min(steps));
        for t in 0..steps {
            let (mut drive, _) = episodes.forward_sweep(&mut trace, None, Some(&activity), None);
            for (d, x) in drive.iter_mut().zip(episodes.input(t)) {
                *d = *d + x;
            }
            let post = episodes.activate(drive);
            let before = trace.clone();
            episodes.forward_sweep(&mut trace, Some((&activity, &post)), None, None);
            window.push(episodes.coefficients(&layout, &activity, &post, &before, &trace));
            if window.len() == HOST_WINDOW_STEPS || t + 1 == steps {
                blocks
                    .par_iter_mut()
                    .for_each(|block| block.advance(&layout, &window));
                window.clear();
            }
            activity = post;
        }
        let (outputs, loss, dl_dy) = self.host_loss(&activity, targets);
        let flat: Vec<T> = blocks
            .par_iter()
            .map(|block| block.gradient(&dl_dy))
            .collect::<Vec<_>>()
            .concat();
        let connections = layout.connections();
        let device = self.w.device();
        let w = self.host_tensor(flat[..n * n].to_vec(), [n, n]);
        let alpha = self.host_tensor(flat[n * n..connections].to_vec(), self.config.alpha_shape());
        let eta = self
            .config
            .learn_eta
            .then(|| Tensor::from_data(TensorData::new(vec![flat[connections]], [1]), &device));
        PlasticGradients {
            w,
            alpha,
            eta,
            loss,
            outputs,
        }
    }
}
