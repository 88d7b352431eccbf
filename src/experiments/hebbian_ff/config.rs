//! What a hebbian-ff run is, and its presets.

use anyhow::bail;
use plastic_models::{AnyRule, FeedForwardConfig, OutputActivation, RuleKind, RuleStep};
use plastic_tasks::CorrelatedGaussian;
use serde::{Deserialize, Serialize};

use crate::config::{check_ranges, Range};
use crate::experiments::shared::local_rules::{two_input_network, FfTask, TaskData};

/// Covariance of `--task pca` when none is given: eigenvalues 4.62 and 0.38, first
/// principal component (0.94, 0.33).
const DEFAULT_COVARIANCE: [[f64; 2]; 2] = [[4.0, 1.5], [1.5, 1.0]];

/// Everything a `train hebbian-ff` run needs: its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HebbianFfRun {
    /// A boolean function (`and`, `xor`, …), a linear map (`linear-30`, …) or `pca`.
    pub task: FfTask,
    /// `pca`: covariance of the Gaussian inputs (its size is the number of inputs).
    pub covariance: Option<Vec<Vec<f64>>>,
    /// Hidden layer sizes (two-input tasks; `pca` trains one linear neuron).
    pub hidden: Vec<usize>,
    pub rule: RuleKind,
    pub learning_rate: f64,
    /// Weights are clamped to `[−w_max, w_max]` after every update.
    pub w_max: f64,
    /// Supervised rule: the first layer learns too (the seed's stays at its random weights).
    pub first_layer_learns: bool,
    /// Independent nets trained side by side, each from its own initial weights.
    pub replications: usize,
    /// Updates, each on one random example per net.
    pub updates: usize,
    /// Seeds the initial weights and the examples.
    pub seed: u64,
    /// Updates between two scorings of every net (`None`: a hundredth of the updates).
    pub score_every: Option<usize>,
    /// Updates between two checkpoints (and always at the end).
    pub checkpoint_every: usize,
}

/// The presets: the seed's two-input setting, and Oja's rule on correlated data.
pub fn preset(name: &str) -> anyhow::Result<HebbianFfRun> {
    let two_input = HebbianFfRun {
        task: FfTask::named("xor")?,
        covariance: None,
        hidden: vec![100],
        rule: RuleKind::Supervised,
        learning_rate: 0.01,
        w_max: 1.0,
        first_layer_learns: false,
        replications: 100,
        updates: 400,
        seed: 0,
        score_every: None,
        checkpoint_every: 100,
    };
    Ok(match name {
        "xor" => two_input,
        "pca" => HebbianFfRun {
            task: FfTask::Pca,
            covariance: Some(DEFAULT_COVARIANCE.iter().map(|r| r.to_vec()).collect()),
            hidden: vec![],
            rule: RuleKind::Oja,
            ..two_input
        },
        other => bail!("unknown preset '{other}' (known: xor, pca)"),
    })
}

impl HebbianFfRun {
    /// The nets: 2-[hidden]-1 with a tanh output, or one linear neuron for `pca`.
    pub fn network(&self) -> FeedForwardConfig {
        match self.task {
            FfTask::TwoInput(_) => two_input_network(self.hidden.clone()),
            FfTask::Pca => FeedForwardConfig {
                inputs: self.covariance.as_ref().map_or(0, Vec::len),
                hidden: vec![],
                outputs: 1,
                output_activation: OutputActivation::Linear,
            },
        }
    }

    pub fn rule(&self) -> anyhow::Result<AnyRule> {
        let step = RuleStep {
            learning_rate: self.learning_rate,
            w_max: self.w_max,
        };
        let mut rule = AnyRule::new(self.rule, step)?;
        if self.first_layer_learns {
            match &mut rule {
                AnyRule::Supervised(supervised) => supervised.first_layer_learns = true,
                _ => bail!("--first-layer-learns applies to the supervised rule only"),
            }
        }
        Ok(rule)
    }

    pub fn data(&self) -> anyhow::Result<TaskData> {
        Ok(match self.task {
            FfTask::TwoInput(task) => TaskData::TwoInput(task),
            FfTask::Pca => {
                let covariance = self.covariance.clone().unwrap_or_default();
                TaskData::Pca(CorrelatedGaussian::new(covariance)?)
            }
        })
    }

    pub fn score_every(&self) -> usize {
        self.score_every.unwrap_or((self.updates / 100).max(1))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        check_ranges(&[
            ("--lr", self.learning_rate, Range::POSITIVE),
            ("--w-max", self.w_max, Range::POSITIVE),
        ])?;
        self.rule()?;
        if self.replications == 0 {
            bail!("--replications must be at least 1");
        }
        if self.updates == 0 {
            bail!("--updates must be at least 1");
        }
        if self.score_every == Some(0) || self.checkpoint_every == 0 {
            bail!("--score-every and --checkpoint-every must be at least 1");
        }
        match self.task {
            FfTask::TwoInput(task) => {
                if self.covariance.is_some() {
                    bail!("--covariance applies to task pca only");
                }
                if self.hidden.is_empty() {
                    bail!(
                        "task {} needs at least one hidden layer, e.g. --hidden 100",
                        task.name()
                    );
                }
            }
            FfTask::Pca => {
                if !self.hidden.is_empty() {
                    bail!("task pca trains one linear neuron: --hidden does not apply");
                }
                if self.rule.needs_target() {
                    bail!(
                        "the {} rule needs a target, and task pca has none: use oja, bounded or unsupervised",
                        self.rule.name()
                    );
                }
                self.data()?;
            }
        }
        self.network().validate()?;
        Ok(())
    }

    /// `[100]`, `[10,10]`.
    pub fn hidden_label(&self) -> String {
        format!("{:?}", self.hidden).replace(' ', "")
    }

    /// The rule's name, with the non-default variant spelled out.
    pub fn rule_label(&self) -> String {
        if self.first_layer_learns {
            format!("{} (first layer learns)", self.rule.name())
        } else {
            self.rule.name().to_string()
        }
    }
}
