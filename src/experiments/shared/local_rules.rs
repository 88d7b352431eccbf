//! Many feed-forward nets trained side by side by a hand-written local rule, and how they
//! are scored: shared by `hebbian-ff` (which trains them) and `learned-rule` (which compares
//! its rule with every hand-written one on the same nets).

use std::collections::BTreeMap;

use anyhow::bail;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use plastic_models::{
    AnyRule, FeedForward, FeedForwardConfig, LocalRule, OutputActivation, SavedNetwork,
};
use plastic_tasks::{draw_examples, CorrelatedGaussian, TwoInputTask};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::metrics::{EpisodeMetrics, MetricsLines};
use crate::stats::wilson_interval;
use crate::trainer::LocalUpdate;
use crate::util::host_values;

/// A PCA replication counts as converged at this |cosine| with the first principal component.
pub const PCA_COSINE_GOAL: f64 = 0.99;

/// What the nets learn: a two-input task, or the first principal component of correlated
/// Gaussian data (`pca`). Written by its name in configuration files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FfTask {
    /// A boolean function in ±1 coding (scored by the sign of all four outputs) or a linear
    /// map (scored by its fit on a 5 × 5 grid).
    TwoInput(TwoInputTask),
    /// No target; a net succeeds when its weights reach |cosine| ≥ 0.99 with the first
    /// principal component.
    Pca,
}

impl FfTask {
    pub const PCA: &'static str = "pca";

    pub fn named(name: &str) -> anyhow::Result<Self> {
        let name = name.trim().to_ascii_lowercase();
        if name == Self::PCA {
            return Ok(Self::Pca);
        }
        Ok(Self::TwoInput(TwoInputTask::named(&name)?))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::TwoInput(task) => task.name(),
            Self::Pca => Self::PCA,
        }
    }

    /// Every task's name, for the command line.
    pub fn names() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = TwoInputTask::all().iter().map(|t| t.name()).collect();
        names.push(Self::PCA);
        names
    }
}

impl TryFrom<String> for FfTask {
    type Error = anyhow::Error;
    fn try_from(name: String) -> anyhow::Result<Self> {
        Self::named(&name)
    }
}

impl From<FfTask> for String {
    fn from(task: FfTask) -> String {
        task.name().to_string()
    }
}

/// A task's data, ready to draw examples from.
pub enum TaskData {
    TwoInput(TwoInputTask),
    Pca(CorrelatedGaussian),
}

/// How the nets did at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Nets that learned the task.
    pub successes: usize,
    pub replications: usize,
    /// Two-input tasks: mean squared error at the probe inputs; PCA: mean of 1 − |cosine|.
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

    /// The metrics line of update `update`.
    pub fn metrics(&self, update: usize) -> EpisodeMetrics {
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
    /// One example per net: inputs `[R, 1, in]` and, for two-input tasks, targets
    /// `[R, 1, 1]`.
    pub fn draw<B: Backend>(
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

    /// Scores every net of `network`.
    pub fn score<B: Backend>(&self, network: &FeedForward<B>) -> anyhow::Result<Score> {
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

/// How many of the nets solve their task (net `k` is scored on `tasks[k]`).
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

/// Nets trained side by side by one hand-written rule: a local update for the trainer.
pub struct Replicas<B: Backend> {
    pub network: FeedForward<B>,
    rule: AnyRule,
    data: TaskData,
    /// Updates between two scorings, and the last update (always scored).
    score_every: usize,
    updates: usize,
    /// What the nets solved before any update.
    pub initial: Option<Score>,
    device: B::Device,
}

impl<B: Backend> Replicas<B> {
    /// `replications` fresh nets of `config`, their initial weights drawn from `rng`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: &FeedForwardConfig,
        replications: usize,
        rule: AnyRule,
        data: TaskData,
        score_every: usize,
        updates: usize,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            network: config.init::<B>(replications, rng, device)?,
            rule,
            data,
            score_every,
            updates,
            initial: None,
            device: device.clone(),
        })
    }

    pub fn score(&self) -> anyhow::Result<Score> {
        self.data.score(&self.network)
    }
}

impl<B: Backend> LocalUpdate for Replicas<B> {
    type Backend = B;
    type Network = SavedNetwork<B>;

    fn start(&mut self) -> MetricsLines {
        let initial = self.score()?;
        let line = initial.metrics(0);
        self.initial = Some(initial);
        Ok(vec![line])
    }

    fn update(&mut self, step: usize, rng: &mut ChaCha8Rng) -> MetricsLines {
        let replications = self.network.replications();
        let (input, target) = self.data.draw::<B>(replications, rng, &self.device);
        self.network = self.rule.update(&self.network, input, target)?;
        if step.is_multiple_of(self.score_every) || step == self.updates {
            return Ok(vec![self.score()?.metrics(step)]);
        }
        Ok(Vec::new())
    }

    fn network(&self) -> SavedNetwork<B> {
        SavedNetwork::from_network(&self.network)
    }

    fn set_network(&mut self, network: SavedNetwork<B>) {
        self.network = network.to_network(self.network.output_activation);
    }

    fn device(&self) -> B::Device {
        self.device.clone()
    }

    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::json!({
            "initial_successes": self.initial.as_ref().map(|s| s.successes)
        }))
    }

    fn restore_state(&mut self, state: &serde_json::Value) -> anyhow::Result<()> {
        if let Some(successes) = state["initial_successes"].as_u64() {
            self.initial = Some(Score {
                successes: successes as usize,
                replications: self.network.replications(),
                loss: f64::NAN,
                cosine: None,
            });
        }
        Ok(())
    }
}

/// Fresh nets of `network` for `task`, trained by `rule` for `updates` updates from `seed`:
/// how many solve it, and their mean squared error on the probe inputs. Initial weights and
/// examples come from one ChaCha stream, so a seed fixes the whole run on every backend.
pub fn score_after_training<B: Backend>(
    task: TwoInputTask,
    network: &FeedForwardConfig,
    rule: AnyRule,
    replications: usize,
    updates: usize,
    seed: u64,
    device: &B::Device,
) -> anyhow::Result<Score> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = TaskData::TwoInput(task);
    let mut nets = Replicas::<B>::new(
        network,
        replications,
        rule,
        data,
        updates,
        updates,
        &mut rng,
        device,
    )?;
    for step in 1..=updates {
        nets.update(step, &mut rng)?;
    }
    let score = nets.score()?;
    if !score.loss.is_finite() {
        bail!("the weights stopped being finite numbers");
    }
    Ok(score)
}

/// The nets a two-input task trains: two inputs, hidden ReLU layers, one tanh output.
pub fn two_input_network(hidden: Vec<usize>) -> FeedForwardConfig {
    FeedForwardConfig {
        inputs: 2,
        hidden,
        outputs: 1,
        output_activation: OutputActivation::Tanh,
    }
}
