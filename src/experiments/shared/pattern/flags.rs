//! The flags every network on the pattern tasks takes (plastic-rnn, rnn, lstm): the run's
//! length and optimisation, the task, and `eval`'s episodes (which cue-reward takes too). Each
//! serialises to its place in the run's JSON.

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use crate::flags::{overlay_of, SeedAndAdamFlags, TrainFlags, TruncateFlag};

/// The `train` flags of a network on the pattern tasks whose own flags are `M`.
#[derive(Debug, Args, Serialize)]
pub struct PatternTrainFlags<M: Args + Serialize> {
    #[command(flatten)]
    #[serde(flatten)]
    pub truncation: TruncateFlag,
    #[command(flatten)]
    pub train: OptimisationFlags,
    #[command(flatten)]
    pub model: M,
    #[command(flatten)]
    pub task: TaskFlags,
    /// Evaluation episodes scored at the end of training [default: 100]
    #[arg(long)]
    pub eval_episodes: Option<usize>,
}

impl<M: Args + Serialize> TrainFlags for PatternTrainFlags<M> {
    fn overlay(&self) -> anyhow::Result<Value> {
        Ok(neurons_size_the_model(overlay_of(self)?))
    }
}

/// `overlay` with the task's neuron count, where one is given, set as the model's too: one
/// count sizes both the network and the task's patterns.
pub fn neurons_size_the_model(mut overlay: Value) -> Value {
    if let Some(neurons) = overlay.pointer("/task/neurons").cloned() {
        overlay["model"]["neurons"] = neurons;
    }
    overlay
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

#[derive(Debug, Args, Serialize)]
pub struct PatternEvalFlags {
    /// plastic-rnn, rnn, lstm, cue-reward: evaluation episodes [default: 100; cue-reward: the run's]
    #[arg(long)]
    pub episodes: Option<usize>,
}
