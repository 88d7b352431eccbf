//! `train esn` flags; each serialises to its field of the run.

use clap::Args;
use plastic_tasks::SeriesTask;
use serde::Serialize;
use serde_json::Value;

use super::EsnExperiment;
use crate::flags::{overlay_of, CommandLine, NoEvalFlags, TrainFlags};

impl CommandLine for EsnExperiment {
    type Flags = EsnFlags;
    type EvalFlags = NoEvalFlags;
}

#[derive(Debug, Args, Serialize)]
pub struct EsnFlags {
    /// Series to predict one step ahead (implies its preset) [default: mackey-glass]
    #[arg(long, value_enum)]
    pub task: Option<SeriesTask>,
    /// Reservoir units [default: 100]
    #[arg(long)]
    pub units: Option<usize>,
    /// Largest |eigenvalue| of the recurrent matrix [default: 1.25] [range: [0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub spectral_radius: Option<f64>,
    /// Leak rate: x ← (1 − leak)·x + leak·tanh(…) [default: 0.3] [range: (0, 1]]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub leak: Option<f64>,
    /// Ridge of the readout's regression (the bias is not regularised) [default: 1e-5] [range: [0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub ridge: Option<f64>,
    /// Reservoir states discarded before the readout is fitted [default: 100]
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Input weights are ±this [default: 1] [range: (-∞, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub input_scaling: Option<f64>,
    /// Probability that a recurrent connection exists [default: 0.1] [range: (0, 1]]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub connectivity: Option<f64>,
    /// Samples of the series; the last 20 % are the test set [default: 2000]
    #[arg(long)]
    pub samples: Option<usize>,
    /// Closed-loop steps from the start of the test set, each prediction fed back as the
    /// next input [default: 100]
    #[arg(long, value_name = "K")]
    pub generative_steps: Option<usize>,
    /// Seed of the reservoir and the series [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TrainFlags for EsnFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        overlay_of(self)
    }
}
