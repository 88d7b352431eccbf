//! The wgpu backend trains, checkpoints and reloads; its numbers agree with ndarray's.
//! Built only with `--features wgpu`; needs a Vulkan driver (CI installs Mesa's llvmpipe).
#![cfg(feature = "wgpu")]

mod common;

use common::*;

#[test]
fn wgpu_trains_saves_and_reloads() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let mut args = vec!["--backend", "wgpu"];
    args.extend(small_run_args(out, "gpu", "6"));
    let trained = zoo_ok(&args);
    let dir = run_dir(tmp.path(), "gpu");
    let dir = dir.to_str().unwrap();

    let metrics =
        std::fs::read_to_string(run_dir(tmp.path(), "gpu").join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 6);
    for line in metrics.lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(m["loss"].as_f64().unwrap().is_finite());
    }

    let reloaded = zoo_ok(&["--backend", "wgpu", "eval", dir, "--episodes", "8"]);
    assert_eq!(
        eval_line(&trained),
        eval_line(&reloaded),
        "wgpu eval after reload differs"
    );

    // The same checkpoint evaluated on the CPU backend gives the same figures to float precision.
    #[cfg(feature = "ndarray")]
    {
        let cpu = zoo_ok(&["--backend", "ndarray", "eval", dir, "--episodes", "8"]);
        for (g, c) in eval_numbers(&eval_line(&reloaded))
            .iter()
            .zip(eval_numbers(&eval_line(&cpu)))
        {
            assert!(
                (g - c).abs() <= 1e-3 * (1.0 + c.abs()),
                "wgpu {g} vs ndarray {c}"
            );
        }
    }
}
