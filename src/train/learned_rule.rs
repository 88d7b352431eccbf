//! Meta-training a learned synaptic rule: every meta-step builds fresh random feed-forward
//! nets, one per task sampled from a family (boolean functions or linear maps), lets the rule
//! train them for K online updates, and backpropagates the nets' final error through the
//! whole inner loop into the rule.

use std::collections::BTreeMap;

use anyhow::bail;
use burn::module::AutodiffModule;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::AdamConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use plastic_models::hebbian_ff::RULE_NAMES;
use plastic_models::{
    AnyRule, FeedForward, FeedForwardConfig, LearnedRule, LearnedRuleConfig, OutputActivation,
    RuleMemory, RuleStep,
};
use plastic_tasks::{draw_examples, TaskFamily, TwoInputTask};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backend::BackendJob;
use crate::checkpoint::{RunDir, RunState, CONFIG_FILE};
use crate::config::TrainConfig;
use crate::metrics::wilson_interval;
use crate::train::hebbian_ff::{probe_outputs, train_replications, FfTask, HebbianFfRun};
use crate::train::{ensure_work_left, host_values, train_loop, AdamOptimizer, EpisodeOutcome};

/// Name of the model on the command line and in checkpoints.
pub const MODEL_NAME: &str = "learned-rule";

/// The plot of the learned Δw in a run directory.
pub const RULE_PLOT: &str = "rule.png";

/// Everything a `train learned-rule` run needs; saved as its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedRuleRun {
    pub rule: LearnedRuleConfig,
    /// The nets the rule trains (two inputs, one tanh output).
    pub network: FeedForwardConfig,
    /// Tasks meta-trained on: boolean functions or linear maps, one family.
    pub train_tasks: Vec<String>,
    /// Tasks of the same family kept for evaluation.
    pub held_out: Vec<String>,
    /// Updates of the inner loop, each on one random example per net.
    pub inner_steps: usize,
    /// Backpropagate through only the last this many inner updates (`None`: all).
    pub truncation: Option<usize>,
    /// Meta-loss: the nets' error averaged over every inner update (true) or after the
    /// last one only (false).
    #[serde(default)]
    pub loss_during: bool,
    /// Weights are clamped to `[−w_max, w_max]` after every inner update.
    pub w_max: f64,
    /// Largest global norm of a meta-gradient.
    pub grad_clip: f64,
    /// Meta-steps (`episodes`), nets per meta-step (`batch`), Adam rate, seed.
    pub train: TrainConfig,
}

impl LearnedRuleRun {
    pub fn validate(&self) -> anyhow::Result<()> {
        self.train.validate()?;
        self.network.validate()?;
        if self.network.hidden.is_empty() {
            bail!("the nets need at least one hidden layer");
        }
        if self.inner_steps == 0 {
            bail!("--inner-steps must be at least 1");
        }
        if self.truncation == Some(0) {
            bail!("--truncation must be at least 1 update");
        }
        if self.rule.hidden == 0 {
            bail!("--rule-hidden must be at least 1");
        }
        if !(self.rule.step_scale.is_finite() && self.rule.step_scale > 0.0) {
            bail!("--step-scale must be a positive number");
        }
        if !(self.w_max > 0.0 && self.grad_clip > 0.0) {
            bail!("--w-max and --grad-clip must be positive");
        }
        self.held_out_tasks()?;
        self.family()?;
        Ok(())
    }

    pub fn train_task_list(&self) -> anyhow::Result<Vec<TwoInputTask>> {
        if self.train_tasks.is_empty() {
            bail!("no task is left to meta-train on: --held-out holds the whole family");
        }
        tasks(&self.train_tasks)
    }

    pub fn held_out_tasks(&self) -> anyhow::Result<Vec<TwoInputTask>> {
        if self.held_out.is_empty() {
            bail!("--held-out is empty: name at least one task to evaluate on");
        }
        tasks(&self.held_out)
    }

    /// The one family every task of the run belongs to.
    pub fn family(&self) -> anyhow::Result<TaskFamily> {
        let train = self.train_task_list()?;
        let family = train[0].family();
        same_family(family, &train)?;
        same_family(family, &self.held_out_tasks()?)?;
        Ok(family)
    }
}

