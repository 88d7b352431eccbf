//! `train hebbian-ff` flags; each serialises to its field of the run.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use plastic_models::RuleKind;
use serde::Serialize;
use serde_json::Value;

use super::HebbianFfExperiment;
use crate::experiments::shared::local_rules::FfTask;
use crate::flags::{
    overlay_of, parse_layer_sizes, CommandLine, LayerSizes, NoEvalFlags, TrainFlags,
};

impl CommandLine for HebbianFfExperiment {
    type Flags = HebbianFfFlags;
    type EvalFlags = NoEvalFlags;
}

/// Parses a task name into its JSON value.
fn task_parser() -> impl TypedValueParser<Value = String> {
    PossibleValuesParser::new(FfTask::names())
}

#[derive(Debug, Args, Serialize)]
pub struct HebbianFfFlags {
    /// Task: a two-input boolean function, a linear map linear-θ or pca (one linear neuron on
    /// correlated Gaussian data; implies --preset pca) [default: xor]
    #[arg(long, value_parser = task_parser(), hide_possible_values = true)]
    pub task: Option<String>,
    /// Learning rule [default: supervised; oja for pca]
    #[arg(long, value_enum)]
    pub rule: Option<RuleKind>,
    /// Hidden layer sizes, comma-separated, e.g. 100 or 10,10 [default: 100]
    #[arg(long, value_name = "SIZES", value_parser = parse_layer_sizes)]
    pub hidden: Option<LayerSizes>,
    /// Independent networks trained side by side, each from its own initial weights
    /// [default: 100]
    #[arg(long)]
    pub replications: Option<usize>,
    /// Updates, each on one random example per replication [default: 400]
    #[arg(long)]
    pub updates: Option<usize>,
    /// Learning rate of the rule [default: 0.01] [range: (0, ∞)]
    #[arg(long = "lr", allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub learning_rate: Option<f64>,
    /// Weights are clamped to [-w_max, w_max] after every update [default: 1] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub w_max: Option<f64>,
    /// Seed of the initial weights and the examples [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Supervised rule: let the first layer learn too (the seed network's first layer keeps
    /// its random weights)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub first_layer_learns: Option<bool>,
    /// Covariance of the pca task's data, rows separated by ';', e.g. "3,1;1,2"
    #[arg(long, value_name = "ROWS", value_parser = parse_matrix)]
    pub covariance: Option<Matrix>,
    /// Score every replication every K updates (metrics.jsonl and the plot) [default:
    /// updates/100]
    #[arg(long, value_name = "K")]
    pub score_every: Option<usize>,
    /// Write a checkpoint every K updates (and at the end) [default: 100]
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
}

/// A matrix given on the command line, by rows.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Matrix(Vec<Vec<f64>>);

/// `"3,1;1,2"` → `[[3, 1], [1, 2]]`.
fn parse_matrix(text: &str) -> Result<Matrix, String> {
    text.split(';')
        .map(|row| {
            row.split(',')
                .map(|v| match v.trim().parse::<f64>() {
                    Ok(value) if value.is_finite() => Ok(value),
                    Ok(_) => Err(format!("'{v}' is not a finite number")),
                    Err(_) => Err(format!("'{v}' is not a number (rows are separated by ';', entries by ',', e.g. \"3,1;1,2\")")),
                })
                .collect()
        })
        .collect::<Result<_, _>>()
        .map(Matrix)
}

impl TrainFlags for HebbianFfFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        overlay_of(self)
    }
}
