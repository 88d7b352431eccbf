//! Run configurations: a preset, overlaid by a JSON file, overlaid by flags. The result is
//! validated and saved as the run's `config.json`.

use std::path::Path;

use anyhow::{bail, Context};
use plastic_models::{AlphaInit, HebbRule, PlasticRnnConfig};
use plastic_tasks::{pattern_preset, PatternTaskConfig, PATTERN_PRESETS};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The optimisation side of a run, shared by every model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Episodes (optimizer steps) in the whole run.
    pub episodes: usize,
    /// Episodes per optimizer step.
    pub batch: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Seeds the parameters and the training episodes.
    pub seed: u64,
    /// Writes a checkpoint every this many episodes (and always at the end).
    pub checkpoint_every: usize,
}

impl TrainConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.episodes == 0 {
            bail!("episodes must be at least 1");
        }
        if self.batch == 0 {
            bail!("batch must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            bail!(
                "learning rate must be a positive number, got {}",
                self.learning_rate
            );
        }
        if self.checkpoint_every == 0 {
            bail!("checkpoint-every must be at least 1");
        }
        Ok(())
    }
}

/// How the plastic RNN's gradient is computed; both give the same gradient.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GradientEngine {
    /// Backpropagation through time (Burn autodiff): memory grows with the episode length.
    #[default]
    Bptt,
    /// Real-time recurrent learning, forward in time: O(N⁴) memory, any episode length.
    Rtrl,
}

impl GradientEngine {
    pub fn name(self) -> &'static str {
        match self {
            Self::Bptt => "bptt",
            Self::Rtrl => "rtrl",
        }
    }
}

/// Everything that defines a plastic-RNN run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlasticRnnRun {
    /// The preset this run started from.
    pub preset: String,
    /// The gradient engine (runs saved before it existed used BPTT).
    #[serde(default)]
    pub gradient: GradientEngine,
    pub model: PlasticRnnConfig,
    pub task: PatternTaskConfig,
    pub train: TrainConfig,
}

/// The flags of `train plastic-rnn` that override the configuration; `None` keeps it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PlasticRnnOverrides {
    pub gradient: Option<GradientEngine>,
    pub episodes: Option<usize>,
    pub batch: Option<usize>,
    pub learning_rate: Option<f64>,
    pub seed: Option<u64>,
    pub checkpoint_every: Option<usize>,
    pub rule: Option<HebbRule>,
    pub neurons: Option<usize>,
    pub patterns: Option<usize>,
    pub cycles: Option<usize>,
    pub presentation_steps: Option<usize>,
    pub zero_steps: Option<usize>,
    pub cue_steps: Option<usize>,
    pub degraded_fraction: Option<f64>,
    pub input_scale: Option<f64>,
    pub zero_sum: Option<bool>,
    pub orthogonal: Option<bool>,
    pub bias_neuron: Option<bool>,
    pub clamp_trace: Option<bool>,
    pub learn_eta: Option<bool>,
    pub eta: Option<f64>,
    pub shared_alpha: Option<bool>,
    pub zero_alpha_diagonal: Option<bool>,
}

/// The default preset of `train plastic-rnn`.
pub const DEFAULT_PRESET: &str = "bohp";

/// A named plastic-RNN run configuration (see the README for where each comes from).
pub fn plastic_rnn_preset(name: &str) -> anyhow::Result<PlasticRnnRun> {
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
        learning_rate: 3e-4,
        seed: 0,
        checkpoint_every: 500,
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
        gradient: GradientEngine::Bptt,
        model,
        task,
        train,
    })
}

/// Preset, then the JSON file (any subset of the fields), then the flags.
pub fn resolve_plastic_rnn(
    preset: &str,
    config_file: Option<&Path>,
    flags: &PlasticRnnOverrides,
) -> anyhow::Result<PlasticRnnRun> {
    let mut run = plastic_rnn_preset(preset)?;
    if let Some(path) = config_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let overlay: Value = serde_json::from_str(&text)
            .with_context(|| format!("config file {} is not valid JSON", path.display()))?;
        let mut merged = serde_json::to_value(&run)?;
        merge_json(&mut merged, overlay);
        run = serde_json::from_value(merged).with_context(|| {
            format!(
                "config file {} does not describe a plastic-rnn run",
                path.display()
            )
        })?;
    }
    apply_overrides(&mut run, flags);
    validate(&run)?;
    Ok(run)
}

