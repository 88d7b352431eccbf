//! A learned rule on fresh nets of each evaluation task, beside every hand-written rule at
//! its best learning rate, with the same nets, examples and number of updates.

use anyhow::bail;
use burn::tensor::backend::Backend;
use plastic_models::{AnyRule, LearnedRule, RuleKind, RuleStep};
use plastic_tasks::TwoInputTask;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::LearnedRuleRun;
use super::meta::inner_loop;
use crate::experiment::Report;
use crate::experiments::local_rules::{successes, successes_after_training};
use crate::metrics::wilson_interval;

/// Evaluation nets come from this seed, never from the meta-training stream.
pub const EVAL_SEED: u64 = 0xE7A1_5EED;

/// Learning rates every hand-written rule is tried at; its best is reported.
pub const HAND_RATES: [f64; 5] = [0.01, 0.03, 0.1, 0.3, 1.0];

/// The rule applied to `replications` fresh nets per task, scored after the inner loop, and
/// beside it every hand-written rule at its best rate of [`HAND_RATES`]. The report's
/// metrics are `<task>.learned` and `<task>.<rule>` success rates.
pub fn evaluate<B: Backend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    tasks: &[TwoInputTask],
    replications: usize,
    model: &str,
) -> anyhow::Result<Report> {
    if replications == 0 {
        bail!("evaluation needs at least 1 replication");
    }
    let device = rule.readout.weight.device();
    let kind = run.rule.kind.name();
    let names: Vec<&str> = tasks.iter().map(|t| t.name()).collect();
    let mut report = Report::new(model, names.join(","));
    let line = |name: &str, task: TwoInputTask, solved: usize| {
        let (lo, hi) = wilson_interval(solved, replications);
        format!(
            "{name} on {}: success {solved}/{replications} = {:.2} (95 % interval {lo:.3}–{hi:.3}), after {} updates",
            task.name(),
            solved as f64 / replications as f64,
            run.inner_steps
        )
    };
    let rate = |solved: usize| solved as f64 / replications as f64;
    let mut lines = Vec::new();
    for &task in tasks {
        let mut rng = ChaCha8Rng::seed_from_u64(EVAL_SEED);
        let copies = vec![task; replications];
        let network = inner_loop(rule, run, &copies, &mut rng, &device)?;
        let solved = successes(&network, &copies)?;
        lines.push(line(&format!("{kind} rule"), task, solved));
        report = report.metric(&format!("{}.learned", task.name()), rate(solved));
        for kind in RuleKind::ALL {
            let mut best = (0, HAND_RATES[0]);
            for learning_rate in HAND_RATES {
                let step = RuleStep {
                    learning_rate,
                    w_max: run.w_max,
                };
                let solved = successes_after_training::<B>(
                    task,
                    &run.network(),
                    AnyRule::new(kind, step)?,
                    replications,
                    run.inner_steps,
                    EVAL_SEED,
                    &device,
                )?;
                if solved > best.0 {
                    best = (solved, learning_rate);
                }
            }
            lines.push(line(
                &format!("  {} (lr {})", kind.name(), best.1),
                task,
                best.0,
            ));
            report = report.metric(&format!("{}.{}", task.name(), kind.name()), rate(best.0));
        }
    }
    lines.push(format!(
        "hand-written rules at their best learning rate of {HAND_RATES:?}"
    ));
    Ok(report.text(lines.join("\n")))
}
