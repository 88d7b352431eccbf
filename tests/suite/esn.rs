//! `train esn` through the one trainer: it fits, writes a checkpoint that `eval` scores the
//! same, takes NARMA too and refuses a split with nothing to fit. In a binary of its own:
//! it runs in f32, the reservoir parts' tests in f64, and a process keeps one float type per
//! device.
#![cfg(feature = "ndarray")]

use plastic_zoo::backend::BackendChoice;
use plastic_zoo::checkpoint::RunDir;
use plastic_zoo::experiment::launch::{self, TrainRequest};
use plastic_zoo::experiments::esn::EsnExperiment;
use serde_json::json;

#[test]
fn train_esn_fits_saves_and_eval_reproduces_its_test_error() {
    let tmp = tempfile::tempdir().unwrap();
    let request = |flags: serde_json::Value| TrainRequest {
        flags,
        out: tmp.path().to_path_buf(),
        ..Default::default()
    };
    let trained = launch::train::<EsnExperiment>(
        request(json!({"units": 50, "samples": 1000})),
        BackendChoice::Ndarray,
    )
    .unwrap();
    let test_rmse = trained.reports[0].metrics["test_rmse"];
    assert!(test_rmse < 0.01, "one-step test RMSE {test_rmse}");

    let (_, checkpoint) = RunDir::open(&tmp.path().join("esn/mackey-glass-n50-seed0")).unwrap();
    let evaluated =
        launch::eval::<EsnExperiment>(&checkpoint, json!({}), BackendChoice::Ndarray).unwrap();
    let again = evaluated.metrics["test_rmse"];
    assert!(
        (again - test_rmse).abs() < 1e-3 * test_rmse,
        "eval gives {again}, training gave {test_rmse}"
    );

    let generative = trained.reports[0].metrics["generative_rmse"];
    assert!(
        (evaluated.metrics["generative_rmse"] - generative).abs() < 1e-3 * generative,
        "eval's closed loop {} against training's {generative}",
        evaluated.metrics["generative_rmse"]
    );

    // reservoirpy's README network runs the series on its own, on its predictions, for 100
    // steps (a closed loop that went astray would wander over the attractor's range, ~0.2).
    let preset =
        launch::train::<EsnExperiment>(request(json!({})), BackendChoice::Ndarray).unwrap();
    let generative = preset.reports[0].metrics["generative_rmse"];
    assert!(generative < 0.1, "closed-loop RMSE {generative}");

    // NARMA-10 through the same path: a worse but finite fit.
    let narma = launch::train::<EsnExperiment>(
        request(json!({"task": "narma10", "units": 50, "samples": 1000})),
        BackendChoice::Ndarray,
    )
    .unwrap();
    let nrmse = narma.reports[0].metrics["test_nrmse"];
    assert!(nrmse > 0.0 && nrmse < 1.0, "NARMA-10 test NRMSE {nrmse}");

    // A warm-up that leaves nothing to fit, and a closed loop longer than the test set, are
    // refused with the reason.
    let refused = launch::train::<EsnExperiment>(
        request(json!({"generative_steps": 500, "samples": 1000})),
        BackendChoice::Ndarray,
    );
    let message = format!("{:#}", refused.err().expect("refused"));
    assert!(
        message.contains("run past the 200 test samples"),
        "{message}"
    );
    let refused = launch::train::<EsnExperiment>(
        request(json!({"warmup": 900, "samples": 1000})),
        BackendChoice::Ndarray,
    );
    let message = format!("{:#}", refused.err().expect("refused"));
    assert!(message.contains("leave no training samples"), "{message}");
}
