//! The plastic-zoo application: CLI, training loops, checkpoints, reports. The binary in
//! `main.rs` is a thin shell over this library so that tests can drive it directly.

pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod compare;
pub mod config;
pub mod memory;
pub mod metrics;
pub mod models;
pub mod plot;
pub mod train;