/// The tasks of `names`.
pub fn tasks(names: &[String]) -> anyhow::Result<Vec<TwoInputTask>> {
    Ok(names
        .iter()
        .map(|name| TwoInputTask::named(name))
        .collect::<Result<_, _>>()?)
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

/// The members of `family` other than the held-out ones.
pub fn default_train_tasks(family: TaskFamily, held_out: &[String]) -> Vec<String> {
    family
        .members()
        .iter()
        .filter(|name| !held_out.iter().any(|h| h == *name))
        .map(|name| name.to_string())
        .collect()
}

/// Adam with the meta-gradient's global norm clipped.
pub fn clipped_adam<B: AutodiffBackend, M: AutodiffModule<B>>(norm: f64) -> AdamOptimizer<M, B> {
    AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(norm as f32)))
        .init()
}

/// Fresh nets, one per entry of `tasks`, trained by `rule` for `inner_steps` updates.
/// With `truncation`, the weights and the rule's memory are cut from the graph before the
/// last `truncation` updates.
pub fn inner_loop<B: Backend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    tasks: &[TwoInputTask],
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> anyhow::Result<FeedForward<B>> {
    inner_loop_watched(rule, run, tasks, rng, device, |_| {})
}

/// [`inner_loop`], calling `after_update` with the nets after every update.
pub fn inner_loop_watched<B: Backend, F: FnMut(&FeedForward<B>)>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    tasks: &[TwoInputTask],
    rng: &mut ChaCha8Rng,
    device: &B::Device,
    mut after_update: F,
) -> anyhow::Result<FeedForward<B>> {
    let nets = tasks.len();
    let mut network = run.network.init::<B>(nets, rng, device)?;
    let mut memory = RuleMemory::fresh(network.weights.len());
    let cut_before = run
        .truncation
        .map(|kept| run.inner_steps.saturating_sub(kept));
    for step in 0..run.inner_steps {
        if cut_before == Some(step) && step > 0 {
            network.weights = network.weights.into_iter().map(|w| w.detach()).collect();
            memory.layers = memory
                .layers
                .into_iter()
                .map(|state| state.map(|(cell, hidden)| (cell.detach(), hidden.detach())))
                .collect();
        }
        let (inputs, targets) = draw_examples(tasks, rng);
        let input = Tensor::from_data(TensorData::new(inputs, [nets, 1, 2]), device);
        let target = Tensor::from_data(TensorData::new(targets, [nets, 1, 1]), device);
        (network, memory) = rule.update(&network, input, target, memory, run.w_max);
        after_update(&network);
    }
    Ok(network)
}

/// Mean squared error over every net and probe input, `[1]`: the meta-loss.
pub fn meta_loss<B: Backend>(network: &FeedForward<B>, tasks: &[TwoInputTask]) -> Tensor<B, 1> {
    let outputs = probe_outputs(network, tasks);
    let [nets, probes, _] = outputs.dims();
    let targets: Vec<f32> = tasks.iter().flat_map(|t| t.probe_targets()).collect();
    let targets = Tensor::from_data(
        TensorData::new(targets, [nets, probes, 1]),
        &outputs.device(),
    );
    (outputs - targets).powi_scalar(2).mean()
}

/// How many of the nets solve their task.
pub fn successes<B: Backend>(
    network: &FeedForward<B>,
    tasks: &[TwoInputTask],
) -> anyhow::Result<usize> {
    let outputs = probe_outputs(network, tasks);
    let probes = outputs.dims()[1];
    let outputs = host_values(outputs)?;
    Ok(outputs
        .chunks(probes)
        .zip(tasks)
        .filter(|(o, task)| task.solved_by(o))
        .count())
}

