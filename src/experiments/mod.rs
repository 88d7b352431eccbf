//! The models of the zoo, one folder each, and [`all`]: the one list that `list`, the
//! `train <model>` subcommands and `eval`'s dispatch are made from.

pub mod bayesian_synapse;
pub mod cue_reward;
pub mod esn;
pub mod feedback_alignment;
pub mod force;
pub mod hebbian_ff;
pub mod hopfield;
pub mod learned_rule;
pub mod plastic_rnn;
pub mod recurrent_baseline;
pub mod shared;
pub mod sorn;

use crate::flags::{entry, Entry};

/// Every model, in the order `list` shows them.
pub fn all() -> Vec<Box<dyn Entry>> {
    vec![
        entry::<plastic_rnn::PlasticRnnExperiment>(),
        entry::<recurrent_baseline::BaselineExperiment<recurrent_baseline::Rnn>>(),
        entry::<recurrent_baseline::BaselineExperiment<recurrent_baseline::Lstm>>(),
        entry::<cue_reward::CueRewardExperiment>(),
        entry::<hebbian_ff::HebbianFfExperiment>(),
        entry::<learned_rule::LearnedRuleExperiment>(),
        entry::<feedback_alignment::FeedbackAlignmentExperiment>(),
        entry::<esn::EsnExperiment>(),
        entry::<force::ForceExperiment>(),
        entry::<bayesian_synapse::BayesianSynapseExperiment>(),
        entry::<hopfield::HopfieldExperiment>(),
        entry::<sorn::SornExperiment>(),
    ]
}
