//! Mistakes a user makes get one line that names the real flag or file, and a value given
//! is the value used: unknown settings and impossible values are refused, never replaced.

use std::fs;

use crate::common::*;

#[test]
fn unknown_settings_are_refused_in_every_section_at_any_depth() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let cases = [
        ("plastic-rnn", r#"{"model": {"bogus": 1}}"#, "model.bogus"),
        (
            "plastic-rnn",
            r#"{"model": {"model": {"neurons": 5}}}"#,
            "model.model",
        ),
        ("rnn", r#"{"model": {"bogus": 1}}"#, "model.bogus"),
        ("lstm", r#"{"model": {"bogus": 1}}"#, "model.bogus"),
        ("learned-rule", r#"{"rule": {"bogus": 1}}"#, "rule.bogus"),
        (
            "feedback-alignment",
            r#"{"network": {"bogus": 1}}"#,
            "network.bogus",
        ),
        ("esn", r#"{"bogus": 1}"#, "bogus"),
    ];
    for (k, (model, text, field)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("config{k}.json"));
        fs::write(&file, text).unwrap();
        let line = zoo_fails(
            &[
                "train",
                model,
                "--config",
                file.to_str().unwrap(),
                "--out",
                out,
            ],
            "unknown field",
        );
        assert!(line.contains(field), "{model}: {line}");
    }
    // A null is a value: for a required number it is refused, naming the field.
    let file = tmp.path().join("null.json");
    fs::write(
        &file,
        r#"{"train": {"optimizer": {"learning_rate": null}}}"#,
    )
    .unwrap();
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--config",
            file.to_str().unwrap(),
            "--out",
            out,
        ],
        "train.optimizer.learning_rate",
    );
}

#[test]
fn a_flag_given_is_the_value_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_fails(
        &["train", "plastic-rnn", "--lr", "nan", "--out", out],
        "'--lr <LEARNING_RATE>'",
    );
    zoo_fails(
        &["train", "force", "--g", "1,nan", "--out", out],
        "'--g <G>...'",
    );
    zoo_fails(
        &[
            "train",
            "plastic-rnn",
            "--presentation-steps",
            "0",
            "--out",
            out,
        ],
        "presentation steps must be at least 1",
    );
    assert!(
        fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "refused runs leave nothing behind"
    );
}

#[test]
fn esn_refuses_no_closed_loop_steps_instead_of_panicking() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_fails(
        &["train", "esn", "--generative-steps", "0", "--out", out],
        "--generative-steps must be at least 1",
    );
    assert!(!tmp.path().join("esn").exists());
}

#[test]
fn messages_name_the_real_flag_or_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_fails(&["eval"], "<DIR>");
    zoo_fails(
        &["train", "cue-reward", "--compare", "--seedz", "1"],
        "'--seedz'",
    );
    let file = tmp.path().join("file.txt");
    fs::write(&file, "x").unwrap();
    zoo_fails(
        &["eval", file.to_str().unwrap()],
        "is a file, not a run directory",
    );
    zoo_fails(
        &["eval", "checkpoints/zoo/plastic-rnn/bohp", "--task", "xor"],
        "--task does not apply",
    );
    zoo_fails(
        &["eval", "checkpoints/zoo/plastic-rnn/bohp", "--budget", "5"],
        "--budget does not apply",
    );
    // esn cannot be made longer, and its message does not invent a flag for it.
    zoo_ok(&[
        "train",
        "esn",
        "--units",
        "20",
        "--samples",
        "600",
        "--warmup",
        "10",
        "--out",
        out,
        "--run-name",
        "esn",
    ]);
    let run = tmp.path().join("esn/esn");
    let line = zoo_fails(
        &["train", "esn", "--resume", run.to_str().unwrap()],
        "cannot be made longer",
    );
    assert!(!line.contains("pass a larger"), "{line}");
    zoo_fails(
        &[
            "train",
            "esn",
            "--resume",
            run.to_str().unwrap(),
            "--out",
            "elsewhere",
        ],
        "leave out --out",
    );
}

#[test]
fn a_plot_that_cannot_be_written_is_one_line_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_ok(&small_run_args(out, "r", "6"));
    let run = run_dir(tmp.path(), "r");
    // The plot's name taken by a directory: the write fails however privileged the user.
    fs::remove_file(run.join("report.json")).unwrap();
    fs::remove_file(run.join("learning_curve.png")).unwrap();
    fs::create_dir(run.join("learning_curve.png")).unwrap();
    let finish = zoo(&["train", "plastic-rnn", "--resume", run.to_str().unwrap()]);
    assert_eq!(finish.status.code(), Some(1));
    let err = stderr(&finish);
    let line = err.lines().last().unwrap_or_default();
    assert!(
        line.starts_with("error: cannot write plot") && line.contains("learning_curve.png"),
        "{err}"
    );
    assert!(!line.contains("Drawing backend error"), "{line}");
}
