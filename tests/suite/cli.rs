//! The real binary: listing, training, evaluation, resuming, and every way a user can get
//! it wrong.

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
fn bad_arguments_fail_with_one_clear_line() {
    zoo_fails(&["train", "no-such-model"], "no-such-model");
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--preset",
            "nope",
            "--out",
            "/tmp/unused-zoo",
        ],
        "invalid value 'nope' for '--preset",
    );
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--lr",
            "-0.1",
            "--out",
            "/tmp/unused-zoo",
        ],
        "--lr must lie in (0, ∞)",
    );
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--neurons",
            "0",
            "--out",
            "/tmp/unused-zoo",
        ],
        "neurons must be at least 1",
    );
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--episodes",
            "0",
            "--out",
            "/tmp/unused-zoo",
        ],
        "episodes must be at least 1",
    );
    for (args, needle) in [
        (
            &["esn", "--task", "lorenz"][..],
            "invalid value 'lorenz' for '--task",
        ),
        (&["esn", "--connectivity", "0"], "(0, 1]"),
        (&["force", "--neurons", "0"], "at least 1 neuron"),
        (&["force", "--g", "-1"], "--g must lie in [0, ∞)"),
        (&["force", "--dt", "1"], "0 < dt < τ"),
        (&["bayesian-synapse", "--connectivity", "1.5"], "(0, 1]"),
        (
            &["bayesian-synapse", "--eta", "-0.001"],
            "--eta must lie in (0, ∞)",
        ),
        (
            &["bayesian-synapse", "--rule", "classical", "--eta", "0"],
            "--eta must lie in (0, ∞)",
        ),
        (&["bayesian-synapse", "--g="], "is not a number"),
        (&["bayesian-synapse", "--networks", "0"], "at least 1"),
        (
            &["hopfield", "--loads", "0.1,0"],
            "--loads must lie in (0, ∞)",
        ),
        (
            &["hopfield", "--capacity", "--neurons", "1"],
            "at least 2 neurons",
        ),
        (&["hopfield", "--cue-flip", "0.5"], "[0, 0.5)"),
        (
            &["hopfield", "--dense", "cubic", "--dense-loads", "-1"],
            "--dense-loads must lie in (0, ∞)",
        ),
        (
            &["hopfield", "--dense", "quadratic"],
            "invalid value 'quadratic'",
        ),
        (&["sorn", "--repeats", "4,0"], "at least 1 repeat"),
        (
            &["sorn", "--stdp-rate", "0"],
            "--stdp-rate must lie in (0, ∞)",
        ),
        (
            &["sorn", "--ip-rate", "-0.001"],
            "--ip-rate must lie in (0, ∞)",
        ),
        (&["sorn", "--replicates", "0"], "at least 1"),
        (&["sorn", "--input-pool", "50"], "exceed the 200 excitatory"),
        (&["sorn", "--l2", "0"], "--l2 must lie in (0, ∞)"),
        (&["sorn", "--readout", "lasso"], "invalid value 'lasso'"),
        (
            &["plastic-rnn", "--grad", "bptt", "--truncate", "0"],
            "--truncate must be at least 1 step",
        ),
        (
            &["plastic-rnn", "--truncate", "5"],
            "--truncate needs --grad bptt",
        ),
        (
            &["rnn", "--truncate", "0"],
            "--truncate must be at least 1 step",
        ),
        (
            &["plastic-rnn", "--modulation", "simple"],
            "--modulation simple needs --grad bptt",
        ),
        (
            &[
                "plastic-rnn",
                "--modulation",
                "retroactive",
                "--grad",
                "bptt",
                "--rule",
                "oja",
            ],
            "--rule applies to an unmodulated trace",
        ),
        (
            &["plastic-rnn", "--modulation", "sometimes"],
            "invalid value 'sometimes'",
        ),
        (
            &["lstm", "--grad-clip", "0"],
            "--grad-clip must lie in (0, ∞)",
        ),
        (
            &["rnn", "--grad-clip", "-1"],
            "--grad-clip must lie in (0, ∞)",
        ),
        (
            &["lstm", "--hidden", "10", "--preset", "dp-50bit"],
            "--hidden must be at least",
        ),
        (
            &["lstm", "--preset", "nope"],
            "invalid value 'nope' for '--preset",
        ),
        (
            &["cue-reward", "--modulation", "sometimes"],
            "invalid value 'sometimes'",
        ),
        (
            &["cue-reward", "--core", "rnn", "--modulation", "simple"],
            "a non-plastic core has no modulation",
        ),
        (&["cue-reward", "--cues", "3"], "cues must be even"),
        (&["cue-reward", "--steps", "0"], "steps must be at least 1"),
        (
            &["cue-reward", "--hidden", "0"],
            "--hidden must be at least 1",
        ),
        (
            &["cue-reward", "--discount", "1.5"],
            "--discount must lie in [0, 1]",
        ),
        (
            &["cue-reward", "--entropy-weight", "-1"],
            "--entropy-weight must lie in [0, ∞)",
        ),
        (
            &["cue-reward", "--grad-clip", "0"],
            "--grad-clip must lie in (0, ∞)",
        ),
    ] {
        let mut command = vec!["train"];
        command.extend(args);
        command.extend(["--out", "/tmp/unused-zoo"]);
        zoo_fails(&command, needle);
    }
    zoo_fails(&["eval", "/no/such/run"], "does not exist");
    zoo_fails(&["--backend", "cuda", "list"], "unknown backend");
}

