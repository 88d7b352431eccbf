//! `train cue-reward` flags; each serialises to its place in the run's JSON.

use anyhow::bail;
use clap::Args;
use plastic_models::Modulation;
use serde::Serialize;
use serde_json::{json, Value};

use super::config::Core;
use super::CueRewardExperiment;
use crate::experiment::launch::Variant;
use crate::experiments::shared::pattern::flags::{OptimisationFlags, PatternEvalFlags};
use crate::flags::{overlay_of, CommandLine, TrainFlags};

impl CommandLine for CueRewardExperiment {
    type Flags = CueRewardFlags;
    type EvalFlags = PatternEvalFlags;
}

#[derive(Debug, Args, Serialize)]
pub struct CueRewardFlags {
    #[command(flatten)]
    pub train: OptimisationFlags,
    #[command(flatten)]
    pub network: NetworkFlags,
    #[command(flatten)]
    pub task: TaskFlags,
    #[command(flatten)]
    pub a2c: A2cFlags,
    /// Evaluation episodes scored at the end of training [default: 300]
    #[arg(long)]
    pub eval_episodes: Option<usize>,
    /// Train the four networks one after another (retroactive, simple and no modulation,
    /// and the non-plastic RNN) and compare them: summary.md and comparison.png
    #[arg(long)]
    #[serde(skip)]
    pub compare: bool,
}

#[derive(Debug, Args, Serialize)]
pub struct NetworkFlags {
    /// Recurrent core: plastic, or a non-plastic RNN (without modulation) [default: plastic]
    #[arg(long, value_enum)]
    pub core: Option<Core>,
    /// Recurrent units [cue-reward: 32; cue-reward-rnn: 44, matched to the plastic agent's parameter count]
    #[arg(long)]
    pub hidden: Option<usize>,
    /// How the plastic core modulates its own trace [cue-reward: retroactive]
    #[arg(long, value_enum)]
    pub modulation: Option<Modulation>,
    /// Initial eligibility-trace rate η_e (retroactive modulation; learned) [default: 0.3] [range: [0, 1]]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub eligibility_rate: Option<f64>,
    /// Initial trace rate η (plain plasticity, --modulation none) [default: 0.01] [range: [0, 1]]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub eta: Option<f64>,
    /// Scale of the initial plasticity coefficients, α = scale·U(0,1) [default: 0.001] [range: [0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub alpha_init: Option<f64>,
    /// Standard deviation of the plastic core's initial fixed weights [default: 0.001] [range: [0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub w_init_std: Option<f64>,
}

#[derive(Debug, Args, Serialize)]
pub struct TaskFlags {
    /// Cues per episode, one the target (even) [default: 2]
    #[arg(long)]
    pub cues: Option<usize>,
    /// ±1 bits per cue [default: 1]
    #[arg(long)]
    pub cue_bits: Option<usize>,
    /// Steps per episode [default: 60]
    #[arg(long)]
    pub steps: Option<usize>,
    /// Reward for a right answer; a wrong one costs as much [default: 1] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub reward: Option<f64>,
}

#[derive(Debug, Args, Serialize)]
pub struct A2cFlags {
    /// Discount of later rewards in the returns [default: 0.9] [range: [0, 1]]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub discount: Option<f64>,
    /// Weight of the value loss [default: 0.1] [range: [0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub value_weight: Option<f64>,
    /// Weight of the entropy bonus [default: 0.03] [range: [0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub entropy_weight: Option<f64>,
}

impl TrainFlags for CueRewardFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        let mut overlay = overlay_of(self)?;
        // A non-plastic core has nothing to modulate: the preset's modulation does not apply.
        if self.network.core == Some(Core::Rnn) && self.network.modulation.is_none() {
            overlay["network"]["modulation"] = json!(Modulation::None);
        }
        Ok(overlay)
    }

    fn variants(&self) -> anyhow::Result<Vec<Variant>> {
        if !self.compare {
            return Ok(Vec::new());
        }
        if self.network.core.is_some() || self.network.modulation.is_some() {
            bail!("--compare trains every network: leave out --core and --modulation");
        }
        let networks = [
            (Core::Plastic, Modulation::Retroactive),
            (Core::Plastic, Modulation::Simple),
            (Core::Plastic, Modulation::None),
            (Core::Rnn, Modulation::None),
        ];
        Ok(networks
            .into_iter()
            .map(|(core, modulation)| {
                let name = match core {
                    Core::Rnn => "rnn",
                    Core::Plastic => modulation.name(),
                };
                Variant {
                    name: name.to_string(),
                    flags: json!({ "network": { "core": core, "modulation": modulation } }),
                }
            })
            .collect())
    }
}
