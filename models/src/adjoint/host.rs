//! The backward sweep of the host kernels: one pass per step over the trace rows, rebuilding
//! each row of the previous trace in place and carrying the trace adjoint one step back.

use rayon::prelude::*;

use crate::dense::{dot, LANES};
use crate::kernels::Real;
use crate::plastic_rnn::host::{add_into, rows_per_task, HostEpisodes, HostForward};
use crate::plastic_rnn::traces::TraceSource as Source;

type TraceSource<'a, T> = Source<&'a [T]>;

impl<T: Real> HostEpisodes<T> {
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
        let (n, batch) = (self.n, self.batch);
        let keep = self.retention(step.post);
        let vectors = StepVectors {
            rebuild_scale: keep.iter().map(|&r| r.recip()).collect(),
            keep,
            decay_weight: step
                .post
                .iter()
                .map(|&y| if self.oja { y * y } else { T::one() })
                .collect(),
            earlier_keep: step.earlier.map(|_| self.retention(step.pre)),
        };
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
                let mut rows_of = trace_block
                    .chunks_mut(batch * n)
                    .zip(adjoint_block.chunks_mut(batch * n))
                    .zip(alpha_block.chunks_mut(n))
                    .enumerate();
                for (r, ((rows_of_h, rows_of_g), alpha_row)) in &mut rows_of {
                    let i = task * rows + r;
                    for (b, (h, g)) in rows_of_h
                        .chunks_mut(n)
                        .zip(rows_of_g.chunks_mut(n))
                        .enumerate()
                    {
                        let row = Row {
                            i,
                            b,
                            h,
                            g,
                            alpha_row: &mut *alpha_row,
                        };
                        eta_part = eta_part
                            + self.backward_row(row, &step, &vectors, &mut activity_adjoint);
                    }
                }
                (activity_adjoint, eta_part)
            })
            .reduce(zero, |(a, ea), (b, eb)| (add_into(a, b), ea + eb))
    }

    /// Step back through row `i` of episode `b`'s trace; returns its share of `∂L/∂η`.
    #[inline(always)]
    fn backward_row(
        &self,
        row: Row<'_, T>,
        step: &BackStep<'_, T>,
        vectors: &StepVectors<T>,
        activity_adjoint: &mut [T],
    ) -> T {
        let (n, batch, eta) = (self.n, self.batch, self.eta);
        let Row {
            i,
            b,
            h,
            g,
            alpha_row,
        } = row;
        let range = b * n..(b + 1) * n;
        let at = (i * batch + b) * n..(i * batch + b + 1) * n;
        let pre_i = step.pre[b * n + i];
        let post = &step.post[range.clone()];
        let ga = &step.drive_adjoint[range.clone()];
        let keep = &vectors.keep[range.clone()];
        let decay_weight = &vectors.decay_weight[range.clone()];
        let (w, a) = (self.row(&self.w, i), self.row(&self.alpha, i));
        // The clamp passes no gradient where it cut (|H(s)| = 1).
        if self.clamp {
            for (g, &h) in g.iter_mut().zip(&*h) {
                *g = if h.abs() < T::one() { *g } else { T::zero() };
            }
        }
        // H(s) → H(s−1), in place.
        match step.source {
            Source::Zero => h.fill(T::zero()),
            Source::Stored(copy) => h.copy_from_slice(&copy[at.clone()]),
            Source::Rebuild => {
                let gain = eta * pre_i;
                let scale = &vectors.rebuild_scale[range.clone()];
                for ((h, &y), &s) in h.iter_mut().zip(post).zip(scale) {
                    *h = (*h - gain * y) * s;
                }
            }
        }
        // One pass: the three dot products and the new trace adjoint. With no clamp the
        // plain-Hebb share of ∂H(s−1)/∂y(s−1), η y_i(s−2), is added here too.
        let earlier_gain = step.earlier.map(|(before, _)| eta * before[b * n + i]);
        let fused_post = match earlier_gain {
            Some(gain) if !self.clamp => gain,
            _ => T::zero(),
        };
        // The three dot products first, while g still holds ∂L/∂H(s); then one elementwise
        // pass writes the new trace adjoint. The row stays in cache between the two.
        let trace_dot = dot(g, post);
        let decay_dot = if self.oja {
            dot3(g, decay_weight, h)
        } else {
            dot(g, h)
        };
        let drive_dot = dot(w, ga) + dot3(a, h, ga);
        let target = &mut activity_adjoint[range.clone()];
        for ((((((g, &p), &gaj), &a), &k), ag), t) in g
            .iter_mut()
            .zip(&*h)
            .zip(ga)
            .zip(a)
            .zip(keep)
            .zip(alpha_row.iter_mut())
            .zip(target.iter_mut())
        {
            let outer = pre_i * gaj;
            *ag = *ag + outer * p;
            let next = *g * k + a * outer;
            *g = next;
            *t = *t + fused_post * next;
        }
        activity_adjoint[b * n + i] = activity_adjoint[b * n + i] + eta * trace_dot + drive_dot;
        if let (Some(gain), Some((_, earlier_source))) = (earlier_gain, step.earlier) {
            let target = &mut activity_adjoint[range.clone()];
            if self.clamp {
                // Nothing passes where the clamp cut H(s−1).
                for ((t, &q), &p) in target.iter_mut().zip(&*g).zip(&*h) {
                    if p.abs() < T::one() {
                        *t = *t + gain * q;
                    }
                }
            }
            if self.oja {
                // −2η y_j(s−1) H(s−2)_ij, with H(s−2) rebuilt from H(s−1) entry by entry.
                let two_eta = eta + eta;
                let pre_row = &step.pre[range.clone()];
                let earlier_keep = &vectors.earlier_keep.as_ref().expect("s ≥ 2")[range];
                for j in 0..n {
                    let q = g[j];
                    if q == T::zero() || (self.clamp && h[j].abs() >= T::one()) {
                        continue;
                    }
                    let older = match earlier_source {
                        Source::Zero => T::zero(),
                        Source::Stored(copy) => copy[at.start + j],
                        Source::Rebuild => (h[j] - gain * pre_row[j]) / earlier_keep[j],
                    };
                    target[j] = target[j] - two_eta * pre_row[j] * q * older;
                }
            }
        }
        pre_i * trace_dot - decay_dot
    }
}

