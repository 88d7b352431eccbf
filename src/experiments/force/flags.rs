//! `train force` flags; each serialises to its field of the run.

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::ForceExperiment;
use crate::experiments::shared::rate_networks::RateNetworkFlags;
use crate::flags::{overlay_of, CommandLine, NoEvalFlags, TrainFlags};

impl CommandLine for ForceExperiment {
    type Flags = ForceFlags;
    type EvalFlags = NoEvalFlags;
}

/// The gains the `gains` preset trains side by side; the paper finds training converges for
/// 0.75 < g < 1.56.
pub const GAIN_SWEEP: [f64; 9] = [0.5, 0.75, 1.0, 1.25, 1.4, 1.5, 1.6, 1.75, 2.0];

#[derive(Debug, Args, Serialize)]
pub struct ForceFlags {
    #[command(flatten)]
    pub network: RateNetworkFlags,
    /// P starts at I/α [default: 1] [range: (0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub alpha: Option<f64>,
    /// RLS update every K steps [default: 2]
    #[arg(long, value_name = "K")]
    pub learn_every: Option<usize>,
    /// Time units of training [default: 1440] [range: (0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub train_time: Option<f64>,
    /// Time units of free-running test [default: 1440] [range: (0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub test_time: Option<f64>,
    /// Write a checkpoint every K target periods of 120 time units (and at the end)
    /// [default: 4]
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
    /// Seed of the network and its starting state [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TrainFlags for ForceFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        overlay_of(self)
    }
}
