//! FORCE's closed loop as fused loops on the host, for the CPU backends. Per step one pass over
//! M's connections computes the drive, the new state and its rates together, split by columns
//! across threads; M is held by columns, its connections only (a fraction p of the entries, as
//! the supplementary script's `sprandn` holds it), and each drive sums them in the order of the
//! dense product, so the result is the dense product's. RLS takes one pass over P per update:
//! the rank-one change of the update before is applied to each row of P just before that row
//! gives its entry of the next k = P r (P is symmetric), so P is read and written once instead
//! of three times. The change still pending
//! when the stretch ends is applied then, so that P is exact between calls.

use rayon::prelude::*;

use crate::kernels::{Real, SparseColumns};

/// Columns (or rows) per parallel task: one task per thread, at least 64 entries wide.
fn span(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1)).max(64)
}

/// Applies `row ← row − (k_i k) c` where a change is given, then returns `row · rates`.
fn change_then_dot<T: Real>(row: &mut [T], change: Option<(T, &[T], T)>, rates: &[T]) -> T {
    if let Some((k_i, gain, c)) = change {
        for (p, &k_j) in row.iter_mut().zip(gain) {
            *p = *p - k_i * k_j * c;
        }
    }
    dot(row, rates)
}

/// `Σ a_k b_k`, in eight running sums so that it vectorises.
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut sums = [T::zero(); 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (a, b) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            sums[lane] = sums[lane] + a[lane] * b[lane];
        }
    }
    let tail = a_rest
        .iter()
        .zip(b_rest)
        .fold(T::zero(), |s, (&a, &b)| s + a * b);
    sums.into_iter().fold(tail, |s, x| s + x)
}

/// One network of a batch and its readout, on the host.
pub(crate) struct HostNetwork<T> {
    pub n: usize,
    /// dt/τ.
    pub leak: T,
    /// M, `[from, to]`: the drive is r·M.
    pub recurrent: SparseColumns<T>,
    pub feedback: Vec<T>,
    pub state: Vec<T>,
    pub output: T,
    pub weights: Vec<T>,
    /// P, `[n, n]`, symmetric.
    pub inverse_correlation: Vec<T>,
}

/// The rank-one change `P ← P − c k kᵀ` not yet applied to P.
struct Pending<T> {
    gain: Vec<T>,
    c: T,
}

impl<T: Real> HostNetwork<T> {
    /// Steps `0..targets.len()` of the closed loop, learning at the steps where `learns`
    /// says so against `targets` (the target after each step). Appends z of every step to
    /// `outputs` and |Δw| of every update to `changes`.
    pub fn advance(
        &mut self,
        targets: &[T],
        learns: impl Fn(usize) -> bool,
        outputs: &mut Vec<T>,
        changes: &mut Vec<T>,
    ) {
        let mut rates: Vec<T> = self.state.iter().map(|x| x.tanh()).collect();
        let mut next = vec![T::zero(); self.n];
        let mut pending: Option<Pending<T>> = None;
        for (step, &target) in targets.iter().enumerate() {
            self.step(&rates, &mut next);
            std::mem::swap(&mut rates, &mut next);
            self.output = dot(&rates, &self.weights);
            outputs.push(self.output);
            if learns(step) {
                let gain = self.next_gain(pending.take(), &rates);
                let c = T::one() / (T::one() + dot(&rates, &gain));
                let error = self.output - target;
                let scale = c * error;
                let mut size = T::zero();
                for (w, &k) in self.weights.iter_mut().zip(&gain) {
                    let change = k * scale;
                    size = size + change * change;
                    *w = *w - change;
                }
                changes.push(size.sqrt());
                pending = Some(Pending { gain, c });
            }
        }
        if let Some(Pending { gain, c }) = pending {
            self.inverse_correlation
                .par_chunks_mut(span(self.n) * self.n)
                .enumerate()
                .for_each(|(task, rows)| {
                    for (r, row) in rows.chunks_mut(self.n).enumerate() {
                        let k_i = gain[task * span(self.n) + r];
                        for (p, &k_j) in row.iter_mut().zip(&gain) {
                            *p = *p - k_i * k_j * c;
                        }
                    }
                });
        }
    }

    /// x ← (1 − leak)x + leak(r·M + z w_f), then `next` = tanh(x), from `rates` of the
    /// state before: one pass over M, by columns.
    fn step(&mut self, rates: &[T], next: &mut [T]) {
        let (leak, z) = (self.leak, self.output);
        let keep = T::one() - leak;
        let width = span(self.n);
        let recurrent = &self.recurrent;
        next.par_chunks_mut(width)
            .zip(self.state.par_chunks_mut(width))
            .zip(self.feedback.par_chunks(width))
            .enumerate()
            .for_each(|(task, ((next, state), feedback))| {
                let columns = next.iter_mut().zip(state.iter_mut()).zip(feedback);
                for (offset, ((r, x), &f)) in columns.enumerate() {
                    let drive = recurrent.column_sum(task * width + offset, rates, z * f);
                    *x = *x * keep + drive * leak;
                    *r = x.tanh();
                }
            });
    }

    /// k = P r, after applying the pending change of the update before to each row of P.
    fn next_gain(&mut self, pending: Option<Pending<T>>, rates: &[T]) -> Vec<T> {
        let n = self.n;
        let rows = span(n);
        let mut gain = vec![T::zero(); n];
        self.inverse_correlation
            .par_chunks_mut(rows * n)
            .zip(gain.par_chunks_mut(rows))
            .enumerate()
            .for_each(|(task, (block, gain))| {
                for (r, (row, k)) in block.chunks_mut(n).zip(gain.iter_mut()).enumerate() {
                    let change = pending
                        .as_ref()
                        .map(|p| (p.gain[task * rows + r], p.gain.as_slice(), p.c));
                    *k = change_then_dot(row, change, rates);
                }
            });
        gain
    }
}
