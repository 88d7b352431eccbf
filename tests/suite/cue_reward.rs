//! The cue-reward agents through the binary: the retroactively modulated agent learns the
//! association within a short run, `eval` repeats the figures, `--compare` trains every
//! network and summarises them, and the non-plastic core is sized to the plastic one.
#![cfg(feature = "ndarray")]

use crate::common::*;

/// `reward` and `right_answers` of the last JSON line of a command.
fn figures(out: &std::process::Output) -> (f64, f64) {
    let text = stdout(out);
    let json: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a JSON line")).unwrap();
    (
        json["metrics"]["reward"].as_f64().unwrap(),
        json["metrics"]["right_answers"].as_f64().unwrap(),
    )
}

#[test]
fn retroactive_agent_learns_the_association_and_eval_repeats_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let train = |episodes: &str, name: &str| {
        zoo_ok(&[
            "train",
            "cue-reward",
            "--episodes",
            episodes,
            "--eval-episodes",
            "100",
            "--out",
            out,
            "--run-name",
            name,
            "--json",
        ])
    };
    let (_, untrained) = figures(&train("1", "untrained"));
    let trained = train("500", "trained");
    let (reward, right) = figures(&trained);
    // Without memory of the episode's rewards no answer beats chance.
    assert!((0.4..0.6).contains(&untrained), "untrained: {untrained}");
    assert!(right > 0.7, "right answers after 500 updates: {right}");
    assert!(
        reward > 5.0,
        "reward per episode after 500 updates: {reward}"
    );

    let dir = tmp.path().join("cue-reward").join("trained");
    let evaluated = zoo_ok(&["eval", dir.to_str().unwrap(), "--json"]);
    assert_eq!(figures(&evaluated), (reward, right));
    assert!(dir.join("learning_curve.png").exists());
}

#[test]
fn the_comparison_plan_trains_every_network_with_matched_parameters() {
    // The shipped plan's networks, from seeds 3 and 4, small.
    let tmp = tempfile::tempdir().unwrap();
    let shipped =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cue-reward-compare.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shipped).unwrap()).unwrap();
    plan["grid"]["seed"] = serde_json::json!([3, 4]);
    plan["flags"] = serde_json::json!({
        "episodes": 2, "hidden": 6, "steps": 20, "batch": 2, "eval-episodes": 2
    });
    plan["out"] = serde_json::json!(tmp.path().join("compare"));
    let path = tmp.path().join("plan.json");
    std::fs::write(&path, plan.to_string()).unwrap();
    let trained = zoo_ok(&["sweep", path.to_str().unwrap()]);
    let group = tmp.path().join("compare");
    for network in ["retroactive", "simple", "none", "rnn"] {
        for seed in [3, 4] {
            let config = std::fs::read_to_string(
                group
                    .join(format!("network={network},seed={seed}"))
                    .join("config.json"),
            )
            .unwrap();
            let config: serde_json::Value = serde_json::from_str(&config).unwrap();
            assert_eq!(config["train"]["seed"], seed);
        }
    }
    let summary = std::fs::read_to_string(group.join("summary.md")).unwrap();
    assert!(group.join("comparison.png").exists());
    assert!(stdout(&trained).contains("| network |"));
    // Rows: network, units, parameters. The plain plastic agent of 6 units on 1-bit cues (7
    // inputs) has 8·6 + 2·36 + η + 7·2 + 7 = 142 parameters; the RNN reaches them with 8 units
    // (8·8 + 64 + 9·2 + 9 = 155), 7 give 129.
    let row = |network: &str| -> Vec<String> {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("| {network} |")))
            .unwrap_or_else(|| panic!("no {network} row in {summary}"))
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    assert_eq!(row("none")[2..4], ["6".to_string(), "142".to_string()]);
    assert_eq!(row("rnn")[2..4], ["8".to_string(), "155".to_string()]);
    assert_eq!(row("rnn")[4], "3, 4");
}
