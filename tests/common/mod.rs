//! Helpers shared by the integration tests: run the real binary, read its results.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_plastic-zoo");

pub fn zoo(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary starts")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the binary and insists it succeeded.
pub fn zoo_ok(args: &[&str]) -> Output {
    let out = zoo(args);
    assert!(
        out.status.success(),
        "{args:?} failed ({}):\n{}\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    out
}

/// Runs the binary and insists it failed cleanly: non-zero exit, one line on stderr that
/// contains `needle`, no panic, no backtrace.
pub fn zoo_fails(args: &[&str], needle: &str) -> String {
    let out = zoo(args);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "{args:?} should fail, printed:\n{}\n{err}",
        stdout(&out)
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{args:?} panicked:\n{err}"
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("training "))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?} should print one error line, printed:\n{err}"
    );
    assert!(
        lines[0].to_lowercase().contains(&needle.to_lowercase()),
        "{args:?}: expected '{needle}' in '{}'",
        lines[0]
    );
    lines[0].to_string()
}

/// The line `eval over …` that train and eval print.
pub fn eval_line(out: &Output) -> String {
    stdout(out)
        .lines()
        .find(|l| l.starts_with("eval over"))
        .unwrap_or_else(|| panic!("no eval line in:\n{}", stdout(out)))
        .to_string()
}

/// A small, fast bohp-shaped run: 12 neurons, 2 patterns.
pub fn small_run_args<'a>(out: &'a str, name: &'a str, episodes: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "plastic-rnn",
        "--preset",
        "bohp",
        "--neurons",
        "12",
        "--patterns",
        "2",
        "--episodes",
        episodes,
        "--out",
        out,
        "--run-name",
        name,
        "--eval-episodes",
        "8",
        "--checkpoint-every",
        "3",
    ]
}

pub fn run_dir(out: &Path, name: &str) -> PathBuf {
    out.join("plastic-rnn").join(name)
}

/// The numbers in an `eval over …` line.
pub fn eval_numbers(line: &str) -> Vec<f64> {
    line.split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok())
        .collect()
}

/// The current checkpoint directory of a run (named by its `LATEST`).
pub fn latest(run: &Path) -> PathBuf {
    let name = std::fs::read_to_string(run.join("LATEST")).expect("the run has a LATEST file");
    run.join(name.trim())
}

/// The `state.json` of a run's current checkpoint.
pub fn state_of(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(latest(run).join("state.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Writes a fresh manifest for the files of checkpoint `dir`, as if `model` had saved them
/// at the state's step: a well-formed checkpoint with chosen contents.
pub fn reseal(dir: &Path, model: &str) {
    let mut files = Vec::new();
    for name in ["config.json", "state.json", "model.mpk", "optimizer.mpk"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            files.push((name.to_string(), bytes));
        }
    }
    let state: serde_json::Value = serde_json::from_slice(&files[1].1).unwrap();
    let step = state["step"].as_u64().unwrap() as usize;
    let manifest = plastic_zoo::checkpoint::Manifest::describe(model, step, &files);
    std::fs::write(dir.join("MANIFEST"), manifest.to_text()).unwrap();
}

/// Copies a run directory, checkpoints and all.
pub fn copy_run(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_run(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A small learned-rule run: the boolean preset with nets of 8 hidden units, XOR held out,
/// 8 inner updates, 20 meta-steps of 8 nets at rate 0.01.
pub fn small_run(
    kind: plastic_models::RuleNetKind,
) -> plastic_zoo::experiments::learned_rule::LearnedRuleRun {
    use plastic_zoo::experiment::Experiment;
    let mut run =
        plastic_zoo::experiments::learned_rule::LearnedRuleExperiment::preset("boolean").unwrap();
    run.rule = plastic_models::LearnedRuleConfig::new(kind);
    run.hidden = vec![8];
    run.held_out = vec![plastic_tasks::TwoInputTask::named("xor").unwrap()];
    run.inner_steps = 8;
    run.train.episodes = 20;
    run.train.batch = 8;
    run.train.optimizer.learning_rate = 1e-2;
    run
}

/// Whether the wgpu tests can run here: the binary finds a wgpu adapter. Without one they are
/// not run, which is said once on stderr, unless `PLASTIC_ZOO_REQUIRE_WGPU=1` makes the
/// missing adapter a failure (CI sets it after installing Mesa's Vulkan driver).
pub fn wgpu_runs_here() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        let out = zoo_ok(&["--json", "backends"]);
        let text = stdout(&out);
        let table: serde_json::Value =
            serde_json::from_str(text.lines().last().expect("a JSON line")).unwrap();
        let wgpu = table["backends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["name"] == "wgpu")
            .expect("a wgpu row");
        if wgpu["device"].is_string() {
            return true;
        }
        let why = wgpu["unavailable"].as_str().unwrap_or("no reason given");
        if std::env::var("PLASTIC_ZOO_REQUIRE_WGPU").as_deref() == Ok("1") {
            panic!("PLASTIC_ZOO_REQUIRE_WGPU=1, but wgpu cannot run here: {why}");
        }
        eprintln!(
            "the wgpu tests are not run: {why} (PLASTIC_ZOO_REQUIRE_WGPU=1 makes this a failure)"
        );
        false
    })
}

/// Small settings per model, so that a run an option leaves valid ends in seconds.
pub fn small_settings(model: &str) -> Vec<(&'static str, &'static str)> {
    match model {
        "plastic-rnn" | "rnn" | "lstm" => vec![
            ("--neurons", "8"),
            ("--patterns", "2"),
            ("--episodes", "2"),
            ("--eval-episodes", "2"),
        ],
        "cue-reward" => vec![
            ("--episodes", "2"),
            ("--hidden", "6"),
            ("--steps", "10"),
            ("--batch", "2"),
            ("--eval-episodes", "2"),
        ],
        "hebbian-ff" => vec![("--replications", "2"), ("--updates", "4")],
        "learned-rule" => vec![
            ("--meta-steps", "1"),
            ("--inner-steps", "2"),
            ("--meta-batch", "1"),
            ("--hidden", "3"),
        ],
        "feedback-alignment" => vec![("--method", "bp"), ("--steps", "20"), ("--hidden", "4")],
        "esn" => vec![("--units", "20"), ("--samples", "600"), ("--warmup", "10")],
        "force" => vec![
            ("--neurons", "20"),
            ("--train-time", "120"),
            ("--test-time", "120"),
        ],
        "bayesian-synapse" => vec![
            ("--neurons", "20"),
            ("--networks", "1"),
            ("--targets", "1"),
            ("--trials", "2"),
        ],
        "hopfield" => vec![("--neurons", "40"), ("--min-probes", "4")],
        "sorn" => vec![
            ("--excitatory", "40"),
            ("--inhibitory", "8"),
            ("--repeats", "4"),
            ("--replicates", "1"),
            ("--plastic-steps", "100"),
            ("--readout-train", "200"),
            ("--readout-test", "100"),
            ("--input-pool", "4"),
        ],
        _ => Vec::new(),
    }
}
