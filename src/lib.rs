//! The plastic-zoo application: the experiments, the trainer, checkpoints, the CLI. The
//! binary in `main.rs` only parses and dispatches, so that tests can drive all of it.

pub mod backend;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod experiment;
pub mod experiments;
pub mod flags;
pub mod memory;
pub mod metrics;
pub mod plot;
pub mod stats;
pub mod sweep;
pub mod trainer;
pub mod util;
