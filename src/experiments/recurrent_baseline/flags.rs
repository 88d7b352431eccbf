//! `train rnn` and `train lstm` flags: the task and optimisation flags of `plastic-rnn`, and
//! each network's own.

use clap::Args;
use serde::Serialize;

use super::{Baseline, BaselineExperiment, Lstm, Rnn};
use crate::experiments::shared::pattern::flags::{PatternEvalFlags, PatternTrainFlags};
use crate::flags::CommandLine;

/// The network flags of a baseline kind.
pub trait NetworkFlags: Args + Serialize {}

impl<K: Baseline> CommandLine for BaselineExperiment<K>
where
    K: HasFlags,
{
    type Flags = PatternTrainFlags<<K as HasFlags>::Network>;
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
