//! The feedback-alignment plots: learning curves, alignment angles, and several methods
//! compared.

use std::path::Path;

use super::config::{FaTask, FeedbackAlignmentRun};
use super::learner::angle_name;
use super::product::PRODUCT_CYCLE_PERIODS;
use super::FeedbackAlignmentExperiment;
use crate::checkpoint::{RunDir, METRICS_FILE};
use crate::experiment::Finished;
use crate::metrics::{EpisodeMetrics, MetricsLog};
use crate::plot::{self, Series};
use plastic_models::Method;

/// `learning_curve.png` (loss, and the test error or the MSE against simulated time) and,
/// for FA and DFA, `alignment.png` (each hidden layer's angle against updates).
pub fn write_curves(
    run: &FeedbackAlignmentRun,
    curve: &[EpisodeMetrics],
    dir: &RunDir,
) -> anyhow::Result<()> {
    let series = |name: &str, x: &dyn Fn(&EpisodeMetrics) -> f64| Series {
        label: name.to_string(),
        points: curve
            .iter()
            .filter_map(|m| m.get(name).map(|v| (x(m), v)))
            .filter(|(_, v)| v.is_finite())
            .collect(),
    };
    let updates = |m: &EpisodeMetrics| m.episode as f64;
    match run.task {
        FaTask::Product { .. } => plot::lines_log_y(
            &[(
                "online mean squared error",
                "mse",
                vec![series("mse", &|m| m.get("time").unwrap_or(0.0))],
            )],
            "simulated time (s)",
            &dir.file(LEARNING_CURVE_PLOT),
        )?,
        FaTask::FashionMnist { .. } => plot::lines(
            &[
                (
                    "training loss (cross-entropy)",
                    "loss",
                    vec![series("loss", &updates)],
                ),
                ("test error", "error", vec![series("test_error", &updates)]),
            ],
            "update",
            &dir.file(LEARNING_CURVE_PLOT),
        )?,
    }
    if run.method != Method::Bp {
        let angles: Vec<Series> = (0..run.network.hidden.len())
            .map(|layer| series(&angle_name(layer), &updates))
            .collect();
        plot::lines(
            &[(
                "angle between the update and the true gradient, per hidden layer",
                "degrees",
                angles,
            )],
            "update",
            &dir.file(ALIGNMENT_PLOT),
        )?;
    }
    Ok(())
}

pub const LEARNING_CURVE_PLOT: &str = "learning_curve.png";
pub const ALIGNMENT_PLOT: &str = "alignment.png";

/// The learning curves of several runs of one task in one plot: the product task's MSE
/// against simulated time, or Fashion-MNIST's test error against epochs; and the last
/// hidden layer's alignment angle.
pub fn write_comparison(
    runs: &[Finished<FeedbackAlignmentExperiment>],
    path: &Path,
) -> anyhow::Result<()> {
    let config = &runs[0].run;
    let task = &config.task;
    let last_hidden = config.network.hidden.len() - 1;
    let angle = angle_name(last_hidden);
    let (metric, x_name, title, y_label, x_label) = match task {
        FaTask::Product { .. } => (
            "mse",
            "time",
            "online mean squared error, averaged over each input cycle",
            "mse",
            "simulated time (s)",
        ),
        FaTask::FashionMnist { .. } => ("test_error", "epoch", "test error", "error", "epoch"),
    };
    let mut errors = Vec::new();
    let mut angles = Vec::new();
    for finished in runs {
        let method = &finished.run.method;
        let curve = MetricsLog::new(finished.dir.join(METRICS_FILE)).read()?;
        let points: Vec<(f64, f64)> = curve
            .iter()
            .filter_map(|m| Some((m.get(x_name)?, m.get(metric)?)))
            .collect();
        let points = match task {
            // One point per input cycle: the per-second errors swing with the signal.
            FaTask::Product { signal, .. } if points.len() > 1 => {
                let spacing = points[1].0 - points[0].0;
                let cycle = PRODUCT_CYCLE_PERIODS * signal.period;
                cycle_means(&points, (cycle / spacing).round().max(1.0) as usize)
            }
            _ => points,
        };
        errors.push(Series {
            label: finished.variant.clone(),
            points,
        });
        if *method != Method::Bp {
            angles.push(Series {
                label: format!("{} (hidden layer {})", finished.variant, last_hidden + 1),
                points: curve
                    .iter()
                    .filter_map(|m| Some((m.episode as f64, m.get(&angle)?)))
                    .collect(),
            });
        }
    }
    let panels = vec![(title, y_label, errors)];
    if !angles.is_empty() {
        // Angles are logged against updates, which the other panel's x axis is not.
        plot::lines(
            &[(
                "angle between the update and the true gradient, last hidden layer",
                "degrees",
                angles,
            )],
            "update",
            &path.with_file_name(
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .map(|s| format!("{s}-alignment.png"))
                    .unwrap_or_else(|| "alignment.png".into()),
            ),
        )?;
    }
    match task {
        FaTask::Product { .. } => plot::lines_log_y(&panels, x_label, path),
        FaTask::FashionMnist { .. } => plot::lines(&panels, x_label, path),
    }
}

/// Means of consecutive groups of `size` points, each placed at its group's last x.
fn cycle_means(points: &[(f64, f64)], size: usize) -> Vec<(f64, f64)> {
    points
        .chunks(size)
        .map(|group| {
            let mean = group.iter().map(|p| p.1).sum::<f64>() / group.len() as f64;
            (group[group.len() - 1].0, mean)
        })
        .collect()
}
