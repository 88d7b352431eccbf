//! What a baseline run is: the network, the pattern task, the optimisation; and its presets,
//! those of `plastic-rnn` with the differentiable-plasticity paper's baseline settings on
//! `dp-50bit`.

use std::fmt::Debug;

use anyhow::{bail, Context};
use plastic_models::{LstmNetConfig, RnnNetConfig};
use plastic_tasks::{pattern_preset, PatternTaskConfig, PATTERN_PRESETS};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::{validate_pattern_ranges, validate_truncate, AdamSettings, TrainConfig};
use crate::memory::product;

/// Everything that defines a baseline run: its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound(deserialize = "C: DeserializeOwned"))]
pub struct BaselineRun<C> {
    /// The preset this run started from.
    pub preset: String,
    pub model: C,
    pub task: PatternTaskConfig,
    pub train: TrainConfig,
    /// BPTT through at most this many steps (`None`: the whole episode).
    #[serde(default)]
    pub truncate: Option<usize>,
    /// Evaluation episodes scored at the end of training.
    pub eval_episodes: usize,
}

/// The network of a baseline: how a preset sizes it and what makes it valid.
pub trait NetworkConfig: Serialize + DeserializeOwned + Clone + Debug + PartialEq {
    /// The network for a preset's task.
    fn for_preset(preset: &str, task: &mut PatternTaskConfig) -> Self;
    /// Input channels (= pattern neurons read out).
    fn neurons(&self) -> usize;
    /// One line for `list`.
    fn describe(&self) -> String;
    /// Checks what the task cannot.
    fn validate(&self) -> anyhow::Result<()>;
    /// Floats a run keeps at its peak: parameters with their gradient and Adam's moments,
    /// and what BPTT keeps per step.
    fn floats_needed(&self, batch: usize, steps: usize) -> u128;
}

/// The paper's 50-bit comparison. The RNN: 2000 more units than the plastic net's 51
/// (`simple/full.py`'s header, `--nbaddneurons 2000`, NBNEUR = 50 + 2000 + 1). The LSTM: 2000
/// hidden units, as `simple/request_lstm.json` launched `simple/lstm.py` (`--nbaddneurons 1949`,
/// NBHIDDENNEUR = 50 + 1949 + 1).
const DP_50BIT_HIDDEN: usize = 2000;

impl NetworkConfig for RnnNetConfig {
    fn for_preset(preset: &str, task: &mut PatternTaskConfig) -> Self {
        let hidden = if preset == "dp-50bit" {
            DP_50BIT_HIDDEN
        } else {
            0
        };
        RnnNetConfig::new(task.neurons).with_hidden(hidden)
    }

    fn neurons(&self) -> usize {
        self.neurons
    }

    fn describe(&self) -> String {
        format!(
            "{} units ({} pattern, {} hidden{})",
            self.total_units(),
            self.neurons,
            self.hidden,
            if self.bias_neuron { ", bias" } else { "" }
        )
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(self.w_init_std.is_finite() && self.w_init_std >= 0.0) {
            bail!(
                "w_init_std must be a non-negative number, got {}",
                self.w_init_std
            );
        }
        Ok(())
    }

    fn floats_needed(&self, batch: usize, steps: usize) -> u128 {
        // Counted in u128 from its parts: `total_units` itself could overflow.
        let n = self.neurons as u128 + self.hidden as u128 + u128::from(self.bias_neuron);
        let (batch, steps) = (batch as u128, steps as u128);
        product(&[4, n, n]).saturating_add(product(&[4, steps, batch, n]))
    }
}

impl NetworkConfig for LstmNetConfig {
    fn for_preset(preset: &str, task: &mut PatternTaskConfig) -> Self {
        let hidden = if preset == "dp-50bit" {
            // The paper's LSTM sees its inputs ×100 (`simple/lstm.py`: `inputT[nn] *= 100.0`).
            task.input_scale = 100.0;
            DP_50BIT_HIDDEN
        } else {
            2 * task.neurons
        };
        LstmNetConfig::new(task.neurons, hidden)
    }

    fn neurons(&self) -> usize {
        self.neurons
    }

    fn describe(&self) -> String {
        let clamped = if self.clamp_inputs {
            ", the first ones input-clamped"
        } else {
            ""
        };
        format!(
            "{} inputs, {} hidden units{clamped}",
            self.neurons, self.hidden
        )
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.hidden < self.neurons {
            bail!(
                "--hidden must be at least the {} pattern neurons it reads out, got {}",
                self.neurons,
                self.hidden
            );
        }
        Ok(())
    }

    fn floats_needed(&self, batch: usize, steps: usize) -> u128 {
        let (n, h) = (self.neurons as u128, self.hidden as u128);
        let (batch, steps) = (batch as u128, steps as u128);
        let parameters = product(&[n + h + 1, 4, h]);
        // Per step: the gates, their activations, the cell and hidden state and their tanh.
        product(&[4, parameters])
            .saturating_add(product(&[8, n, h]))
            .saturating_add(product(&[steps, batch, 14, h]))
    }
}

/// The run of a preset.
pub fn preset<C: NetworkConfig>(name: &str) -> anyhow::Result<BaselineRun<C>> {
    let mut task = pattern_preset(name).with_context(|| {
        format!(
            "unknown preset '{name}' (known: {})",
            PATTERN_PRESETS.join(", ")
        )
    })?;
    let model = C::for_preset(name, &mut task);
    // The paper trains both baselines at 3e-5 on the 50-bit task (`simple/full.py`'s header,
    // `simple/request_lstm.json`); docs/baselines.md measures other rates.
    let learning_rate = if name == "dp-50bit" { 3e-5 } else { 3e-4 };
    Ok(BaselineRun {
        preset: name.to_string(),
        model,
        task,
        train: TrainConfig {
            episodes: 2000,
            batch: 1,
            seed: 0,
            checkpoint_every: 500,
            optimizer: AdamSettings::with_learning_rate(learning_rate),
        },
        truncate: None,
        eval_episodes: 100,
    })
}

/// Checks a run as a whole, whichever way it was assembled.
pub fn validate<C: NetworkConfig>(run: &BaselineRun<C>) -> anyhow::Result<()> {
    run.train.validate()?;
    validate_pattern_ranges(&run.task)?;
    run.task.validate()?;
    validate_truncate(run.truncate)?;
    if run.model.neurons() != run.task.neurons {
        bail!(
            "the model has {} neurons but the task {} input channels",
            run.model.neurons(),
            run.task.neurons
        );
    }
    run.model.validate()?;
    if run.eval_episodes == 0 {
        bail!("--eval-episodes must be at least 1");
    }
    Ok(())
}
