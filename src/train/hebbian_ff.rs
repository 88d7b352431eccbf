//! Feed-forward networks trained by local rules: many seeded replications side by side,
//! scored by how many learn the task; the seed's table reproduced by `--sweep`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use indicatif::ProgressBar;
use plastic_models::hebbian_ff::RULE_NAMES;
use plastic_models::{
    AnyRule, FeedForward, FeedForwardConfig, LocalRule, OutputActivation, RuleStep, SavedNetwork,
};
use plastic_tasks::{draw_examples, CorrelatedGaussian, TwoInputTask};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backend::BackendJob;
use crate::checkpoint::{RunDir, RunState, CONFIG_FILE, METRICS_FILE};
use crate::cli::HebbianFfArgs;
use crate::metrics::{wilson_interval, EpisodeMetrics, MetricsLog};
use crate::plot;
use crate::train::{host_values, progress_bar};

/// Name of the model on the command line and in checkpoints.
pub const MODEL_NAME: &str = "hebbian-ff";

/// The task name that selects principal-component learning instead of a boolean function.
pub const PCA_TASK: &str = "pca";

/// Covariance of `--task pca` when none is given: eigenvalues 4.62 and 0.38, first
/// principal component (0.94, 0.33).
const DEFAULT_COVARIANCE: [[f64; 2]; 2] = [[4.0, 1.5], [1.5, 1.0]];

/// A PCA replication counts as converged at this |cosine| with the first component.
pub const PCA_COSINE_GOAL: f64 = 0.99;

/// What the networks learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FfTask {
    /// A two-input boolean function in ±1 coding, one random row per update; a replication
    /// succeeds when all four outputs have the target's sign.
    Boolean { function: String },
    /// One of the linear maps `linear-θ`, one random point of `[−1, 1]²` per update; a
    /// replication succeeds when it fits the map on a 5 × 5 grid to R² ≥ 0.9.
    Linear { map: String },
    /// Zero-mean correlated Gaussian inputs, no target; a replication succeeds when its
    /// output neuron's weights reach |cosine| ≥ 0.99 with the first principal component.
    Pca { covariance: Vec<Vec<f64>> },
}

/// Everything a `train hebbian-ff` run needs; saved as its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HebbianFfRun {
    pub task: FfTask,
    pub network: FeedForwardConfig,
    pub rule: AnyRule,
    pub replications: usize,
    pub updates: usize,
    pub seed: u64,
    /// Updates between two scorings of every replication (metrics and plots).
    pub score_every: usize,
}

impl FfTask {
    /// The boolean function or linear map `task`.
    pub fn two_input(task: TwoInputTask) -> Self {
        let name = task.name().to_string();
        match task {
            TwoInputTask::Boolean(_) => Self::Boolean { function: name },
            TwoInputTask::Linear(_) => Self::Linear { map: name },
        }
    }
}

/// The task's data, ready to draw examples from.
enum TaskData {
    TwoInput(TwoInputTask),
    Pca(CorrelatedGaussian),
}

impl HebbianFfRun {
    fn data(&self) -> anyhow::Result<TaskData> {
        Ok(match &self.task {
            FfTask::Boolean { function: name } | FfTask::Linear { map: name } => {
                TaskData::TwoInput(TwoInputTask::named(name)?)
            }
            FfTask::Pca { covariance } => {
                TaskData::Pca(CorrelatedGaussian::new(covariance.clone())?)
            }
        })
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let data = self.data()?;
        self.network.validate()?;
        self.rule.step().validate()?;
        if self.replications == 0 {
            bail!("--replications must be at least 1");
        }
        if self.updates == 0 {
            bail!("--updates must be at least 1");
        }
        if self.score_every == 0 {
            bail!("score_every must be at least 1");
        }
        match data {
            TaskData::TwoInput(task) => {
                if self.network.hidden.is_empty() {
                    bail!(
                        "task {} needs at least one hidden layer, e.g. --hidden 100",
                        task.name()
                    );
                }
            }
            TaskData::Pca(gaussian) => {
                if self.rule.needs_target() {
                    bail!(
                        "the {} rule needs a target, and task {PCA_TASK} has none: use oja, bounded or unsupervised",
                        self.rule.name()
                    );
                }
                if self.network.inputs != gaussian.dim() {
                    bail!("the network's inputs must match the covariance's dimension");
                }
            }
        }
        Ok(())
    }

