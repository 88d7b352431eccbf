//! What a feedback-alignment run is, and its presets.

use std::path::PathBuf;

use crate::config::{check_ranges, Range};
use anyhow::bail;
use burn::tensor::backend::Backend;
use plastic_models::{Activation, Loss, Method, MlpConfig, MlpLearner};
use plastic_tasks::fashion_mnist::{self, CLASSES};
use plastic_tasks::ProductSignal;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Simulated seconds of a product run unless `steps` says otherwise.
pub const PRODUCT_DEFAULT_SECONDS: f64 = 3000.0;

/// What the net learns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaTask {
    /// Online regression of `x₀·x₁`, one update per sample, each sample seen once.
    Product {
        signal: ProductSignal,
        /// Samples (`None`: 3000 simulated seconds).
        steps: Option<usize>,
    },
    /// Classification of 28 × 28 images by mini-batch SGD over shuffled epochs.
    FashionMnist {
        /// Folder of the four .gz IDX files.
        data_dir: PathBuf,
        epochs: usize,
        batch: usize,
        /// Train on only the first this many training images (quick runs, tests).
        train_limit: Option<usize>,
    },
}

impl FaTask {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Product { .. } => "product",
            Self::FashionMnist { .. } => "fashion-mnist",
        }
    }
}

/// Everything a `train feedback-alignment` run needs: its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackAlignmentRun {
    pub task: FaTask,
    pub network: MlpConfig,
    pub method: Method,
    /// SGD step size.
    pub learning_rate: f64,
    /// Seeds the initial weights, the feedback matrices and the order of the examples.
    pub seed: u64,
    /// Updates between two records of the loss and the alignment angles (`None`: one
    /// simulated second for product, 100 for fashion-mnist).
    pub log_every: Option<usize>,
    /// Updates between two checkpoints (and always at the end).
    pub checkpoint_every: usize,
}

/// The presets: seed 003's online product task, and Fashion-MNIST.
pub fn preset(name: &str) -> anyhow::Result<FeedbackAlignmentRun> {
    Ok(match name {
        "product" => FeedbackAlignmentRun {
            task: FaTask::Product {
                signal: ProductSignal {
                    period: 2.0,
                    dt: 0.01,
                },
                steps: None,
            },
            network: MlpConfig::new(2, vec![100], 1, Activation::Relu),
            method: Method::Bp,
            learning_rate: 0.02,
            seed: 0,
            log_every: None,
            checkpoint_every: 30_000,
        },
        "fashion-mnist" => FeedbackAlignmentRun {
            task: FaTask::FashionMnist {
                data_dir: PathBuf::from(fashion_mnist::DEFAULT_DIR),
                epochs: 10,
                batch: 32,
                train_limit: None,
            },
            network: MlpConfig::new(28 * 28, vec![1000], CLASSES.len(), Activation::Tanh),
            method: Method::Bp,
            learning_rate: 0.05,
            seed: 0,
            log_every: None,
            checkpoint_every: 1000,
        },
        other => bail!("unknown preset '{other}' (known: product, fashion-mnist)"),
    })
}

impl FeedbackAlignmentRun {
    pub fn validate(&self) -> anyhow::Result<()> {
        Range::POSITIVE.check("--lr", self.learning_rate)?;
        if self.network.hidden.is_empty() || self.network.hidden.contains(&0) {
            bail!(
                "--hidden needs at least one layer of at least 1 neuron, got {:?}",
                self.network.hidden
            );
        }
        if self.log_every == Some(0) || self.checkpoint_every == 0 {
            bail!("--log-every and --checkpoint-every must be at least 1");
        }
        match &self.task {
            FaTask::Product { signal, steps } => {
                check_ranges(&[
                    ("--dt", signal.dt, Range::POSITIVE),
                    ("--period", signal.period, Range::POSITIVE),
                ])?;
                signal.validate()?;
                if *steps == Some(0) {
                    bail!("--steps must be at least 1");
                }
            }
            FaTask::FashionMnist {
                epochs,
                batch,
                train_limit,
                ..
            } => {
                if *epochs == 0 || *batch == 0 {
                    bail!("--epochs and --batch must be at least 1");
                }
                if *train_limit == Some(0) {
                    bail!("--train-limit must be at least 1 image");
                }
            }
        }
        Ok(())
    }

    /// The net and its feedback path, drawn on the host from the run's seed: every backend
    /// starts from the same weights and feedback.
    pub fn learner<B: Backend>(&self, device: &B::Device) -> MlpLearner<B> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        MlpLearner::new(
            &self.network,
            self.method,
            self.learning_rate,
            self.loss(),
            &mut rng,
            device,
        )
    }

    pub fn loss(&self) -> Loss {
        match self.task {
            FaTask::Product { .. } => Loss::SquaredError,
            FaTask::FashionMnist { .. } => Loss::CrossEntropy,
        }
    }

    /// Updates between two metrics records.
    pub fn log_every(&self) -> usize {
        self.log_every.unwrap_or(match &self.task {
            FaTask::Product { signal, .. } => ((1.0 / signal.dt).round() as usize).max(1),
            FaTask::FashionMnist { .. } => 100,
        })
    }

    /// Samples of a product run.
    pub fn product_steps(signal: &ProductSignal, steps: Option<usize>) -> usize {
        steps.unwrap_or((PRODUCT_DEFAULT_SECONDS / signal.dt).round() as usize)
    }
}
