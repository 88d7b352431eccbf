//! `train force` and `train bayesian-synapse` through the one trainer, in f32 (a binary of
//! its own: the rules' hand checks run in f64, and a process keeps one float type per
//! device): training makes the loop generate its target, eval scores a checkpoint as
//! training did, the sweep writes its table and plots, and bad settings are refused.
#![cfg(feature = "ndarray")]

use plastic_zoo::backend::BackendChoice;
use plastic_zoo::checkpoint::RunDir;
use plastic_zoo::experiment::launch::{self, TrainRequest};
use plastic_zoo::experiments::bayesian_synapse::BayesianSynapseExperiment;
use plastic_zoo::experiments::force::ForceExperiment;
use serde_json::{json, Value};

fn metric_lines(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn refusal<E: plastic_zoo::experiment::Experiment>(flags: Value, out: &std::path::Path) -> String {
    let refused = launch::train::<E>(
        TrainRequest {
            flags,
            out: out.to_path_buf(),
            ..Default::default()
        },
        BackendChoice::Ndarray,
    );
    format!("{:#}", refused.err().expect("refused"))
}

/// Trains `E` with `flags` into `<out>/<model>/<name>` on ndarray: its report.
fn train<E: plastic_zoo::experiment::Experiment>(
    flags: Value,
    out: &std::path::Path,
    name: &str,
) -> plastic_zoo::experiment::Report {
    launch::train::<E>(
        TrainRequest {
            flags,
            out: out.to_path_buf(),
            run_name: Some(name.into()),
            ..Default::default()
        },
        BackendChoice::Ndarray,
    )
    .unwrap()
    .reports
    .remove(0)
}

#[test]
fn force_learns_to_generate_the_four_sines_and_eval_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |train_time: f64, name: &str| {
        train::<ForceExperiment>(
            json!({"network": {"neurons": 300}, "train_time": train_time, "test_time": 240.0}),
            tmp.path(),
            name,
        )
    };
    let short = run(240.0, "short");
    let long = run(1440.0, "long");
    let (short_mae, long_mae) = (short.metrics["test_mae"], long.metrics["test_mae"]);
    // Two periods of RLS leave the loop unable to run on its own; twelve teach it.
    assert!(
        long_mae < 0.1 && short_mae > 2.0 * long_mae,
        "test MAE {short_mae} after 240, {long_mae} after 1440"
    );

    // The weights settle: |Δw| in the last period is well below the first's.
    let dir = tmp.path().join("force/long");
    let lines = metric_lines(&dir);
    let change = |line: &Value| line["mean_dw"].as_f64().unwrap();
    assert_eq!(lines.len(), 12);
    assert!(change(&lines[11]) < 0.5 * change(&lines[0]), "{lines:?}");
    for plot in ["tracking.png", "weight_change.png"] {
        assert!(dir.join(plot).is_file(), "{plot} missing");
    }

    let (_, checkpoint) = RunDir::open(&dir).unwrap();
    let evaluated =
        launch::eval::<ForceExperiment>(&checkpoint, json!({}), BackendChoice::Ndarray).unwrap();
    let again = evaluated.metrics["test_mae"];
    assert!(
        (again - long_mae).abs() < 1e-6,
        "eval {again}, training {long_mae}"
    );

    for (flags, needle) in [
        (json!({"network": {"neurons": 0}}), "at least 1 neuron"),
        (json!({"network": {"connectivity": 1.5}}), "(0, 1]"),
        (
            json!({"network": {"gains": [-1.0]}}),
            "--g must lie in [0, ∞)",
        ),
        (json!({"network": {"dt": 2.0}}), "dt < τ"),
        (json!({"alpha": 0.0}), "--alpha must lie in (0, ∞)"),
    ] {
        let message = refusal::<ForceExperiment>(flags, tmp.path());
        assert!(message.contains(needle), "{message}");
    }
}