    /// `and`, `xor`, …, `linear-30`, … or `pca`.
    pub fn task_name(&self) -> &str {
        match &self.task {
            FfTask::Boolean { function: name } | FfTask::Linear { map: name } => name,
            FfTask::Pca { .. } => PCA_TASK,
        }
    }

    fn hidden_label(&self) -> String {
        format!("{:?}", self.network.hidden).replace(' ', "")
    }
}

/// The run a `train hebbian-ff` command line describes.
pub fn resolve(args: &HebbianFfArgs) -> anyhow::Result<HebbianFfRun> {
    let task_name = args
        .task
        .as_deref()
        .unwrap_or("xor")
        .trim()
        .to_ascii_lowercase();
    let pca = task_name == PCA_TASK;
    let rule_name = args
        .rule
        .as_deref()
        .unwrap_or(if pca { "oja" } else { "supervised" });
    let mut rule = AnyRule::named(
        rule_name,
        RuleStep {
            learning_rate: args.lr,
            w_max: args.w_max,
        },
    )?;
    if args.first_layer_learns {
        match &mut rule {
            AnyRule::Supervised(supervised) => supervised.first_layer_learns = true,
            _ => bail!("--first-layer-learns applies to the supervised rule only"),
        }
    }
    let (task, network) = if pca {
        if args.hidden.is_some() {
            bail!("task {PCA_TASK} trains one linear neuron: --hidden does not apply");
        }
        let covariance = match &args.covariance {
            Some(text) => parse_matrix(text)?,
            None => DEFAULT_COVARIANCE.iter().map(|row| row.to_vec()).collect(),
        };
        let network = FeedForwardConfig {
            inputs: covariance.len(),
            hidden: vec![],
            outputs: 1,
            output_activation: OutputActivation::Linear,
        };
        (FfTask::Pca { covariance }, network)
    } else {
        if args.covariance.is_some() {
            bail!("--covariance applies to task {PCA_TASK} only");
        }
        let task = TwoInputTask::named(&task_name)?;
        let network = FeedForwardConfig {
            inputs: 2,
            hidden: args
                .hidden
                .clone()
                .map_or_else(|| vec![100], |sizes| sizes.0),
            outputs: 1,
            output_activation: OutputActivation::Tanh,
        };
        (FfTask::two_input(task), network)
    };
    let updates = args.updates.unwrap_or(400);
    let run = HebbianFfRun {
        task,
        network,
        rule,
        replications: args.replications,
        updates,
        seed: args.seed,
        score_every: args.score_every.unwrap_or((updates / 100).max(1)),
    };
    run.validate()?;
    Ok(run)
}

/// `"3,1;1,2"` → `[[3, 1], [1, 2]]`.
fn parse_matrix(text: &str) -> anyhow::Result<Vec<Vec<f64>>> {
    text.split(';')
        .map(|row| {
            row.split(',')
                .map(|v| {
                    v.trim().parse::<f64>().with_context(|| {
                        format!("--covariance '{text}': '{v}' is not a number (rows are separated by ';', entries by ',', e.g. \"3,1;1,2\")")
                    })
                })
                .collect()
        })
        .collect()
}

/// How the replications did at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Replications that learned the task.
    pub successes: usize,
    pub replications: usize,
    /// Boolean functions and linear maps: mean squared error at the probe inputs; PCA: mean
    /// of 1 − |cosine|.
    pub loss: f64,
    /// PCA only: the smallest and the mean |cosine| with the first principal component.
    pub cosine: Option<(f64, f64)>,
}

