//! The guards around every run, through the real binary: the memory a run needs, checked
//! before anything is allocated, and `--json` for scripts.

use std::fs;

use crate::common::*;

#[test]
fn rtrl_training_refuses_a_network_beyond_the_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    // 200 neurons + bias: (201 + 201²) · 2·201² floats of sensitivity and the window's, 13.2 GiB.
    let args = [
        "train",
        "plastic-rnn",
        "--grad",
        "rtrl",
        "--neurons",
        "200",
        "--max-memory",
        "1G",
        "--out",
        out,
        "--run-name",
        "big",
    ];
    let line = zoo_fails(&args, "needs");
    assert!(
        line.contains("GiB") && line.contains("--max-memory 1.0 GiB"),
        "the error should state the size needed and the limit: {line}"
    );
    assert!(
        !run_dir(tmp.path(), "big").exists(),
        "nothing should be created for a refused run"
    );
    zoo_fails(&["train", "plastic-rnn", "--max-memory", "lots"], "size");
}

#[test]
fn every_model_refuses_a_run_beyond_the_memory_it_has() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let cases: [&[&str]; 14] = [
        &["plastic-rnn", "--neurons", "1000000"],
        &["rnn", "--hidden", "1000000"],
        &["lstm", "--hidden", "1000000"],
        &["plastic-rnn", "--neurons", "40000"],
        &["plastic-rnn", "--neurons", "30000", "--grad", "rtrl"],
        &["hebbian-ff", "--replications", "1000000000"],
        &["learned-rule", "--meta-batch", "100000000"],
        &["feedback-alignment", "--hidden", "1000000,1000000"],
        &["esn", "--units", "200000"],
        &["force", "--neurons", "300000"],
        &["hopfield", "--neurons", "2000000"],
        &["sorn", "--replicates", "100000000"],
        &[
            "bayesian-synapse",
            "--preset",
            "sweep",
            "--networks",
            "1000",
            "--targets",
            "1000",
        ],
        &[
            "plastic-rnn",
            "--preset",
            "dp-simple",
            "--max-memory",
            "20M",
        ],
    ];
    for case in cases {
        let mut args = vec!["train"];
        args.extend(case);
        args.extend(["--out", out]);
        let line = zoo_fails(&args, "this run needs about");
        assert!(line.contains("--max-memory"), "{line}");
    }
    assert!(
        fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "a refused run must leave nothing behind"
    );
}

/// The last line of standard output, parsed as one JSON object.
fn last_json(out: &std::process::Output) -> serde_json::Value {
    let text = stdout(out);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {last}"))
}

#[test]
fn json_ends_the_output_of_train_eval_bench_and_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let mut args = small_run_args(out, "j", "3");
    args.push("--json");
    let trained = zoo_ok(&args);
    let json = last_json(&trained);
    assert_eq!(json["model"], "plastic-rnn");
    assert_eq!(json["task"], "bohp");
    assert!(json["seconds"].as_f64().unwrap() > 0.0);
    let sign_error = json["metrics"]["sign_error"].as_f64().unwrap();
    assert!(eval_line(&trained).contains(&format!(" sign_error {sign_error:.6}")));
    let degraded = json["metrics"]["degraded_sign_error"].as_f64().unwrap();
    assert!(eval_line(&trained).ends_with(&format!("degraded_sign_error {degraded:.6}")));
    // Without --json, no JSON line.
    assert!(!stdout(&zoo_ok(&small_run_args(out, "plain", "1"))).contains('{'));

    let dir = run_dir(tmp.path(), "j");
    let evaluated = last_json(&zoo_ok(&[
        "--json",
        "eval",
        dir.to_str().unwrap(),
        "--episodes",
        "8",
    ]));
    assert_eq!(evaluated["metrics"], json["metrics"]);

    let bench = last_json(&zoo_ok(&[
        "bench",
        "plastic-rnn",
        "--sizes",
        "8",
        "--episodes",
        "1",
        "--warmup",
        "0",
        "--json",
    ]));
    assert_eq!(bench["cases"][0]["neurons"], 8);
    assert!(bench["cases"][0]["median_s_per_episode"].as_f64().unwrap() > 0.0);

    let compared = last_json(&zoo_ok(&[
        "compare",
        "--sizes",
        "4",
        "--steps",
        "6",
        "--episodes",
        "1",
        "--out",
        tmp.path().join("cmp").to_str().unwrap(),
        "--json",
    ]));
    for group in ["w_difference", "alpha_difference", "eta_difference"] {
        assert!(
            compared["cases"][0][group].as_f64().unwrap() <= 1e-9,
            "{compared}"
        );
    }
}
