//! Episode and data generators for plastic-zoo, and how their outputs are scored.
//! Tasks know nothing of models: they produce plain `f32` buffers and score plain buffers.
#![warn(missing_docs)]

pub mod boolean;
pub mod counting;
pub mod cue_reward;
pub mod fashion_mnist;
pub mod gaussian;
pub mod pattern;
pub mod periodic;
pub mod product;
pub mod series;
pub mod two_input;

pub use boolean::{BooleanFunction, BOOLEAN_FUNCTIONS, BOOLEAN_INPUTS};
pub use counting::{CountingTask, COUNTING_ALPHABET};
pub use cue_reward::{CueRewardConfig, CueRewardEpisodes, Slot, CUE_REWARD_ACTIONS, RESPOND};
pub use gaussian::CorrelatedGaussian;
pub use pattern::{generate_batch, PatternBatch, PatternTaskConfig};
pub use periodic::{four_sines, PeriodicGp, FOUR_SINES_PERIOD};
pub use product::ProductSignal;
pub use series::{MackeyGlass, Narma, SeriesTask};
pub use two_input::{draw_examples, LinearMap, TaskFamily, TwoInputTask, LINEAR_MAPS};

/// A task configuration that cannot produce data.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TaskError {
    /// A parameter is out of range or inconsistent with another.
    #[error("invalid task configuration: {0}")]
    InvalidConfig(String),
}

/// Names of the pattern-completion presets, in the order `list` shows them.
pub const PATTERN_PRESETS: [&str; 3] = ["bohp", "dp-simple", "dp-50bit"];

/// The pattern-completion task of a named preset (see the README for their origin).
pub fn pattern_preset(name: &str) -> Option<PatternTaskConfig> {
    let base = PatternTaskConfig {
        neurons: 28,
        patterns: 3,
        cycles: 2,
        presentation_steps: 6,
        zero_steps: 4,
        cue_steps: 6,
        degraded_fraction: 0.5,
        input_scale: 20.0,
        zero_sum: true,
        orthogonal: true,
        shuffle_cycles: true,
    };
    match name {
        // Backpropagation of Hebbian plasticity: 3 orthogonal zero-sum patterns, 66 steps.
        "bohp" => Some(base),
        // Differentiable plasticity, simple/ experiment: 5 zero-sum 1000-bit patterns, 106 steps.
        "dp-simple" => Some(PatternTaskConfig {
            neurons: 1000,
            patterns: 5,
            orthogonal: false,
            ..base
        }),
        // Differentiable plasticity, the paper's comparison with RNN and LSTM: 2 patterns of
        // 50 bits, one cycle of 3 steps shown and 1 zero step, cue held 3 steps.
        "dp-50bit" => Some(PatternTaskConfig {
            neurons: 50,
            patterns: 2,
            cycles: 1,
            presentation_steps: 3,
            zero_steps: 1,
            cue_steps: 3,
            zero_sum: false,
            orthogonal: false,
            ..base
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