fn apply_overrides(run: &mut PlasticRnnRun, f: &PlasticRnnOverrides) {
    fn set<T: Copy>(target: &mut T, value: Option<T>) {
        if let Some(v) = value {
            *target = v;
        }
    }
    set(&mut run.gradient, f.gradient);
    set(&mut run.train.episodes, f.episodes);
    set(&mut run.train.batch, f.batch);
    set(&mut run.train.learning_rate, f.learning_rate);
    set(&mut run.train.seed, f.seed);
    set(&mut run.train.checkpoint_every, f.checkpoint_every);
    set(&mut run.model.rule, f.rule);
    set(&mut run.model.neurons, f.neurons);
    set(&mut run.task.neurons, f.neurons);
    set(&mut run.task.patterns, f.patterns);
    set(&mut run.task.cycles, f.cycles);
    set(&mut run.task.presentation_steps, f.presentation_steps);
    set(&mut run.task.zero_steps, f.zero_steps);
    set(&mut run.task.cue_steps, f.cue_steps);
    set(&mut run.task.degraded_fraction, f.degraded_fraction);
    set(&mut run.task.input_scale, f.input_scale);
    set(&mut run.task.zero_sum, f.zero_sum);
    set(&mut run.task.orthogonal, f.orthogonal);
    set(&mut run.model.bias_neuron, f.bias_neuron);
    set(&mut run.model.clamp_trace, f.clamp_trace);
    set(&mut run.model.learn_eta, f.learn_eta);
    set(&mut run.model.eta_init, f.eta);
    set(&mut run.model.zero_alpha_diagonal, f.zero_alpha_diagonal);
    if let Some(shared) = f.shared_alpha {
        run.model.alpha_per_connection = !shared;
    }
}

/// Checks a run configuration as a whole, whichever way it was assembled.
pub fn validate(run: &PlasticRnnRun) -> anyhow::Result<()> {
    run.train.validate()?;
    run.task.validate()?;
    let model = &run.model;
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
    if !(model.eta_init.is_finite() && (0.0..=1.0).contains(&model.eta_init)) {
        bail!("eta must lie in [0, 1], got {}", model.eta_init);
    }
    for (name, value) in [
        ("w_init_std", model.w_init_std),
        ("alpha_init_scale", model.alpha_init_scale),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            bail!("{name} must be a non-negative number, got {value}");
        }
    }
    Ok(())
}

/// Overlays `overlay` onto `base`, object by object; other values replace.
fn merge_json(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(slot) => merge_json(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_preset_then_file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        std::fs::write(
            &file,
            r#"{"train": {"learning_rate": 0.01, "seed": 5}, "task": {"cycles": 3}}"#,
        )
        .unwrap();
        let flags = PlasticRnnOverrides {
            seed: Some(9),
            ..Default::default()
        };
        let run = resolve_plastic_rnn("bohp", Some(&file), &flags).unwrap();
        assert_eq!(run.train.learning_rate, 0.01);
        assert_eq!(run.train.seed, 9);
        assert_eq!(run.task.cycles, 3);
        assert_eq!(run.task.neurons, 28);
        assert!(run.model.bias_neuron);
    }

    #[test]
    fn neurons_flag_sets_model_and_task() {
        let flags = PlasticRnnOverrides {
            neurons: Some(12),
            ..Default::default()
        };
        let run = resolve_plastic_rnn("bohp", None, &flags).unwrap();
        assert_eq!((run.model.neurons, run.task.neurons), (12, 12));
    }

    #[test]
    fn unknown_fields_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        std::fs::write(&file, r#"{"train": {"learnig_rate": 0.01}}"#).unwrap();
        assert!(resolve_plastic_rnn("bohp", Some(&file), &Default::default()).is_err());
    }
}
