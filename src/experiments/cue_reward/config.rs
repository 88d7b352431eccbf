//! What a cue-reward run is: the agent, the task, actor-critic's settings and the
//! optimisation; and the presets (Backpropamine's task, scaled to a CPU).

use anyhow::bail;
pub use plastic_models::A2cSettings;
use plastic_models::{AlphaInit, Modulation, PlasticAgentConfig, PlasticRnnConfig};
use plastic_tasks::{CueRewardConfig, CUE_REWARD_ACTIONS};
use serde::{Deserialize, Serialize};

use crate::config::{check_ranges, AdamSettings, Range, TrainConfig};

/// Everything that defines a cue-reward run: its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueRewardRun {
    /// The preset this run started from.
    pub preset: String,
    pub network: AgentNetwork,
    pub task: CueRewardConfig,
    pub a2c: A2cSettings,
    pub train: TrainConfig,
    /// Evaluation episodes scored at the end of training.
    pub eval_episodes: usize,
}

/// The agent's recurrent core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Core {
    /// Recurrent weights `W + α⊙Hebb` (plain or modulated plasticity).
    Plastic,
    /// Fixed recurrent weights `W`: no plasticity.
    Rnn,
}

/// The agent of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentNetwork {
    pub core: Core,
    /// Recurrent units of a plastic core. A non-plastic core gets as many, or with
    /// `match_parameters` the fewest that give it at least the parameters of a plain plastic
    /// agent of this size.
    pub hidden: usize,
    /// Size a non-plastic core to the parameter count of a plastic one (see `hidden`).
    pub match_parameters: bool,
    /// How a plastic core modulates its trace.
    pub modulation: Modulation,
    /// Initial eligibility-trace rate `η_e` (retroactive modulation).
    pub eligibility_rate: f64,
    /// Initial trace rate `η` (plain plasticity).
    pub eta: f64,
    /// Scale of the initial plasticity coefficients, `α = scale · U(0, 1)`.
    pub alpha_init: f64,
    /// Standard deviation of the plastic core's initial fixed weights `W`.
    pub w_init_std: f64,
}

/// Recurrent units of the plastic agent in the presets.
pub const PLASTIC_HIDDEN: usize = 32;

/// The presets' task: Backpropamine's, scaled to what a CPU learns in minutes: two cues of
/// one bit (each trial shows one), 60-step episodes.
pub fn preset_task() -> CueRewardConfig {
    CueRewardConfig {
        cues: 2,
        cue_bits: 1,
        steps: 60,
        reward: 1.0,
    }
}

/// Initial eligibility-trace rate η_e of the preset (learned). Backpropamine starts it at
/// 0.01; then the retroactive agent's plastic change starts about a hundredth of the simply
/// modulated one's, and within the preset's 1500 updates it left chance on 2 of 8 seeds
/// (docs/cue-reward.md).
pub const PRESET_ELIGIBILITY_RATE: f64 = 0.3;

/// Names of the presets, the default first.
pub const CUE_REWARD_PRESETS: [&str; 1] = ["cue-reward"];

impl AgentNetwork {
    /// Recurrent units of the agent on `task`.
    pub fn units(&self, task: &CueRewardConfig) -> usize {
        match self.core {
            Core::Rnn if self.match_parameters => matched_rnn_hidden(task, self.hidden),
            _ => self.hidden,
        }
    }

    /// The agent this describes, on `task`.
    pub fn agent_config(&self, task: &CueRewardConfig) -> PlasticAgentConfig {
        let units = self.units(task);
        let plastic = (self.core == Core::Plastic).then(|| {
            // Backpropamine's initialisation: W and α small and positive-leaning.
            let mut core = PlasticRnnConfig::new(units)
                .with_w_init_std(self.w_init_std)
                .with_alpha_init(AlphaInit::Uniform)
                .with_alpha_init_scale(self.alpha_init)
                .with_eta_init(self.eta);
            core.modulation = Some(self.modulation);
            core.eligibility_rate_init = Some(self.eligibility_rate);
            core
        });
        PlasticAgentConfig::new(task.inputs(), CUE_REWARD_ACTIONS, units).with_plastic(plastic)
    }

