//! The connection sensitivities in blocks of parameter columns, advanced through a window
//! in parallel.

use std::ops::Range;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::window::{Retention, Sensitivity, Window};

/// Floats of trace sensitivity per block of parameter columns: each block is small enough
/// to stay in a core's cache through a whole window, which on CPUs matters more than the
/// extra tensor operations.
const BLOCK_FLOATS: usize = 1 << 19;

/// Splits `columns` parameters into blocks: the sensitivity recursion of each parameter
/// is independent of the others', given the forward trajectory. The block count is a
/// multiple of the worker count, so that the workers finish together.
pub(super) fn column_blocks(batch: usize, n: usize, columns: usize) -> Vec<Range<usize>> {
    let width = block_width(batch, n, columns);
    (0..columns)
        .step_by(width)
        .map(|start| start..(start + width).min(columns))
        .collect()
}

/// Columns per block of [`column_blocks`], worked out in wide integers so that it never
/// overflows (the memory estimate asks for networks far too large to build).
pub(super) fn block_width(batch: usize, n: usize, columns: usize) -> usize {
    let (batch, n, columns_wide) = (batch as u128, n as u128, columns as u128);
    let floats = batch * n * n * columns_wide;
    let workers = rayon::current_num_threads().max(1) as u128;
    let count = floats
        .div_ceil(BLOCK_FLOATS as u128)
        .next_multiple_of(workers)
        .clamp(1, columns_wide.max(1));
    usize::try_from(columns_wide.div_ceil(count).max(1)).unwrap_or(usize::MAX)
}

/// Advances every block of connection sensitivities through a window, the blocks in
/// parallel on rayon's pool: CPU backends run most tensor operations on one core, and the
/// blocks are independent. Being rayon tasks, the blocks' own matrix products (which
/// burn-ndarray runs in a rayon scope) stay on the same worker instead of being handed
/// across threads.
pub(super) fn advance_blocks<B: Backend>(
    sensitivities: Vec<Sensitivity<B>>,
    blocks: &[Range<usize>],
    window: &Window<B>,
) -> Vec<Sensitivity<B>> {
    sensitivities
        .into_par_iter()
        .zip(blocks.par_iter())
        .map(|(sensitivity, columns)| {
            let drive: Vec<Tensor<B, 3>> = window
                .connection_drive
                .iter()
                .map(|drive| {
                    let [batch, n, _] = drive.dims();
                    drive.clone().slice([0..batch, 0..n, columns.clone()])
                })
                .collect();
            advance_window(sensitivity, window, &drive, None)
        })
        .collect()
}

/// Carries one group of `p` parameters through a window, given the explicit drive of each
/// step (`[batch, n_j, p]`) and, for η, the window's explicit trace terms folded
/// (`[batch, n_i, n_j]`, p = 1).
pub(super) fn advance_window<B: Backend>(
    sensitivity: Sensitivity<B>,
    window: &Window<B>,
    direct_drive: &[Tensor<B, 3>],
    direct_trace: Option<Tensor<B, 3>>,
) -> Sensitivity<B> {
    let Sensitivity { activity, trace } = sensitivity;
    let [batch, n, parameters] = activity.dims();
    let steps = window.coupling.len();
    // Σ_i y_i(τ) G_ij at the window start, for every step τ at once: [batch, K, n_j·p].
    let stored = window
        .pre
        .clone()
        .matmul(trace.clone())
        .reshape([batch, steps, n, parameters])
        * window.stored_scale.clone();
    let mut history = Vec::with_capacity(steps + 1);
    history.push(activity);
    for (tau, direct) in direct_drive.iter().enumerate().take(steps) {
        let stacked = Tensor::cat(history.clone(), 1);
        let from_stored = stored
            .clone()
            .slice([0..batch, tau..tau + 1])
            .reshape([batch, n, parameters]);
        history.push(window.coupling[tau].clone().matmul(stacked) + from_stored + direct.clone());
    }
    let kept = match &window.decay {
        Retention::Uniform(factor) => trace.mul_scalar(*factor),
        Retention::PerNeuron(factor) => (trace.reshape([batch, n, n, parameters]) * factor.clone())
            .reshape([batch, n, n * parameters]),
    };
    let activities = |range: Range<usize>| {
        Tensor::stack::<4>(history[range].to_vec(), 2).reshape([batch * n, steps, parameters])
    };
    let from_pre = window
        .fold_pre
        .clone()
        .matmul(activities(0..steps))
        .reshape([batch, n, n * parameters]);
    let from_post = window
        .fold_post
        .clone()
        .matmul(activities(1..steps + 1))
        .reshape([batch, n, n, parameters])
        .swap_dims(1, 2)
        .reshape([batch, n, n * parameters]);
    let mut trace = kept + from_pre + from_post;
    if let Some(direct) = direct_trace {
        trace = trace + direct;
    }
    if let Some(unclamped) = &window.unclamped {
        trace = (trace.reshape([batch, n, n, parameters]) * unclamped.clone()).reshape([
            batch,
            n,
            n * parameters,
        ]);
    }
    Sensitivity {
        activity: history.pop().expect("a window has a step"),
        trace,
    }
}
