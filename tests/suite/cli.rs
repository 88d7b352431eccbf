//! The real binary: listing, training, evaluation, resuming, divergence, RTRL runs and
//! `compare` (the ways a user can get it wrong: `cli_refusals.rs`).

use std::fs;

use crate::common::*;

#[test]
fn list_names_models_and_presets() {
    let out = stdout(&zoo_ok(&["list"]));
    for name in [
        "plastic-rnn",
        "hebbian-ff",
        "learned-rule",
        "feedback-alignment",
        "esn",
        "force",
        "bayesian-synapse",
        "hopfield",
        "sorn",
        "bohp",
        "dp-simple",
        "dp-50bit",
    ] {
        assert!(out.contains(name), "list lacks {name}:\n{out}");
    }
}

#[test]
fn train_writes_a_checkpoint_that_eval_reproduces() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let trained = zoo_ok(&small_run_args(out, "r", "5"));
    let dir = run_dir(tmp.path(), "r");
    for file in [
        "config.json",
        "LATEST",
        "metrics.jsonl",
        "learning_curve.png",
        "weights.png",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let checkpoint = latest(&dir);
    for file in [
        "MANIFEST",
        "config.json",
        "model.mpk",
        "optimizer.mpk",
        "state.json",
    ] {
        assert!(checkpoint.join(file).is_file(), "{file} missing");
    }
    // Checkpoints at 3 and 5: the previous one is kept beside the current one.
    assert!(dir.join("checkpoint-000000003").is_dir());
    let metrics = fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 5);
    let state = state_of(&dir);
    assert_eq!(state["step"], 5);
    assert_eq!(state["model"], "plastic-rnn");
    assert!(state["crate_version"].is_string() && state["rng"].is_object());

    let evaluated = zoo_ok(&["eval", dir.to_str().unwrap(), "--episodes", "8"]);
    assert_eq!(eval_line(&trained), eval_line(&evaluated));
    // Same again: evaluation episodes come from a fixed seed.
    assert_eq!(
        eval_line(&evaluated),
        eval_line(&zoo_ok(&["eval", dir.to_str().unwrap(), "--episodes", "8"]))
    );
}

#[test]
fn resumed_run_ends_bit_identical_to_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let whole = zoo_ok(&small_run_args(out, "whole", "7"));
    zoo_ok(&small_run_args(out, "part", "4"));
    let part = run_dir(tmp.path(), "part");
    let resumed = zoo_ok(&[
        "train",
        "plastic-rnn",
        "--resume",
        part.to_str().unwrap(),
        "--episodes",
        "7",
        "--eval-episodes",
        "8",
    ]);
    let read =
        |name: &str| fs::read_to_string(run_dir(tmp.path(), name).join("metrics.jsonl")).unwrap();
    assert_eq!(
        read("whole"),
        read("part"),
        "per-episode losses must match bit for bit"
    );
    assert_eq!(eval_line(&whole), eval_line(&resumed));
    // A resumed run keeps its configuration.
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--resume",
            part.to_str().unwrap(),
            "--episodes",
            "9",
            "--lr",
            "0.1",
        ],
        "only --episodes, --checkpoint-every",
    );
    // Nothing left to do: a clear refusal, checkpoint untouched.
    let model_before = fs::read(latest(&part).join("model.mpk")).unwrap();
    zoo_fails(
        &["train", "plastic-rnn", "--resume", part.to_str().unwrap()],
        "already completed",
    );
    assert_eq!(
        model_before,
        fs::read(latest(&part).join("model.mpk")).unwrap()
    );
}

#[test]
fn divergence_stops_training_and_keeps_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let args = [
        "train",
        "plastic-rnn",
        "--neurons",
        "12",
        "--patterns",
        "2",
        "--episodes",
        "20",
        "--out",
        out,
        "--run-name",
        "wild",
        "--lr",
        "1e38",
        "--checkpoint-every",
        "1",
    ];
    let line = zoo_fails(&args, "diverged");
    assert!(line.contains("last good checkpoint"), "{line}");
    let dir = run_dir(tmp.path(), "wild");
    let kept = state_of(&dir)["step"].as_u64().unwrap();
    assert!(kept < 20, "training should have stopped early");
    assert!(line.contains(&format!("(step {kept})")), "{line}");
    // The kept checkpoint is finite and loads.
    zoo_ok(&["eval", dir.to_str().unwrap(), "--episodes", "2"]);
}

#[test]
fn rtrl_training_writes_the_same_checkpoint_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let mut args = small_run_args(out, "rtrl", "4");
    args.extend(["--grad", "rtrl"]);
    let trained = zoo_ok(&args);
    assert!(stdout(&trained).contains("rtrl"));
    let dir = run_dir(tmp.path(), "rtrl");
    let config = fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(config.contains(r#""gradient": "rtrl""#), "{config}");
    assert_eq!(
        fs::read_to_string(dir.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        4
    );
    let evaluated = zoo_ok(&["eval", dir.to_str().unwrap(), "--episodes", "8"]);
    assert_eq!(eval_line(&evaluated), eval_line(&trained));
}

#[test]
fn compare_writes_a_table_whose_gradients_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    // Both lengths fill RTRL's window, so that its memory is at its full size in both.
    let window = plastic_models::rtrl::WINDOW_STEPS;
    let steps = format!("{},{}", window + 4, 4 * window);
    let run = zoo_ok(&[
        "compare",
        "--sizes",
        "4,7",
        "--steps",
        &steps,
        "--episodes",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = stdout(&run);
    assert!(text.contains("RTRL needs less memory than BPTT"), "{text}");
    let csv = fs::read_to_string(out.join("compare.csv")).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        for (group, column) in [("W", 2), ("α", 3), ("η", 4)] {
            assert!(
                row[column] <= 1e-9,
                "∂L/∂{group} differs by {} at N={}",
                row[column],
                row[0]
            );
        }
        assert!(row[5] > 0.0 && row[6] > 0.0 && row[7] > 0.0 && row[8] > 0.0);
    }
    // BPTT stores the episode: its peak grows with T; RTRL's does not.
    let (short, long) = (&rows[0], &rows[1]);
    assert!(
        long[7] > 2.0 * short[7],
        "BPTT peak {} vs {}",
        short[7],
        long[7]
    );
    assert!(
        long[8] < 1.5 * short[8],
        "RTRL peak {} vs {}",
        short[8],
        long[8]
    );
    for file in ["compare.md", "compare.png"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    zoo_fails(&["compare", "--sizes", "1"], "at least 2");
}
