//! The plastic RNN's plots: the learning curve and the maps of W and α.

use burn::tensor::backend::Backend;
use plastic_models::PlasticRnn;

use crate::checkpoint::{RunDir, METRICS_FILE};
use crate::metrics::MetricsLog;
use crate::plot;
use crate::util::host_values;

/// Draws the learning curve and the weight maps; returns a one-line summary of the weights
/// (BOHP reports positive plastic weights and negative fixed self-connections).
pub fn write_plots<B: Backend>(run: &RunDir, model: &PlasticRnn<B>) -> anyhow::Result<String> {
    let metrics = MetricsLog::new(run.file(METRICS_FILE)).read()?;
    plot::learning_curve(
        &metrics,
        &["loss", "sum_abs_error", "sign_error"],
        "episode",
        &run.file("learning_curve.png"),
    )?;
    let n = model.config.total_neurons();
    let w = host_values(model.w.val())?;
    let alpha = host_values(model.effective_alpha())?;
    let alpha_side = model.config.alpha_shape()[0];
    plot::heatmaps(
        &[
            ("fixed weights W", &w, n),
            ("plasticity α", &alpha, alpha_side),
        ],
        &run.file("weights.png"),
    )?;
    let (w_diagonal, w_off) = diagonal_means(&w, n);
    let alpha_off = if alpha_side == n {
        diagonal_means(&alpha, n).1
    } else {
        f64::from(alpha[0])
    };
    Ok(format!(
        "weights: mean W_ii {w_diagonal:.4}, mean W_ij (i≠j) {w_off:.4}, mean α_ij (i≠j) {alpha_off:.4}"
    ))
}

/// Means of the diagonal and of the off-diagonal entries of a square matrix.
fn diagonal_means(values: &[f32], side: usize) -> (f64, f64) {
    let (mut diagonal, mut off) = (0.0, 0.0);
    for (k, &v) in values.iter().enumerate() {
        if k / side == k % side {
            diagonal += f64::from(v);
        } else {
            off += f64::from(v);
        }
    }
    let off_count = (side * side - side).max(1);
    (diagonal / side as f64, off / off_count as f64)
}
