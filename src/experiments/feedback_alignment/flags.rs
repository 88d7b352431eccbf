//! `train feedback-alignment` and `eval` flags; each serialises to its place in the run's
//! JSON.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, ValueEnum};
use plastic_models::{Activation, Method};
use serde::Serialize;
use serde_json::{json, Value};

use super::FeedbackAlignmentExperiment;
use crate::experiment::launch::Variant;
use crate::flags::{overlay_of, parse_layer_sizes, CommandLine, LayerSizes, TrainFlags};

impl CommandLine for FeedbackAlignmentExperiment {
    type Flags = FeedbackAlignmentFlags;
    type EvalFlags = FeedbackAlignmentEvalFlags;
}

/// The tasks (the `kind` of the run's task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Online regression of x0·x1, x0 = sin(2πt/s), x1 = sin(2π·0.7t/s), one update per
    /// sample (implies --preset product)
    Product,
    /// Fashion-MNIST classification, mini-batch SGD (implies --preset fashion-mnist)
    FashionMnist,
}

#[derive(Debug, Args, Serialize)]
pub struct FeedbackAlignmentFlags {
    #[command(flatten)]
    pub task: TaskFlags,
    /// Learning methods, comma-separated; several are trained one after another, each into
    /// its own run directory under <out>/feedback-alignment/<run-name>/, and compared in one
    /// plot [default: bp,fa,dfa; with --config, the file's method]
    #[arg(long, value_enum, value_delimiter = ',')]
    #[serde(skip)]
    pub method: Option<Vec<Method>>,
    #[command(flatten)]
    pub network: NetworkFlags,
    /// SGD learning rate [default: 0.02 for product, 0.05 for fashion-mnist] [range: (0, ∞)]
    #[arg(long = "lr", allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub learning_rate: Option<f64>,
    /// Seed of the initial weights, feedback matrices and example order [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Updates between two records of the loss and the alignment angles [default: 1
    /// simulated second for product, 100 for fashion-mnist]
    #[arg(long, value_name = "K")]
    pub log_every: Option<usize>,
    /// Updates between two checkpoints (and at the end) [default: 30000 for product, 1000
    /// for fashion-mnist]
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
}

#[derive(Debug, Args, Serialize)]
pub struct TaskFlags {
    /// Task [default: product]
    #[arg(long = "task", value_enum)]
    pub kind: Option<TaskKind>,
    #[command(flatten)]
    pub signal: SignalFlags,
    /// product: samples, one update each [default: 3000 simulated seconds]
    #[arg(long)]
    pub steps: Option<usize>,
    /// fashion-mnist: passes over the training set [default: 10]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// fashion-mnist: images per update [default: 32]
    #[arg(long)]
    pub batch: Option<usize>,
    /// fashion-mnist: train on only the first N training images
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// fashion-mnist: folder of the four .gz IDX files [default:
    /// /usr/share/datasets/fashion-mnist]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Serialize)]
pub struct SignalFlags {
    /// product: simulated seconds between samples [default: 0.01] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub dt: Option<f64>,
    /// product: period s of the first sinusoid, in simulated seconds [default: 2] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub period: Option<f64>,
}

#[derive(Debug, Args, Serialize)]
pub struct NetworkFlags {
    /// Hidden layer sizes, comma-separated [default: 100 for product, 1000 for fashion-mnist]
    #[arg(long, value_name = "SIZES", value_parser = parse_layer_sizes)]
    pub hidden: Option<LayerSizes>,
    /// Hidden nonlinearity [default: relu for product (as the seed), tanh for fashion-mnist]
    #[arg(long, value_enum)]
    pub activation: Option<Activation>,
}

impl TrainFlags for FeedbackAlignmentFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        let task = &self.task;
        let product_flags =
            task.steps.is_some() || task.signal.dt.is_some() || task.signal.period.is_some();
        let fashion_flags = task.epochs.is_some()
            || task.batch.is_some()
            || task.train_limit.is_some()
            || task.data_dir.is_some();
        if task.kind == Some(TaskKind::FashionMnist) && product_flags {
            bail!(
                "--steps, --dt and --period apply to the product task; fashion-mnist runs --epochs"
            );
        }
        if task.kind == Some(TaskKind::Product) && fashion_flags {
            bail!(
                "--epochs, --batch, --train-limit and --data-dir apply to the fashion-mnist task"
            );
        }
        overlay_of(self)
    }

    fn variants(&self) -> anyhow::Result<Vec<Variant>> {
        let methods = self.method.clone().unwrap_or_default();
        for (k, method) in methods.iter().enumerate() {
            if methods[..k].contains(method) {
                bail!("--method names {} twice", method.name());
            }
        }
        Ok(methods.into_iter().map(variant).collect())
    }

    fn default_variants(&self) -> Vec<Variant> {
        ALL_METHODS.into_iter().map(variant).collect()
    }
}

/// Every method, when none is named. Several seeds are a sweep (`plans/fa-*-seeds.json`).
const ALL_METHODS: [Method; 3] = [Method::Bp, Method::Fa, Method::Dfa];

fn variant(method: Method) -> Variant {
    Variant {
        name: method.name().to_string(),
        flags: json!({ "method": method }),
    }
}

#[derive(Debug, Args, Serialize)]
pub struct FeedbackAlignmentEvalFlags {
    /// feedback-alignment: folder of the Fashion-MNIST files [default: the one trained on]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}
