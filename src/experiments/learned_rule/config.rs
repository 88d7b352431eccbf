//! What a learned-rule run is, and its presets.

use anyhow::bail;
use plastic_models::{FeedForwardConfig, LearnedRuleConfig, RuleNetKind};
use plastic_tasks::{TaskFamily, TwoInputTask};
use serde::{Deserialize, Serialize};

use crate::config::{check_ranges, Range};
use crate::config::{AdamSettings, TrainConfig};
use crate::experiments::shared::local_rules::two_input_network;

/// Everything a `train learned-rule` run needs: its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedRuleRun {
    pub rule: LearnedRuleConfig,
    /// Hidden layer sizes of the nets the rule trains (two inputs, one tanh output).
    pub hidden: Vec<usize>,
    /// The family of tasks: boolean functions or linear maps.
    pub family: TaskFamily,
    /// Tasks of the family kept out of meta-training, for evaluation; the rest are trained on.
    pub held_out: Vec<TwoInputTask>,
    /// Tasks kept out of meta-training and out of evaluation, on which the hand-written rules'
    /// learning rates are chosen (disjoint from `held_out`).
    #[serde(default)]
    pub validation: Vec<TwoInputTask>,
    /// Updates of the inner loop, each on one random example per net.
    pub inner_steps: usize,
    /// Backpropagate through only the last this many inner updates (`None`: all).
    pub truncation: Option<usize>,
    /// Meta-loss: the nets' error averaged over every inner update (true) or after the
    /// last one only (false).
    pub loss_during: bool,
    /// Meta-loss: the mean of the nets' errors after each of these numbers of inner updates
    /// (`None`: after the last one), so that one rule learns fast at every such budget.
    #[serde(default)]
    pub loss_at: Option<Vec<usize>>,
    /// Weights are clamped to `[−w_max, w_max]` after every inner update.
    pub w_max: f64,
    /// Meta-steps (`episodes`), nets per meta-step (`batch`), seed, Adam.
    pub train: TrainConfig,
}

/// The presets: one per task family, with its default held-out tasks.
pub fn preset(name: &str) -> anyhow::Result<LearnedRuleRun> {
    let family = match name {
        "boolean" => TaskFamily::Boolean,
        "linear" => TaskFamily::Linear,
        other => bail!("unknown preset '{other}' (known: boolean, linear)"),
    };
    Ok(LearnedRuleRun {
        rule: LearnedRuleConfig::new(RuleNetKind::Lstm),
        hidden: vec![20],
        family,
        held_out: named_tasks(&family.held_out()),
        validation: named_tasks(&family.validation()),
        inner_steps: 40,
        truncation: None,
        loss_during: false,
        loss_at: None,
        w_max: 1.0,
        train: TrainConfig {
            episodes: 1000,
            batch: 32,
            seed: 0,
            checkpoint_every: 100,
            optimizer: AdamSettings {
                grad_clip: Some(1.0),
                ..AdamSettings::with_learning_rate(1e-3)
            },
        },
    })
}

impl LearnedRuleRun {
    /// The nets the rule trains.
    pub fn network(&self) -> FeedForwardConfig {
        two_input_network(self.hidden.clone())
    }

    /// The family's tasks that are neither held out nor kept for validation.
    pub fn train_tasks(&self) -> Vec<TwoInputTask> {
        self.family
            .tasks()
            .into_iter()
            .filter(|task| !self.held_out.contains(task) && !self.validation.contains(task))
            .collect()
    }

    /// The budgets (inner updates) a rule of this run is evaluated at by default: those it
    /// was meta-trained for.
    pub fn budgets(&self) -> Vec<usize> {
        self.loss_at
            .clone()
            .unwrap_or_else(|| vec![self.inner_steps])
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.train.validate()?;
        check_ranges(&[
            ("--step-scale", self.rule.step_scale, Range::POSITIVE),
            ("--w-max", self.w_max, Range::POSITIVE),
        ])?;
        self.network().validate()?;
        if self.hidden.is_empty() {
            bail!("the nets need at least one hidden layer");
        }
        if self.inner_steps == 0 {
            bail!("--inner-steps must be at least 1");
        }
        if self.truncation == Some(0) {
            bail!("--truncate must be at least 1 update");
        }
        if self.rule.hidden == 0 {
            bail!("--rule-hidden must be at least 1");
        }
        if self.held_out.is_empty() {
            bail!("--held-out is empty: name at least one task to evaluate on");
        }
        same_family(self.family, &self.held_out)?;
        same_family(self.family, &self.validation)?;
        if let Some(task) = self.validation.iter().find(|t| self.held_out.contains(t)) {
            bail!(
                "task {} is both held out and a validation task: the two sets must be disjoint",
                task.name()
            );
        }
        if self.train_tasks().is_empty() {
            bail!(
                "no task is left to meta-train on: --held-out and --validation hold the whole family"
            );
        }
        if let Some(budgets) = &self.loss_at {
            if self.loss_during {
                bail!("--loss-at and --loss-during are two meta-losses: choose one");
            }
            validate_budgets(budgets, "--loss-at")?;
            if let Some(beyond) = budgets.iter().find(|&&k| k > self.inner_steps) {
                bail!(
                    "--loss-at {beyond} is beyond the inner loop's {} updates (--inner-steps)",
                    self.inner_steps
                );
            }
        }
        Ok(())
    }
}

/// The tasks of these names, which exist.
fn named_tasks(names: &[&str]) -> Vec<TwoInputTask> {
    names
        .iter()
        .map(|name| TwoInputTask::named(name).expect("a family's default tasks exist"))
        .collect()
}

/// An error unless `budgets` is a non-empty list of positive update counts.
pub fn validate_budgets(budgets: &[usize], flag: &str) -> anyhow::Result<()> {
    if budgets.is_empty() {
        bail!("{flag} names no budget");
    }
    if budgets.contains(&0) {
        bail!("{flag}: every budget must be at least 1 update");
    }
    Ok(())
}

/// An error naming the first of `tasks` outside `family`.
pub fn same_family(family: TaskFamily, tasks: &[TwoInputTask]) -> anyhow::Result<()> {
    if let Some(stranger) = tasks.iter().find(|task| task.family() != family) {
        bail!(
            "task {} is not in the {} family of this run (its tasks: {})",
            stranger.name(),
            family.name(),
            family.members().join(", ")
        );
    }
    Ok(())
}
