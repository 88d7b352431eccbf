//! The optional backends train, checkpoint and reload through the real binary, and their
//! numbers agree with the default ndarray backend on the same checkpoint. Each test is built
//! only with its feature (`--features wgpu`, `--features flex`). The wgpu ones need a wgpu
//! adapter (a Vulkan driver on Linux; CI installs Mesa's llvmpipe): on a machine without one
//! they say so once and are not run, unless `PLASTIC_ZOO_REQUIRE_WGPU=1` makes that a failure.
#![cfg(any(feature = "wgpu", feature = "flex"))]

use std::sync::{Mutex, MutexGuard};

use crate::common::*;

mod local_models;

/// The cases run one at a time. Every case starts processes that keep both cores busy. Under
/// that load, wgpu on Mesa's llvmpipe has once given an RTRL training loss 1.2e-3 away from
/// ndarray's (relative). The same case run alone, before and after, agreed to the tolerance.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every line of a run's `metrics.jsonl`, parsed.
#[cfg(feature = "ndarray")]
pub(super) fn metrics_of(
    root: &std::path::Path,
    model: &str,
    name: &str,
) -> Vec<serde_json::Value> {
    let path = root.join(model).join(name).join("metrics.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn trains_saves_and_reloads(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let mut args = vec!["--backend", backend];
    args.extend(small_run_args(out, "run", "6"));
    let trained = zoo_ok(&args);
    let dir = run_dir(tmp.path(), "run");

    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 6);
    for line in metrics.lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(m["loss"].as_f64().unwrap().is_finite(), "{backend}: {line}");
    }

    let dir = dir.to_str().unwrap();
    let reloaded = zoo_ok(&["--backend", backend, "eval", dir, "--episodes", "8"]);
    assert_eq!(
        eval_line(&trained),
        eval_line(&reloaded),
        "{backend}: eval after reload differs"
    );

    // The same checkpoint on the CPU reference backend: the same figures to float precision.
    #[cfg(feature = "ndarray")]
    {
        let cpu = zoo_ok(&["--backend", "ndarray", "eval", dir, "--episodes", "8"]);
        let (ours, reference) = (
            eval_numbers(&eval_line(&reloaded)),
            eval_numbers(&eval_line(&cpu)),
        );
        assert_eq!(ours.len(), reference.len());
        for (g, c) in ours.iter().zip(reference) {
            assert!(
                (g - c).abs() <= 1e-3 * (1.0 + c.abs()),
                "{backend} {g} vs ndarray {c}"
            );
        }
    }
}

/// Every gradient engine (RTRL and the adjoint, written by hand; BPTT through autodiff) trains
/// on `backend` along the same per-episode losses as on ndarray. The adjoint runs there on
/// the backend's own kernels (tensor operations on wgpu, host loops on flex) and on ndarray's
/// host loops.
#[cfg(feature = "ndarray")]
fn engines_train_as_on_ndarray(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let losses = |name: &str| -> Vec<f64> {
        let path = run_dir(tmp.path(), name).join("metrics.jsonl");
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| {
                let m: serde_json::Value = serde_json::from_str(line).unwrap();
                m["loss"].as_f64().unwrap()
            })
            .collect()
    };
    for engine in ["rtrl", "adjoint", "bptt"] {
        let (other, reference) = (format!("{engine}-other"), format!("{engine}-reference"));
        for (engine_backend, name) in [(backend, &other), ("ndarray", &reference)] {
            let mut args = vec!["--backend", engine_backend];
            args.extend(small_run_args(out, name, "4"));
            args.extend(["--grad", engine]);
            zoo_ok(&args);
        }
        let (ours, reference) = (losses(&other), losses(&reference));
        assert_eq!(ours.len(), 4);
        for (g, c) in ours.iter().zip(&reference) {
            assert!(
                (g - c).abs() <= 1e-3 * (1.0 + c.abs()),
                "{backend} {engine} loss {g} vs ndarray {c}"
            );
        }
    }
}

