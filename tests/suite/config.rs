//! Every model assembles its run the same way: the preset, then a JSON file holding any
//! subset of the run's fields, then the flags; the result is what `config.json` holds, and
//! Adam's settings are part of it.

use std::fs;

use crate::common::*;
use serde_json::{json, Value};

/// Trains `model` with `file` as `--config` and `flags`; returns the saved `config.json`.
fn configured(model: &str, file: Value, flags: &[&str]) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.json");
    fs::write(&path, file.to_string()).unwrap();
    let out = tmp.path().to_str().unwrap();
    let mut args = vec![
        "train",
        model,
        "--config",
        path.to_str().unwrap(),
        "--out",
        out,
        "--run-name",
        "r",
    ];
    args.extend(flags);
    zoo_ok(&args);
    let saved = fs::read_to_string(tmp.path().join(model).join("r/config.json")).unwrap();
    let config: Value = serde_json::from_str(&saved).unwrap();
    // A run's config.json is a configuration file: training from it gives the same run.
    let again = tmp.path().join("again.json");
    fs::write(&again, &saved).unwrap();
    zoo_ok(&[
        "train",
        model,
        "--config",
        again.to_str().unwrap(),
        "--out",
        out,
        "--run-name",
        "again",
    ]);
    let repeated = fs::read_to_string(tmp.path().join(model).join("again/config.json")).unwrap();
    assert_eq!(
        saved, repeated,
        "{model}: config.json does not reproduce its run"
    );
    config
}

#[test]
fn plastic_rnn_takes_the_preset_then_the_file_then_the_flags() {
    let file = json!({"train": {"optimizer": {"learning_rate": 0.01}, "seed": 5, "episodes": 2},
                      "task": {"cycles": 1, "neurons": 8, "patterns": 2}, "model": {"neurons": 8},
                      "eval_episodes": 2});
    let config = configured(
        "plastic-rnn",
        file,
        &["--seed", "9", "--adam-beta2", "0.99"],
    );
    assert_eq!(config["train"]["optimizer"]["learning_rate"], 0.01);
    assert_eq!(config["train"]["seed"], 9);
    assert_eq!(config["task"]["cycles"], 1);
    assert_eq!(config["model"]["bias_neuron"], true, "the preset's");
    let optimizer = &config["train"]["optimizer"];
    assert_eq!(optimizer["beta_1"].as_f64().unwrap() as f32, 0.9);
    assert_eq!(optimizer["beta_2"].as_f64().unwrap() as f32, 0.99);
    // PyTorch's default ε, which the original scripts use, not Burn's 1e-5.
    assert_eq!(optimizer["epsilon"].as_f64().unwrap() as f32, 1e-8);
}

#[test]
fn hopfield_and_sorn_take_the_preset_then_the_file_then_the_flags() {
    let file = json!({"min_probes": 7, "loads": [0.5], "max_sweeps": 3});
    let config = configured(
        "hopfield",
        file.clone(),
        &["--neurons", "20", "--dense", "cubic"],
    );
    assert_eq!(config["neurons"], json!([20]));
    assert_eq!(config["loads"], json!([0.5]));
    assert_eq!(config["min_probes"], 7);
    assert_eq!(config["dense"], json!(["cubic"]));
    assert_eq!(config["cue_flip"], 0.2, "the recall preset's");
    // The capacity preset brings the sweep's cue noise; the file and the flags still win.
    let config = configured(
        "hopfield",
        file,
        &[
            "--preset",
            "capacity",
            "--neurons",
            "20",
            "--dense",
            "cubic",
            "--dense-loads",
            "0.5",
        ],
    );
    assert_eq!(config["loads"], json!([0.5]), "the file's");
    assert_eq!(config["cue_flip"], 0.1, "the capacity preset's");
    assert_eq!(config["min_probes"], 7, "the file's");
    assert_eq!(config["neurons"], json!([20]));
    let config = configured(
        "hopfield",
        json!({}),
        &["--preset", "capacity", "--no-dense", "--neurons", "20"],
    );
    assert_eq!(config["dense"], json!([]));
    assert_eq!(config["loads"].as_array().unwrap().len(), 12);

    let file = json!({"plastic_steps": 300, "readout_train": 100, "readout_test": 50});
    let config = configured(
        "sorn",
        file,
        &[
            "--repeats",
            "2",
            "--replicates",
            "1",
            "--excitatory",
            "80",
            "--inhibitory",
            "8",
        ],
    );
    assert_eq!(config["plastic_steps"], 300);
    assert_eq!(config["repeats"], json!([2]));
    assert_eq!(config["excitatory"], 80);
    assert_eq!(config["stdp_rate"], 0.001, "the preset's");
}

