//! Several runs of one command, method by method: the mean and standard deviation of each
//! method's final error and alignment angles over its seeds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{angle_name, FeedbackAlignmentExperiment};
use crate::experiment::Finished;
use crate::stats::mean_sd;

/// A Markdown table: per method, its seeds, the error (test error in % on Fashion-MNIST,
/// the frozen net's mean squared error on the product task) and each hidden layer's final
/// angle, as mean ± sd over the method's runs.
pub fn by_method(runs: &[Finished<FeedbackAlignmentExperiment>]) -> String {
    let hidden = runs[0].run.network.hidden.len();
    let (metric, label, scale, digits) = match runs[0].report.metrics.get("test_error") {
        Some(_) => ("test_error", "test error (%)", 100.0, 2),
        None => ("frozen_mse", "frozen-net MSE", 1.0, 6),
    };
    let mut methods: BTreeMap<&str, Vec<&Finished<FeedbackAlignmentExperiment>>> = BTreeMap::new();
    let mut order = Vec::new();
    for run in runs {
        let name = run.run.method.name();
        if !methods.contains_key(name) {
            order.push(name);
        }
        methods.entry(name).or_default().push(run);
    }
    let mut table = format!("| method | seeds | {label} |");
    for layer in 0..hidden {
        let _ = write!(table, " angle, hidden {} (°) |", layer + 1);
    }
    table.push_str("\n|---|---|---|");
    table.push_str(&"---|".repeat(hidden));
    table.push('\n');
    for name in order {
        let group = &methods[name];
        let seeds: Vec<String> = group.iter().map(|r| r.run.seed.to_string()).collect();
        let values: Vec<f64> = group
            .iter()
            .filter_map(|r| r.report.metrics.get(metric).map(|v| v * scale))
            .collect();
        let (mean, sd) = mean_sd(&values);
        let _ = write!(
            table,
            "| {name} | {} | {mean:.digits$} ± {sd:.digits$} |",
            seeds.join(", ")
        );
        for layer in 0..hidden {
            let angles: Vec<f64> = group
                .iter()
                .filter_map(|r| r.report.metrics.get(&angle_name(layer)).copied())
                .collect();
            if angles.is_empty() {
                table.push_str(" — |");
            } else {
                let (mean, sd) = mean_sd(&angles);
                let _ = write!(table, " {mean:.1} ± {sd:.1} |");
            }
        }
        table.push('\n');
    }
    table
}

#[cfg(test)]
mod tests {
    use super::mean_sd;

    #[test]
    fn the_sample_standard_deviation() {
        let (mean, sd) = mean_sd(&[1.0, 2.0, 3.0]);
        assert_eq!(mean, 2.0);
        assert!((sd - 1.0).abs() < 1e-12);
        assert_eq!(mean_sd(&[4.0]), (4.0, 0.0));
    }
}