/// The networks trained by autodiff beside the plastic RNN's engines train on `backend`
/// along the same per-episode losses as on ndarray: the non-plastic baselines (truncated
/// BPTT, clipped gradients; on the CPU backends their BPTT is written by hand and Adam fused,
/// on wgpu both go through autodiff and Burn's Adam), the modulated plastic RNN, and the
/// cue-reward agents (actions
/// sampled from the policy; the same draws on both backends as long as no probability lands
/// within float error of a draw).
#[cfg(feature = "ndarray")]
fn autodiff_models_train_as_on_ndarray(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let pattern = ["--neurons", "8", "--patterns", "2", "--eval-episodes", "2"];
    let baseline = ["--truncate", "6", "--grad-clip", "1"];
    let cue_reward = [
        "--hidden",
        "6",
        "--steps",
        "20",
        "--batch",
        "3",
        "--cue-bits",
        "4",
        "--eval-episodes",
        "2",
    ];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "rnn",
            [&pattern[..], &baseline, &["--hidden", "6"]].concat(),
        ),
        (
            "lstm",
            [&pattern[..], &baseline, &["--hidden", "12"]].concat(),
        ),
        (
            "plastic-rnn",
            [
                &pattern[..],
                &["--grad", "bptt", "--modulation", "retroactive"],
            ]
            .concat(),
        ),
        (
            "cue-reward",
            [&cue_reward[..], &["--modulation", "simple"]].concat(),
        ),
        ("cue-reward", [&cue_reward[..], &["--core", "rnn"]].concat()),
    ];
    for (case, (model, args)) in cases.iter().enumerate() {
        let (other, reference) = (format!("{case}-other"), format!("{case}-reference"));
        for (run_backend, name) in [(backend, &other), ("ndarray", &reference)] {
            let mut command = vec![
                "--backend",
                run_backend,
                "train",
                model,
                "--out",
                out,
                "--run-name",
                name,
                "--episodes",
                "4",
            ];
            command.extend(args);
            zoo_ok(&command);
        }
        let losses = |name: &str| -> Vec<f64> {
            metrics_of(tmp.path(), model, name)
                .iter()
                .map(|m| m["loss"].as_f64().unwrap())
                .collect()
        };
        let (ours, reference) = (losses(&other), losses(&reference));
        assert_eq!(ours.len(), 4);
        for (g, c) in ours.iter().zip(&reference) {
            assert!(
                (g - c).abs() <= 1e-3 * (1.0 + c.abs()),
                "{backend} {model} {args:?} loss {g} vs ndarray {c}"
            );
        }
    }
}

#[cfg(all(feature = "wgpu", feature = "ndarray"))]
#[test]
fn wgpu_trains_with_every_gradient_engine_as_ndarray_does() {
    if !wgpu_runs_here() {
        return;
    }
    let _alone = one_at_a_time();
    engines_train_as_on_ndarray("wgpu");
}

#[cfg(all(feature = "flex", feature = "ndarray"))]
#[test]
fn flex_trains_with_every_gradient_engine_as_ndarray_does() {
    let _alone = one_at_a_time();
    engines_train_as_on_ndarray("flex");
}

#[cfg(all(feature = "wgpu", feature = "ndarray"))]
#[test]
fn wgpu_trains_the_autodiff_models_as_ndarray_does() {
    if !wgpu_runs_here() {
        return;
    }
    let _alone = one_at_a_time();
    autodiff_models_train_as_on_ndarray("wgpu");
}

#[cfg(all(feature = "flex", feature = "ndarray"))]
#[test]
fn flex_trains_the_autodiff_models_as_ndarray_does() {
    let _alone = one_at_a_time();
    autodiff_models_train_as_on_ndarray("flex");
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_trains_saves_and_reloads() {
    if !wgpu_runs_here() {
        return;
    }
    let _alone = one_at_a_time();
    trains_saves_and_reloads("wgpu");
}

#[cfg(feature = "flex")]
#[test]
fn flex_trains_saves_and_reloads() {
    let _alone = one_at_a_time();
    trains_saves_and_reloads("flex");
}
/// A machine without a wgpu adapter (here: a Vulkan loader pointed at no driver) gets one line
/// naming what is missing, not Burn's panic; `backends` still answers and says the same.
#[cfg(feature = "wgpu")]
#[test]
fn wgpu_without_an_adapter_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let no_driver = |args: &[&str]| {
        std::process::Command::new(BIN)
            .env("VK_ICD_FILENAMES", tmp.path().join("none.json"))
            .env("VK_DRIVER_FILES", tmp.path().join("none.json"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = tmp.path().to_str().unwrap();
    let refused = no_driver(&["--backend", "wgpu", "train", "hopfield", "--out", out]);
    let message = stderr(&refused);
    assert!(!refused.status.success());
    assert!(
        message.contains("backend 'wgpu' cannot run here: no Vulkan adapter found"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(!tmp.path().join("hopfield").exists(), "nothing is written");

    let listed = no_driver(&["--json", "backends"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    assert!(
        text.contains("backend wgpu     no Vulkan adapter found"),
        "{text}"
    );
    assert!(text.contains("backend ndarray  runs on CPU"), "{text}");
}
