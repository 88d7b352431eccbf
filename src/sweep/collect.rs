//! `collect DIR`: a sweep's finished cells as one table — a row per cell with the fields the
//! grid varies and the report's figures, then a row per group of cells that differ only in
//! their seed (mean ± sd and a 95 % t interval) — as CSV and markdown, and the model's own
//! summary made from the same cells, so it is the same however the cells were run.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::plan::{value_text, Cell};
use super::{find_entry, read_record};
use crate::checkpoint::RunDir;
use crate::experiment::Report;
use crate::flags::Entry;
use crate::stats::mean_interval;
use crate::util::write_atomically;

/// The files `collect` writes in the sweep's directory.
pub const CELLS_CSV: &str = "collected-cells.csv";
pub const GROUPS_CSV: &str = "collected-groups.csv";
pub const TABLE_MD: &str = "collected.md";

/// A plot of one metric against one grid field, one line per group of the other fields.
#[derive(Debug, Clone, Default)]
pub struct PlotRequest {
    pub metric: String,
    /// The grid field on the x axis (`None`: the first that is not a seed).
    pub against: Option<String>,
}

/// Whether a grid field is a seed (its name, or its path's last part, is `seed`).
pub fn is_seed(key: &str) -> bool {
    key.trim_start_matches('-')
        .rsplit(['/', '.'])
        .next()
        .is_some_and(|last| last == "seed")
}

pub(super) struct Collected {
    pub(super) cell: Cell,
    pub(super) dir: PathBuf,
    pub(super) report: Option<Report>,
}

