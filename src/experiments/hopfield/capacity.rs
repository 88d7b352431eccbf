//! What a sweep shows: the critical load of each memory and size (where recall falls through
//! one half), the one-step theory beside the measured one-step error, `capacity.json`,
//! `capacity.png` and the report.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::{CellResult, HopfieldExperiment, HopfieldRun, Memory};
use crate::experiment::{Experiment, Report};
use crate::plot::{self, Series};
use crate::util::write_atomically;

/// Recall at the critical load.
const HALF: f64 = 0.5;

/// The one-step theory: the probability that a unit of a stored pattern flips in one update
/// at load α = P/N, ½[1 − erf(√(N/2P))] (the crosstalk is Gaussian with variance P/N).
pub fn one_step_theory(load: f64) -> f64 {
    0.5 * libm::erfc((1.0 / (2.0 * load)).sqrt())
}

/// The cells of one memory and size, by increasing load.
fn curve(results: &[CellResult], memory: Memory, neurons: usize) -> Vec<&CellResult> {
    let mut cells: Vec<&CellResult> = results
        .iter()
        .filter(|r| r.memory == memory && r.neurons == neurons)
        .collect();
    cells.sort_by(|a, b| a.load.total_cmp(&b.load));
    cells
}

/// The load at which recall first falls below one half, interpolated linearly between the
/// two loads around the fall; `None` when recall is below one half at the smallest load or
/// never falls below it.
pub fn critical_load(results: &[CellResult], memory: Memory, neurons: usize) -> Option<f64> {
    let cells = curve(results, memory, neurons);
    let fall = cells.iter().position(|c| c.recalled < HALF)?;
    let (above, below) = (cells.get(fall.checked_sub(1)?)?, cells[fall]);
    let t = (above.recalled - HALF) / (above.recalled - below.recalled);
    Some(above.load + t * (below.load - above.load))
}

/// Every (memory, size) pair the results hold, classic first, in the run's order.
fn curves(run: &HopfieldRun) -> Vec<(Memory, usize)> {
    run.neurons
        .iter()
        .map(|&n| (Memory::Classic, n))
        .chain(run.dense.iter().map(|&m| (m, run.dense_neurons)))
        .collect()
}

