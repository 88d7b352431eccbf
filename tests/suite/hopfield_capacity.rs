//! `train hopfield` through the one trainer: the capacity sweep finds the cliff, its one-step
//! error follows the theory, dense memories hold what the classic network loses, and `eval`
//! recalls from the saved network. In a binary of its own: it runs in f32, the model's tests
//! in f64, and a process keeps one float type per device.
#![cfg(feature = "ndarray")]

use plastic_zoo::backend::BackendChoice;
use plastic_zoo::checkpoint::RunDir;
use plastic_zoo::experiment::launch::{self, TrainRequest};
use plastic_zoo::experiments::hopfield::{one_step_theory, HopfieldExperiment};
use serde_json::json;

fn train(out: &std::path::Path, flags: serde_json::Value) -> plastic_zoo::experiment::Report {
    launch::train::<HopfieldExperiment>(
        TrainRequest {
            flags,
            out: out.to_path_buf(),
            ..Default::default()
        },
        BackendChoice::Ndarray,
    )
    .unwrap()
    .reports
    .remove(0)
}

#[test]
fn the_capacity_sweep_finds_the_cliff_and_the_one_step_error_follows_the_theory() {
    let tmp = tempfile::tempdir().unwrap();
    let report = train(
        tmp.path(),
        json!({
            "neurons": [200],
            "loads": [0.05, 0.1, 0.14, 0.2, 0.3],
            "dense": ["cubic"],
            "dense_neurons": 100,
            "dense_loads": [0.3],
            "cue_flip": 0.1,
            "min_probes": 200,
        }),
    );
    let m = &report.metrics;
    assert!(m["recalled.classic.n200.p0.05"] >= 0.98, "{m:?}");
    assert!(m["recalled.classic.n200.p0.3"] < 0.1, "{m:?}");
    // Finite N blurs the cliff upwards (0.186 at N = 100); it still lies between the loads
    // the network holds and those it loses.
    let critical = m["critical_load"];
    assert!((0.12..0.25).contains(&critical), "critical load {critical}");
    assert_eq!(critical, m["critical_load.classic.n200"]);
    // The one-step error counts every unit of every stored pattern; the theory's Gaussian
    // crosstalk has variance P/N, the network's (P − 1)/N.
    for load in ["0.2", "0.3"] {
        let measured = m[&format!("one_step_error.classic.n200.p{load}")];
        let theory = one_step_theory(load.parse().unwrap());
        assert!(
            (measured - theory).abs() < 0.3 * theory,
            "one-step error {measured} at P/N = {load}, theory {theory}"
        );
    }
    // The cubic memory holds P/N = 0.3, where the classic network of the same size fails.
    assert!(m["recalled.cubic.n100.p0.3"] >= 0.98, "{m:?}");
    let dir = tmp.path().join("hopfield/capacity-n200-seed0");
    for file in ["capacity.png", "capacity.json", "metrics.jsonl"] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("capacity.json")).unwrap()).unwrap();
    assert_eq!(
        record["critical_load"]["classic.n200"].as_f64(),
        Some(critical)
    );
    assert_eq!(record["cells"].as_array().unwrap().len(), 6);
}

#[test]
fn eval_recalls_from_the_saved_network_with_fresh_cues() {
    let tmp = tempfile::tempdir().unwrap();
    // The default: 10 patterns in 500 units, cues with 20 % of units flipped.
    let report = train(tmp.path(), json!({}));
    assert_eq!(report.metrics["recalled"], 1.0);
    let (_, checkpoint) = RunDir::open(&tmp.path().join("hopfield/recall-n500-seed0")).unwrap();
    for seed in [0, 1] {
        let evaluated = launch::eval::<HopfieldExperiment>(
            &checkpoint,
            json!({ "seed": seed }),
            BackendChoice::Ndarray,
        )
        .unwrap();
        assert_eq!(evaluated.metrics["saved.recalled"], 1.0);
        assert_eq!(evaluated.metrics["saved.neurons"], 500.0);
    }
    // An overloaded network recalls little from the same cues: eval probes the saved
    // weights.
    let overloaded = train(
        tmp.path(),
        json!({"loads": [0.4], "cue_flip": 0.1, "min_probes": 1, "seed": 1}),
    );
    let dir = overloaded.run.unwrap();
    let (_, checkpoint) = RunDir::open(&dir).unwrap();
    let evaluated =
        launch::eval::<HopfieldExperiment>(&checkpoint, json!({}), BackendChoice::Ndarray).unwrap();
    assert!(
        evaluated.metrics["saved.recalled"] < 0.2,
        "{:?}",
        evaluated.metrics
    );
}
