//! The models that learn by local updates or closed-form fits (hebbian-ff, feedback
//! alignment, esn, the rate networks, hopfield, sorn) give on the optional backends what they
//! give on ndarray.

use super::{metrics_of, one_at_a_time};
use crate::common::*;

/// Local Hebbian rules, from the same seed, score the same replications along the way as on
/// ndarray.
#[cfg(feature = "ndarray")]
fn hebbian_ff_learns_as_on_ndarray(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let curve = |engine_backend: &str, name: &str| -> Vec<(f64, f64)> {
        zoo_ok(&[
            "--backend",
            engine_backend,
            "train",
            "hebbian-ff",
            "--task",
            "xor",
            "--hidden",
            "10",
            "--replications",
            "50",
            "--updates",
            "200",
            "--seed",
            "1",
            "--out",
            out,
            "--run-name",
            name,
        ]);
        metrics_of(tmp.path(), "hebbian-ff", name)
            .iter()
            .map(|m| {
                (
                    m["loss"].as_f64().unwrap(),
                    m["success_rate"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (ours, reference) = (curve(backend, "other"), curve("ndarray", "reference"));
    assert_eq!(ours.len(), reference.len());
    for ((loss, rate), (ref_loss, ref_rate)) in ours.iter().zip(&reference) {
        assert!(
            (loss - ref_loss).abs() <= 1e-3 * (1.0 + ref_loss.abs()),
            "{backend} loss {loss} vs ndarray {ref_loss}"
        );
        assert_eq!(rate, ref_rate, "{backend} success rate");
    }
}

#[cfg(feature = "ndarray")]
/// The number that follows `marker` in what `eval DIR` prints on `backend`.
fn eval_figure(backend: &str, dir: &str, marker: &str) -> f64 {
    let text = stdout(&zoo_ok(&["--backend", backend, "eval", dir]));
    text.split(marker)
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no score in {text}"))
        .parse()
        .unwrap()
}

/// Feedback alignment's explicit backward pass on `backend`: a short online FA run (FA and
/// DFA coincide with one hidden layer; two are used) follows the ndarray run's errors, and
/// the checkpoint scores the same on both backends.
fn feedback_alignment_learns_as_on_ndarray(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let run = |engine_backend: &str, name: &str| -> Vec<f64> {
        zoo_ok(&[
            "--backend",
            engine_backend,
            "train",
            "feedback-alignment",
            "--method",
            "fa",
            "--hidden",
            "12,8",
            "--dt",
            "0.05",
            "--steps",
            "300",
            "--log-every",
            "50",
            "--out",
            out,
            "--run-name",
            name,
        ]);
        metrics_of(tmp.path(), "feedback-alignment", name)
            .iter()
            .flat_map(|m| ["mse", "angle_hidden1", "angle_hidden2"].map(|k| m[k].as_f64().unwrap()))
            .collect()
    };
    let (ours, reference) = (run(backend, "other"), run("ndarray", "reference"));
    assert_eq!(ours.len(), reference.len());
    for (value, expected) in ours.iter().zip(&reference) {
        assert!(
            (value - expected).abs() <= 1e-3 * (1.0 + expected.abs()),
            "{backend} {value} vs ndarray {expected}"
        );
    }
    let dir = tmp.path().join("feedback-alignment/other");
    let dir = dir.to_str().unwrap();
    let score = |engine_backend: &str| eval_figure(engine_backend, dir, "last input cycle ");
    let (ours, reference) = (score(backend), score("ndarray"));
    assert!(
        (ours - reference).abs() <= 1e-4 * (1.0 + reference),
        "{backend} eval {ours} vs ndarray {reference}"
    );
}

/// The same reservoir (drawn on the host) and series: the states, the readout and the test
/// error agree with ndarray's to f32 accuracy; `eval` on either backend scores the same.
fn esn_fits_as_on_ndarray(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let run = |engine_backend: &str, name: &str| -> f64 {
        zoo_ok(&[
            "--backend",
            engine_backend,
            "train",
            "esn",
            "--units",
            "40",
            "--samples",
            "600",
            "--out",
            out,
            "--run-name",
            name,
        ]);
        metrics_of(tmp.path(), "esn", name)[0]["test_rmse"]
            .as_f64()
            .unwrap()
    };
    let (ours, reference) = (run(backend, "other"), run("ndarray", "reference"));
    assert!(
        (ours - reference).abs() <= 1e-2 * reference,
        "{backend} test RMSE {ours} vs ndarray {reference}"
    );
    let dir = tmp.path().join("esn/other");
    let dir = dir.to_str().unwrap();
    let score = |engine_backend: &str| eval_figure(engine_backend, dir, "test RMSE ");
    let (ours, reference) = (score(backend), score("ndarray"));
    assert!(
        (ours - reference).abs() <= 1e-2 * reference,
        "{backend} eval {ours} vs ndarray {reference}"
    );
}

/// The same networks (drawn on the host) learning online: FORCE's training and test errors
/// and the delta rules' test errors follow ndarray's, and `eval` scores alike on both.
fn rate_networks_learn_as_on_ndarray(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let run = |model: &str, args: &[&str], engine_backend: &str, name: &str, keys: &[&str]| {
        let mut command = vec!["--backend", engine_backend, "train", model, "--out", out];
        command.extend(["--run-name", name]);
        command.extend(args);
        zoo_ok(&command);
        metrics_of(tmp.path(), model, name)
            .iter()
            .flat_map(|m| {
                keys.iter()
                    .filter_map(|k| m[*k].as_f64())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<f64>>()
    };
    let force = [
        "--neurons",
        "100",
        "--train-time",
        "240",
        "--test-time",
        "120",
    ];
    let synapse = [
        "--neurons",
        "60",
        "--networks",
        "2",
        "--targets",
        "2",
        "--trials",
        "4",
        "--test-every",
        "2",
        "--rule",
        "classical",
        "--eta",
        "1e-4",
    ];
    for (model, args, keys, marker) in [
        ("force", &force[..], &["train_mae", "mean_dw"][..], "MAE "),
        (
            "bayesian-synapse",
            &synapse[..],
            &["online_mse", "test_mse"][..],
            "| classical 1e-4 | ",
        ),
    ] {
        let ours = run(model, args, backend, "other", keys);
        let reference = run(model, args, "ndarray", "reference", keys);
        assert_eq!(ours.len(), reference.len());
        for (value, expected) in ours.iter().zip(&reference) {
            assert!(
                (value - expected).abs() <= 1e-2 * expected.abs() + 1e-5,
                "{model}: {backend} {value} vs ndarray {expected}"
            );
        }
        let dir = tmp.path().join(model).join("other");
        let dir = dir.to_str().unwrap();
        let (ours, reference) = (
            eval_figure(backend, dir, marker),
            eval_figure("ndarray", dir, marker),
        );
        assert!(
            (ours - reference).abs() <= 1e-2 * reference + 1e-5,
            "{model}: {backend} eval {ours} vs ndarray {reference}"
        );
    }
}

#[cfg(all(feature = "wgpu", feature = "ndarray"))]
#[test]
fn wgpu_learns_rate_networks_as_ndarray_does() {
    if !wgpu_runs_here() {
        return;
    }
    let _alone = one_at_a_time();
    rate_networks_learn_as_on_ndarray("wgpu");
}

#[cfg(all(feature = "flex", feature = "ndarray"))]
#[test]
fn flex_learns_rate_networks_as_ndarray_does() {
    let _alone = one_at_a_time();
    rate_networks_learn_as_on_ndarray("flex");
}

#[cfg(all(feature = "wgpu", feature = "ndarray"))]
#[test]
fn wgpu_fits_an_esn_as_ndarray_does() {
    if !wgpu_runs_here() {
        return;
    }
    let _alone = one_at_a_time();
    esn_fits_as_on_ndarray("wgpu");
}

#[cfg(all(feature = "flex", feature = "ndarray"))]
#[test]
fn flex_fits_an_esn_as_ndarray_does() {
    let _alone = one_at_a_time();
    esn_fits_as_on_ndarray("flex");
}

#[cfg(all(feature = "wgpu", feature = "ndarray"))]
#[test]
fn wgpu_learns_feedback_alignment_as_ndarray_does() {
    if !wgpu_runs_here() {
        return;
    }
    let _alone = one_at_a_time();
    feedback_alignment_learns_as_on_ndarray("wgpu");
}

#[cfg(all(feature = "flex", feature = "ndarray"))]
#[test]
fn flex_learns_feedback_alignment_as_ndarray_does() {
    let _alone = one_at_a_time();
    feedback_alignment_learns_as_on_ndarray("flex");
}

#[cfg(all(feature = "wgpu", feature = "ndarray"))]
#[test]
fn wgpu_learns_hebbian_ff_as_ndarray_does() {
    if !wgpu_runs_here() {
        return;
    }
    let _alone = one_at_a_time();
    hebbian_ff_learns_as_on_ndarray("wgpu");
}

#[cfg(all(feature = "flex", feature = "ndarray"))]
#[test]
fn flex_learns_hebbian_ff_as_ndarray_does() {
    let _alone = one_at_a_time();
    hebbian_ff_learns_as_on_ndarray("flex");
}

/// `eval DIR --json` on `backend`: its metrics.
fn eval_metrics(backend: &str, dir: &str) -> serde_json::Value {
    let text = stdout(&zoo_ok(&["--backend", backend, "eval", dir, "--json"]));
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(last).unwrap()["metrics"].clone()
}

/// The binary models, from the same patterns, cues, networks and letters (all drawn on the
/// host): a unit at its threshold may fall either way in f32 on another backend, so the
/// recall fractions, rates and accuracies agree with ndarray's as statistics, within a few
/// probes or steps, and `eval` on either backend scores alike.
fn binary_models_behave_as_on_ndarray(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let hopfield = [
        "--neurons",
        "100",
        "--loads",
        "0.05,0.14",
        "--cue-flip",
        "0.1",
        "--min-probes",
        "100",
    ];
    let sorn = [
        "--repeats",
        "3",
        "--replicates",
        "2",
        "--excitatory",
        "60",
        "--inhibitory",
        "12",
        "--input-pool",
        "5",
        "--plastic-steps",
        "1000",
        "--readout-train",
        "500",
        "--readout-test",
        "500",
        "--steps-per-update",
        "250",
    ];
    for (model, args, key) in [
        ("hopfield", &hopfield[..], "recalled.classic.n100.p0.14"),
        ("sorn", &sorn[..], "sorn_accuracy.n3"),
    ] {
        let mut figures = Vec::new();
        for (engine_backend, name) in [(backend, "other"), ("ndarray", "reference")] {
            let mut command = vec!["--backend", engine_backend, "train", model, "--out", out];
            command.extend(["--run-name", name]);
            command.extend(args);
            zoo_ok(&command);
            let dir = tmp.path().join(model).join(name);
            figures.push(eval_metrics(engine_backend, dir.to_str().unwrap())[key].as_f64());
        }
        let (ours, reference) = (figures[0].unwrap(), figures[1].unwrap());
        assert!(
            (ours - reference).abs() <= 0.06,
            "{model}: {backend} {key} {ours} vs ndarray {reference}"
        );
        let curve = |name: &str| -> Vec<f64> {
            metrics_of(tmp.path(), model, name)
                .iter()
                .map(|m| m["loss"].as_f64().unwrap())
                .collect()
        };
        for (value, expected) in curve("other").iter().zip(curve("reference")) {
            assert!(
                (value - expected).abs() <= 0.06,
                "{model}: {backend} loss {value} vs ndarray {expected}"
            );
        }
        let dir = tmp.path().join(model).join("other");
        let dir = dir.to_str().unwrap();
        let (ours, reference) = (eval_metrics(backend, dir), eval_metrics("ndarray", dir));
        let eval_key = if model == "hopfield" {
            "saved.recalled"
        } else {
            key
        };
        let (ours, reference) = (
            ours[eval_key].as_f64().unwrap(),
            reference[eval_key].as_f64().unwrap(),
        );
        assert!(
            (ours - reference).abs() <= 0.06,
            "{model}: {backend} eval {eval_key} {ours} vs ndarray {reference}"
        );
    }
}

#[cfg(all(feature = "wgpu", feature = "ndarray"))]
#[test]
fn wgpu_runs_hopfield_and_sorn_as_ndarray_does() {
    if !wgpu_runs_here() {
        return;
    }
    let _alone = one_at_a_time();
    binary_models_behave_as_on_ndarray("wgpu");
}

#[cfg(all(feature = "flex", feature = "ndarray"))]
#[test]
fn flex_runs_hopfield_and_sorn_as_ndarray_does() {
    let _alone = one_at_a_time();
    binary_models_behave_as_on_ndarray("flex");
}
