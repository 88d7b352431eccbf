//! The checks that compute in f64 in this process: gradients against finite differences,
//! updates against formulas worked by hand. Burn fixes the float type of ndarray's one CPU
//! device for the whole process at its first use, so these cannot share a process with the
//! f32 runs of the `suite` binary; every model here runs on `NdArray<f64>`. Each module's
//! `//!` says what it proves.

#[path = "../common/mod.rs"]
mod common;

mod baselines;
mod feedback_alignment;
mod gradients;
mod hebbian_rules;
mod hopfield;
mod learned_rule;
mod modulation;
mod rate_network;
mod reservoir;
