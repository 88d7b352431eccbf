//! The optional backends train, checkpoint and reload through the real binary, and their
//! numbers agree with the default ndarray backend on the same checkpoint. Each test is built
//! only with its feature (`--features wgpu`, `--features flex`); the wgpu one needs a Vulkan
//! driver (CI installs Mesa's llvmpipe).
#![cfg(any(feature = "wgpu", feature = "flex"))]

mod common;

use common::*;

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

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_trains_saves_and_reloads() {
    trains_saves_and_reloads("wgpu");
}

#[cfg(feature = "flex")]
#[test]
fn flex_trains_saves_and_reloads() {
    trains_saves_and_reloads("flex");
}
