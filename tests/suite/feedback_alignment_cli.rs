//! `train feedback-alignment` through the real binary: the online product task, a tiny
//! Fashion-MNIST-shaped data set written here as gzipped IDX files, `eval`, and clear
//! errors for missing or malformed data and bad arguments.

use std::io::Write;
use std::path::Path;

use crate::common::*;
use flate2::write::GzEncoder;

/// An IDX file of unsigned bytes, gzipped: magic 0 0 8 rank, big-endian dims, values.
fn write_idx(path: &Path, dims: &[u32], values: &[u8]) {
    let mut bytes = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(values);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

/// `count` 28 × 28 images whose class (0–3) lights one quadrant, with a little texture.
fn images(count: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = Vec::with_capacity(count * 784);
    let mut labels = Vec::with_capacity(count);
    for i in 0..count {
        let class = i % 4;
        labels.push(class as u8);
        for row in 0..28 {
            for col in 0..28 {
                let quadrant = (row / 14) * 2 + col / 14;
                let texture = ((row * 7 + col * 13 + i * 31) % 40) as u8;
                pixels.push(if quadrant == class {
                    200 + texture / 2
                } else {
                    texture
                });
            }
        }
    }
    (pixels, labels)
}

fn write_data_set(dir: &Path) {
    let (train, train_labels) = images(64);
    let (test, test_labels) = images(20);
    write_idx(
        &dir.join("train-images-idx3-ubyte.gz"),
        &[64, 28, 28],
        &train,
    );
    write_idx(
        &dir.join("train-labels-idx1-ubyte.gz"),
        &[64],
        &train_labels,
    );
    write_idx(&dir.join("t10k-images-idx3-ubyte.gz"), &[20, 28, 28], &test);
    write_idx(&dir.join("t10k-labels-idx1-ubyte.gz"), &[20], &test_labels);
}

/// `test error X %` from a report.
fn test_error(report: &str) -> f64 {
    let after = report
        .split("test error ")
        .nth(1)
        .unwrap_or_else(|| panic!("no test error in:\n{report}"));
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn fashion_mnist_trains_from_idx_files_and_eval_reproduces_the_test_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_data_set(&data);
    let out = tmp.path().join("runs");
    let out = out.to_str().unwrap();
    let data_dir = data.to_str().unwrap();
    let trained = zoo_ok(&[
        "train",
        "feedback-alignment",
        "--task",
        "fashion-mnist",
        "--data-dir",
        data_dir,
        "--hidden",
        "16,16",
        "--epochs",
        "5",
        "--batch",
        "8",
        "--lr",
        "0.05",
        "--log-every",
        "4",
        "--checkpoint-every",
        "11",
        "--out",
        out,
    ]);
    let report = stdout(&trained);
    let lines: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("feedback-alignment "))
        .collect();
    assert_eq!(lines.len(), 3, "{report}");
    for (line, method) in lines.iter().zip(["bp", "fa", "dfa"]) {
        assert!(line.starts_with(&format!("feedback-alignment {method} on fashion-mnist")));
        // Four easy classes of 20 test images: every method beats chance (75 % error).
        assert!(test_error(line) < 50.0, "{line}");
    }
    let root = tmp
        .path()
        .join("runs/feedback-alignment/fashion-mnist-seed0");
    assert!(root.join("comparison.png").is_file());
    assert!(root.join("comparison-alignment.png").is_file());
    let fa = root.join("fa");
    for file in [
        "config.json",
        "metrics.jsonl",
        "learning_curve.png",
        "alignment.png",
    ] {
        assert!(fa.join(file).is_file(), "{file} missing");
    }
    assert!(latest(&fa).join("model.mpk").is_file());
    // Both hidden layers' angles are logged for FA and DFA, and none for BP. With two hidden
    // layers FA and DFA are different algorithms: the first layer's angles differ.
    let metrics = std::fs::read_to_string(fa.join("metrics.jsonl")).unwrap();
    let angles_of = |method: &str, layer: &str| -> Vec<f64> {
        std::fs::read_to_string(root.join(method).join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter_map(|m| m.get(layer).and_then(serde_json::Value::as_f64))
            .collect()
    };
    let (fa_first, dfa_first) = (
        angles_of("fa", "angle_hidden1"),
        angles_of("dfa", "angle_hidden1"),
    );
    assert_eq!(fa_first.len(), 10, "one angle every 4 of 40 updates");
    assert_eq!(angles_of("fa", "angle_hidden2").len(), 10);
    assert!(angles_of("bp", "angle_hidden1").is_empty());
    assert_ne!(
        fa_first, dfa_first,
        "FA and DFA logged the same first-layer angles"
    );
    // The training loss falls from the first epoch to the last.
    let epochs: Vec<f64> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|m| m.get("test_error").is_some())
        .map(|m| m["loss"].as_f64().unwrap())
        .collect();
    assert_eq!(epochs.len(), 5);
    assert!(epochs[4] < epochs[0], "epoch losses {epochs:?}");

    // 8 mini-batches an epoch: the checkpoint at update 33 is in the middle of the fifth
    // epoch and of a metrics window. Resumed from it, the run logs the same lines.
    let whole = std::fs::read_to_string(fa.join("metrics.jsonl")).unwrap();
    let earlier = fa.join("checkpoint-000000033");
    zoo_ok(&[
        "train",
        "feedback-alignment",
        "--resume",
        earlier.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(fa.join("metrics.jsonl")).unwrap(),
        whole
    );

    let eval = zoo_ok(&["eval", fa.to_str().unwrap(), "--data-dir", data_dir]);
    let text = stdout(&eval);
    assert_eq!(test_error(&text), test_error(lines[1]), "{text}");

    // Broken data: a clear line each, and no run directory left behind.
    let broken = tmp.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    write_data_set(&broken);
    let labels = broken.join("t10k-labels-idx1-ubyte.gz");
    write_idx(&labels, &[20], &[1; 12]);
    let args = |dir: &str, name: &str| {
        [
            "train",
            "feedback-alignment",
            "--task",
            "fashion-mnist",
            "--data-dir",
            dir,
            "--run-name",
            name,
            "--method",
            "bp",
            "--out",
            out,
        ]
        .map(String::from)
    };
    let run = |dir: &str, name: &str, needle: &str| {
        let args = args(dir, name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        zoo_fails(&args, needle);
        assert!(!root.join(name).exists(), "{name} was created");
    };
    run(
        broken.to_str().unwrap(),
        "truncated",
        "need 20 values, the file holds 12 (truncated)",
    );
    std::fs::write(&labels, b"\x1f\x8b\x08\x00garbage").unwrap();
    run(broken.to_str().unwrap(), "garbage", "gzip");
    run(
        tmp.path().join("nowhere").to_str().unwrap(),
        "missing",
        "apt install dataset-fashion-mnist",
    );
}

#[test]
fn the_product_task_learns_online_and_eval_scores_the_frozen_net() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let trained = zoo_ok(&[
        "train",
        "feedback-alignment",
        "--method",
        "fa",
        "--hidden",
        "30",
        "--dt",
        "0.05",
        "--steps",
        "20000",
        "--lr",
        "0.02",
        "--log-every",
        "200",
        "--out",
        out,
    ]);
    let report = stdout(&trained);
    assert!(
        report.contains("feedback-alignment fa on product"),
        "{report}"
    );
    let dir = tmp.path().join("feedback-alignment/product-seed0-fa");
    for file in ["output.png", "learning_curve.png", "alignment.png"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    assert!(latest(&dir).join("model.mpk").is_file());
    let metrics: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(metrics.len(), 100);
    let mse = |m: &serde_json::Value| m["mse"].as_f64().unwrap();
    // The online error of the last 10 simulated seconds is far below the first 10 s.
    assert!(
        mse(&metrics[99]) < 0.1 * mse(&metrics[0]),
        "online mse {} at first, {} at last",
        mse(&metrics[0]),
        mse(&metrics[99])
    );
    assert_eq!(metrics[99]["time"].as_f64().unwrap(), 1000.0);
    let frozen = |text: &str| -> String {
        text.split("last input cycle ")
            .nth(1)
            .unwrap_or_else(|| panic!("no frozen-net error in {text}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let eval = zoo_ok(&["eval", dir.to_str().unwrap()]);
    assert_eq!(frozen(&stdout(&eval)), frozen(&report));
    // Learned: the frozen net explains most of the target's variance (0.25).
    let mse: f64 = frozen(&report).parse().unwrap();
    assert!(mse < 0.05, "frozen-net mse {mse}");
}

#[test]
fn bad_feedback_alignment_arguments_fail_with_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let train = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["train", "feedback-alignment", "--out", out]
            .map(String::from)
            .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let cases: [(&[&str], &str); 7] = [
        (&["--lr", "-1"], "--lr must lie in (0, ∞)"),
        (&["--hidden", "0"], "at least 1"),
        (&["--method", "bp,bp"], "names bp twice"),
        (&["--method", "sgd"], "invalid value 'sgd'"),
        (&["--dt", "0"], "--dt must lie in (0, ∞)"),
        (
            &["--task", "fashion-mnist", "--steps", "10"],
            "--steps, --dt and --period apply to the product task",
        ),
        (&["--steps", "0"], "--steps must be at least 1"),
    ];
    for (extra, needle) in cases {
        let args = train(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        zoo_fails(&args, needle);
    }
    assert!(!tmp.path().join("feedback-alignment").exists());
}
