//! Weights in and out: every model's checkpoint exported as safetensors and imported into a
//! new run directory evaluates to the same figures as the original; a PyTorch file of the
//! differentiable-plasticity `simple.py` network (`tests/fixtures/dp_simple_16.pt`, made by
//! `tools/simple_fixture.py`) imports and computes the episode output PyTorch printed; a file
//! that does not fit is refused in one line.
#![cfg(feature = "ndarray")]

use std::path::{Path, PathBuf};

use burn::backend::NdArray;
use burn::tensor::{Tensor, TensorData};
use plastic_zoo::checkpoint::RunDir;
use plastic_zoo::experiment::saved_network;
use plastic_zoo::experiments::plastic_rnn::{PlasticRnnExperiment, PlasticRnnRun};

use crate::common::{small_settings, stdout, zoo_fails, zoo_ok};

/// The last line of `--json` output.
fn json_of(out: &std::process::Output) -> serde_json::Value {
    let text = stdout(out);
    serde_json::from_str(text.lines().last().expect("output")).expect("a JSON line")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn models() -> Vec<String> {
    plastic_zoo::experiments::all()
        .iter()
        .map(|entry| entry.name().to_string())
        .collect()
}

/// Trains `model` small into `out/<model>/original`.
fn train_small(model: &str, out: &str) -> PathBuf {
    let mut args = vec!["train", model, "--out", out, "--run-name", "original"];
    for (flag, value) in small_settings(model) {
        args.extend([flag, value]);
    }
    zoo_ok(&args);
    Path::new(out).join(model).join("original")
}

#[test]
fn every_model_exported_and_imported_evaluates_as_the_original() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let mut failures = Vec::new();
    for model in models() {
        let original = train_small(&model, out);
        let original = original.to_str().unwrap();
        let before = json_of(&zoo_ok(&["--json", "eval", original]));
        let file = tmp.path().join(format!("{model}.safetensors"));
        let file = file.to_str().unwrap();
        let exported = json_of(&zoo_ok(&["--json", "export", original, "--output", file]));
        let tensors = exported["tensors"].as_array().expect("a tensor list");
        assert!(!tensors.is_empty(), "{model}: exported no tensors");
        let imported = json_of(&zoo_ok(&[
            "--json",
            "import",
            file,
            "--model",
            &model,
            "--out",
            out,
            "--run-name",
            "imported",
        ]));
        assert_eq!(imported["tensors"], exported["tensors"], "{model}");
        let run = imported["run"].as_str().expect("the new run directory");
        let after = json_of(&zoo_ok(&["--json", "eval", run]));
        if before["metrics"] != after["metrics"] {
            failures.push(format!(
                "{model}: {} before, {} after",
                before["metrics"], after["metrics"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The run the fixture's weights belong to, as `simple.py` runs it: 17 neurons, the last
/// one the bias (driven by its input of 20, no bias neuron of the model's own), η learned
/// (the task, of 17 channels, only has to be valid: the episode comes from the fixture).
const SIMPLE_PY_RUN: &str = r#"{"model": {"neurons": 17, "bias_neuron": false, "learn_eta": true},
 "task": {"neurons": 17, "patterns": 2, "zero_sum": false}}"#;

#[test]
fn a_pytorch_simple_py_network_computes_what_pytorch_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("simple.json");
    std::fs::write(&config, SIMPLE_PY_RUN).unwrap();
    let out = zoo_ok(&[
        "--json",
        "import",
        fixture("dp_simple_16.pt").to_str().unwrap(),
        "--model",
        "plastic-rnn",
        "--preset",
        "dp-simple",
        "--config",
        config.to_str().unwrap(),
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    let imported = json_of(&out);
    let names: Vec<&str> = imported["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["w", "alpha", "eta"]);

    let (_, checkpoint) = RunDir::open(Path::new(imported["run"].as_str().unwrap())).unwrap();
    let run: PlasticRnnRun = checkpoint.config().unwrap();
    let device = Default::default();
    let network =
        saved_network::<PlasticRnnExperiment, NdArray>(&run, &checkpoint, &device).unwrap();
    let printed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("dp_simple_16.json")).unwrap())
            .unwrap();
    let rows: Vec<Vec<f32>> = serde_json::from_value(printed["inputs"].clone()).unwrap();
    let expected: Vec<f32> = serde_json::from_value(printed["final_y"].clone()).unwrap();
    let (steps, neurons) = (rows.len(), rows[0].len());
    let inputs = Tensor::<NdArray, 3>::from_data(
        TensorData::new(rows.concat(), [1, steps, neurons]),
        &device,
    );
    let output: Vec<f32> = network.forward(inputs).into_data().to_vec().unwrap();
    let worst = output
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-5,
        "PyTorch printed {expected:?}, the imported network gives {output:?}"
    );
    // The eta PyTorch learned is the one imported.
    let eta: Vec<f32> = network.eta.val().into_data().to_vec().unwrap();
    assert!((f64::from(eta[0]) - printed["eta"].as_f64().unwrap()).abs() < 1e-7);
}

#[test]
fn weights_that_do_not_fit_are_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let original = train_small("plastic-rnn", out);
    let original = original.to_str().unwrap();
    let file = tmp.path().join("net.safetensors");
    let file = file.to_str().unwrap();
    zoo_ok(&["export", original, "--output", file]);
    zoo_fails(&["export", original, "--output", file], "already exists");
    zoo_fails(
        &["import", file, "--model", "lstm", "--out", out],
        "holds a plastic-rnn network",
    );
    let wrong = tmp.path().join("wrong.json");
    std::fs::write(
        &wrong,
        r#"{"model": {"neurons": 12}, "task": {"neurons": 12}}"#,
    )
    .unwrap();
    zoo_fails(
        &[
            "import",
            file,
            "--model",
            "plastic-rnn",
            "--config",
            wrong.to_str().unwrap(),
            "--out",
            out,
        ],
        "shape",
    );
    let pt = fixture("dp_simple_16.pt");
    zoo_fails(
        &[
            "import",
            pt.to_str().unwrap(),
            "--model",
            "plastic-rnn",
            "--out",
            out,
        ],
        "does not say which plastic-rnn run",
    );
    let text = tmp.path().join("weights.txt");
    std::fs::write(&text, "not weights").unwrap();
    zoo_fails(
        &["import", text.to_str().unwrap(), "--model", "plastic-rnn"],
        "cannot tell the format",
    );
    zoo_fails(
        &["import", file, "--model", "no-such-model"],
        "unknown model",
    );

    let imported = json_of(&zoo_ok(&[
        "--json",
        "import",
        file,
        "--model",
        "plastic-rnn",
        "--out",
        out,
    ]));
    let run = imported["run"].as_str().unwrap();
    zoo_fails(
        &["train", "plastic-rnn", "--resume", run, "--episodes", "9"],
        "imported weights",
    );
    zoo_fails(
        &["import", file, "--model", "plastic-rnn", "--out", out],
        "already holds a run",
    );
}