fn load_label(load: f64) -> String {
    let text = format!("{load:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The critical loads in words, e.g. "0.151" or "above 0.30 (recall 0.62 there)".
fn critical_text(results: &[CellResult], memory: Memory, neurons: usize) -> String {
    let cells = curve(results, memory, neurons);
    match (
        critical_load(results, memory, neurons),
        cells.first(),
        cells.last(),
    ) {
        (Some(load), _, _) => format!("{load:.3}"),
        (None, Some(first), _) if first.recalled < HALF => {
            format!(
                "below {} (recall {:.2} there)",
                load_label(first.load),
                first.recalled
            )
        }
        (None, _, Some(last)) => {
            format!(
                "above {} (recall {:.2} there)",
                load_label(last.load),
                last.recalled
            )
        }
        _ => "not measured".into(),
    }
}

pub fn report(run: &HopfieldRun, results: &[CellResult]) -> Report {
    let mut report = Report::new(HopfieldExperiment::NAME, "capacity");
    let mut text = String::new();
    let largest = run.neurons.iter().max().copied();
    for (memory, neurons) in curves(run) {
        let name = memory.name();
        if let Some(load) = critical_load(results, memory, neurons) {
            report = report.metric(&format!("critical_load.{name}.n{neurons}"), load);
            if memory == Memory::Classic && Some(neurons) == largest {
                report = report.metric("critical_load", load);
            }
        }
        let measured = curve(results, memory, neurons).len();
        let _ = if measured > 1 {
            writeln!(
                text,
                "{name} N = {neurons}: recall falls through 1/2 at P/N = {}",
                critical_text(results, memory, neurons)
            )
        } else {
            writeln!(text, "{name} N = {neurons}:")
        };
        for cell in curve(results, memory, neurons) {
            let key = format!("{name}.n{neurons}.p{}", load_label(cell.load));
            report = report
                .metric(&format!("recalled.{key}"), cell.recalled)
                .metric(&format!("mean_overlap.{key}"), cell.mean_overlap);
            if let Some(error) = cell.one_step_error {
                report = report.metric(&format!("one_step_error.{key}"), error);
            }
            let _ = writeln!(
                text,
                "  P/N {:>6}  P {:>5}  recalled {:.3} of {:>5}  overlap {:.3}  sweeps {:.1}{}",
                load_label(cell.load),
                cell.patterns,
                cell.recalled,
                cell.probes,
                cell.mean_overlap,
                cell.mean_sweeps,
                cell.one_step_error
                    .map(|e| format!(
                        "  one-step error {e:.4} (theory {:.4})",
                        one_step_theory(cell.load)
                    ))
                    .unwrap_or_default()
            );
        }
    }
    if let [only] = results {
        report = report
            .metric("recalled", only.recalled)
            .metric("mean_overlap", only.mean_overlap);
    }
    report.text(text.trim_end().to_string())
}

/// `capacity.json` (every cell and the critical loads) and `capacity.png`.
pub fn write(dir: &Path, run: &HopfieldRun, results: &[CellResult]) -> anyhow::Result<()> {
    let critical: serde_json::Map<String, serde_json::Value> = curves(run)
        .into_iter()
        .map(|(memory, neurons)| {
            (
                format!("{}.n{neurons}", memory.name()),
                json!(critical_load(results, memory, neurons)),
            )
        })
        .collect();
    let record = json!({ "critical_load": critical, "cells": results });
    write_atomically(
        &dir.join("capacity.json"),
        serde_json::to_string_pretty(&record)?.as_bytes(),
    )?;
    let classic: Vec<Series> = run
        .neurons
        .iter()
        .map(|&n| series(results, Memory::Classic, n, |c| Some(c.recalled)))
        .collect();
    if classic.iter().all(|s| s.points.len() < 2) && run.dense.is_empty() {
        // A single load draws no curve.
        return Ok(());
    }
    let recall_title = format!(
        "Classic network: recall from cues with {:.0} % of units flipped (overlap ≥ {})",
        run.cue_flip * 100.0,
        run.recall_overlap
    );
    let mut panels = vec![(recall_title.as_str(), "recalled", classic)];
    let mut one_step: Vec<Series> = run
        .neurons
        .iter()
        .map(|&n| series(results, Memory::Classic, n, |c| c.one_step_error))
        .collect();
    let mut theory: Vec<(f64, f64)> = run.loads.iter().map(|&l| (l, one_step_theory(l))).collect();
    theory.sort_by(|a, b| a.0.total_cmp(&b.0));
    one_step.push(Series {
        label: "theory ½[1 − erf(√(N/2P))]".into(),
        points: theory,
    });
    panels.push((
        "One synchronous step from a stored pattern",
        "units flipped",
        one_step,
    ));
    if !run.dense.is_empty() {
        let n = run.dense_neurons;
        let mut dense: Vec<Series> = run
            .dense
            .iter()
            .map(|&m| series(results, m, n, |c| Some(c.recalled)))
            .collect();
        if run.neurons.contains(&n) {
            dense.push(series(results, Memory::Classic, n, |c| Some(c.recalled)));
        }
        panels.push(("Dense associative memories", "recalled", dense));
    }
    plot::lines(&panels, "load P/N", &dir.join("capacity.png"))
}

fn series(
    results: &[CellResult],
    memory: Memory,
    neurons: usize,
    value: impl Fn(&CellResult) -> Option<f64>,
) -> Series {
    Series {
        label: format!("{} N = {neurons}", memory.name()),
        points: curve(results, memory, neurons)
            .into_iter()
            .filter_map(|c| value(c).map(|v| (c.load, v)))
            .collect(),
    }
}
