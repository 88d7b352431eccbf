//! The plastic RNN's plots: the learning curve and the maps of W and α.

use burn::tensor::backend::Backend;
use plastic_models::PlasticRnn;

use crate::checkpoint::RunDir;
use crate::experiments::shared::pattern::write_learning_curve;
use crate::plot;
use crate::util::host_values;

/// What the learned weights look like among the pattern neurons (the bias neuron's row and
/// column left out): the plastic weights between distinct neurons, and the fixed
/// self-connections against the other fixed weights (BOHP reports positive plastic weights
/// and negative fixed self-connections).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightSummary {
    /// Fraction of the off-diagonal α that is positive (a shared α: 1 or 0).
    pub alpha_positive: f64,
    pub alpha_min: f64,
    pub alpha_mean: f64,
    /// Mean of W's diagonal and of its off-diagonal entries.
    pub w_self: f64,
    pub w_other: f64,
}

impl std::fmt::Display for WeightSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let self_connections = if self.w_self < 0.0 && self.w_self < self.w_other {
            "the self-connections are more negative than the rest, as BOHP reports"
        } else {
            "the self-connections are not more negative than the rest (BOHP's negative self-connections do not appear)"
        };
        write!(
            f,
            "weights among the pattern neurons: α_ij (i≠j) positive in {:.1} % (min {:.4}, mean {:.4}); mean W_ii {:.4} against mean W_ij (i≠j) {:.4}: {self_connections}",
            100.0 * self.alpha_positive,
            self.alpha_min,
            self.alpha_mean,
            self.w_self,
            self.w_other
        )
    }
}

/// The summary of `model`'s weights over its first `pattern` neurons.
pub fn weight_summary<B: Backend>(model: &PlasticRnn<B>) -> anyhow::Result<WeightSummary> {
    let n = model.config.total_neurons();
    let pattern = model.config.neurons;
    let w = host_values(model.w.val())?;
    let alpha = host_values(model.effective_alpha())?;
    let pairs = || (0..pattern).flat_map(|i| (0..pattern).map(move |j| (i, j)));
    let off: Vec<f64> = if alpha.len() == 1 {
        vec![f64::from(alpha[0])]
    } else {
        pairs()
            .filter(|(i, j)| i != j)
            .map(|(i, j)| f64::from(alpha[i * n + j]))
            .collect()
    };
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let w_self: Vec<f64> = (0..pattern).map(|i| f64::from(w[i * n + i])).collect();
    let w_other: Vec<f64> = pairs()
        .filter(|(i, j)| i != j)
        .map(|(i, j)| f64::from(w[i * n + j]))
        .collect();
    Ok(WeightSummary {
        alpha_positive: off.iter().filter(|&&a| a > 0.0).count() as f64 / off.len() as f64,
        alpha_min: off.iter().copied().fold(f64::INFINITY, f64::min),
        alpha_mean: mean(&off),
        w_self: mean(&w_self),
        w_other: mean(&w_other),
    })
}

/// Draws the learning curve and the weight maps.
pub fn write_plots<B: Backend>(run: &RunDir, model: &PlasticRnn<B>) -> anyhow::Result<()> {
    write_learning_curve(run)?;
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
    )
}
