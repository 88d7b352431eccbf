//! `train plastic-rnn` and `eval` flags; each serialises to its place in the run's JSON.

use clap::Args;
use plastic_models::{GradientEngine, HebbRule, Modulation};
use serde::Serialize;
use serde_json::Value;

use super::PlasticRnnExperiment;
use crate::experiments::shared::pattern::flags::{
    neurons_size_the_model, PatternEvalFlags, PatternTrainFlags,
};
use crate::flags::{negated, overlay_of, CommandLine, TrainFlags};

impl CommandLine for PlasticRnnExperiment {
    type Flags = PlasticRnnFlags;
    type EvalFlags = PatternEvalFlags;
}

#[derive(Debug, Args, Serialize)]
pub struct PlasticRnnFlags {
    /// Gradient engine [default: adjoint]
    #[arg(long = "grad", value_enum)]
    pub gradient: Option<GradientEngine>,
    #[command(flatten)]
    #[serde(flatten)]
    pub run: PatternTrainFlags<ModelFlags>,
}

#[derive(Debug, Args, Serialize)]
pub struct ModelFlags {
    /// Hebbian rule of the trace
    #[arg(long, value_enum)]
    pub rule: Option<HebbRule>,
    /// Add a bias neuron held at 1 (true/false)
    #[arg(long, value_name = "BOOL")]
    pub bias_neuron: Option<bool>,
    /// Clamp the trace to [-1, 1] (true/false)
    #[arg(long, value_name = "BOOL")]
    pub clamp_trace: Option<bool>,
    /// Learn η (true) or hold it fixed (false)
    #[arg(long, value_name = "BOOL")]
    pub learn_eta: Option<bool>,
    /// Initial (or fixed) η [range: [0, 1]]
    #[arg(long = "eta", allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub eta_init: Option<f64>,
    /// One α shared by all connections (true/false)
    #[arg(long = "shared-alpha", value_name = "BOOL")]
    #[serde(serialize_with = "negated")]
    pub alpha_per_connection: Option<bool>,
    /// Hold α's diagonal at zero (true/false)
    #[arg(long, value_name = "BOOL")]
    pub zero_alpha_diagonal: Option<bool>,
    /// Neuromodulated trace (Backpropamine; needs --grad bptt) [default: none]
    #[arg(long, value_enum)]
    pub modulation: Option<Modulation>,
    /// Initial eligibility-trace rate η_e of retroactive modulation [default: 0.01] [range: [0, 1]]
    #[arg(long = "eligibility-rate", allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub eligibility_rate_init: Option<f64>,
}

impl TrainFlags for PlasticRnnFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        Ok(neurons_size_the_model(overlay_of(self)?))
    }
}
