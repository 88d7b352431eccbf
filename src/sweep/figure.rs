//! `collect --plot METRIC --against FIELD`: a metric's mean over seeds against one grid field,
//! one line per group of the other fields.

use std::path::{Path, PathBuf};

use anyhow::bail;
use serde_json::Value;

use super::collect::{is_seed, metric, Collected, PlotRequest};
use super::plan::value_text;
use crate::plot::{self, Series};
use crate::stats::mean_interval;

/// `metric` against a grid field: the mean over seeds at each value, one line per group of
/// the other fields.
pub(super) fn draw(
    dir: &Path,
    request: &PlotRequest,
    cells: &[&Collected],
    fields: &[String],
    metrics: &[String],
) -> anyhow::Result<PathBuf> {
    if !metrics.contains(&request.metric) {
        bail!(
            "no finished cell reports '{}' (they report: {})",
            request.metric,
            metrics.join(", ")
        );
    }
    let against = match &request.against {
        Some(field) => fields.iter().position(|f| f == field).ok_or_else(|| {
            anyhow::anyhow!(
                "'{field}' is not a grid field (the grid varies: {})",
                fields.join(", ")
            )
        })?,
        None => fields.iter().position(|f| !is_seed(f)).ok_or_else(|| {
            anyhow::anyhow!("the grid varies no field but the seed: nothing to plot against")
        })?,
    };
    let others: Vec<usize> = (0..fields.len())
        .filter(|&k| k != against && !is_seed(&fields[k]))
        .collect();
    let x_of = |cell: &Collected| -> f64 {
        let value = &cell.cell.values.0[against].1;
        value.as_f64().unwrap_or_else(|| {
            // A field of names: its place in the grid.
            cells
                .iter()
                .map(|c| &c.cell.values.0[against].1)
                .fold(Vec::<&Value>::new(), |mut seen, v| {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                    seen
                })
                .iter()
                .position(|v| *v == value)
                .unwrap_or(0) as f64
        })
    };
    let mut series: Vec<Series> = Vec::new();
    let mut labels: Vec<Vec<Value>> = Vec::new();
    for cell in cells {
        let label: Vec<Value> = others
            .iter()
            .map(|&k| cell.cell.values.0[k].1.clone())
            .collect();
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    for label in labels {
        let members: Vec<&&Collected> = cells
            .iter()
            .filter(|c| {
                others
                    .iter()
                    .zip(&label)
                    .all(|(&k, v)| c.cell.values.0[k].1 == *v)
            })
            .collect();
        let mut xs: Vec<f64> = members.iter().map(|c| x_of(c)).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let points = xs
            .into_iter()
            .filter_map(|x| {
                let values: Vec<f64> = members
                    .iter()
                    .filter(|c| x_of(c) == x)
                    .filter_map(|c| metric(c, &request.metric))
                    .collect();
                (!values.is_empty()).then(|| (x, mean_interval(&values).0))
            })
            .collect();
        let name = others
            .iter()
            .zip(&label)
            .map(|(&k, v)| format!("{}={}", fields[k], value_text(v)))
            .collect::<Vec<_>>()
            .join(", ");
        series.push(Series {
            label: if name.is_empty() {
                request.metric.clone()
            } else {
                name
            },
            points,
        });
    }
    let field = fields[against]
        .trim_start_matches(['-', '/'])
        .replace('/', ".");
    let path = dir.join(format!("{}-by-{field}.png", request.metric));
    let positive = series
        .iter()
        .flat_map(|s| s.points.iter())
        .all(|&(x, y)| x > 0.0 && y > 0.0);
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let x_span = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        / xs.iter().copied().fold(f64::INFINITY, f64::min);
    let title = format!("{} (mean over seeds)", request.metric);
    let panel = [(title.as_str(), request.metric.as_str(), series)];
    // Rates and sizes are swept over decades: log axes then.
    if positive && x_span >= 100.0 {
        plot::log_log(&panel, &field, &path)?;
    } else {
        plot::lines(&panel, &field, &path)?;
    }
    Ok(path)
}