/// One meta-step: a batch of tasks drawn from the training family, the inner loop, the
/// meta-loss after it.
fn meta_step<B: AutodiffBackend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    train: &[TwoInputTask],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<EpisodeOutcome<B>> {
    let device = rule.readout.weight.device();
    let tasks: Vec<TwoInputTask> = (0..run.train.batch)
        .map(|_| train[rng.random_range(0..train.len())])
        .collect();
    let (network, loss) = if run.loss_during {
        let mut losses = Vec::with_capacity(run.inner_steps);
        let network = inner_loop_watched(rule, run, &tasks, rng, &device, |net| {
            losses.push(meta_loss(net, &tasks))
        })?;
        (network, Tensor::cat(losses, 0).mean())
    } else {
        let network = inner_loop(rule, run, &tasks, rng, &device)?;
        let loss = meta_loss(&network, &tasks);
        (network, loss)
    };
    let solved = successes(&network, &tasks)?;
    let mut values = BTreeMap::new();
    values.insert("success_rate".into(), solved as f64 / tasks.len() as f64);
    Ok(EpisodeOutcome {
        loss,
        gradients: None,
        values,
    })
}

/// `train learned-rule`.
pub struct TrainJob {
    pub config: LearnedRuleRun,
    pub run: RunDir,
}

impl BackendJob for TrainJob {
    type Output = anyhow::Result<String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<String> {
        let Self { config, run } = self;
        config.validate()?;
        run.write_json(CONFIG_FILE, &config)?;
        let mut init_rng = ChaCha8Rng::seed_from_u64(config.train.seed);
        // Burn draws parameter initialisations from its own seeded generator.
        B::seed(&device, init_rng.random());
        let rule = config.rule.init::<B>(&device);
        let mut episodes = ChaCha8Rng::seed_from_u64(config.train.seed);
        episodes.set_stream(1);
        let state = RunState {
            model: MODEL_NAME.to_string(),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            episode: 0,
            rng: episodes,
            last_metrics: None,
        };
        ensure_work_left(&state, &config.train)?;
        let train = config.train_task_list()?;
        let (rule, _) = train_loop(
            &run,
            rule,
            clipped_adam(config.grad_clip),
            state,
            &config.train,
            |rule, rng| meta_step(rule, &config, &train, rng),
        )?;
        let rule = rule.valid();
        write_rule_plot(&rule, &run.file(RULE_PLOT))?;
        let report = evaluate(&rule, &config, &config.held_out_tasks()?, 100)?;
        Ok(format!(
            "{report}\ncheckpoint: {}; the rule's Δw: {}",
            run.path.display(),
            run.file(RULE_PLOT).display()
        ))
    }
}

/// `eval DIR` for a learned-rule checkpoint: the saved rule on fresh nets of each
/// held-out task.
pub struct EvalJob {
    pub run: RunDir,
    /// Tasks to score (`None`: the held-out ones).
    pub tasks: Option<Vec<String>>,
    pub replications: usize,
}

impl BackendJob for EvalJob {
    type Output = anyhow::Result<String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<String> {
        let config: LearnedRuleRun = self.run.read_json(CONFIG_FILE)?;
        config.validate().map_err(|e| {
            anyhow::anyhow!(
                "{} holds an invalid configuration: {e:#}",
                self.run.path.display()
            )
        })?;
        self.run.read_state(MODEL_NAME)?;
        let tasks = match &self.tasks {
            Some(names) => {
                let tasks = tasks(names)?;
                same_family(config.family()?, &tasks)?;
                tasks
            }
            None => config.held_out_tasks()?,
        };
        let rule = self
            .run
            .load_model::<B::InnerBackend, _>(config.rule.init(&device), &device)?;
        evaluate(&rule, &config, &tasks, self.replications)
    }
}

/// Evaluation nets come from this seed, never from the meta-training stream.
pub const EVAL_SEED: u64 = 0xE7A1_5EED;

/// Learning rates every hand-written rule is tried at; its best is reported.
pub const HAND_RATES: [f64; 5] = [0.01, 0.03, 0.1, 0.3, 1.0];

