//! `train sorn` flags; each serialises to its field of the run.

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::{ReadoutKind, SornExperiment, Variant};
use crate::flags::{overlay_of, CommandLine, TrainFlags};

impl CommandLine for SornExperiment {
    type Flags = SornFlags;
    type EvalFlags = SornEvalFlags;
}

#[derive(Debug, Args, Serialize)]
pub struct SornFlags {
    /// Repeats n of each word's middle letter, comma-separated [default: 4,8,12,16,20,30]
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub repeats: Option<Vec<usize>>,
    /// Variants run side by side, comma-separated [default: sorn,ip-only,static]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub variants: Option<Vec<Variant>>,
    /// Networks per word length and variant, each from its own initial network and letters
    /// [default: 3]
    #[arg(long)]
    pub replicates: Option<usize>,
    /// Excitatory neurons N_E [default: 200]
    #[arg(long)]
    pub excitatory: Option<usize>,
    /// Inhibitory neurons N_I [default: 40]
    #[arg(long)]
    pub inhibitory: Option<usize>,
    /// λ: E→E synapses each excitatory neuron receives [default: 10]
    #[arg(long, value_name = "LAMBDA")]
    pub synapses_per_neuron: Option<usize>,
    /// Excitatory neurons each letter drives [default: 10]
    #[arg(long)]
    pub input_pool: Option<usize>,
    /// η_STDP [default: 0.001] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub stdp_rate: Option<f64>,
    /// η_IP [default: 0.001] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub ip_rate: Option<f64>,
    /// H_IP: the firing rate intrinsic plasticity aims at [default: 0.1] [range: (0, 1)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub target_rate: Option<f64>,
    /// Steps with plasticity on [default: 50000]
    #[arg(long)]
    pub plastic_steps: Option<usize>,
    /// Remove E→E synapses that STDP drives to 0 for good, rather than let them grow again
    /// [default: true]
    #[arg(long, value_name = "BOOL")]
    pub prune: Option<bool>,
    /// Steps, plasticity off, on which the readout is fitted [default: 5000]
    #[arg(long)]
    pub readout_train: Option<usize>,
    /// Steps, plasticity off, on which the readout is tested [default: 5000]
    #[arg(long)]
    pub readout_test: Option<usize>,
    /// How the readout is fitted [default: logistic]
    #[arg(long, value_enum)]
    pub readout: Option<ReadoutKind>,
    /// Ridge of the ridge readout's regression [default: 0.01] [range: (0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub ridge: Option<f64>,
    /// λ of the logistic readout's penalty, mean cross-entropy + λ/2·‖W‖² [default: 0.0002,
    /// scikit-learn's C = 1 over 5000 steps] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub l2: Option<f64>,
    /// Plastic steps per step of the progress bar [default: 1000]
    #[arg(long)]
    pub steps_per_update: Option<usize>,
    /// Write a checkpoint every K updates (and at the end) [default: 10]
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
    /// Seed of the networks and letters [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TrainFlags for SornFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        overlay_of(self)
    }
}

#[derive(Debug, Args, Serialize)]
pub struct SornEvalFlags {
    /// Seed of the readout's fresh letters [default: a stream apart from training's]
    #[arg(long)]
    pub seed: Option<u64>,
    /// The readout to fit in place of the run's [default: the run's]
    #[arg(long, value_enum)]
    pub readout: Option<ReadoutKind>,
}
