//! The checks that compute in f64 in this process and reach past the models crate (whose own
//! tests, beside each model, check the models alone): gradients against finite differences,
//! through the plastic RNN's engines, the learned rule's inner loop, the baselines' clipping
//! and modulation. Burn fixes the float type of ndarray's one CPU
//! device for the whole process at its first use, so these cannot share a process with the
//! f32 runs of the `suite` binary; every model here runs on `NdArray<f64>`. Each module's
//! `//!` says what it proves.

#[path = "../common/mod.rs"]
mod common;

mod baselines;
mod gradients;
mod learned_rule;
mod modulation;
