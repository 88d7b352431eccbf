//! `train hebbian-ff` through the real binary: the seed's results, checkpoints that `eval`
//! re-scores, Oja's rule on a known covariance, and clear errors for bad input.

use crate::common::*;

/// `success K/N` from the summary line of a run.
fn successes(out: &std::process::Output) -> (usize, usize) {
    let text = stdout(out);
    let after = text
        .split("success ")
        .nth(1)
        .unwrap_or_else(|| panic!("no success figure in:\n{text}"));
    let fraction = after.split_whitespace().next().unwrap();
    let (k, n) = fraction.split_once('/').unwrap();
    (k.parse().unwrap(), n.parse().unwrap())
}

#[test]
fn supervised_hebbian_with_100_hidden_solves_and() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let trained = zoo_ok(&[
        "train",
        "hebbian-ff",
        "--task",
        "and",
        "--rule",
        "supervised",
        "--hidden",
        "100",
        "--replications",
        "100",
        "--updates",
        "400",
        "--lr",
        "0.01",
        "--seed",
        "7",
        "--out",
        out,
    ]);
    let (k, n) = successes(&trained);
    assert_eq!(n, 100);
    assert!(k >= 90, "only {k} of 100 replications learned AND");

    // The checkpoint holds every replication; eval re-scores them from the files alone.
    let dir = tmp.path().join("hebbian-ff/and-supervised-h100-seed7");
    for file in ["config.json", "metrics.jsonl", "success_rate.png"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    assert!(latest(&dir).join("model.mpk").is_file());
    let eval = zoo_ok(&["eval", dir.to_str().unwrap()]);
    assert_eq!(successes(&eval), (k, n));
    // And the outputs of the last replication at the four inputs.
    let report = stdout(&eval);
    let outputs: Vec<f64> = report
        .split('→')
        .skip(1)
        .map(|s| s.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(outputs.len(), 4, "{report}");
}

#[test]
fn the_delta_rule_fits_a_linear_map_that_the_supervised_rule_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let run = |rule: &str| {
        zoo_ok(&[
            "train",
            "hebbian-ff",
            "--task",
            "linear-30",
            "--rule",
            rule,
            "--hidden",
            "20",
            "--lr",
            "0.1",
            "--out",
            out,
        ])
    };
    let (delta, n) = successes(&run("delta"));
    assert_eq!(n, 100);
    assert!(delta >= 90, "the delta rule fitted only {delta}/100");
    // Clamping the output to the target does not teach the map's scale.
    let (supervised, _) = successes(&run("supervised"));
    assert!(supervised < 50, "supervised fitted {supervised}/100");
    let dir = tmp.path().join("hebbian-ff/linear-30-delta-h20-seed0");
    let report = stdout(&zoo_ok(&["eval", dir.to_str().unwrap()]));
    assert!(
        report.contains("linear-30") && report.contains(&format!("success {delta}/100")),
        "{report}"
    );
}

#[test]
fn the_sweep_reproduces_the_seeds_small_network_cells() {
    // The shipped plan, run from a fresh directory (its "out" is relative).
    let tmp = tempfile::tempdir().unwrap();
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/hebbian-ff-table.json");
    let sweep = std::process::Command::new(BIN)
        .arg("sweep")
        .arg(&plan)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(sweep.status.success(), "{}", stderr(&sweep));
    let table = stdout(&sweep);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| supervised"))
        .collect();
    assert_eq!(rows.len(), 6, "{table}");
    // AND and XOR with 10 hidden neurons, and the two-hidden-layer nets that never learn:
    // inside the seed's 95 % intervals.
    for (task, hidden) in [
        ("and", "[10]"),
        ("xor", "[10]"),
        ("and", "[10, 10]"),
        ("xor", "[10, 10]"),
    ] {
        let row = rows
            .iter()
            .find(|r| r.contains(&format!("| {task} | {hidden} |")))
            .unwrap_or_else(|| panic!("no row {task} {hidden} in\n{table}"));
        assert!(
            row.ends_with("| yes |"),
            "outside the seed's interval: {row}"
        );
    }
    let dir = tmp.path().join("sweeps/hebbian-ff-table");
    let saved = std::fs::read_to_string(dir.join("sweep.md")).unwrap();
    assert!(table.contains(&saved), "{table}");
    assert!(dir.join("sweep.csv").is_file());
    // Every rule's six cells.
    assert_eq!(
        table.lines().filter(|l| l.starts_with("| delta |")).count(),
        6
    );
}

#[test]
fn oja_finds_the_principal_component_of_a_known_covariance() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    // Eigenvalues 4 and 2 with first eigenvector (1, 1)/√2.
    let trained = zoo_ok(&[
        "train",
        "hebbian-ff",
        "--task",
        "pca",
        "--covariance",
        "3,1;1,3",
        "--lr",
        "0.0005",
        "--updates",
        "10000",
        "--replications",
        "20",
        "--out",
        out,
    ]);
    let (k, n) = successes(&trained);
    assert_eq!((k, n), (20, 20), "{}", stdout(&trained));

    let dir = tmp.path().join("hebbian-ff/pca-oja-seed0");
    assert!(dir.join("cosine.png").is_file());
    let eval = stdout(&zoo_ok(&["eval", dir.to_str().unwrap()]));
    let cosine: f64 = eval
        .rsplit(' ')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no cosine in {eval}"));
    assert!(cosine >= 0.99, "{eval}");

    // The neurons started away from the component: the test sees learning, not luck.
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    assert!(
        first["min_cosine"].as_f64().unwrap() < 0.99,
        "started converged: {first}"
    );
}

#[test]
fn bad_hebbian_arguments_fail_with_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let train = |extra: &[&'static str]| {
        let mut args = vec!["train", "hebbian-ff", "--out"];
        args.push(out);
        args.extend(extra);
        args
    };
    zoo_fails(
        &train(&["--task", "xand"]),
        "invalid value 'xand' for '--task",
    );
    zoo_fails(
        &train(&["--rule", "stdp"]),
        "invalid value 'stdp' for '--rule",
    );
    zoo_fails(&train(&["--hidden", ""]), "hidden layer list is empty");
    zoo_fails(&train(&["--hidden", "10,0"]), "at least 1 neuron");
    zoo_fails(&train(&["--lr", "-0.01"]), "--lr must lie in (0, ∞)");
    zoo_fails(&train(&["--w-max", "0"]), "--w-max must lie in (0, ∞)");
    zoo_fails(
        &train(&["--replications", "0"]),
        "replications must be at least 1",
    );
    zoo_fails(
        &train(&["--task", "pca", "--rule", "supervised"]),
        "needs a target",
    );
    zoo_fails(
        &train(&["--task", "pca", "--hidden", "10"]),
        "--hidden does not apply",
    );
    zoo_fails(
        &train(&["--task", "pca", "--covariance", "1,2;2,1"]),
        "positive definite",
    );
    zoo_fails(
        &train(&["--rule", "oja", "--first-layer-learns"]),
        "supervised rule only",
    );
}
