//! Several networks of one `--compare` command side by side: the table of their evaluation
//! rewards over seeds, and their learning curves in one plot.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::CueRewardExperiment;
use crate::checkpoint::METRICS_FILE;
use crate::experiment::Finished;
use crate::metrics::MetricsLog;
use crate::plot::{self, Series};
use crate::stats::mean_sd;

/// The runs grouped by network, in the order they were trained.
fn by_network(
    runs: &[Finished<CueRewardExperiment>],
) -> Vec<(&'static str, Vec<&Finished<CueRewardExperiment>>)> {
    let mut groups: Vec<(&'static str, Vec<&Finished<CueRewardExperiment>>)> = Vec::new();
    for run in runs {
        let name = run.run.network.name();
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, group)) => group.push(run),
            None => groups.push((name, vec![run])),
        }
    }
    groups
}

/// A Markdown table: per network, its parameters, seeds, and the evaluation's reward per
/// episode and fraction of right answers, mean ± sd over seeds, with each seed's reward.
pub fn table(runs: &[Finished<CueRewardExperiment>]) -> String {
    let mut table = String::from(
        "| network | units | parameters | seeds | eval reward per episode | right answers | reward by seed |\n|---|---|---|---|---|---|---|\n",
    );
    for (name, group) in by_network(runs) {
        let metric = |key: &str| -> Vec<f64> {
            group
                .iter()
                .filter_map(|r| r.report.metrics.get(key).copied())
                .collect()
        };
        let (rewards, right) = (metric("reward"), metric("right_answers"));
        let (reward_mean, reward_sd) = mean_sd(&rewards);
        let (right_mean, right_sd) = mean_sd(&right);
        let first = &group[0].run;
        let seeds: Vec<String> = group.iter().map(|r| r.run.train.seed.to_string()).collect();
        let each: Vec<String> = rewards.iter().map(|r| format!("{r:.2}")).collect();
        let _ = writeln!(
            table,
            "| {name} | {} | {} | {} | {reward_mean:.2} ± {reward_sd:.2} | {right_mean:.3} ± {right_sd:.3} | {} |",
            first.network.units(&first.task),
            first.network.agent_config(&first.task).parameter_count(),
            seeds.join(", "),
            each.join(", ")
        );
    }
    table
}

/// `path`: each network's training reward per episode against the update, averaged over its
/// seeds.
pub fn write_comparison(runs: &[Finished<CueRewardExperiment>], path: &Path) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    for (name, group) in by_network(runs) {
        let mut sums: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
        for run in &group {
            for m in MetricsLog::new(run.dir.join(METRICS_FILE)).read()? {
                if let Some(reward) = m.get("reward") {
                    let entry = sums.entry(m.episode).or_insert((0.0, 0));
                    entry.0 += reward;
                    entry.1 += 1;
                }
            }
        }
        lines.push(Series {
            label: name.to_string(),
            points: sums
                .into_iter()
                .map(|(update, (sum, count))| (update as f64, sum / count as f64))
                .collect(),
        });
    }
    plot::lines(
        &[(
            "training reward per episode (mean over seeds)",
            "reward",
            lines,
        )],
        "update",
        path,
    )
}
