//! `train rnn` and `train lstm` flags: the task and optimisation flags of `plastic-rnn`, and
//! each network's own.

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::{Baseline, BaselineExperiment, Lstm, Rnn};
use crate::experiments::shared::pattern::flags::{OptimisationFlags, PatternEvalFlags, TaskFlags};
use crate::flags::{overlay_of, CommandLine, TrainFlags, TruncateFlag};

/// The network flags of a baseline kind.
pub trait NetworkFlags: Args + Serialize {}

impl<K: Baseline> CommandLine for BaselineExperiment<K>
where
    K: HasFlags,
{
    type Flags = BaselineFlags<<K as HasFlags>::Network>;
    type EvalFlags = PatternEvalFlags;
}

/// Which network flags a baseline kind takes.
pub trait HasFlags {
    type Network: NetworkFlags;
}

impl HasFlags for Rnn {
    type Network = RnnFlags;
}

impl HasFlags for Lstm {
    type Network = LstmFlags;
}

#[derive(Debug, Args, Serialize)]
pub struct BaselineFlags<M: NetworkFlags> {
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

#[derive(Debug, Args, Serialize)]
pub struct RnnFlags {
    /// Units besides the pattern neurons and the bias neuron [dp-50bit: 2000, else 0]
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Add a bias neuron held at 1 (true/false) [default: true]
    #[arg(long, value_name = "BOOL")]
    pub bias_neuron: Option<bool>,
}

impl NetworkFlags for RnnFlags {}

#[derive(Debug, Args, Serialize)]
pub struct LstmFlags {
    /// Hidden units, the first ones read out [dp-50bit: 2000, else 2 × neurons]
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Fix the first units as copies of their input (true/false) [default: true]
    #[arg(long, value_name = "BOOL")]
    pub clamp_inputs: Option<bool>,
}

impl NetworkFlags for LstmFlags {}

impl<M: NetworkFlags> TrainFlags for BaselineFlags<M> {
    fn overlay(&self) -> anyhow::Result<Value> {
        let mut overlay = overlay_of(self)?;
        // One neuron count sizes both the network and the task's patterns.
        if let Some(neurons) = overlay.pointer("/task/neurons").cloned() {
            overlay["model"]["neurons"] = neurons;
        }
        Ok(overlay)
    }
}
