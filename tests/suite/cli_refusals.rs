//! The real binary refuses every way a user can get a command wrong in one clear line: bad
//! arguments, a backend not compiled in, an output path that cannot be made, damaged or
//! foreign checkpoints (never overwritten).

use std::fs;

use crate::common::*;

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
            &["hopfield", "--preset", "capacity", "--neurons", "1"],
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
