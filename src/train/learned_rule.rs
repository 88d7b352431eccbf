//! Meta-training a learned synaptic rule: every meta-step builds fresh random feed-forward
//! nets, one per sampled boolean task, lets the rule train them for K online updates, and
//! backpropagates the nets' final error through the whole inner loop into the rule.

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
use plastic_tasks::boolean::draw_rows;
use plastic_tasks::{BooleanFunction, BOOLEAN_FUNCTIONS, BOOLEAN_INPUTS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backend::BackendJob;
use crate::checkpoint::{RunDir, RunState, CONFIG_FILE};
use crate::config::TrainConfig;
use crate::metrics::wilson_interval;
use crate::train::hebbian_ff::{train_replications, FfTask, HebbianFfRun};
use crate::train::{ensure_work_left, host_values, train_loop, AdamOptimizer, EpisodeOutcome};

/// Name of the model on the command line and in checkpoints.
pub const MODEL_NAME: &str = "learned-rule";

/// The plot of the learned Δw in a run directory.
pub const RULE_PLOT: &str = "rule.png";

/// Tasks kept out of meta-training by default: the two that no single linear threshold solves.
pub const HELD_OUT: [&str; 2] = ["xor", "xnor"];

/// Everything a `train learned-rule` run needs; saved as its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedRuleRun {
    pub rule: LearnedRuleConfig,
    /// The nets the rule trains (two inputs, one tanh output).
    pub network: FeedForwardConfig,
    /// Boolean functions meta-trained on.
    pub train_tasks: Vec<String>,
    /// Boolean functions kept for evaluation.
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
        self.train_functions()?;
        self.held_out_functions()?;
        Ok(())
    }

    pub fn train_functions(&self) -> anyhow::Result<Vec<BooleanFunction>> {
        functions(&self.train_tasks)
    }

    pub fn held_out_functions(&self) -> anyhow::Result<Vec<BooleanFunction>> {
        functions(&self.held_out)
    }
}

fn functions(names: &[String]) -> anyhow::Result<Vec<BooleanFunction>> {
    if names.is_empty() {
        bail!("a task list is empty");
    }
    Ok(names
        .iter()
        .map(|name| BooleanFunction::named(name))
        .collect::<Result<_, _>>()?)
}

/// The 14 boolean functions other than the held-out ones.
pub fn default_train_tasks(held_out: &[String]) -> Vec<String> {
    BOOLEAN_FUNCTIONS
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

/// Fresh nets, one per entry of `functions`, trained by `rule` for `inner_steps` updates.
/// Returns the nets and the rule's memory. With `truncation`, the weights and the memory
/// are cut from the graph before the last `truncation` updates.
pub fn inner_loop<B: Backend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    functions: &[BooleanFunction],
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> anyhow::Result<FeedForward<B>> {
    inner_loop_watched(rule, run, functions, rng, device, |_| {})
}

/// [`inner_loop`], calling `after_update` with the nets after every update.
pub fn inner_loop_watched<B: Backend, F: FnMut(&FeedForward<B>)>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    functions: &[BooleanFunction],
    rng: &mut ChaCha8Rng,
    device: &B::Device,
    mut after_update: F,
) -> anyhow::Result<FeedForward<B>> {
    let nets = functions.len();
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
        let (inputs, targets) = draw_rows(functions, rng);
        let input = Tensor::from_data(TensorData::new(inputs, [nets, 1, 2]), device);
        let target = Tensor::from_data(TensorData::new(targets, [nets, 1, 1]), device);
        (network, memory) = rule.update(&network, input, target, memory, run.w_max);
        after_update(&network);
    }
    Ok(network)
}

/// Every net's outputs on the four input rows, `[nets, 4, 1]`, and the targets.
fn all_rows<B: Backend>(
    network: &FeedForward<B>,
    functions: &[BooleanFunction],
) -> (Tensor<B, 3>, Tensor<B, 3>) {
    let nets = functions.len();
    let device = network.weights[0].device();
    let inputs: Vec<f32> = (0..nets).flat_map(|_| BOOLEAN_INPUTS.concat()).collect();
    let targets: Vec<f32> = functions.iter().flat_map(|f| f.targets()).collect();
    (
        network.forward(Tensor::from_data(
            TensorData::new(inputs, [nets, 4, 2]),
            &device,
        )),
        Tensor::from_data(TensorData::new(targets, [nets, 4, 1]), &device),
    )
}

/// Mean squared error over every net and row, `[1]`: the meta-loss.
pub fn meta_loss<B: Backend>(
    network: &FeedForward<B>,
    functions: &[BooleanFunction],
) -> Tensor<B, 1> {
    let (outputs, targets) = all_rows(network, functions);
    (outputs - targets).powi_scalar(2).mean()
}

/// How many of the nets solve their task.
pub fn successes<B: Backend>(
    network: &FeedForward<B>,
    functions: &[BooleanFunction],
) -> anyhow::Result<usize> {
    let (outputs, _) = all_rows(network, functions);
    let outputs = host_values(outputs)?;
    Ok(outputs
        .chunks(4)
        .zip(functions)
        .filter(|(o, f)| f.solved_by(o))
        .count())
}

