//! A learned rule on fresh nets of each evaluation task, beside every hand-written rule at
//! its best learning rate, after the same number of updates (the budget) on the same nets
//! and examples. The hand-written rules' rates are chosen on the validation tasks, never on
//! the tasks they are scored on.

use anyhow::bail;
use burn::tensor::backend::Backend;
use plastic_models::{AnyRule, LearnedRule, RuleKind, RuleStep};
use plastic_tasks::TwoInputTask;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::{validate_budgets, LearnedRuleRun};
use super::meta::inner_loop;
use crate::experiment::Report;
use crate::experiments::shared::local_rules::{score_after_training, successes, Score};
use crate::stats::wilson_interval;

/// Evaluation nets come from this seed, never from the meta-training stream.
pub const EVAL_SEED: u64 = 0xE7A1_5EED;

/// Nets on the validation tasks come from this seed: not the evaluation nets.
pub const VALIDATION_SEED: u64 = 0x7A11_D8ED;

/// Learning rates every hand-written rule is tried at on the validation tasks.
pub const HAND_RATES: [f64; 6] = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0];

/// What to evaluate: tasks, budgets and nets per task.
pub struct Evaluation<'a> {
    pub tasks: &'a [TwoInputTask],
    /// Inner updates before scoring, each budget on its own.
    pub budgets: &'a [usize],
    pub replications: usize,
}

/// The rule applied to fresh nets of every task and scored after each budget of updates,
/// beside every hand-written rule at its best rate of [`HAND_RATES`] for that budget on the
/// validation tasks. The report's metrics, per task and budget K: `<task>.k<K>.learned`,
/// `<task>.k<K>.<rule>` and `<task>.k<K>.best_hand` (the best hand-written rule's) success
/// rates.
pub fn evaluate<B: Backend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    evaluation: &Evaluation,
    model: &str,
) -> anyhow::Result<Report> {
    let Evaluation {
        tasks,
        budgets,
        replications,
    } = *evaluation;
    if replications == 0 {
        bail!("evaluation needs at least 1 replication");
    }
    validate_budgets(budgets, "--budget")?;
    if run.validation.is_empty() {
        bail!(
            "this run names no validation tasks, on which the hand-written rules' learning \
             rates are chosen: train it again with --validation"
        );
    }
    let device = rule.readout.weight.device();
    let kind = run.rule.kind.name();
    let names: Vec<&str> = tasks.iter().map(|t| t.name()).collect();
    let mut report = Report::new(model, names.join(","));
    let line = |name: &str, task: TwoInputTask, solved: usize, budget: usize| {
        let (lo, hi) = wilson_interval(solved, replications);
        format!(
            "{name} on {}: success {solved}/{replications} = {:.2} (95 % interval {lo:.3}–{hi:.3}), after {budget} updates",
            task.name(),
            solved as f64 / replications as f64,
        )
    };
    let rate = |solved: usize| solved as f64 / replications as f64;
    let mut lines = Vec::new();
    for &budget in budgets {
        let at_budget = LearnedRuleRun {
            inner_steps: budget,
            ..run.clone()
        };
        let hand_rules = tuned_hand_rules::<B>(&at_budget, replications, &device)?;
        for &task in tasks {
            let key = |who: &str| format!("{}.k{budget}.{who}", task.name());
            let mut rng = ChaCha8Rng::seed_from_u64(EVAL_SEED);
            let copies = vec![task; replications];
            let network = inner_loop(rule, &at_budget, &copies, &mut rng, &device)?;
            let solved = successes(&network, &copies)?;
            lines.push(line(&format!("{kind} rule"), task, solved, budget));
            report = report.metric(&key("learned"), rate(solved));
            let mut best_hand = 0;
            for &rule in &hand_rules {
                let solved =
                    hand_score::<B>(&at_budget, task, rule, replications, EVAL_SEED, &device)?
                        .successes;
                best_hand = best_hand.max(solved);
                lines.push(line(
                    &format!(
                        "  {} (lr {})",
                        rule.kind().name(),
                        rule.step().learning_rate
                    ),
                    task,
                    solved,
                    budget,
                ));
                report = report.metric(&key(rule.kind().name()), rate(solved));
            }
            report = report.metric(&key("best_hand"), rate(best_hand));
        }
    }
    let validation: Vec<&str> = run.validation.iter().map(|t| t.name()).collect();
    lines.push(format!(
        "hand-written rules at their best learning rate of {HAND_RATES:?} for each budget on \
         the validation tasks ({})",
        validation.join(", ")
    ));
    Ok(report.text(lines.join("\n")))
}

/// Every hand-written rule at the learning rate of [`HAND_RATES`] that solves the most
/// validation nets after `run.inner_steps` updates. Ties, common when every rate solves
/// every easy validation net, go to the lower squared error on the validation probes.
pub fn tuned_hand_rules<B: Backend>(
    run: &LearnedRuleRun,
    replications: usize,
    device: &B::Device,
) -> anyhow::Result<Vec<AnyRule>> {
    RuleKind::ALL
        .into_iter()
        .map(|kind| {
            let mut best: Option<((usize, f64), AnyRule)> = None;
            for learning_rate in HAND_RATES {
                let rule = AnyRule::new(
                    kind,
                    RuleStep {
                        learning_rate,
                        w_max: run.w_max,
                    },
                )?;
                let (mut solved, mut loss) = (0, 0.0);
                for &task in &run.validation {
                    let score =
                        hand_score::<B>(run, task, rule, replications, VALIDATION_SEED, device)?;
                    solved += score.successes;
                    loss += score.loss;
                }
                let better =
                    |(most, least): (usize, f64)| solved > most || (solved == most && loss < least);
                if best.is_none_or(|(record, _)| better(record)) {
                    best = Some(((solved, loss), rule));
                }
            }
            Ok(best.expect("HAND_RATES is not empty").1)
        })
        .collect()
}

/// Fresh nets of `task` trained by a hand-written rule for `run.inner_steps` updates from
/// `seed`, scored.
fn hand_score<B: Backend>(
    run: &LearnedRuleRun,
    task: TwoInputTask,
    rule: AnyRule,
    replications: usize,
    seed: u64,
    device: &B::Device,
) -> anyhow::Result<Score> {
    score_after_training::<B>(
        task,
        &run.network(),
        rule,
        replications,
        run.inner_steps,
        seed,
        device,
    )
}