/// The rule applied to `replications` fresh nets per task, scored after the inner loop, and
/// beside it every hand-written rule at its best rate of [`HAND_RATES`], with the same nets,
/// examples and number of updates.
pub fn evaluate<B: Backend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    tasks: &[TwoInputTask],
    replications: usize,
) -> anyhow::Result<String> {
    if replications == 0 {
        bail!("evaluation needs at least 1 replication");
    }
    let device = rule.readout.weight.device();
    let kind = run.rule.kind.name();
    let line = |name: &str, task: TwoInputTask, solved: usize| {
        let (lo, hi) = wilson_interval(solved, replications);
        format!(
            "{name} on {}: success {solved}/{replications} = {:.2} (95 % interval {lo:.3}–{hi:.3}), after {} updates",
            task.name(),
            solved as f64 / replications as f64,
            run.inner_steps
        )
    };
    let mut lines = Vec::new();
    for task in tasks {
        let mut rng = ChaCha8Rng::seed_from_u64(EVAL_SEED);
        let copies = vec![*task; replications];
        let network = inner_loop(rule, run, &copies, &mut rng, &device)?;
        lines.push(line(
            &format!("{kind} rule"),
            *task,
            successes(&network, &copies)?,
        ));
        let hand = |name: &str, learning_rate: f64| -> anyhow::Result<usize> {
            let config = HebbianFfRun {
                task: FfTask::two_input(*task),
                network: run.network.clone(),
                rule: AnyRule::named(
                    name,
                    RuleStep {
                        learning_rate,
                        w_max: run.w_max,
                    },
                )?,
                replications,
                updates: run.inner_steps,
                seed: EVAL_SEED,
                score_every: run.inner_steps,
            };
            Ok(train_replications::<B>(&config, &device, None)?
                .score
                .successes)
        };
        for name in RULE_NAMES {
            let mut best = (0, HAND_RATES[0]);
            for rate in HAND_RATES {
                let solved = hand(name, rate)?;
                if solved > best.0 {
                    best = (solved, rate);
                }
            }
            lines.push(line(&format!("  {name} (lr {})", best.1), *task, best.0));
        }
    }
    lines.push(format!(
        "hand-written rules at their best learning rate of {HAND_RATES:?}"
    ));
    Ok(lines.join("\n"))
}

/// Side of the grid the rule's Δw is drawn on.
const FIELD_SIDE: usize = 41;

/// Draws the rule's first weight change (zero memory, weight 0) against presynaptic and
/// postsynaptic activity in [−1, 1], one panel per example error −1, 0, +1 (the reward, when
/// read, is then −error²; a rule reading the reward alone gets panels at reward −1, −0.25, 0;
/// one reading neither, one panel).
pub fn write_rule_plot<B: Backend>(
    rule: &LearnedRule<B>,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let device = rule.readout.weight.device();
    let (error_signal, reward_signal) = (rule.config.error_signal, rule.config.reward_signal);
    let errors: &[f32] = match (error_signal, reward_signal) {
        (true, _) => &[-1.0, 0.0, 1.0],
        (false, true) => &[-1.0, -0.5, 0.0],
        (false, false) => &[0.0],
    };
    let grid = |k: usize| -1.0 + 2.0 * (k as f32 + 0.5) / FIELD_SIDE as f32;
    let mut panels = Vec::new();
    for &error in errors {
        let reward = -error * error;
        let mut features = Vec::new();
        for row in 0..FIELD_SIDE {
            for col in 0..FIELD_SIDE {
                features.extend([grid(col), grid(row), 0.0]);
                if error_signal {
                    features.push(error);
                }
                if reward_signal {
                    features.push(reward);
                }
            }
        }
        let shape = [FIELD_SIDE * FIELD_SIDE, rule.config.features()];
        let features = Tensor::from_data(TensorData::new(features, shape), &device);
        let (change, _) = rule.changes(features, None);
        let values = host_values(change)?;
        let title = match (error_signal, reward_signal) {
            (true, _) => format!("Δw at error {error:+}"),
            (false, true) => format!("Δw at reward {reward}"),
            (false, false) => "Δw".to_string(),
        };
        panels.push((title, values));
    }
    crate::plot::fields(
        &panels,
        FIELD_SIDE,
        "presynaptic activity",
        "postsynaptic activity",
        path,
    )
}

/// The nets a learned rule trains by default: as the seed's, 2 → [20] → 1.
pub fn default_network(hidden: Vec<usize>) -> FeedForwardConfig {
    FeedForwardConfig {
        inputs: 2,
        hidden,
        outputs: 1,
        output_activation: OutputActivation::Tanh,
    }
}