/// Collects the sweep in `dir`; prints the markdown table and returns the JSON.
pub fn collect(
    dir: &Path,
    entries: &[Box<dyn Entry>],
    plot_request: Option<&PlotRequest>,
) -> anyhow::Result<Value> {
    let record = read_record(dir)?;
    let entry = find_entry(entries, &record.model)?;
    let mut collected = Vec::with_capacity(record.cells.len());
    for cell in record.cells {
        let run = RunDir::at(dir, &cell.name)?;
        let report = run.read_report()?;
        collected.push(Collected {
            dir: run.path,
            cell,
            report,
        });
    }
    let finished: Vec<&Collected> = collected.iter().filter(|c| c.report.is_some()).collect();
    let fields: Vec<String> = record.plan.grid.0.iter().map(|(k, _)| k.clone()).collect();
    let metrics: Vec<String> = finished
        .iter()
        .flat_map(|c| c.report.as_ref().expect("finished").metrics.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups = group_cells(&finished, &fields, &metrics);

    let mut markdown = format!(
        "# {} sweep: {} of {} cells finished\n\n",
        record.model,
        finished.len(),
        collected.len()
    );
    markdown.push_str(&cells_markdown(&finished, &fields, &metrics));
    write_atomically(
        &dir.join(CELLS_CSV),
        cells_csv(&finished, &fields, &metrics).as_bytes(),
    )?;
    if let Some(groups) = &groups {
        markdown.push('\n');
        markdown.push_str(&groups.markdown);
        write_atomically(&dir.join(GROUPS_CSV), groups.csv.as_bytes())?;
    }
    let summary = if finished.is_empty() {
        None
    } else {
        let cells: Vec<(String, PathBuf, Report)> = finished
            .iter()
            .map(|c| {
                let report = c.report.clone().expect("finished");
                (c.cell.name.clone(), c.dir.clone(), report)
            })
            .collect();
        entry.summarise_cells(&cells, dir)?
    };
    if let Some(summary) = &summary {
        markdown.push('\n');
        markdown.push_str(summary);
        markdown.push('\n');
    }
    let mut plot_path = None;
    if let Some(request) = plot_request {
        plot_path = Some(super::figure::draw(
            dir, request, &finished, &fields, &metrics,
        )?);
    }
    write_atomically(&dir.join(TABLE_MD), markdown.as_bytes())?;
    println!("{markdown}");
    println!(
        "tables: {}, {}{}",
        dir.join(TABLE_MD).display(),
        dir.join(CELLS_CSV).display(),
        if groups.is_some() {
            format!(", {}", dir.join(GROUPS_CSV).display())
        } else {
            String::new()
        }
    );
    if let Some(path) = &plot_path {
        println!("plot: {}", path.display());
    }
    let cells: Vec<Value> = collected
        .iter()
        .map(|c| {
            let mut row = json!({
                "index": c.cell.index,
                "name": c.cell.name,
                "values": c.cell.values,
                "dir": c.dir,
                "finished": c.report.is_some(),
            });
            if let Some(report) = &c.report {
                row["metrics"] = json!(report.metrics);
                row["seconds"] = json!(report.seconds);
            }
            row
        })
        .collect();
    Ok(json!({
        "sweep": dir,
        "model": record.model,
        "finished": finished.len(),
        "groups": groups.map(|g| g.json).unwrap_or(Value::Null),
        "summary": summary,
        "plot": plot_path,
        "cells": cells,
    }))
}

pub(super) fn metric(cell: &Collected, name: &str) -> Option<f64> {
    cell.report.as_ref()?.metrics.get(name).copied()
}

fn cells_markdown(cells: &[&Collected], fields: &[String], metrics: &[String]) -> String {
    let mut header: Vec<String> = vec!["cell".into()];
    header.extend(fields.iter().cloned());
    header.extend(metrics.iter().cloned());
    header.push("seconds".into());
    let mut text = table_head(&header);
    for cell in cells {
        let mut row = vec![cell.cell.index.to_string()];
        row.extend(cell.cell.values.0.iter().map(|(_, v)| value_text(v)));
        row.extend(
            metrics
                .iter()
                .map(|m| metric(cell, m).map_or("–".into(), number)),
        );
        row.push(number(cell.report.as_ref().map_or(0.0, |r| r.seconds)));
        let _ = writeln!(text, "| {} |", row.join(" | "));
    }
    text
}

fn cells_csv(cells: &[&Collected], fields: &[String], metrics: &[String]) -> String {
    let mut header = vec!["index".to_string(), "name".to_string()];
    header.extend(fields.iter().cloned());
    header.extend(metrics.iter().cloned());
    header.push("seconds".into());
    let mut text = csv_row(&header);
    for cell in cells {
        let mut row = vec![cell.cell.index.to_string(), cell.cell.name.clone()];
        row.extend(cell.cell.values.0.iter().map(|(_, v)| value_text(v)));
        row.extend(
            metrics
                .iter()
                .map(|m| metric(cell, m).map_or(String::new(), |v| v.to_string())),
        );
        row.push(cell.report.as_ref().map_or(0.0, |r| r.seconds).to_string());
        text.push_str(&csv_row(&row));
    }
    text
}

struct Groups {
    markdown: String,
    csv: String,
    json: Value,
}

/// Cells that differ only in their seed, pooled; `None` when no grid field is a seed.
fn group_cells(cells: &[&Collected], fields: &[String], metrics: &[String]) -> Option<Groups> {
    if !fields.iter().any(|f| is_seed(f)) {
        return None;
    }
    let kept: Vec<usize> = (0..fields.len())
        .filter(|&k| !is_seed(&fields[k]))
        .collect();
    let key = |cell: &Collected| -> Vec<Value> {
        kept.iter()
            .map(|&k| cell.cell.values.0[k].1.clone())
            .collect()
    };
    let mut order: Vec<Vec<Value>> = Vec::new();
    for cell in cells {
        let k = key(cell);
        if !order.contains(&k) {
            order.push(k);
        }
    }
    // Markdown in long form (a row per group and metric), to stay readable with many metrics.
    let mut header: Vec<String> = kept.iter().map(|&k| fields[k].clone()).collect();
    header.push("seeds".into());
    let mut csv_header = header.clone();
    header.extend(["metric", "mean", "sd", "95 % interval"].map(String::from));
    for m in metrics {
        csv_header.extend([
            format!("{m}_mean"),
            format!("{m}_sd"),
            format!("{m}_low"),
            format!("{m}_high"),
        ]);
    }
    let mut markdown = table_head(&header);
    let mut csv = csv_row(&csv_header);
    let mut json_rows = Vec::new();
    for group in order {
        let members: Vec<&&Collected> = cells.iter().filter(|c| key(c) == group).collect();
        let mut row: Vec<String> = group.iter().map(value_text).collect();
        row.push(members.len().to_string());
        let mut csv_fields = row.clone();
        let mut figures = serde_json::Map::new();
        for m in metrics {
            let values: Vec<f64> = members.iter().filter_map(|c| metric(c, m)).collect();
            if values.is_empty() {
                csv_fields.extend([String::new(), String::new(), String::new(), String::new()]);
                continue;
            }
            let (mean, sd, low, high) = mean_interval(&values);
            let interval = if values.len() > 1 {
                format!("[{}, {}]", number(low), number(high))
            } else {
                "–".into()
            };
            let _ = writeln!(
                markdown,
                "| {} | {m} | {} | {} | {interval} |",
                row.join(" | "),
                number(mean),
                number(sd)
            );
            csv_fields.extend([mean, sd, low, high].map(|v| v.to_string()));
            figures.insert(
                m.clone(),
                json!({"n": values.len(), "mean": mean, "sd": sd, "low": finite(low), "high": finite(high)}),
            );
        }
        csv.push_str(&csv_row(&csv_fields));
        let values: serde_json::Map<String, Value> = kept
            .iter()
            .zip(&group)
            .map(|(&k, v)| (fields[k].clone(), v.clone()))
            .collect();
        json_rows.push(json!({"values": values, "seeds": members.len(), "metrics": figures}));
    }
    Some(Groups {
        markdown,
        csv,
        json: Value::Array(json_rows),
    })
}

fn finite(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

/// Four significant digits, or scientific notation far from 1.
fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor();
    if (-3.0..5.0).contains(&magnitude) {
        format!("{value:.*}", (3.0 - magnitude).max(0.0) as usize)
    } else {
        format!("{value:.3e}")
    }
}

fn table_head(columns: &[String]) -> String {
    format!(
        "| {} |\n|{}\n",
        columns.join(" | "),
        "---|".repeat(columns.len())
    )
}

fn csv_row(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_told_by_name_or_path() {
        assert!(is_seed("seed") && is_seed("/train/seed") && is_seed("train.seed"));
        assert!(!is_seed("seeds") && !is_seed("lr"));
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(number(0.123456), "0.1235");
        assert_eq!(number(12.3456), "12.35");
        assert_eq!(number(1.5e-6), "1.500e-6");
        assert_eq!(number(0.0), "0");
        assert_eq!(csv_row(&["a,b".into(), "c".into()]), "\"a,b\",c\n");
    }
}
