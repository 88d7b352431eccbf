//! Every model resumes bit-identically: a run is taken up again from an earlier checkpoint
//! (mid-window, mid-score interval) and must write the same `metrics.jsonl`, byte for byte,
//! and end with weights that evaluate to the same figures, digit for digit.

use std::fs;
use std::path::Path;

use crate::common::*;

/// Trains with `args` into `<out>/<model>/<name>`, then resumes the run from its older kept
/// checkpoint; the metrics and the final model must be the ones of the run straight through.
fn resumes_bit_identically(model: &str, args: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let mut train = vec!["train", model, "--out", out, "--run-name", "r"];
    train.extend(args);
    zoo_ok(&train);
    let dir = tmp.path().join(model).join("r");
    let metrics = fs::read(dir.join("metrics.jsonl")).unwrap();
    let evaluated = stdout(&zoo_ok(&["eval", dir.to_str().unwrap()]));
    let checkpoints = checkpoint_dirs(&dir);
    assert_eq!(checkpoints.len(), 2, "{checkpoints:?}");
    let earlier = &checkpoints[0];

    let resumed = zoo_ok(&["train", model, "--resume", earlier.to_str().unwrap()]);
    assert!(
        stderr(&resumed).contains("from step"),
        "{}",
        stderr(&resumed)
    );
    assert_eq!(
        String::from_utf8(fs::read(dir.join("metrics.jsonl")).unwrap()).unwrap(),
        String::from_utf8(metrics).unwrap(),
        "{model}: the resumed run logged other metrics"
    );
    assert_eq!(
        stdout(&zoo_ok(&["eval", dir.to_str().unwrap()])),
        evaluated,
        "{model}: the resumed run ended with other weights"
    );
}

fn checkpoint_dirs(run: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("checkpoint-")
        })
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn plastic_rnn_resumes_bit_identically() {
    resumes_bit_identically(
        "plastic-rnn",
        &[
            "--neurons",
            "12",
            "--patterns",
            "2",
            "--episodes",
            "11",
            "--checkpoint-every",
            "4",
            "--eval-episodes",
            "4",
        ],
    );
}

#[test]
fn plastic_rnn_with_rtrl_or_modulation_resumes_bit_identically() {
    for engine in [
        &["--grad", "rtrl"][..],
        &["--grad", "bptt", "--modulation", "retroactive"],
    ] {
        let mut args = engine.to_vec();
        args.extend([
            "--neurons",
            "8",
            "--patterns",
            "2",
            "--episodes",
            "7",
            "--checkpoint-every",
            "3",
            "--eval-episodes",
            "4",
        ]);
        resumes_bit_identically("plastic-rnn", &args);
    }
}

#[test]
fn baselines_resume_bit_identically() {
    for (model, hidden) in [("rnn", "6"), ("lstm", "10")] {
        resumes_bit_identically(
            model,
            &[
                "--neurons",
                "8",
                "--patterns",
                "2",
                "--hidden",
                hidden,
                "--episodes",
                "7",
                "--checkpoint-every",
                "3",
                "--eval-episodes",
                "4",
                "--grad-clip",
                "0.5",
                "--truncate",
                "20",
            ],
        );
    }
}

#[test]
fn cue_reward_agents_resume_bit_identically() {
    for core in [&["--modulation", "retroactive"][..], &["--core", "rnn"]] {
        let mut args = core.to_vec();
        args.extend([
            "--hidden",
            "6",
            "--steps",
            "24",
            "--batch",
            "3",
            "--episodes",
            "7",
            "--checkpoint-every",
            "3",
            "--eval-episodes",
            "4",
        ]);
        resumes_bit_identically("cue-reward", &args);
    }
}

#[test]
fn hebbian_ff_resumes_bit_identically() {
    // Checkpoints at 42 (between two scorings, every 5 updates) and at 50.
    resumes_bit_identically(
        "hebbian-ff",
        &[
            "--hidden",
            "10",
            "--replications",
            "20",
            "--updates",
            "50",
            "--score-every",
            "5",
            "--checkpoint-every",
            "21",
        ],
    );
}

#[test]
fn learned_rule_resumes_bit_identically() {
    resumes_bit_identically(
        "learned-rule",
        &[
            "--rule-net",
            "lstm",
            "--meta-steps",
            "5",
            "--meta-batch",
            "4",
            "--inner-steps",
            "4",
            "--checkpoint-every",
            "3",
        ],
    );
}

#[test]
fn feedback_alignment_resumes_bit_identically() {
    // Checkpoints at 390 (in the middle of a 50-update metrics window) and at 400.
    resumes_bit_identically(
        "feedback-alignment",
        &[
            "--method",
            "fa",
            "--hidden",
            "12,8",
            "--dt",
            "0.05",
            "--steps",
            "400",
            "--log-every",
            "50",
            "--checkpoint-every",
            "130",
        ],
    );
}

#[test]
fn force_resumes_bit_identically() {
    // Periods of 120 time units: checkpoints after periods 4 and 5.
    resumes_bit_identically(
        "force",
        &[
            "--neurons",
            "100",
            "--train-time",
            "600",
            "--test-time",
            "120",
            "--checkpoint-every",
            "2",
        ],
    );
}

#[test]
fn bayesian_synapse_resumes_bit_identically() {
    // Checkpoints at trials 4 (between the tests at 3 and 6) and 7; the noise on the errors
    // is drawn per trial, so the resumed trials see the same.
    resumes_bit_identically(
        "bayesian-synapse",
        &[
            "--neurons",
            "60",
            "--networks",
            "2",
            "--targets",
            "2",
            "--trials",
            "7",
            "--test-every",
            "3",
            "--checkpoint-every",
            "4",
            "--preset",
            "sweep",
            "--error-noise",
            "0.5",
        ],
    );
}

#[test]
fn hopfield_resumes_bit_identically() {
    // Cells (60, 0.1), (60, 0.2), (80, 0.1), (80, 0.2): checkpoints after the third and the
    // fourth; the resumed run rebuilds a network of the other size than it starts with.
    resumes_bit_identically(
        "hopfield",
        &[
            "--neurons",
            "60,80",
            "--loads",
            "0.1,0.2",
            "--min-probes",
            "40",
            "--checkpoint-every",
            "3",
        ],
    );
}

#[test]
fn sorn_resumes_bit_identically() {
    // Checkpoints in the plastic phase (after 400 steps) and after the readout.
    resumes_bit_identically(
        "sorn",
        &[
            "--repeats",
            "3",
            "--replicates",
            "1",
            "--excitatory",
            "60",
            "--inhibitory",
            "12",
            "--input-pool",
            "5",
            "--plastic-steps",
            "600",
            "--steps-per-update",
            "100",
            "--readout-train",
            "300",
            "--readout-test",
            "300",
            "--checkpoint-every",
            "4",
        ],
    );
}