#[cfg(not(feature = "flex"))]
#[test]
fn a_backend_not_compiled_in_names_its_feature() {
    zoo_fails(&["--backend", "flex", "list"], "--features flex");
}

#[test]
fn an_output_path_that_cannot_be_created_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain-file");
    fs::write(&file, "not a directory").unwrap();
    let out = file.join("sub");
    zoo_fails(
        &small_run_args(out.to_str().unwrap(), "r", "2"),
        "cannot create run directory",
    );
}

#[test]
fn damaged_or_foreign_checkpoints_are_refused_and_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_ok(&small_run_args(out, "good", "3"));
    let good = run_dir(tmp.path(), "good");
    let snapshot = |dir: &std::path::Path| {
        [
            "MANIFEST",
            "model.mpk",
            "optimizer.mpk",
            "state.json",
            "config.json",
        ]
        .map(|f| fs::read(latest(dir).join(f)).unwrap())
    };
    let original = snapshot(&good);

    // Training again into the same run name refuses rather than overwriting.
    zoo_fails(&small_run_args(out, "good", "3"), "already holds a run");

    let copy = |name: &str| {
        let dir = run_dir(tmp.path(), name);
        copy_run(&good, &dir);
        dir
    };
    // A truncated model file.
    let truncated = copy("truncated");
    let model = latest(&truncated).join("model.mpk");
    let bytes = fs::read(&model).unwrap();
    fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    zoo_fails(
        &["eval", truncated.to_str().unwrap()],
        "truncated or corrupt",
    );
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--resume",
            truncated.to_str().unwrap(),
            "--episodes",
            "6",
        ],
        "truncated or corrupt",
    );

    // A well-formed checkpoint of another model.
    let foreign = copy("foreign");
    let checkpoint = latest(&foreign);
    let state = fs::read_to_string(checkpoint.join("state.json"))
        .unwrap()
        .replace("\"plastic-rnn\"", "\"tempotron\"");
    fs::write(checkpoint.join("state.json"), &state).unwrap();
    reseal(&checkpoint, "tempotron");
    zoo_fails(
        &["eval", foreign.to_str().unwrap()],
        "unknown model 'tempotron'",
    );
    // Labelled as a model that exists, with the files of another: refused, not misread.
    fs::write(
        checkpoint.join("state.json"),
        state.replace("\"tempotron\"", "\"hebbian-ff\""),
    )
    .unwrap();
    reseal(&checkpoint, "hebbian-ff");
    zoo_fails(&["eval", foreign.to_str().unwrap()], "of another shape");
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--resume",
            foreign.to_str().unwrap(),
            "--episodes",
            "6",
        ],
        "not a 'plastic-rnn' one",
    );

    // Weights of another shape under this configuration.
    zoo_ok(&[
        "train",
        "plastic-rnn",
        "--preset",
        "bohp",
        "--neurons",
        "8",
        "--patterns",
        "2",
        "--episodes",
        "1",
        "--out",
        out,
        "--run-name",
        "small",
        "--eval-episodes",
        "1",
    ]);
    let reshaped = copy("reshaped");
    fs::copy(
        latest(&run_dir(tmp.path(), "small")).join("model.mpk"),
        latest(&reshaped).join("model.mpk"),
    )
    .unwrap();
    reseal(&latest(&reshaped), "plastic-rnn");
    zoo_fails(&["eval", reshaped.to_str().unwrap()], "shape");

    // A directory that is no checkpoint at all.
    zoo_fails(&["eval", out], "is not a checkpoint");

    assert_eq!(
        original,
        snapshot(&good),
        "the good checkpoint must be untouched"
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