    /// The network's short name: `rnn` or the plastic core's modulation.
    pub fn name(&self) -> &'static str {
        match self.core {
            Core::Rnn => "rnn",
            Core::Plastic => self.modulation.name(),
        }
    }

    /// One line for `list` and reports.
    pub fn describe(&self, task: &CueRewardConfig) -> String {
        let units = self.units(task);
        match self.core {
            Core::Rnn => format!("non-plastic RNN, {units} units"),
            Core::Plastic => format!(
                "plastic RNN, {units} units, modulation {}",
                self.modulation.name()
            ),
        }
    }
}

/// The smallest non-plastic core with at least as many parameters as the plain plastic
/// agent of `plastic_hidden` units on `task`.
pub fn matched_rnn_hidden(task: &CueRewardConfig, plastic_hidden: usize) -> usize {
    let count = |units: usize, plastic: Option<PlasticRnnConfig>| {
        PlasticAgentConfig::new(task.inputs(), CUE_REWARD_ACTIONS, units)
            .with_plastic(plastic)
            .parameter_count()
    };
    let target = count(plastic_hidden, Some(PlasticRnnConfig::new(plastic_hidden)));
    (plastic_hidden..)
        .find(|&units| count(units, None) >= target)
        .expect("a large enough core exists")
}

/// The run of a named preset.
pub fn preset(name: &str) -> anyhow::Result<CueRewardRun> {
    if !CUE_REWARD_PRESETS.contains(&name) {
        bail!(
            "unknown preset '{name}' (known: {})",
            CUE_REWARD_PRESETS.join(", ")
        );
    }
    let mut optimizer = AdamSettings::with_learning_rate(3e-3);
    optimizer.epsilon = 1e-6;
    optimizer.grad_clip = Some(2.0);
    Ok(CueRewardRun {
        preset: name.to_string(),
        network: AgentNetwork {
            core: Core::Plastic,
            hidden: PLASTIC_HIDDEN,
            match_parameters: true,
            modulation: Modulation::Retroactive,
            eligibility_rate: PRESET_ELIGIBILITY_RATE,
            eta: 0.01,
            alpha_init: 0.001,
            w_init_std: 0.001,
        },
        task: preset_task(),
        a2c: A2cSettings {
            discount: 0.9,
            value_weight: 0.1,
            entropy_weight: 0.03,
        },
        train: TrainConfig {
            episodes: 1500,
            batch: 16,
            seed: 0,
            checkpoint_every: 250,
            optimizer,
        },
        eval_episodes: 300,
    })
}

/// Checks a run configuration as a whole, whichever way it was assembled.
pub fn validate(run: &CueRewardRun) -> anyhow::Result<()> {
    run.train.validate()?;
    let network = &run.network;
    let a2c = &run.a2c;
    check_ranges(&[
        ("--alpha-init", network.alpha_init, Range::NON_NEGATIVE),
        ("--w-init-std", network.w_init_std, Range::NON_NEGATIVE),
        ("--eta", network.eta, Range::UNIT),
        ("--eligibility-rate", network.eligibility_rate, Range::UNIT),
        ("--reward", run.task.reward, Range::POSITIVE),
        ("--discount", a2c.discount, Range::UNIT),
        ("--value-weight", a2c.value_weight, Range::NON_NEGATIVE),
        ("--entropy-weight", a2c.entropy_weight, Range::NON_NEGATIVE),
    ])?;
    run.task.validate()?;
    if network.hidden == 0 {
        bail!("--hidden must be at least 1");
    }
    if network.core == Core::Rnn && network.modulation != Modulation::None {
        bail!("a non-plastic core has no modulation (--core rnn takes --modulation none)");
    }
    if run.eval_episodes == 0 {
        bail!("--eval-episodes must be at least 1");
    }
    Ok(())
}
