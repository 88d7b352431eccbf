//! The zoo's shipped checkpoints: every row of the README's table of them is evaluated, and
//! each figure the row states must come out, to the digits the row gives.

use std::path::Path;

use crate::common::*;
use plastic_zoo::stats::wilson_interval;

/// A row of the table: the checkpoint's path and the figures `eval` gives, `name value`.
struct Row {
    path: String,
    figures: Vec<(String, String)>,
}

/// The rows of the README's "Shipped checkpoints" table.
fn shipped_rows() -> Vec<Row> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("the README is readable");
    let section = readme
        .split("## Shipped checkpoints")
        .nth(1)
        .expect("the README has a Shipped checkpoints section");
    section
        .lines()
        .take_while(|line| !line.starts_with("## "))
        .filter(|line| line.starts_with("| `checkpoints/zoo/"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let path = cells[0].trim_matches('`').to_string();
            let figures = cells[cells.len() - 1]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|figure| {
                    let (name, value) = figure.split_once(' ').expect("a figure is `name value`");
                    (name.to_string(), value.to_string())
                })
                .collect();
            Row { path, figures }
        })
        .collect()
}

#[test]
fn every_shipped_checkpoint_gives_the_readme_figures() {
    let rows = shipped_rows();
    assert!(
        rows.len() >= 6,
        "only {} shipped checkpoints listed",
        rows.len()
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for row in rows {
        assert!(!row.figures.is_empty(), "{}: no figures", row.path);
        let out = zoo_ok(&["--json", "eval", root.join(&row.path).to_str().unwrap()]);
        let text = stdout(&out);
        let json: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        for (name, stated) in &row.figures {
            let value = json["metrics"][name]
                .as_f64()
                .unwrap_or_else(|| panic!("{}: eval gives no {name}: {json}", row.path));
            let decimals = stated.split_once('.').map_or(0, |(_, d)| d.len());
            let measured = format!("{value:.decimals$}");
            assert_eq!(
                &measured, stated,
                "{}: {name} is {value}, the README says {stated}",
                row.path
            );
        }
    }
}

/// The shipped linear-map rules, each meta-trained for its budget of inner updates.
const LINEAR_RULES: [(&str, usize); 4] = [
    ("linear-k5", 5),
    ("linear-k10", 10),
    ("linear-k20", 20),
    ("linear-k40", 40),
];

/// The README's claim: on 1000 fresh nets of each held-out map, each shipped rule beats the
/// delta rule (at its best rate for the budget on the validation maps) with 95 % intervals
/// apart at 5, 10 and 20 updates, and is no worse at 40.
#[test]
fn the_shipped_linear_rules_learn_faster_than_the_delta_rule() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/zoo/learned-rule");
    let nets = 1000;
    for (name, budget) in LINEAR_RULES {
        let dir = root.join(name);
        let out = zoo_ok(&[
            "--json",
            "eval",
            dir.to_str().unwrap(),
            "--replications",
            &nets.to_string(),
        ]);
        let text = stdout(&out);
        let json: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        for task in ["linear-60", "linear-240"] {
            let rate = |who: &str| {
                json["metrics"][format!("{task}.k{budget}.{who}")]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name}: no {who} on {task}: {json}"))
            };
            let solved = |rate: f64| (rate * nets as f64).round() as usize;
            let (learned, delta) = (rate("learned"), rate("delta"));
            let (learned_low, _) = wilson_interval(solved(learned), nets);
            let (_, delta_high) = wilson_interval(solved(delta), nets);
            assert!(
                rate("best_hand") == delta,
                "{name} on {task}: the delta rule is not the best hand-written rule: {json}"
            );
            if budget < 40 {
                assert!(
                    learned_low > delta_high,
                    "{name} on {task} after {budget} updates: learned {learned} (from {learned_low}) \
                     against delta {delta} (to {delta_high})"
                );
            } else {
                assert!(
                    learned >= delta,
                    "{name} on {task}: {learned} < delta {delta}"
                );
            }
        }
    }
}
