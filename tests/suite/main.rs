//! The integration tests that drive the real binary or run models in-process in f32, one
//! binary with a module per area: Burn with wgpu and flex is linked once instead of once per
//! file. Each module's `//!` says what it proves; `common` holds the helpers that drive the
//! binary.
//!
//! In-process Burn work here is f32 only. Burn fixes the float type of ndarray's one CPU
//! device for the whole process at its first use, so an f64 check in this binary would make
//! every f32 run after it compute in f64 (and the other way round): the f64 checks live in
//! the `f64` test binary.

#[path = "../common/mod.rs"]
mod common;

mod backends;
mod checkpoints;
mod cli;
mod cli_refusals;
mod config;
mod cue_reward;
mod docs;
mod esn;
mod feedback_alignment_cli;
mod flag_values;
mod guards;
mod hebbian_ff;
mod hopfield_capacity;
mod learned_rule_checkpoint;
mod new_experiment;
mod rate_learning;
mod resume;
mod run_integrity;
mod sorn;
mod sweep_cluster;
mod sweeps;
mod training;
mod user_errors;
mod weights;
mod zoo;