/// `Σ a_j b_j c_j`.
#[inline(always)]
fn dot3<T: Real>(a: &[T], b: &[T], c: &[T]) -> T {
    let mut lanes = [T::zero(); LANES];
    let (a_blocks, a_tail) = a.as_chunks::<LANES>();
    let (b_blocks, b_tail) = b[..a.len()].as_chunks::<LANES>();
    let (c_blocks, c_tail) = c[..a.len()].as_chunks::<LANES>();
    for ((x, y), z) in a_blocks.iter().zip(b_blocks).zip(c_blocks) {
        for k in 0..LANES {
            lanes[k] = lanes[k] + x[k] * y[k] * z[k];
        }
    }
    let tail: T = (0..a_tail.len())
        .map(|j| a_tail[j] * b_tail[j] * c_tail[j])
        .sum();
    lanes.into_iter().sum::<T>() + tail
}

/// One row of one episode's trace and trace adjoint, and the same row of `∂L/∂α`.
struct Row<'a, T> {
    i: usize,
    b: usize,
    h: &'a mut [T],
    g: &'a mut [T],
    alpha_row: &'a mut [T],
}

/// Per-step vectors `[batch, n]` shared by every row.
struct StepVectors<T> {
    /// `r_j(s)`.
    keep: Vec<T>,
    /// `1 / r_j(s)`.
    rebuild_scale: Vec<T>,
    /// `q_j`: 1, or `y_j(s)²` under Oja's rule.
    decay_weight: Vec<T>,
    /// `r_j(s−1)`, for s ≥ 2.
    earlier_keep: Option<Vec<T>>,
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
