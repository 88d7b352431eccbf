//! The product task's frozen-net score: the trained net, weights fixed, on the last full
//! cycle of the inputs.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use plastic_models::Mlp;
use plastic_tasks::ProductSignal;

use crate::plot::Series;
use crate::util::host_values;

/// The product task's inputs repeat after 10 periods of the first one (0.7 = 7/10): the
/// stretch of time a frozen net is scored on.
pub const PRODUCT_CYCLE_PERIODS: f64 = 10.0;

/// The product task's plot of target and output against time.
pub const PRODUCT_TRACE_PLOT: &str = "output.png";

/// The frozen net on the last full cycle of the inputs before `steps`: its mean squared
/// error and the target and output traces.
pub fn product_score<B: Backend>(
    mlp: &Mlp<B>,
    signal: ProductSignal,
    steps: usize,
    device: &B::Device,
) -> anyhow::Result<(f64, Vec<Series>)> {
    let cycle = ((PRODUCT_CYCLE_PERIODS * signal.period / signal.dt).round() as usize).max(1);
    let first = steps.saturating_sub(cycle);
    let count = steps - first;
    let (inputs, targets) = signal.window(first, count);
    let input = Tensor::from_data(TensorData::new(inputs, [count, 2]), device);
    let outputs = host_values(mlp.forward(input))?;
    let mse = outputs
        .iter()
        .zip(&targets)
        .map(|(&y, &t)| f64::from(y - t).powi(2))
        .sum::<f64>()
        / count as f64;
    // At most ~2000 points per line keeps the PNG readable.
    let stride = (count / 2000).max(1);
    let trace = |label: &str, values: &[f32]| Series {
        label: label.to_string(),
        points: (0..count)
            .step_by(stride)
            .map(|k| (signal.time(first + k), f64::from(values[k])))
            .collect(),
    };
    Ok((
        mse,
        vec![trace("target", &targets), trace("output", &outputs)],
    ))
}
