//! `train sorn` through the one trainer, with `eval` on its checkpoint; the network's own
//! tests are beside it in the models crate.
#![cfg(feature = "ndarray")]

use plastic_zoo::backend::BackendChoice;
use plastic_zoo::checkpoint::RunDir;
use plastic_zoo::experiment::launch::{self, TrainRequest};
use plastic_zoo::experiments::sorn::SornExperiment;
use serde_json::json;

#[test]
fn train_sorn_learns_short_words_and_eval_scores_its_checkpoint_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let flags = json!({
        "repeats": [3],
        "replicates": 2,
        "excitatory": 100,
        "inhibitory": 20,
        "plastic_steps": 3000,
        "readout_train": 1000,
        "readout_test": 1000,
        "steps_per_update": 500,
        "checkpoint_every": 2,
    });
    let trained = launch::train::<SornExperiment>(
        TrainRequest {
            flags,
            out: tmp.path().to_path_buf(),
            ..Default::default()
        },
        BackendChoice::Ndarray,
    )
    .unwrap();
    let metrics = &trained.reports[0].metrics;
    let sorn = metrics["sorn_accuracy.n3"];
    // Always guessing the middle letter scores 3/4 on the predictable letters.
    assert!(
        sorn > 0.9,
        "SORN predicts {sorn} of the letters of words of 3 repeats"
    );
    for key in [
        "ip_only_accuracy.n3",
        "static_accuracy.n3",
        "sorn_accuracy_all.n3",
        "sorn_word_end_lookup.n3",
        "sorn_recurring.n3",
    ] {
        assert!(
            (0.0..=1.0).contains(&metrics[key]),
            "{key} = {}",
            metrics[key]
        );
    }
    let dir = tmp.path().join("sorn/counting-n3-seed0");
    for file in ["counting.png", "accuracy.json", "metrics.jsonl"] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    let (_, checkpoint) = RunDir::open(&dir).unwrap();
    let evaluated =
        launch::eval::<SornExperiment>(&checkpoint, json!({}), BackendChoice::Ndarray).unwrap();
    let again = evaluated.metrics["sorn_accuracy.n3"];
    assert!(
        (again - sorn).abs() < 0.05,
        "eval on fresh letters gives {again}, training gave {sorn}"
    );
}
