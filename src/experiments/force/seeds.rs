//! What several force runs show together (the cells of a sweep over seeds): each gain's
//! free-running test MAE over the runs — median, range, and how many runs learned the target
//! (`gains-seeds.md`).

use std::fmt::Write as _;
use std::path::Path;

use super::ForceExperiment;
use crate::experiment::Finished;
use crate::stats::median;
use crate::util::write_atomically;

/// A test MAE below this is a network that learned the four sines: the runs that learn end
/// near 0.05 or below, those that do not at or above the target's mean |f|, 0.617
/// (docs/force.md).
pub const LEARNED_MAE: f64 = 0.1;

/// A run's test MAE at gain `g` (`None` when it did not train that gain).
fn test_mae(run: &Finished<ForceExperiment>, g: f64) -> Option<f64> {
    let gains = &run.run.network.gains;
    if !gains.contains(&g) {
        return None;
    }
    if gains.len() == 1 {
        return run.report.metrics.get("test_mae").copied();
    }
    run.report.metrics.get(&format!("test_mae/g{g}")).copied()
}

/// The summary of several runs, or `None` for one run (its own report says it all).
pub fn summarise(runs: &[Finished<ForceExperiment>], dir: &Path) -> anyhow::Result<Option<String>> {
    if runs.len() < 2 {
        return Ok(None);
    }
    let mut gains: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.run.network.gains.iter().copied())
        .collect();
    gains.sort_by(f64::total_cmp);
    gains.dedup();
    let seeds: Vec<String> = runs.iter().map(|r| r.run.seed.to_string()).collect();
    let mut text = format!(
        "Free-running test MAE over {} runs (seeds {}); learned: MAE < {LEARNED_MAE}\n\n\
         | g | runs | learned | median MAE | range | per run |\n|---|---|---|---|---|---|\n",
        runs.len(),
        seeds.join(", ")
    );
    for g in gains {
        let values: Vec<Option<f64>> = runs.iter().map(|r| test_mae(r, g)).collect();
        let mut found: Vec<f64> = values.iter().flatten().copied().collect();
        found.sort_by(f64::total_cmp);
        let learned = found.iter().filter(|&&m| m < LEARNED_MAE).count();
        let per_run: Vec<String> = values
            .iter()
            .map(|v| v.map_or("–".into(), |m| format!("{m:.3}")))
            .collect();
        let _ = writeln!(
            text,
            "| {g} | {} | {learned} of {} | {:.3} | {:.3} – {:.3} | {} |",
            found.len(),
            found.len(),
            median(&found),
            found.first().copied().unwrap_or(f64::NAN),
            found.last().copied().unwrap_or(f64::NAN),
            per_run.join(", ")
        );
    }
    let path = dir.join("gains-seeds.md");
    write_atomically(&path, text.as_bytes())?;
    Ok(Some(format!("{text}table: {}", path.display())))
}