#[test]
fn both_delta_rules_learn_and_eval_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let trained = train::<BayesianSynapseExperiment>(
        json!({
            "network": {"neurons": 200, "networks": 2},
            "targets": 2,
            "trials": 40,
            "test_every": 20,
            "rates": [{"rule": "classical", "eta": 1e-4}, {"rule": "bayesian", "eta": 1e-3}],
        }),
        tmp.path(),
        "both",
    );
    let dir = tmp.path().join("bayesian-synapse/both");
    let lines = metric_lines(&dir);
    // Trial 0 is measured before any learning: a zero readout scores the target's variance.
    for rule in ["classical 1e-4", "bayesian 1e-3"] {
        let at = |trial: usize| lines[trial][format!("test_mse/{rule}")].as_f64().unwrap();
        assert!((at(0) - 1.0).abs() < 1e-4, "{rule} at trial 0: {}", at(0));
        assert!(at(40) < 0.5, "{rule} at trial 40: {}", at(40));
    }
    for file in ["summary.md", "mse.png", "tracking.png"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    assert!(trained.metrics["best_bayesian_mse"] < 0.5);
    assert_eq!(trained.metrics["diverged"], 0.0);

    let (_, checkpoint) = RunDir::open(&dir).unwrap();
    let evaluated =
        launch::eval::<BayesianSynapseExperiment>(&checkpoint, json!({}), BackendChoice::Ndarray)
            .unwrap();
    for name in ["median_mse/classical 1e-4", "median_mse/bayesian 1e-3"] {
        let (again, trained) = (evaluated.metrics[name], trained.metrics[name]);
        assert!(
            (again - trained).abs() < 1e-6,
            "{name}: eval {again}, training {trained}"
        );
    }

    for (flags, needle) in [
        (
            json!({"rates": [{"rule": "bayesian", "eta": 0.0}]}),
            "--eta must lie in (0, ∞)",
        ),
        (json!({"rates": []}), "list of learning rates is empty"),
        (
            json!({"network": {"gains": []}}),
            "list of gains g is empty",
        ),
        (json!({"targets": 0}), "at least 1"),
        (
            json!({"error_variance": -1.0}),
            "--error-variance must lie in (0, ∞)",
        ),
    ] {
        let message = refusal::<BayesianSynapseExperiment>(flags, tmp.path());
        assert!(message.contains(needle), "{message}");
    }
}

#[test]
fn a_rate_too_large_diverges_is_counted_and_does_not_stop_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let trained = train::<BayesianSynapseExperiment>(
        json!({
            "network": {"neurons": 200, "networks": 2},
            "targets": 2,
            "trials": 3,
            "test_every": 3,
            "rates": [{"rule": "classical", "eta": 1e-4}, {"rule": "classical", "eta": 1.0}],
        }),
        tmp.path(),
        "run",
    );
    assert_eq!(trained.metrics["diverged"], 4.0);
    assert!(trained.metrics["median_mse/classical 1e0"].is_infinite());
    assert!(trained.metrics["median_mse/classical 1e-4"] < 1.0);
}

#[test]
fn noise_and_the_update_schedule_change_what_is_learned() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |noise: f64, learn_every: usize, name: &str| {
        train::<BayesianSynapseExperiment>(
            json!({
                "network": {"neurons": 100, "networks": 1},
                "targets": 2,
                "trials": 4,
                "test_every": 4,
                "error_noise": noise,
                "learn_every": learn_every,
                "rates": [{"rule": "classical", "eta": 1e-3}],
            }),
            tmp.path(),
            name,
        );
        metric_lines(&tmp.path().join("bayesian-synapse").join(name))
    };
    let (quiet, noisy, again) = (
        run(0.0, 1, "quiet"),
        run(1.0, 1, "noisy"),
        run(1.0, 1, "again"),
    );
    // Before learning both score the same; after, the noise has moved the weights elsewhere,
    // and the same seed draws the same noise.
    assert_eq!(quiet[0]["test_mse"], noisy[0]["test_mse"]);
    assert_ne!(quiet[4]["test_mse"], noisy[4]["test_mse"]);
    assert_eq!(noisy[4]["test_mse"], again[4]["test_mse"]);
    let refused = refusal::<BayesianSynapseExperiment>(json!({"error_noise": -1.0}), tmp.path());
    assert!(
        refused.contains("--error-noise must lie in [0, ∞)"),
        "{refused}"
    );
}
