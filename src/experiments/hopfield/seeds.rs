//! What several capacity runs show together (the cells of a sweep over seeds): each memory's
//! critical load per size, as mean ± sd with a 95 % t interval over the runs, and the recall
//! curves averaged over them (`capacity-seeds.md`, `capacity-seeds.png`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::capacity::critical_load;
use super::{CellResult, HopfieldExperiment, Memory};
use crate::experiment::Finished;
use crate::plot::{self, Series};
use crate::stats::mean_interval;
use crate::util::write_atomically;

/// The cells a finished run measured (its `capacity.json`).
fn cells_of(run: &Finished<HopfieldExperiment>) -> anyhow::Result<Vec<CellResult>> {
    #[derive(serde::Deserialize)]
    struct Record {
        cells: Vec<CellResult>,
    }
    let record: Record = crate::config::read_json(&run.dir.join("capacity.json"))?;
    Ok(record.cells)
}

/// The summary of several runs, or `None` for one run (its own report says it all).
pub fn summarise(
    runs: &[Finished<HopfieldExperiment>],
    dir: &Path,
) -> anyhow::Result<Option<String>> {
    if runs.len() < 2 {
        return Ok(None);
    }
    let measured: Vec<Vec<CellResult>> =
        runs.iter().map(cells_of).collect::<anyhow::Result<_>>()?;
    // Every (memory, size) any run measured, classic first, by size.
    let mut curves: Vec<(Memory, usize)> = measured
        .iter()
        .flatten()
        .map(|c| (c.memory, c.neurons))
        .collect();
    curves.sort_by_key(|&(memory, neurons)| (memory != Memory::Classic, memory.name(), neurons));
    curves.dedup();
    let mut table = String::from(
        "| memory | N | runs | critical load P/N (mean ± sd) | 95 % interval | per run |\n|---|---|---|---|---|---|\n",
    );
    let mut panels: Vec<Series> = Vec::new();
    for &(memory, neurons) in &curves {
        let loads: Vec<Option<f64>> = measured
            .iter()
            .map(|cells| critical_load(cells, memory, neurons))
            .collect();
        let found: Vec<f64> = loads.iter().flatten().copied().collect();
        let per_run: Vec<String> = loads
            .iter()
            .map(|l| l.map_or("–".into(), |l| format!("{l:.4}")))
            .collect();
        let (figure, interval) = if found.is_empty() {
            ("not crossed".to_string(), "–".to_string())
        } else {
            let (mean, sd, low, high) = mean_interval(&found);
            let interval = if found.len() > 1 {
                format!("{low:.4} – {high:.4}")
            } else {
                "–".into()
            };
            (format!("{mean:.4} ± {sd:.4}"), interval)
        };
        let _ = writeln!(
            table,
            "| {} | {neurons} | {} of {} | {figure} | {interval} | {} |",
            memory.name(),
            found.len(),
            runs.len(),
            per_run.join(", ")
        );
        // The recall curve, averaged over the runs at each load.
        let mut by_load: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for cell in measured.iter().flatten() {
            if cell.memory == memory && cell.neurons == neurons {
                by_load
                    .entry(cell.load.to_bits())
                    .or_default()
                    .push(cell.recalled);
            }
        }
        let mut points: Vec<(f64, f64)> = by_load
            .into_iter()
            .map(|(load, recalled)| (f64::from_bits(load), mean_interval(&recalled).0))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        panels.push(Series {
            label: format!("{} N = {neurons}", memory.name()),
            points,
        });
    }
    let seeds: Vec<String> = runs.iter().map(|r| r.run.seed.to_string()).collect();
    let text = format!(
        "Critical loads over {} runs (seeds {}): where recall falls through 1/2\n\n{table}",
        runs.len(),
        seeds.join(", ")
    );
    write_atomically(&dir.join("capacity-seeds.md"), text.as_bytes())?;
    let path = dir.join("capacity-seeds.png");
    let (classic, dense): (Vec<Series>, Vec<Series>) = panels
        .into_iter()
        .partition(|s| s.label.starts_with(Memory::Classic.name()));
    let mut drawn = vec![(
        "Classic network: recall, mean over runs",
        "recalled",
        classic,
    )];
    if !dense.is_empty() {
        drawn.push((
            "Dense associative memories: recall, mean over runs",
            "recalled",
            dense,
        ));
    }
    plot::lines(&drawn, "load P/N", &path)?;
    Ok(Some(format!("{text}plot: {}", path.display())))
}
