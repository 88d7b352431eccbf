//! The plastic step as fused loops over the rows of the trace, on the host, split across
//! threads. Each pass reads every matrix once: the forward pass finishes one step's trace
//! update and accumulates the next step's drive from the same row while it is in cache; the
//! backward pass rebuilds the previous trace, carries the trace adjoint one step back and
//! accumulates the gradients of `α` and `η` in the same sweep.
//!
//! Traces are laid out `[n_i, batch, n_j]`, so that a block of rows is one contiguous slice
//! for every episode of the batch and the rows of `W` and `α` are read once for all of them.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, ElementConversion, Tensor};
use rayon::prelude::*;

use super::traces::Stored;
use super::{last_step_loss, HebbRule, PlasticRnn};
use crate::kernels::{host_vec, tensor_from_host, Kernels, Real};

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
pub(crate) fn rows_per_task(n: usize) -> usize {
    let tasks = 4 * rayon::current_num_threads().max(1);
    n.div_ceil(tasks).max(1)
}

/// Adds `b` into `a`.
pub(crate) fn add_into<T: Real>(mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
    for (x, y) in a.iter_mut().zip(b) {
        *x = *x + y;
    }
    a
}

impl<T: Real> HostEpisodes<T> {
    pub(crate) fn row<'a>(&self, matrix: &'a [T], i: usize) -> &'a [T] {
        &matrix[i * self.n..(i + 1) * self.n]
    }

    /// How much of the trace each entry keeps through a step whose new activity is `post`
    /// (`[batch, n]`): `1 − η`, or `1 − η y_j²` under Oja's rule.
    pub(crate) fn retention(&self, post: &[T]) -> Vec<T> {
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
    pub(crate) fn activate(&self, mut drive: Vec<T>) -> Vec<T> {
        for (k, value) in drive.iter_mut().enumerate() {
            *value = if Some(k % self.n) == self.bias {
                T::one()
            } else {
                value.tanh()
            };
        }
        drive
    }

    pub(crate) fn initial_activity(&self) -> Vec<T> {
        self.activate(vec![T::zero(); self.batch * self.n])
            .into_iter()
            .map(|y| if y == T::one() { y } else { T::zero() })
            .collect()
    }

    pub(crate) fn input(&self, t: usize) -> impl Iterator<Item = T> + '_ {
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
    pub(crate) fn forward_sweep(
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
                || {
                    (
                        vec![T::zero(); if drive_from.is_some() { batch * n } else { 0 }],
                        false,
                    )
                },
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
}

impl<B: Backend> PlasticRnn<B> {
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
        tensor_from_host(values, shape, &self.w.device())
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
