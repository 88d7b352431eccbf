//! The plastic step as fused loops over the rows of the trace, on the host, split across
//! threads. Each pass reads every matrix once: the forward pass finishes one step's trace
//! update and accumulates the next step's drive from the same row while it is in cache; the
//! backward pass rebuilds the previous trace, carries the trace adjoint one step back and
//! accumulates the gradients of `α` and `η` in the same sweep.
//!
//! Traces are laid out `[n_i, batch, n_j]`, so that a block of rows is one contiguous slice
//! for every episode of the batch and the rows of `W` and `α` are read once for all of them.

use burn::tensor::Element;
use num_traits::Float;
use rayon::prelude::*;

use super::{Stored, TraceSource as Source};

type TraceSource<'a, T> = Source<&'a [T]>;

/// The float types the host kernels run in: the backend's own.
pub(crate) trait Real: Float + Element + Send + Sync + std::iter::Sum {}
impl Real for f32 {}
impl Real for f64 {}

/// A batch of episodes and the parameters they run with, on the host.
pub(crate) struct HostEpisodes<T> {
    pub n: usize,
    pub batch: usize,
    pub steps: usize,
    pub oja: bool,
    pub clamp: bool,
    /// Index of the bias neuron, held at 1.
    pub bias: Option<usize>,
    pub eta: T,
    /// `[n, n]`.
    pub w: Vec<T>,
    /// Effective `α` (shared value broadcast, diagonal masked), `[n, n]`.
    pub alpha: Vec<T>,
    /// `[batch, steps, n]`, the bias neuron's channel included.
    pub inputs: Vec<T>,
}

/// What the forward pass leaves for the backward pass.
pub(crate) struct HostForward<T> {
    /// `y(0) … y(T)`, `[T + 1, batch, n]`.
    pub activity: Vec<T>,
    /// `H(T)`, `[n, batch, n]`.
    pub trace: Vec<T>,
    /// Traces kept exactly, by step: anchors and the traces before a step the clamp cut.
    pub stored: Stored<Vec<T>>,
}

/// Rows per parallel task: a few tasks per thread so that uneven rows balance out.
fn rows_per_task(n: usize) -> usize {
    let tasks = 4 * rayon::current_num_threads().max(1);
    n.div_ceil(tasks).max(1)
}

/// Adds `b` into `a`.
fn add_into<T: Real>(mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
    for (x, y) in a.iter_mut().zip(b) {
        *x = *x + y;
    }
    a
}

/// `Σ a_j b_j` with eight partial sums, so that the loop vectorises.
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::zero(); 8];
    let (a_main, a_tail) = a.split_at(a.len() / 8 * 8);
    let (b_main, b_tail) = b.split_at(a_main.len());
    for (x, y) in a_main.chunks_exact(8).zip(b_main.chunks_exact(8)) {
        for k in 0..8 {
            lanes[k] = lanes[k] + x[k] * y[k];
        }
    }
    let tail: T = a_tail.iter().zip(b_tail).map(|(&x, &y)| x * y).sum();
    lanes.into_iter().sum::<T>() + tail
}

/// `Σ a_j b_j c_j`, as [`dot`].
fn dot3<T: Real>(a: &[T], b: &[T], c: &[T]) -> T {
    let mut lanes = [T::zero(); 8];
    let main = a.len() / 8 * 8;
    for ((x, y), z) in a[..main]
        .chunks_exact(8)
        .zip(b[..main].chunks_exact(8))
        .zip(c[..main].chunks_exact(8))
    {
        for k in 0..8 {
            lanes[k] = lanes[k] + x[k] * y[k] * z[k];
        }
    }
    let tail: T = (main..a.len()).map(|j| a[j] * b[j] * c[j]).sum();
    lanes.into_iter().sum::<T>() + tail
}