impl Score {
    pub fn rate(&self) -> f64 {
        self.successes as f64 / self.replications as f64
    }

    pub fn interval(&self) -> (f64, f64) {
        wilson_interval(self.successes, self.replications)
    }

    fn metrics(&self, update: usize) -> EpisodeMetrics {
        let mut values = BTreeMap::from([("success_rate".to_string(), self.rate())]);
        if let Some((min, mean)) = self.cosine {
            values.insert("min_cosine".into(), min);
            values.insert("mean_cosine".into(), mean);
        }
        EpisodeMetrics {
            episode: update,
            loss: self.loss,
            values,
        }
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lo, hi) = self.interval();
        write!(
            f,
            "success {}/{} = {:.2} (95 % interval {lo:.3}–{hi:.3})",
            self.successes,
            self.replications,
            self.rate()
        )?;
        if let Some((min, mean)) = self.cosine {
            write!(f, "; |cosine| with PC1: mean {mean:.4}, min {min:.4}")?;
        }
        Ok(())
    }
}

impl TaskData {
    /// One example per replication: inputs `[R, 1, in]` and, for boolean tasks, targets
    /// `[R, 1, 1]`.
    fn draw<B: Backend>(
        &self,
        replications: usize,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 3>>) {
        match self {
            TaskData::TwoInput(task) => {
                let (inputs, targets) = draw_examples(&vec![*task; replications], rng);
                (
                    Tensor::from_data(TensorData::new(inputs, [replications, 1, 2]), device),
                    Some(Tensor::from_data(
                        TensorData::new(targets, [replications, 1, 1]),
                        device,
                    )),
                )
            }
            TaskData::Pca(gaussian) => {
                let dim = gaussian.dim();
                let inputs: Vec<f32> = (0..replications)
                    .flat_map(|_| gaussian.sample(rng))
                    .collect();
                let inputs = TensorData::new(inputs, [replications, 1, dim]);
                (Tensor::from_data(inputs, device), None)
            }
        }
    }

