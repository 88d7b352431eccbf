//! `train bayesian-synapse` flags; each serialises to its field of the run, except `--rule`
//! and `--eta`, which together set the run's list of rates.

use clap::Args;
use plastic_models::rate_network::{DeltaRate, DeltaRule};
use serde::Serialize;
use serde_json::{json, Value};

use super::BayesianSynapseExperiment;
use crate::config::Range;
use crate::experiments::shared::rate_networks::RateNetworkFlags;
use crate::flags::{overlay_of, CommandLine, NoEvalFlags, TrainFlags};

impl CommandLine for BayesianSynapseExperiment {
    type Flags = BayesianSynapseFlags;
    type EvalFlags = NoEvalFlags;
}

/// The classical rates the official runs swept (the `sweep` preset): 1e-6 … 1e-3 in half decades.
pub const CLASSICAL_SWEEP: [f64; 7] = [1e-6, 3.16e-6, 1e-5, 3.16e-5, 1e-4, 3.16e-4, 1e-3];
/// The Bayesian η₀ the official runs swept: 1e-5 … 1e-2 in half decades, and 2e-2.
pub const BAYESIAN_SWEEP: [f64; 8] = [1e-5, 3.16e-5, 1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2, 2e-2];

#[derive(Debug, Args, Serialize)]
pub struct BayesianSynapseFlags {
    #[command(flatten)]
    pub network: RateNetworkFlags,
    /// Networks per gain [default: 4]
    #[arg(long)]
    #[serde(skip)]
    pub networks: Option<usize>,
    /// Learning rule of the readout [default: bayesian]
    #[arg(long, value_enum)]
    #[serde(skip)]
    pub rule: Option<DeltaRule>,
    /// Learning rate: η of the classical rule, η₀ = σ²(0)/σ_δ² of the Bayesian one
    /// [default: 1e-2 Bayesian, 3.16e-5 classical] [range: (0, ∞)]
    #[arg(long, value_name = "X", allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    #[serde(skip)]
    pub eta: Option<f64>,
    /// Periodic Gaussian-process targets, each learned by every network [default: 5]
    #[arg(long)]
    pub targets: Option<usize>,
    /// Learning trials, one period (160 steps) each [default: 1000]
    #[arg(long)]
    pub trials: Option<usize>,
    /// Measure the free-running test MSE every K trials [default: 100]
    #[arg(long, value_name = "K")]
    pub test_every: Option<usize>,
    /// σ_δ², the error variance the Bayesian rule assumes [default: 1] [range: (0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub error_variance: Option<f64>,
    /// Standard deviation of Gaussian noise added to the error the synapses learn from
    /// [default: 0] [range: [0, ∞)]
    #[arg(long, value_name = "S", value_parser = crate::flags::finite_f64)]
    pub error_noise: Option<f64>,
    /// The synapses learn at every K steps [default: 1]
    #[arg(long, value_name = "K")]
    pub learn_every: Option<usize>,
    /// Write a checkpoint every K trials (and at the end) [default: 100]
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
    /// Seed of the networks, targets and starting states [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TrainFlags for BayesianSynapseFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        let mut overlay = overlay_of(self)?;
        if let Some(networks) = self.networks {
            overlay["network"]["networks"] = json!(networks);
        }
        if let Some(targets) = self.targets {
            overlay["targets"] = json!(targets);
        }
        let rates: Option<Vec<DeltaRate>> = if self.rule.is_some() || self.eta.is_some() {
            let rule = self.rule.unwrap_or(DeltaRule::Bayesian);
            let eta = self.eta.unwrap_or(match rule {
                DeltaRule::Bayesian => 1e-2,
                DeltaRule::Classical => 3.16e-5,
            });
            Range::POSITIVE.check("--eta", eta)?;
            Some(vec![DeltaRate { rule, eta }])
        } else {
            None
        };
        if let Some(rates) = rates {
            overlay["rates"] = serde_json::to_value(rates)?;
        }
        Ok(overlay)
    }
}
