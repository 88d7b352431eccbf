//! What a plastic-RNN run is: the network, the pattern task, the optimisation; and the
//! presets it starts from.

use anyhow::{bail, Context};
use plastic_models::{AlphaInit, GradientEngine, HebbRule, Modulation, PlasticRnnConfig};
use plastic_tasks::{pattern_preset, PatternTaskConfig, PATTERN_PRESETS};
use serde::{Deserialize, Serialize};

use crate::config::{validate_pattern_ranges, validate_truncate, AdamSettings, Range, TrainConfig};

/// Everything that defines a plastic-RNN run: its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlasticRnnRun {
    /// The preset this run started from.
    pub preset: String,
    /// How the gradient is computed.
    pub gradient: GradientEngine,
    /// BPTT through at most this many steps (`None`: the whole episode).
    #[serde(default)]
    pub truncate: Option<usize>,
    pub model: PlasticRnnConfig,
    pub task: PatternTaskConfig,
    pub train: TrainConfig,
    /// Evaluation episodes scored at the end of training.
    pub eval_episodes: usize,
}

/// The named run configurations (docs/plastic-rnn.md says where each comes from).
pub fn preset(name: &str) -> anyhow::Result<PlasticRnnRun> {
    let task = pattern_preset(name).with_context(|| {
        format!(
            "unknown preset '{name}' (known: {})",
            PATTERN_PRESETS.join(", ")
        )
    })?;
    let mut model = PlasticRnnConfig::new(task.neurons);
    let mut train = TrainConfig {
        episodes: 2000,
        batch: 1,
        seed: 0,
        checkpoint_every: 500,
        optimizer: AdamSettings::with_learning_rate(3e-4),
    };
    if name == "bohp" {
        // BOHP: a bias neuron, fixed trace retention 0.99, no plastic self-connections,
        // W ~ N(0, 1.1²/N), α = 0.01·|U(0,1)|.
        model = model
            .with_bias_neuron(true)
            .with_learn_eta(false)
            .with_zero_alpha_diagonal(true)
            .with_w_init_std(1.1 / ((task.neurons + 1) as f64).sqrt())
            .with_alpha_init(AlphaInit::Uniform);
        train.episodes = 10_000;
        train.checkpoint_every = 1000;
    }
    Ok(PlasticRnnRun {
        preset: name.to_string(),
        gradient: GradientEngine::Adjoint,
        truncate: None,
        model,
        task,
        train,
        eval_episodes: 100,
    })
}

/// Checks a run configuration as a whole, whichever way it was assembled.
pub fn validate(run: &PlasticRnnRun) -> anyhow::Result<()> {
    run.train.validate()?;
    Range::UNIT.check("--eta", run.model.eta_init)?;
    validate_pattern_ranges(&run.task)?;
    if let Some(rate) = run.model.eligibility_rate_init {
        Range::UNIT.check("--eligibility-rate", rate)?;
    }
    run.task.validate()?;
    validate_truncate(run.truncate)?;
    if run.truncate.is_some() && run.gradient != GradientEngine::Bptt {
        bail!(
            "--truncate needs --grad bptt: the {} engine computes the whole gradient",
            run.gradient.name()
        );
    }
    let model = &run.model;
    if model.modulation() != Modulation::None {
        if run.gradient != GradientEngine::Bptt {
            bail!(
                "--modulation {} needs --grad bptt (the {} engine covers unmodulated traces)",
                model.modulation().name(),
                run.gradient.name()
            );
        }
        if model.rule != HebbRule::Hebb {
            bail!("--rule applies to an unmodulated trace; a modulated one has its own update");
        }
        Range::UNIT.check("--eligibility-rate", model.eligibility_rate())?;
    }
    if model.neurons == 0 {
        bail!("neurons must be at least 1");
    }
    if model.neurons != run.task.neurons {
        bail!(
            "the model has {} neurons but the task {} input channels",
            model.neurons,
            run.task.neurons
        );
    }
    for (name, value) in [
        ("w_init_std", model.w_init_std),
        ("alpha_init_scale", model.alpha_init_scale),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            bail!("{name} must be a non-negative number, got {value}");
        }
    }
    if run.eval_episodes == 0 {
        bail!("--eval-episodes must be at least 1");
    }
    Ok(())
}
