//! `train plastic-rnn` and `eval` flags; each serialises to its place in the run's JSON.

use clap::Args;
use plastic_models::{GradientEngine, HebbRule, Modulation};
use serde::Serialize;
use serde_json::Value;

use super::PlasticRnnExperiment;
use crate::flags::{negated, overlay_of, CommandLine, SeedAndAdamFlags, TrainFlags, TruncateFlag};

impl CommandLine for PlasticRnnExperiment {
    type Flags = PlasticRnnFlags;
    type EvalFlags = PlasticRnnEvalFlags;
}

#[derive(Debug, Args, Serialize)]
pub struct PlasticRnnFlags {
    /// Gradient engine [default: adjoint]
    #[arg(long = "grad", value_enum)]
    pub gradient: Option<GradientEngine>,
    #[command(flatten)]
    #[serde(flatten)]
    pub truncation: TruncateFlag,
    #[command(flatten)]
    pub train: OptimisationFlags,
    #[command(flatten)]
    pub model: ModelFlags,
    #[command(flatten)]
    pub task: TaskFlags,
    /// Evaluation episodes scored at the end of training [default: 100]
    #[arg(long)]
    pub eval_episodes: Option<usize>,
}

#[derive(Debug, Args, Serialize)]
pub struct OptimisationFlags {
    /// Total episodes of the run
    #[arg(long)]
    pub episodes: Option<usize>,
    /// Episodes per optimizer step
    #[arg(long)]
    pub batch: Option<usize>,
    #[command(flatten)]
    #[serde(flatten)]
    pub rest: SeedAndAdamFlags,
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

#[derive(Debug, Args, Serialize)]
pub struct TaskFlags {
    /// Pattern neurons (and bits per pattern)
    #[arg(long)]
    pub neurons: Option<usize>,
    /// Patterns per episode
    #[arg(long)]
    pub patterns: Option<usize>,
    /// Presentation cycles
    #[arg(long)]
    pub cycles: Option<usize>,
    /// Steps each pattern is shown
    #[arg(long)]
    pub presentation_steps: Option<usize>,
    /// Zero-input steps after each presentation
    #[arg(long)]
    pub zero_steps: Option<usize>,
    /// Steps the degraded cue is shown
    #[arg(long)]
    pub cue_steps: Option<usize>,
    /// Fraction of the cue's bits zeroed [range: [0, 1]]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub degraded_fraction: Option<f64>,
    /// Input multiplier [range: (-∞, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub input_scale: Option<f64>,
    /// Zero-sum patterns (true/false)
    #[arg(long, value_name = "BOOL")]
    pub zero_sum: Option<bool>,
    /// Mutually orthogonal patterns (true/false)
    #[arg(long, value_name = "BOOL")]
    pub orthogonal: Option<bool>,
    /// Draw the patterns' order anew in every presentation cycle (true/false; false: the same
    /// order every cycle)
    #[arg(long, value_name = "BOOL")]
    pub shuffle_cycles: Option<bool>,
}

impl TrainFlags for PlasticRnnFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        let mut overlay = overlay_of(self)?;
        // One neuron count sizes both the network and the task's patterns.
        if let Some(neurons) = overlay.pointer("/task/neurons").cloned() {
            overlay["model"]["neurons"] = neurons;
        }
        Ok(overlay)
    }
}

#[derive(Debug, Args, Serialize)]
pub struct PlasticRnnEvalFlags {
    /// plastic-rnn, rnn, lstm, cue-reward: evaluation episodes [default: 100; cue-reward: the run's]
    #[arg(long)]
    pub episodes: Option<usize>,
}