#[test]
fn hebbian_ff_takes_the_preset_then_the_file_then_the_flags() {
    let file = json!({"updates": 10, "learning_rate": 0.05, "replications": 4});
    let config = configured("hebbian-ff", file, &["--updates", "12", "--task", "and"]);
    assert_eq!(config["updates"], 12);
    assert_eq!(config["learning_rate"], 0.05);
    assert_eq!(config["task"], "and");
    assert_eq!(config["hidden"], json!([100]), "the preset's");
}

#[test]
fn learned_rule_takes_the_preset_then_the_file_then_the_flags() {
    let file = json!({"inner_steps": 2, "hidden": [4], "train": {"batch": 2, "episodes": 1}});
    let config = configured(
        "learned-rule",
        file,
        &[
            "--meta-batch",
            "3",
            "--rule-net",
            "mlp",
            "--adam-eps",
            "1e-6",
        ],
    );
    assert_eq!(config["train"]["batch"], 3);
    assert_eq!(
        config["train"]["optimizer"]["epsilon"].as_f64().unwrap() as f32,
        1e-6
    );
    assert_eq!(config["inner_steps"], 2);
    assert_eq!(config["rule"]["kind"], "mlp");
    assert_eq!(
        config["train"]["optimizer"]["grad_clip"], 1.0,
        "the preset's"
    );
    assert_eq!(config["held_out"], json!(["xor", "xnor"]), "the preset's");
}

#[test]
fn feedback_alignment_takes_the_preset_then_the_file_then_the_flags() {
    let file = json!({"task": {"kind": "product", "steps": 50}, "learning_rate": 0.5,
                      "network": {"hidden": [8]}});
    let config = configured(
        "feedback-alignment",
        file,
        &["--lr", "0.01", "--method", "fa"],
    );
    assert_eq!(config["learning_rate"], 0.01);
    assert_eq!(config["task"]["steps"], 50);
    assert_eq!(config["method"], "fa");
    assert_eq!(config["network"]["activation"], "relu", "the preset's");
}

#[test]
fn a_file_with_an_unknown_field_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.json");
    fs::write(&path, r#"{"train": {"learnig_rate": 0.01}}"#).unwrap();
    let out = tmp.path().to_str().unwrap();
    for model in ["plastic-rnn", "learned-rule"] {
        zoo_fails(
            &[
                "train",
                model,
                "--config",
                path.to_str().unwrap(),
                "--out",
                out,
            ],
            "unknown field `learnig_rate`",
        );
    }
    fs::write(&path, "{not json").unwrap();
    zoo_fails(
        &[
            "train",
            "hebbian-ff",
            "--config",
            path.to_str().unwrap(),
            "--out",
            out,
        ],
        "is not valid JSON",
    );
}

#[test]
fn the_bayesian_sweep_runs_the_official_protocol_unless_told_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let config = |extra: &[&str], name: &str| -> serde_json::Value {
        let mut args = vec![
            "train",
            "bayesian-synapse",
            "--preset",
            "sweep",
            "--neurons",
            "8",
        ];
        args.extend(["--trials", "1", "--out", out, "--run-name", name]);
        args.extend(extra);
        zoo_ok(&args);
        let path = tmp
            .path()
            .join("bayesian-synapse")
            .join(name)
            .join("config.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let official = config(&[], "official");
    assert_eq!(official["network"]["networks"], 20);
    assert_eq!(official["targets"], 20);
    assert_eq!(official["rates"].as_array().unwrap().len(), 15);
    let small = config(&["--networks", "2", "--targets", "3"], "small");
    assert_eq!(
        (
            small["network"]["networks"].clone(),
            small["targets"].clone()
        ),
        (2.into(), 3.into())
    );
}
