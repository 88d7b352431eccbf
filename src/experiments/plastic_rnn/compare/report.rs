//! The comparison's tables, fits and plot.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::CompareRow;
use crate::backend::BackendChoice;
use crate::plot::{log_log, Series};
use crate::util::human_bytes;

/// The head of the comparison's table.
pub const TABLE_HEAD: &str = "| N | steps | rel. difference of ∂L/∂W | of ∂L/∂α | of ∂L/∂η (f64) | BPTT s/episode | RTRL s/episode | BPTT peak | RTRL peak |\n|---|---|---|---|---|---|---|---|---|";

pub fn markdown_row(row: &CompareRow) -> String {
    format!("| {} |", cells(row, Cells::Table).join(" | "))
}

/// How a row's numbers are written.
#[derive(Clone, Copy, PartialEq)]
enum Cells {
    /// In full, for the CSV file.
    Full,
    /// Rounded, bytes in human units, for the markdown table.
    Table,
}

/// The row's cells, in the order of the CSV header and of [`TABLE_HEAD`].
fn cells(row: &CompareRow, style: Cells) -> [String; 9] {
    let table = style == Cells::Table;
    let difference = |d: f64| {
        if table {
            format!("{d:.1e}")
        } else {
            format!("{d:e}")
        }
    };
    let seconds = |s: f64| {
        if table {
            format!("{s:.4}")
        } else {
            s.to_string()
        }
    };
    let bytes = |b: usize| {
        if table {
            human_bytes(b as u128)
        } else {
            b.to_string()
        }
    };
    [
        row.neurons.to_string(),
        row.steps.to_string(),
        difference(row.w_difference),
        difference(row.alpha_difference),
        difference(row.eta_difference),
        seconds(row.bptt_seconds),
        seconds(row.rtrl_seconds),
        bytes(row.bptt_peak_bytes),
        bytes(row.rtrl_peak_bytes),
    ]
}

/// Least-squares slope and intercept of `y` against `x`.
fn linear_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let count = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / count;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / count;
    let spread: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if spread == 0.0 {
        return None;
    }
    let slope = points
        .iter()
        .map(|p| (p.0 - mean_x) * (p.1 - mean_y))
        .sum::<f64>()
        / spread;
    Some((slope, mean_y - slope * mean_x))
}

/// The exponent `k` of `y ∝ N^k`, fitted on log-log axes.
fn exponent(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    linear_fit(&logs).map(|(slope, _)| slope)
}

/// Which quantity of a row a series plots.
#[derive(Clone, Copy)]
enum Quantity {
    Seconds,
    Bytes,
}

fn series_points(
    rows: &[CompareRow],
    steps: usize,
    rtrl: bool,
    quantity: Quantity,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.steps == steps)
        .map(|r| {
            let value = match (quantity, rtrl) {
                (Quantity::Seconds, false) => r.bptt_seconds,
                (Quantity::Seconds, true) => r.rtrl_seconds,
                (Quantity::Bytes, false) => r.bptt_peak_bytes as f64,
                (Quantity::Bytes, true) => r.rtrl_peak_bytes as f64,
            };
            (r.neurons as f64, value)
        })
        .collect()
}

/// Fitted exponents in N, and for each N the episode length beyond which RTRL needs less
/// memory than BPTT.
pub fn summary(rows: &[CompareRow], sizes: &[usize], steps: &[usize]) -> String {
    let mut text = String::new();
    for &t in steps {
        for (name, rtrl) in [("BPTT", false), ("RTRL", true)] {
            let time = exponent(&series_points(rows, t, rtrl, Quantity::Seconds));
            let memory = exponent(&series_points(rows, t, rtrl, Quantity::Bytes));
            if let (Some(time), Some(memory)) = (time, memory) {
                let _ = writeln!(
                    text,
                    "{name}, T = {t}: time ∝ N^{time:.2}, peak memory ∝ N^{memory:.2}"
                );
            }
        }
    }
    for &n in sizes {
        let cells: Vec<&CompareRow> = rows.iter().filter(|r| r.neurons == n).collect();
        let measured = cells
            .iter()
            .find(|r| r.rtrl_peak_bytes < r.bptt_peak_bytes)
            .map(|r| r.steps);
        let bptt: Vec<(f64, f64)> = cells
            .iter()
            .map(|r| (r.steps as f64, r.bptt_peak_bytes as f64))
            .collect();
        let rtrl_mean =
            cells.iter().map(|r| r.rtrl_peak_bytes as f64).sum::<f64>() / cells.len() as f64;
        let fitted = linear_fit(&bptt)
            .filter(|(slope, _)| *slope > 0.0)
            .map(|(slope, intercept)| ((rtrl_mean - intercept) / slope).max(0.0));
        let measured_text = match measured {
            Some(t) => format!("first measured at T = {t}"),
            None => format!(
                "not reached up to T = {}",
                steps.iter().max().copied().unwrap_or(0)
            ),
        };
        let fitted_text = fitted
            .map(|t| format!("; BPTT memory grows linearly in T and passes RTRL's at T ≈ {t:.0}"))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "N = {n}: RTRL needs less memory than BPTT: {measured_text}{fitted_text}"
        );
    }
    text
}

pub fn write_outputs(
    rows: &[CompareRow],
    summary: &str,
    out: &Path,
    backend: BackendChoice,
) -> anyhow::Result<()> {
    let mut csv = String::from(
        "neurons,steps,w_difference,alpha_difference,eta_difference,bptt_seconds,rtrl_seconds,bptt_peak_bytes,rtrl_peak_bytes\n",
    );
    let mut markdown = format!(
        "Backend {backend}; times are medians per episode; peak = heap bytes of one gradient computation.\n\n{TABLE_HEAD}\n"
    );
    for row in rows {
        let _ = writeln!(csv, "{}", cells(row, Cells::Full).join(","));
        let _ = writeln!(markdown, "{}", markdown_row(row));
    }
    markdown.push('\n');
    for line in summary.lines() {
        let _ = writeln!(markdown, "- {line}");
    }
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write("compare.csv", &csv)?;
    write("compare.md", &markdown)?;
    let mut steps: Vec<usize> = rows.iter().map(|r| r.steps).collect();
    steps.dedup();
    steps.sort_unstable();
    steps.dedup();
    let panel = |quantity: Quantity| -> Vec<Series> {
        let mut series = Vec::new();
        for &t in &steps {
            for (name, rtrl) in [("BPTT", false), ("RTRL", true)] {
                let points = series_points(rows, t, rtrl, quantity);
                let fit = exponent(&points)
                    .map(|k| format!(" ∝ N^{k:.2}"))
                    .unwrap_or_default();
                series.push(Series {
                    label: format!("{name}, T = {t}{fit}"),
                    points,
                });
            }
        }
        series
    };
    log_log(
        &[
            ("time per episode", "seconds", panel(Quantity::Seconds)),
            ("peak memory", "bytes", panel(Quantity::Bytes)),
        ],
        "N (neurons)",
        &out.join("compare.png"),
    )
}