impl<T: Real> HostEpisodes<T> {
    fn row<'a>(&self, matrix: &'a [T], i: usize) -> &'a [T] {
        &matrix[i * self.n..(i + 1) * self.n]
    }

    /// How much of the trace each entry keeps through a step whose new activity is `post`
    /// (`[batch, n]`): `1 − η`, or `1 − η y_j²` under Oja's rule.
    fn retention(&self, post: &[T]) -> Vec<T> {
        post.iter()
            .map(|&y| {
                if self.oja {
                    T::one() - self.eta * y * y
                } else {
                    T::one() - self.eta
                }
            })
            .collect()
    }

    /// `tanh` of the drive, the bias neuron held at 1.
    fn activate(&self, mut drive: Vec<T>) -> Vec<T> {
        for (k, value) in drive.iter_mut().enumerate() {
            *value = if Some(k % self.n) == self.bias {
                T::one()
            } else {
                value.tanh()
            };
        }
        drive
    }

    fn initial_activity(&self) -> Vec<T> {
        self.activate(vec![T::zero(); self.batch * self.n])
            .into_iter()
            .map(|y| if y == T::one() { y } else { T::zero() })
            .collect()
    }

    fn input(&self, t: usize) -> impl Iterator<Item = T> + '_ {
        (0..self.batch).flat_map(move |b| {
            let start = (b * self.steps + t) * self.n;
            self.inputs[start..start + self.n].iter().copied()
        })
    }

    /// One sweep over the trace rows: first the update `H ← H ⊙ r + η·outer(pre, post)`
    /// (clamped when asked) when `update` is given, then, with the updated rows, the drive
    /// `Σ_i y_i (W_i + α_i ⊙ H_i)` when `drive_from` is given. `before`, when given, receives
    /// the trace as it was before the update. Returns the drive `[batch, n]` and whether the
    /// clamp cut an entry.
    fn forward_sweep(
        &self,
        trace: &mut [T],
        update: Option<(&[T], &[T])>,
        drive_from: Option<&[T]>,
        before: Option<&mut [T]>,
    ) -> (Vec<T>, bool) {
        let (n, batch) = (self.n, self.batch);
        let retention = update.map(|(_, post)| self.retention(post));
        let rows = rows_per_task(n);
        let block = rows * batch * n;
        let before_blocks: Vec<Option<&mut [T]>> = match before {
            Some(copy) => copy.chunks_mut(block).map(Some).collect(),
            None => (0..n.div_ceil(rows)).map(|_| None).collect(),
        };
        let tasks: Vec<_> = trace
            .chunks_mut(block)
            .zip(before_blocks)
            .enumerate()
            .collect();
        tasks
            .into_par_iter()
            .map(|(task, (trace_block, mut before_block))| {
                let mut drive = vec![T::zero(); if drive_from.is_some() { batch * n } else { 0 }];
                let mut clamped = false;
                for (r, rows_of_i) in trace_block.chunks_mut(batch * n).enumerate() {
                    let i = task * rows + r;
                    if let Some(copy) = before_block.as_deref_mut() {
                        copy[r * batch * n..(r + 1) * batch * n].copy_from_slice(rows_of_i);
                    }
                    for (b, h) in rows_of_i.chunks_mut(n).enumerate() {
                        if let (Some((pre, post)), Some(keep)) = (update, &retention) {
                            let gain = self.eta * pre[b * n + i];
                            let post = &post[b * n..(b + 1) * n];
                            let keep = &keep[b * n..(b + 1) * n];
                            for ((h, &k), &y) in h.iter_mut().zip(keep).zip(post) {
                                *h = *h * k + gain * y;
                            }
                            if self.clamp {
                                for h in h.iter_mut() {
                                    let cut = h.max(-T::one()).min(T::one());
                                    clamped |= cut != *h;
                                    *h = cut;
                                }
                            }
                        }
                        if let Some(y) = drive_from {
                            let y_i = y[b * n + i];
                            if y_i != T::zero() {
                                let d = &mut drive[b * n..(b + 1) * n];
                                let (w, a) = (self.row(&self.w, i), self.row(&self.alpha, i));
                                for (((d, &w), &a), &h) in d.iter_mut().zip(w).zip(a).zip(&*h) {
                                    *d = *d + y_i * (w + a * h);
                                }
                            }
                        }
                    }
                }
                (drive, clamped)
            })
            .reduce(
                || (vec![T::zero(); if drive_from.is_some() { batch * n } else { 0 }], false),
                |(a, ca), (b, cb)| (add_into(a, b), ca || cb),
            )
    }

    /// Runs the episodes. With `record`, keeps what the backward pass needs: every activity,
    /// the final trace, and exact copies of the trace every `anchor_every` steps and before
    /// every step the clamp cut. Returns the activity history (only the last step's without
    /// `record`).
    pub fn forward(&self, record: Option<usize>) -> HostForward<T> {
        let (n, batch) = (self.n, self.batch);
        let mut trace = vec![T::zero(); n * batch * n];
        let mut stored = Stored::default();
        let mut activity = self.initial_activity();
        let mut previous: Option<Vec<T>> = None;
        let mut before = (record.is_some() && self.clamp).then(|| vec![T::zero(); trace.len()]);
        let last = |activity: &Vec<T>| activity[activity.len() - batch * n..].to_vec();
        for t in 0..=self.steps {
            // Sweep t finishes the trace update of step t, H(t), and drives step t + 1.
            let current = last(&activity);
            let update = previous.as_deref().map(|pre| (pre, current.as_slice()));
            let drive_from = (t < self.steps).then_some(current.as_slice());
            if update.is_none() && drive_from.is_none() {
                break;
            }
            let (mut drive, clamped) =
                self.forward_sweep(&mut trace, update, drive_from, before.as_deref_mut());
            if let Some(anchor_every) = record {
                if t >= 1 {
                    if clamped {
                        let copy = before.replace(vec![T::zero(); trace.len()]);
                        stored.insert(t - 1, copy.expect("kept while recording a clamp"));
                    }
                    if t < self.steps && t % anchor_every == 0 {
                        stored.insert(t, trace.clone());
                    }
                }
            }
            if t == self.steps {
                break;
            }
            for (d, x) in drive.iter_mut().zip(self.input(t)) {
                *d = *d + x;
            }
            let next = self.activate(drive);
            previous = Some(current);
            if record.is_some() {
                activity.extend_from_slice(&next);
            } else {
                activity = next;
            }
            if record.is_none() && t + 1 == self.steps {
                break;
            }
        }
        HostForward {
            activity,
            trace,
            stored,
        }
    }

    /// The gradient of the loss through the episodes recorded in `forward`, given
    /// `∂L/∂y(T)` (`[batch, n]`, zero on the bias neuron). Returns `∂L/∂α` (effective, full
    /// `[n, n]`), `∂L/∂η`, and the drive adjoints `∂L/∂a(t)` for t = 1…T, `[T, batch, n]`,
    /// from which the caller forms `∂L/∂W = Σ_t y(t−1)ᵀ ∂L/∂a(t)` as one matrix product.
    pub fn backward(&self, forward: HostForward<T>, dl_dy: Vec<T>) -> (Vec<T>, T, Vec<T>) {
        let (n, batch, steps) = (self.n, self.batch, self.steps);
        let HostForward {
            activity,
            mut trace,
            stored,
        } = forward;
        let y_at = |t: usize| &activity[t * batch * n..(t + 1) * batch * n];
        let mut trace_adjoint = vec![T::zero(); trace.len()];
        let mut alpha_gradient = vec![T::zero(); n * n];
        let mut eta_gradient = T::zero();
        let mut drive_adjoints = vec![T::zero(); steps * batch * n];
        let mut drive_adjoint = self.through_tanh(dl_dy, y_at(steps));
        for s in (1..=steps).rev() {
            drive_adjoints[(s - 1) * batch * n..s * batch * n].copy_from_slice(&drive_adjoint);
            let source = stored.source(s - 1).map(Vec::as_slice);
            let earlier = if s >= 2 {
                Some((y_at(s - 2), stored.source(s - 2).map(Vec::as_slice)))
            } else {
                None
            };
            let (activity_adjoint, eta_part) = self.backward_sweep(
                &mut trace,
                &mut trace_adjoint,
                &mut alpha_gradient,
                BackStep {
                    pre: y_at(s - 1),
                    post: y_at(s),
                    drive_adjoint: &drive_adjoint,
                    source,
                    earlier,
                },
            );
            eta_gradient = eta_gradient + eta_part;
            drive_adjoint = self.through_tanh(activity_adjoint, y_at(s - 1));
        }
        (alpha_gradient, eta_gradient, drive_adjoints)
    }

    /// `∂L/∂a = ∂L/∂y ⊙ (1 − y²)`, zero for the bias neuron.
    fn through_tanh(&self, mut adjoint: Vec<T>, y: &[T]) -> Vec<T> {
        for (k, (g, &y)) in adjoint.iter_mut().zip(y).enumerate() {
            *g = if Some(k % self.n) == self.bias {
                T::zero()
            } else {
                *g * (T::one() - y * y)
            };
        }
        adjoint
    }

    /// One step back, step `s`: rebuilds `H(s−1)` from `H(s)` (or takes a stored copy),
    /// turns `∂L/∂H(s)` into `∂L/∂H(s−1)`, and adds the step's share of the gradients.
    /// Returns `∂L/∂y(s−1)` (`[batch, n]`, complete: the trace terms of step s−1 are folded in
    /// from the adjoint just written) and the step's share of `∂L/∂η`.
    fn backward_sweep(
        &self,
        trace: &mut [T],
        trace_adjoint: &mut [T],
        alpha_gradient: &mut [T],
        step: BackStep<'_, T>,
    ) -> (Vec<T>, T) {
        let (n, batch, eta) = (self.n, self.batch, self.eta);
        let retention = self.retention(step.post);
        let rebuild_scale: Vec<T> = retention.iter().map(|&r| r.recip()).collect();
        let squared_post: Vec<T> = step.post.iter().map(|&y| y * y).collect();
        let earlier_retention = step.earlier.map(|(_, _)| self.retention(step.pre));
        let rows = rows_per_task(n);
        let block = rows * batch * n;
        let tasks: Vec<_> = trace
            .chunks_mut(block)
            .zip(trace_adjoint.chunks_mut(block))
            .zip(alpha_gradient.chunks_mut(rows * n))
            .enumerate()
            .collect();
        let zero = || (vec![T::zero(); batch * n], T::zero());
        tasks
            .into_par_iter()
            .map(|(task, ((trace_block, adjoint_block), alpha_block))| {
                let (mut activity_adjoint, mut eta_part) = zero();
                let (mut previous, mut gated) = (vec![T::zero(); n], vec![T::zero(); n]);
                for (r, (rows_of_h, rows_of_g)) in trace_block
                    .chunks_mut(batch * n)
                    .zip(adjoint_block.chunks_mut(batch * n))
                    .enumerate()
                {
                    let i = task * rows + r;
                    let (w, a) = (self.row(&self.w, i), self.row(&self.alpha, i));
                    let alpha_row = &mut alpha_block[r * n..(r + 1) * n];
                    for (b, (h, g)) in rows_of_h.chunks_mut(n).zip(rows_of_g.chunks_mut(n)).enumerate() {
                        let range = b * n..(b + 1) * n;
                        let pre_i = step.pre[b * n + i];
                        let post = &step.post[range.clone()];
                        let ga = &step.drive_adjoint[range.clone()];
                        let keep = &retention[range.clone()];
                        match step.source {
                            Source::Zero => previous.fill(T::zero()),
                            Source::Stored(copy) => previous
                                .copy_from_slice(&copy[(i * batch + b) * n..(i * batch + b + 1) * n]),
                            Source::Rebuild => {
                                let gain = eta * pre_i;
                                for (((p, &h), &y), &s) in previous
                                    .iter_mut()
                                    .zip(&*h)
                                    .zip(post)
                                    .zip(&rebuild_scale[range.clone()])
                                {
                                    *p = (h - gain * y) * s;
                                }
                            }
                        }
                        // The clamp passes no gradient where it cut (|H(s)| = 1).
                        for ((q, &g), &h) in gated.iter_mut().zip(&*g).zip(&*h) {
                            *q = if self.clamp && h.abs() >= T::one() { T::zero() } else { g };
                        }
                        let trace_dot = dot(&gated, post);
                        let decay_dot = if self.oja {
                            dot3(&gated, &squared_post[range.clone()], &previous)
                        } else {
                            dot(&gated, &previous)
                        };
                        eta_part = eta_part + pre_i * trace_dot - decay_dot;
                        activity_adjoint[b * n + i] = activity_adjoint[b * n + i]
                            + eta * trace_dot
                            + dot(w, ga)
                            + dot3(a, &previous, ga);
                        for ((((((h, g), &q), &p), &k), &a), (ag, &ga)) in h
                            .iter_mut()
                            .zip(g.iter_mut())
                            .zip(&gated)
                            .zip(&previous)
                            .zip(keep)
                            .zip(a)
                            .zip(alpha_row.iter_mut().zip(ga))
                        {
                            let outer = pre_i * ga;
                            *ag = *ag + outer * p;
                            *g = q * k + a * outer;
                            *h = p;
                        }
                        if let Some((before, earlier_source)) = step.earlier {
                            // ∂H(s−1)/∂y(s−1): η y_i(s−2), minus 2η y_j H(s−2)_ij under Oja.
                            let gain = eta * before[b * n + i];
                            let target = &mut activity_adjoint[range.clone()];
                            for (j, (t, &g)) in target.iter_mut().zip(&*g).enumerate() {
                                let p = h[j];
                                if g == T::zero() || (self.clamp && p.abs() >= T::one()) {
                                    continue;
                                }
                                let mut derivative = gain;
                                if self.oja {
                                    let y = step.pre[b * n + j];
                                    let older = match earlier_source {
                                        Source::Zero => T::zero(),
                                        Source::Stored(copy) => copy[(i * batch + b) * n + j],
                                        Source::Rebuild => {
                                            let keep = earlier_retention.as_ref().expect("oja")
                                                [b * n + j];
                                            (p - gain * y) / keep
                                        }
                                    };
                                    derivative = derivative - (eta + eta) * y * older;
                                }
                                *t = *t + g * derivative;
                            }
                        }
                    }
                }
                (activity_adjoint, eta_part)
            })
            .reduce(zero, |(a, ea), (b, eb)| (add_into(a, b), ea + eb))
    }
}

/// What one backward step reads.
struct BackStep<'a, T> {
    /// `y(s−1)`, `[batch, n]`.
    pre: &'a [T],
    /// `y(s)`.
    post: &'a [T],
    /// `∂L/∂a(s)`.
    drive_adjoint: &'a [T],
    /// Where `H(s−1)` comes from.
    source: TraceSource<'a, T>,
    /// For s ≥ 2: `y(s−2)` and where `H(s−2)` comes from (the trace terms of step s−1).
    earlier: Option<(&'a [T], TraceSource<'a, T>)>,
}