    fn score<B: Backend>(&self, network: &FeedForward<B>) -> anyhow::Result<Score> {
        let replications = network.replications();
        match self {
            TaskData::TwoInput(task) => {
                let outputs = host_values(probe_outputs(network, &vec![*task; replications]))?;
                let probes = task.family().probe_inputs().len();
                let successes = outputs.chunks(probes).filter(|o| task.solved_by(o)).count();
                let squared: f64 = outputs.chunks(probes).map(|o| task.squared_error(o)).sum();
                Ok(Score {
                    successes,
                    replications,
                    loss: squared / replications as f64,
                    cosine: None,
                })
            }
            TaskData::Pca(gaussian) => {
                let component = gaussian.first_principal_component();
                let weights = host_values(network.weights[0].clone())?;
                let cosines: Vec<f64> = weights
                    .chunks(component.len())
                    .map(|w| {
                        let dot: f64 = w
                            .iter()
                            .zip(&component)
                            .map(|(&a, b)| f64::from(a) * b)
                            .sum();
                        let norm = w.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt();
                        if norm > 0.0 {
                            (dot / norm).abs()
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let min = cosines.iter().copied().fold(f64::INFINITY, f64::min);
                let mean = cosines.iter().sum::<f64>() / replications as f64;
                Ok(Score {
                    successes: cosines.iter().filter(|&&c| c >= PCA_COSINE_GOAL).count(),
                    replications,
                    loss: 1.0 - mean,
                    cosine: Some((min, mean)),
                })
            }
        }
    }
}

/// Every net's outputs at its task family's probe inputs, `[nets, probes, 1]`; net `k` is
/// scored on `tasks[k]` (one family).
pub fn probe_outputs<B: Backend>(network: &FeedForward<B>, tasks: &[TwoInputTask]) -> Tensor<B, 3> {
    let probes = tasks[0].family().probe_inputs();
    let count = probes.len();
    let rows: Vec<f32> = probes.concat().repeat(tasks.len());
    let device = network.weights[0].device();
    network.forward(Tensor::from_data(
        TensorData::new(rows, [tasks.len(), count, 2]),
        &device,
    ))
}

/// The trained replications, their final score and the scores along the way.
pub struct Trained<B: Backend> {
    pub network: FeedForward<B>,
    /// The replications before any update: what their random weights solve by chance.
    pub initial: Score,
    pub score: Score,
    pub curve: Vec<EpisodeMetrics>,
    /// The example generator where training left it.
    pub rng: ChaCha8Rng,
}

/// Trains every replication of `run` from its seed: initial weights and examples come from
/// one ChaCha stream, so a seed fixes the whole run on every backend.
pub fn train_replications<B: Backend>(
    run: &HebbianFfRun,
    device: &B::Device,
    bar: Option<&ProgressBar>,
) -> anyhow::Result<Trained<B>> {
    run.validate()?;
    let data = run.data()?;
    let mut rng = ChaCha8Rng::seed_from_u64(run.seed);
    let mut network = run.network.init::<B>(run.replications, &mut rng, device)?;
    let initial = data.score(&network)?;
    let mut curve = vec![initial.metrics(0)];
    for update in 1..=run.updates {
        let (input, target) = data.draw::<B>(run.replications, &mut rng, device);
        network = run.rule.update(&network, input, target)?;
        if update % run.score_every == 0 || update == run.updates {
            let score = data.score(&network)?;
            if !score.loss.is_finite() {
                bail!("the weights stopped being finite numbers at update {update}");
            }
            if let Some(bar) = bar {
                bar.set_position(update as u64);
                bar.set_message(format!("success rate {:.2}", score.rate()));
            }
            curve.push(score.metrics(update));
        }
    }
    let score = data.score(&network)?;
    Ok(Trained {
        network,
        initial,
        score,
        curve,
        rng,
    })
}

/// `train hebbian-ff` (one configuration): trains, reports, saves the last replication.
pub struct TrainJob {
    pub config: HebbianFfRun,
    pub run: RunDir,
}

impl BackendJob for TrainJob {
    type Output = anyhow::Result<Score>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Score> {
        let Self { config, run } = self;
        run.write_json(CONFIG_FILE, &config)?;
        let started = Instant::now();
        let bar = progress_bar(config.updates as u64, 0);
        let trained = train_replications::<B::InnerBackend>(&config, &device, Some(&bar))?;
        bar.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        let log = MetricsLog::new(run.file(METRICS_FILE));
        log.truncate_after(0)?;
        for metrics in &trained.curve {
            log.append(metrics)?;
        }
        let last = config.replications - 1;
        let saved = SavedNetwork::from_replication(&trained.network, last);
        let state = RunState {
            model: MODEL_NAME.to_string(),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            episode: config.updates,
            rng: trained.rng,
            last_metrics: trained.curve.last().cloned(),
        };
        run.save_model::<B::InnerBackend, _>(&saved, &state)?;
        let (plot_name, panels): (&str, &[&str]) = match config.task {
            FfTask::Boolean { .. } | FfTask::Linear { .. } => {
                ("success_rate.png", &["success_rate", "loss"])
            }
            FfTask::Pca { .. } => ("cosine.png", &["mean_cosine", "min_cosine"]),
        };
        plot::learning_curve(&trained.curve, panels, "update", &run.file(plot_name))?;
        println!(
            "{MODEL_NAME} {} on {}, hidden {}, {} replications × {} updates, lr {}: {} ({seconds:.1} s)",
            rule_label(&config.rule),
            config.task_name(),
            config.hidden_label(),
            config.replications,
            config.updates,
            config.rule.step().learning_rate,
            trained.score,
        );
        println!(
            "checkpoint (replication {last}): {}; plot: {}",
            run.path.display(),
            run.file(plot_name).display()
        );
        Ok(trained.score)
    }
}

/// `eval DIR` for a hebbian-ff checkpoint: the saved network re-scored on its task.
pub struct EvalJob {
    pub run: RunDir,
}

impl BackendJob for EvalJob {
    type Output = anyhow::Result<String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<String> {
        let config: HebbianFfRun = self.run.read_json(CONFIG_FILE)?;
        config.validate().with_context(|| {
            format!("{} holds an invalid configuration", self.run.path.display())
        })?;
        self.run.read_state(MODEL_NAME)?;
        let saved = self.run.load_model::<B::InnerBackend, _>(
            SavedNetwork::empty(&config.network, &device),
            &device,
        )?;
        let found: Vec<[usize; 2]> = saved.layers.iter().map(|w| w.dims()).collect();
        if found != config.network.layer_shapes() {
            bail!(
                "{} holds layers of shapes {found:?}, but its configuration needs {:?}",
                self.run.path.display(),
                config.network.layer_shapes()
            );
        }
        let network = saved.to_network(config.network.output_activation);
        let data = config.data()?;
        let score = data.score(&network)?;
        let mut report = format!(
            "{MODEL_NAME} checkpoint ({} rule, {}, hidden {}): ",
            config.rule.name(),
            config.task_name(),
            config.hidden_label()
        );
        match data {
            TaskData::TwoInput(task) => {
                let outputs = host_values(probe_outputs(&network, &[task]))?;
                let learned = if score.successes == 1 {
                    "learned"
                } else {
                    "not learned"
                };
                write!(report, "{learned}; mean squared error {:.4}", score.loss)?;
                if let TwoInputTask::Boolean(_) = task {
                    write!(report, "; outputs")?;
                    let probes = task.family().probe_inputs();
                    for ((output, [a, b]), target) in
                        outputs.iter().zip(probes).zip(task.probe_targets())
                    {
                        write!(report, " ({a:+},{b:+})→{output:+.3} (target {target:+})")?;
                    }
                }
            }
            TaskData::Pca(_) => {
                let (cosine, _) = score.cosine.expect("PCA scores carry a cosine");
                write!(
                    report,
                    "|cosine| with the first principal component {cosine:.4}"
                )?;
            }
        }
        Ok(report)
    }
}

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

/// One finished cell of a sweep.
pub struct SweepRow {
    pub rule: String,
    pub cell: &'static SeedCell,
    pub initial: Score,
    pub score: Score,
    pub seconds: f64,
}

impl SweepRow {
    /// The 95 % interval of the seed's figure over its 100 replications, for the rule the
    /// seed measured.
    fn seed_interval(&self) -> Option<(f64, f64)> {
        self.rule.starts_with("supervised").then(|| {
            let n = SEED_REPLICATIONS;
            wilson_interval((self.cell.rate * n as f64).round() as usize, n)
        })
    }
}

/// `train hebbian-ff --sweep`: the seed's table for each rule.
pub struct SweepJob {
    pub rules: Vec<AnyRule>,
    pub replications: usize,
    pub seed: u64,
    pub out: PathBuf,
}

impl BackendJob for SweepJob {
    type Output = anyhow::Result<Vec<SweepRow>>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Vec<SweepRow>> {
        let cells = self.rules.len() * SEED_TABLE.len();
        let bar = progress_bar(cells as u64, 0);
        let mut rows = Vec::with_capacity(cells);
        for rule in &self.rules {
            for cell in &SEED_TABLE {
                bar.set_message(format!("{} {} {:?}", rule.name(), cell.task, cell.hidden));
                let config = HebbianFfRun {
                    task: FfTask::Boolean {
                        function: cell.task.to_string(),
                    },
                    network: FeedForwardConfig {
                        inputs: 2,
                        hidden: cell.hidden.to_vec(),
                        outputs: 1,
                        output_activation: OutputActivation::Tanh,
                    },
                    rule: *rule,
                    replications: self.replications,
                    updates: cell.updates,
                    seed: self.seed,
                    score_every: cell.updates,
                };
                let started = Instant::now();
                let trained = train_replications::<B::InnerBackend>(&config, &device, None)?;
                rows.push(SweepRow {
                    rule: rule_label(rule),
                    cell,
                    initial: trained.initial,
                    score: trained.score,
                    seconds: started.elapsed().as_secs_f64(),
                });
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        write_sweep(&rows, &self.out)?;
        Ok(rows)
    }
}

/// The sweep as a Markdown table (printed and saved) and a CSV file.
pub fn sweep_table(rows: &[SweepRow]) -> String {
    let mut text = String::from(
        "| rule | task | hidden | updates | before learning | seed 001 (95 % interval) | ours (95 % interval) | inside |\n|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let (lo, hi) = row.score.interval();
        let (seed, inside) = match row.seed_interval() {
            Some((seed_lo, seed_hi)) => {
                let rate = row.score.rate();
                let inside = if (seed_lo..=seed_hi).contains(&rate) {
                    "yes"
                } else {
                    "no"
                };
                (
                    format!("{:.2} ({seed_lo:.3}–{seed_hi:.3})", row.cell.rate),
                    inside,
                )
            }
            None => ("—".to_string(), "—"),
        };
        let _ = writeln!(
            text,
            "| {} | {} | {:?} | {} | {:.2} | {seed} | {:.2} ({lo:.3}–{hi:.3}) | {inside} |",
            row.rule,
            row.cell.task,
            row.cell.hidden,
            row.cell.updates,
            row.initial.rate(),
            row.score.rate(),
        );
    }
    text
}

fn write_sweep(rows: &[SweepRow], out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create directory {}", out.display()))?;
    crate::checkpoint::write_atomically(&out.join("sweep.md"), sweep_table(rows).as_bytes())?;
    let mut csv = String::from(
        "rule,task,hidden,updates,replications,initial_rate,successes,rate,low,high,seed_rate,seconds\n",
    );
    for row in rows {
        let (lo, hi) = row.score.interval();
        let hidden: Vec<String> = row.cell.hidden.iter().map(usize::to_string).collect();
        let seed_rate = match row.seed_interval() {
            Some(_) => row.cell.rate.to_string(),
            None => String::new(),
        };
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{lo},{hi},{seed_rate},{:.3}",
            row.rule,
            row.cell.task,
            hidden.join("x"),
            row.cell.updates,
            row.score.replications,
            row.initial.rate(),
            row.score.successes,
            row.score.rate(),
            row.seconds
        );
    }
    crate::checkpoint::write_atomically(&out.join("sweep.csv"), csv.as_bytes())
}

/// The rule's name, with the non-default variant spelled out.
pub fn rule_label(rule: &AnyRule) -> String {
    match rule {
        AnyRule::Supervised(supervised) if supervised.first_layer_learns => {
            "supervised (first layer learns)".to_string()
        }
        other => other.name().to_string(),
    }
}

/// The rules a sweep runs: the named one, or every rule that reads a target or none.
pub fn sweep_rules(args: &HebbianFfArgs) -> anyhow::Result<Vec<AnyRule>> {
    let step = RuleStep {
        learning_rate: args.lr,
        w_max: args.w_max,
    };
    let names: Vec<&str> = match args.rule.as_deref() {
        Some(name) => vec![name],
        None => RULE_NAMES.to_vec(),
    };
    let mut rules = names
        .into_iter()
        .map(|name| AnyRule::named(name, step))
        .collect::<Result<Vec<_>, _>>()?;
    if args.first_layer_learns {
        for rule in &mut rules {
            if let AnyRule::Supervised(supervised) = rule {
                supervised.first_layer_learns = true;
            }
        }
    }
    Ok(rules)
}
