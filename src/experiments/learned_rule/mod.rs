//! `learned-rule`: a synaptic rule that is itself a network (LSTM or MLP), meta-trained
//! through the inner loop of the nets it trains.

mod config;
mod eval;
mod flags;
mod meta;
mod plot;

use anyhow::bail;
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::LearnedRule as RuleNetwork;
use plastic_tasks::TwoInputTask;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use config::{same_family, LearnedRuleRun};
pub use eval::{evaluate, tuned_hand_rules, Evaluation, EVAL_SEED, HAND_RATES, VALIDATION_SEED};
pub use flags::{LearnedRuleEvalFlags, LearnedRuleFlags};
pub use meta::{inner_loop, meta_loss};
pub use plot::write_rule_plot;

use crate::checkpoint::{Checkpoint, RunState};
use crate::experiment::{saved_network, Experiment, Report};
use crate::memory::floats;
use crate::trainer::{GradientSteps, Schedule, Trainer};

/// A learned synaptic rule.
pub struct LearnedRuleExperiment;

/// The plot of the learned Δw in a run directory.
pub const RULE_PLOT: &str = "rule.png";

/// Options of `eval` on a learned-rule checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedRuleEval {
    /// Tasks to score (`None`: the held-out ones).
    pub tasks: Option<Vec<TwoInputTask>>,
    /// Fresh nets per task, for the learned rule and each hand-written one.
    pub replications: usize,
    /// Inner updates to compare the rules after (`None`: the run's own budgets).
    pub budgets: Option<Vec<usize>>,
}

/// Nets per task when a run's end or `eval` does not say otherwise.
pub const DEFAULT_REPLICATIONS: usize = 100;

impl Default for LearnedRuleEval {
    fn default() -> Self {
        Self {
            tasks: None,
            replications: DEFAULT_REPLICATIONS,
            budgets: None,
        }
    }
}

impl Experiment for LearnedRuleExperiment {
    const NAME: &'static str = "learned-rule";
    const ABOUT: &'static str =
        "a synaptic rule that is itself an LSTM or MLP, meta-trained through the inner learning loop";
    const HEADLINE: &'static [&'static str] = &["success_rate"];
    const RESUMABLE: &'static [(&'static str, &'static str)] = &[
        ("/train/episodes", "--meta-steps"),
        ("/train/checkpoint_every", "--checkpoint-every"),
    ];
    const MEMORY_HINT: &'static str =
        "lower --meta-batch, --inner-steps (or set --truncate), --rule-hidden or --hidden";

    type Run = LearnedRuleRun;
    type EvalOptions = LearnedRuleEval;
    type Network<B: Backend> = RuleNetwork<B>;

    fn presets() -> Vec<(&'static str, String)> {
        vec![
            (
                "boolean",
                "the 16 boolean functions, XOR and XNOR held out".into(),
            ),
            (
                "linear",
                "12 linear maps, linear-60 and linear-240 held out".into(),
            ),
        ]
    }

    fn preset(name: &str) -> anyhow::Result<LearnedRuleRun> {
        config::preset(name)
    }

    fn implied_preset(flags: &serde_json::Value) -> Option<&'static str> {
        (flags["family"] == "linear").then_some("linear")
    }

    fn validate(run: &LearnedRuleRun) -> anyhow::Result<()> {
        run.validate()
    }

    fn run_name(run: &LearnedRuleRun) -> String {
        let kind = run.rule.kind.name();
        match run.family {
            plastic_tasks::TaskFamily::Boolean => format!("{kind}-seed{}", run.train.seed),
            family => format!("{kind}-{}-seed{}", family.name(), run.train.seed),
        }
    }

    fn schedule(run: &LearnedRuleRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.train.episodes,
            checkpoint_every: run.train.checkpoint_every,
        })
    }

    /// Autodiff keeps, for every inner update kept in the graph, each synapse's features
    /// and the rule network's activations (an LSTM's four gates, cell and hidden state).
    fn memory_needed(run: &LearnedRuleRun) -> u64 {
        let synapses: u128 = run
            .network()
            .layer_shapes()
            .iter()
            .map(|[o, i]| (o * i) as u128)
            .sum();
        let kept = run
            .truncation
            .unwrap_or(run.inner_steps)
            .min(run.inner_steps) as u128;
        let per_synapse = 12 * run.rule.hidden as u128 + 2 * run.rule.features() as u128;
        floats(run.train.batch as u128 * synapses * kept * per_synapse)
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        Ok(run.rule.init::<B>(device))
    }

    fn train<B: AutodiffBackend>(
        run: &LearnedRuleRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let mut init_rng = ChaCha8Rng::seed_from_u64(run.train.seed);
        // Burn draws parameter initialisations from its own seeded generator.
        B::seed(device, init_rng.random());
        let rule = run.rule.init::<B>(device);
        let mut episodes = ChaCha8Rng::seed_from_u64(run.train.seed);
        episodes.set_stream(1);
        let train_tasks = run.train_tasks();
        let mut learner = GradientSteps::new(
            rule,
            &run.train.optimizer,
            |rule: &RuleNetwork<B>, rng: &mut _| meta::meta_step(rule, run, &train_tasks, rng),
            device,
        );
        trainer.fit(&mut learner, episodes)?;
        let rule = learner.into_model().valid();
        let dir = trainer.run_dir();
        write_rule_plot(&rule, &dir.file(RULE_PLOT))?;
        let evaluation = Evaluation {
            tasks: &run.held_out,
            budgets: &run.budgets(),
            replications: DEFAULT_REPLICATIONS,
        };
        let report = evaluate(&rule, run, &evaluation, Self::NAME)?;
        let text = format!(
            "{}\ncheckpoint: {}; the rule's Δw: {}",
            report.text,
            dir.path.display(),
            dir.file(RULE_PLOT).display()
        );
        Ok(report.text(text))
    }

    fn eval<B: AutodiffBackend>(
        run: &LearnedRuleRun,
        checkpoint: &Checkpoint,
        options: &LearnedRuleEval,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let tasks = match &options.tasks {
            Some(tasks) => {
                same_family(run.family, tasks)?;
                tasks.clone()
            }
            None => run.held_out.clone(),
        };
        if tasks.is_empty() {
            bail!("--task names no task");
        }
        let rule = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let evaluation = Evaluation {
            tasks: &tasks,
            budgets: &options.budgets.clone().unwrap_or_else(|| run.budgets()),
            replications: options.replications,
        };
        evaluate::<B::InnerBackend>(&rule, run, &evaluation, Self::NAME)
    }
}
