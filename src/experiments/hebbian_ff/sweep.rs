//! The seed's table (`sweep plans/hebbian-ff-table.json`): supervised Hebbian success rates the seed
//! recorded, and the sweep's own table beside them.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::HebbianFfExperiment;
use crate::experiment::Finished;
use crate::stats::wilson_interval;
use crate::util::write_atomically;

/// One cell of the seed's table: the supervised rule's published success rate.
pub struct SeedCell {
    pub task: &'static str,
    pub hidden: &'static [usize],
    pub updates: usize,
    pub rate: f64,
}

/// Replications behind each of the seed's figures.
pub const SEED_REPLICATIONS: usize = 100;

/// Seed 001's recorded success rates (100 replications, lr 0.01, supervised Hebbian).
pub const SEED_TABLE: [SeedCell; 6] = [
    SeedCell {
        task: "and",
        hidden: &[10],
        updates: 400,
        rate: 0.73,
    },
    SeedCell {
        task: "and",
        hidden: &[100],
        updates: 400,
        rate: 0.98,
    },
    SeedCell {
        task: "and",
        hidden: &[10, 10],
        updates: 1000,
        rate: 0.0,
    },
    SeedCell {
        task: "xor",
        hidden: &[10],
        updates: 400,
        rate: 0.29,
    },
    SeedCell {
        task: "xor",
        hidden: &[100],
        updates: 400,
        rate: 0.99,
    },
    SeedCell {
        task: "xor",
        hidden: &[10, 10],
        updates: 400,
        rate: 0.0,
    },
];

/// One finished run as a row of the table.
struct Row<'a> {
    finished: &'a Finished<HebbianFfExperiment>,
    /// The seed's figure and its 95 % interval, for the rule the seed measured.
    seed: Option<(f64, (f64, f64))>,
}

impl Row<'_> {
    fn metric(&self, name: &str) -> f64 {
        self.finished
            .report
            .metrics
            .get(name)
            .copied()
            .unwrap_or(f64::NAN)
    }
}

fn rows(runs: &[Finished<HebbianFfExperiment>]) -> Vec<Row<'_>> {
    runs.iter()
        .map(|finished| {
            let run = &finished.run;
            let seed = SEED_TABLE
                .iter()
                .find(|cell| {
                    cell.task == run.task.name()
                        && cell.hidden == run.hidden.as_slice()
                        && cell.updates == run.updates
                })
                .filter(|_| run.rule == plastic_models::RuleKind::Supervised)
                .map(|cell| {
                    let n = SEED_REPLICATIONS;
                    let seed_successes = (cell.rate * n as f64).round() as usize;
                    (cell.rate, wilson_interval(seed_successes, n))
                });
            Row { finished, seed }
        })
        .collect()
}

/// The runs as a Markdown table beside the seed's figures (printed, and saved as
/// `sweep.md` with `sweep.csv` in `dir`).
pub fn summarise(runs: &[Finished<HebbianFfExperiment>], dir: &Path) -> anyhow::Result<String> {
    let rows = rows(runs);
    let mut table = String::from(
        "| rule | task | hidden | updates | before learning | seed 001 (95 % interval) | ours (95 % interval) | inside |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut csv = String::from(
        "rule,task,hidden,updates,replications,initial_rate,successes,rate,low,high,seed_rate,seconds\n",
    );
    for row in &rows {
        let run = &row.finished.run;
        let (successes, replications) = (row.metric("successes"), row.metric("replications"));
        let rate = row.metric("success_rate");
        let (lo, hi) = wilson_interval(successes as usize, replications as usize);
        let (seed, inside) = match row.seed {
            Some((seed_rate, (seed_lo, seed_hi))) => (
                format!("{seed_rate:.2} ({seed_lo:.3}–{seed_hi:.3})"),
                if (seed_lo..=seed_hi).contains(&rate) {
                    "yes"
                } else {
                    "no"
                },
            ),
            None => ("—".to_string(), "—"),
        };
        let _ = writeln!(
            table,
            "| {} | {} | {:?} | {} | {:.2} | {seed} | {rate:.2} ({lo:.3}–{hi:.3}) | {inside} |",
            run.rule_label(),
            run.task.name(),
            run.hidden,
            run.updates,
            row.metric("initial_success_rate"),
        );
        let hidden: Vec<String> = run.hidden.iter().map(usize::to_string).collect();
        let _ = writeln!(
            csv,
            "{},{},{},{},{replications},{},{successes},{rate},{lo},{hi},{},{:.3}",
            run.rule_label(),
            run.task.name(),
            hidden.join("x"),
            run.updates,
            row.metric("initial_success_rate"),
            row.seed
                .map(|(rate, _)| rate.to_string())
                .unwrap_or_default(),
            row.finished.report.seconds
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_atomically(&dir.join("sweep.md"), table.as_bytes())?;
    write_atomically(&dir.join("sweep.csv"), csv.as_bytes())?;
    Ok(format!("{table}table: {}", dir.join("sweep.md").display()))
}