/// One meta-step: a batch of tasks drawn from the training family, the inner loop, the
/// meta-loss after it.
fn meta_step<B: AutodiffBackend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    train: &[BooleanFunction],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<EpisodeOutcome<B>> {
    let device = rule.readout.weight.device();
    let functions: Vec<BooleanFunction> = (0..run.train.batch)
        .map(|_| train[rng.random_range(0..train.len())])
        .collect();
    let (network, loss) = if run.loss_during {
        let mut losses = Vec::with_capacity(run.inner_steps);
        let network = inner_loop_watched(rule, run, &functions, rng, &device, |net| {
            losses.push(meta_loss(net, &functions))
        })?;
        (network, Tensor::cat(losses, 0).mean())
    } else {
        let network = inner_loop(rule, run, &functions, rng, &device)?;
        let loss = meta_loss(&network, &functions);
        (network, loss)
    };
    let solved = successes(&network, &functions)?;
    let mut values = BTreeMap::new();
    values.insert(
        "success_rate".into(),
        solved as f64 / functions.len() as f64,
    );
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
        let train = config.train_functions()?;
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
        let report = evaluate(&rule, &config, &config.held_out_functions()?, 100)?;
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
        let rule = self
            .run
            .load_model::<B::InnerBackend, _>(config.rule.init(&device), &device)?;
        evaluate(
            &rule,
            &config,
            &config.held_out_functions()?,
            self.replications,
        )
    }
}

/// Evaluation nets come from this seed, never from the meta-training stream.
pub const EVAL_SEED: u64 = 0xE7A1_5EED;

/// Learning rates the hand-written supervised rule is tried at; the best is reported.
pub const HAND_RATES: [f64; 5] = [0.01, 0.03, 0.1, 0.3, 1.0];

/// The rule applied to `replications` fresh nets per task, scored after the inner loop, and
/// beside it every hand-written rule with the same nets and number of updates (at rate 0.01,
/// and the supervised rule at its best rate of [`HAND_RATES`]).
pub fn evaluate<B: Backend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    tasks: &[BooleanFunction],
    replications: usize,
) -> anyhow::Result<String> {
    if replications == 0 {
        bail!("evaluation needs at least 1 replication");
    }
    let device = rule.readout.weight.device();
    let kind = run.rule.kind.name();
    let line = |name: &str, task: BooleanFunction, solved: usize| {
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
        let functions = vec![*task; replications];
        let network = inner_loop(rule, run, &functions, &mut rng, &device)?;
        lines.push(line(
            &format!("{kind} rule"),
            *task,
            successes(&network, &functions)?,
        ));
        let hand = |name: &str, learning_rate: f64| -> anyhow::Result<usize> {
            let config = HebbianFfRun {
                task: FfTask::Boolean {
                    function: task.name().to_string(),
                },
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
        let mut best = (0, HAND_RATES[0]);
        for rate in HAND_RATES {
            let solved = hand("supervised", rate)?;
            if solved > best.0 {
                best = (solved, rate);
            }
        }
        lines.push(line(
            &format!("  supervised (lr {}, best of {:?})", best.1, HAND_RATES),
            *task,
            best.0,
        ));
        for name in RULE_NAMES {
            lines.push(line(
                &format!("  {name} (lr 0.01)"),
                *task,
                hand(name, 0.01)?,
            ));
        }
    }
    Ok(lines.join("\n"))
}

/// Side of the grid the rule's Δw is drawn on.
const FIELD_SIDE: usize = 41;

/// Draws the rule's first weight change (zero memory, weight 0) against presynaptic and
/// postsynaptic activity in [−1, 1], one panel per global error −1, 0, +1 (or one panel
/// when the rule reads no error).
pub fn write_rule_plot<B: Backend>(
    rule: &LearnedRule<B>,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let device = rule.readout.weight.device();
    let errors: &[f32] = if rule.config.error_signal {
        &[-1.0, 0.0, 1.0]
    } else {
        &[0.0]
    };
    let grid = |k: usize| -1.0 + 2.0 * (k as f32 + 0.5) / FIELD_SIDE as f32;
    let mut panels = Vec::new();
    for &error in errors {
        let mut features = Vec::new();
        for row in 0..FIELD_SIDE {
            for col in 0..FIELD_SIDE {
                features.extend([grid(col), grid(row), 0.0]);
                if rule.config.error_signal {
                    features.push(error);
                }
            }
        }
        let shape = [FIELD_SIDE * FIELD_SIDE, rule.config.features()];
        let features = Tensor::from_data(TensorData::new(features, shape), &device);
        let (change, _) = rule.changes(features, None);
        let values = host_values(change)?;
        let title = if rule.config.error_signal {
            format!("Δw at error {error:+}")
        } else {
            "Δw".to_string()
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
