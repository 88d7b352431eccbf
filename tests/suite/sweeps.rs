//! Sweeps through the binary: a plan's cells run by the local engine and collected into one
//! table; a sweep killed at random moments finishes as if it never was; one cell has one
//! writer; the scheduler's index picks the cell; bad plans are refused in one line before
//! anything is written.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{stderr, stdout, zoo, zoo_fails, zoo_ok, BIN};

/// Writes `plan` as `name` in `dir`, its `out` set to `dir/out_name` (the grid's fields in
/// alphabetical order: a `Value` holds them so).
pub fn write_plan(dir: &Path, name: &str, mut plan: Value, out_name: &str) -> PathBuf {
    plan["out"] = json!(dir.join(out_name));
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    path
}

/// Writes the plan `text` as `name` in `dir`, its `"out": "OUT"` set to `dir/out_name`.
pub fn write_plan_text(dir: &Path, name: &str, text: &str, out_name: &str) -> PathBuf {
    let out = serde_json::to_string(&dir.join(out_name)).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text.replace("\"OUT\"", &out)).unwrap();
    path
}

/// The JSON line `--json` ends standard output with.
pub fn last_json(out: &std::process::Output) -> Value {
    let text = stdout(out);
    serde_json::from_str(text.lines().last().expect("a JSON line")).unwrap()
}

/// Every cell's `metrics.jsonl`, by cell name.
pub fn metrics_files(out: &Path) -> Vec<(String, Vec<u8>)> {
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    record["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            let name = cell["name"].as_str().unwrap().to_string();
            let bytes = std::fs::read(out.join(&name).join("metrics.jsonl")).unwrap();
            (name, bytes)
        })
        .collect()
}

/// A bohp-shaped plastic-rnn plan of `seeds` × 2 rates (seed varying slowest), `episodes`
/// long, saved every `every` episodes, as a plan file's text.
pub fn bohp_plan(episodes: usize, every: usize, seeds: &[u64]) -> String {
    format!(
        r#"{{"model": "plastic-rnn", "preset": "bohp",
            "flags": {{"episodes": {episodes}, "checkpoint-every": {every}, "eval-episodes": 5}},
            "grid": {{"seed": {seeds:?}, "lr": [0.001, 0.0003]}},
            "out": "OUT"}}"#
    )
}

/// [`bohp_plan`] as a value.
fn bohp_value(episodes: usize, every: usize, seeds: &[u64]) -> Value {
    serde_json::from_str(&bohp_plan(episodes, every, seeds)).unwrap()
}

/// The sweep command, with its cells held to one thread each (so that runs on any machine
/// and under any engine compute alike).
fn sweep_command(plan: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("sweep")
        .arg(plan)
        .args(extra)
        .env("RAYON_NUM_THREADS", "1");
    command
}

#[test]
fn a_plan_runs_here_and_is_collected_into_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan_text(dir.path(), "plan.json", &bohp_plan(12, 4, &[0, 1]), "out");
    let listed = zoo_ok(&["--json", "sweep", plan.to_str().unwrap(), "--list"]);
    let cells = last_json(&listed)["cells"].as_array().unwrap().clone();
    assert_eq!(cells.len(), 4);
    assert_eq!(cells[1]["name"], "seed=0,lr=0.0003");
    assert_eq!(cells[1]["run"]["train"]["seed"], 0);
    assert_eq!(
        cells[1]["run"]["train"]["optimizer"]["learning_rate"],
        0.0003
    );
    assert_eq!(cells[2]["run"]["train"]["seed"], 1);
    assert_eq!(cells[2]["run"]["train"]["episodes"], 12);
    assert!(!dir.path().join("out").exists(), "--list writes nothing");

    let out = sweep_command(&plan, &["-j", "2"])
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let table = last_json(&out);
    let cells = table["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    assert_eq!(table["finished"], 4);
    for cell in cells {
        assert_eq!(cell["finished"], true);
        assert!(cell["metrics"]["sign_error"].is_number(), "{cell}");
    }
    // Two groups (the rates), each over the two seeds, with the mean of its cells.
    let groups = table["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["values"]["lr"], 0.001);
    assert_eq!(groups[0]["seeds"], 2);
    let mean = (cells[0]["metrics"]["loss"].as_f64().unwrap()
        + cells[2]["metrics"]["loss"].as_f64().unwrap())
        / 2.0;
    let reported = groups[0]["metrics"]["loss"]["mean"].as_f64().unwrap();
    assert!((reported - mean).abs() < 1e-12, "{reported} vs {mean}");
    let low = groups[0]["metrics"]["loss"]["low"].as_f64().unwrap();
    assert!(low < mean);
    for file in [
        "collected.md",
        "collected-cells.csv",
        "collected-groups.csv",
    ] {
        assert!(dir.path().join("out").join(file).is_file(), "{file}");
    }
    let csv = std::fs::read_to_string(dir.path().join("out/collected-cells.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");

    // Again: every cell is kept, none trained.
    let before = metrics_files(&dir.path().join("out"));
    let again = sweep_command(&plan, &[]).output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("0 trained now, 4 before"),
        "{}",
        stderr(&again)
    );
    assert_eq!(metrics_files(&dir.path().join("out")), before);

    // collect and --collect give the same cells; a plot of a metric against the rate.
    let collected = zoo_ok(&[
        "--json",
        "collect",
        dir.path().join("out").to_str().unwrap(),
        "--plot",
        "loss",
        "--against",
        "lr",
    ]);
    assert_eq!(last_json(&collected)["cells"], table["cells"]);
    assert!(dir.path().join("out/loss-by-lr.png").is_file());
    let via_plan = zoo_ok(&["--json", "sweep", plan.to_str().unwrap(), "--collect"]);
    assert_eq!(last_json(&via_plan)["cells"], table["cells"]);
}

#[test]
fn the_scheduler_index_picks_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan_text(dir.path(), "plan.json", &bohp_plan(2, 2, &[0, 1]), "out");
    for (variable, value, cell) in [
        ("SLURM_ARRAY_TASK_ID", "3", "seed=1,lr=0.0003"),
        ("JOB_COMPLETION_INDEX", "2", "seed=1,lr=0.001"),
        ("PARALLEL_SEQ", "1", "seed=0,lr=0.001"),
    ] {
        let out = sweep_command(&plan, &["--cell", "env"])
            .env(variable, value)
            .output()
            .unwrap();
        assert!(out.status.success(), "{variable}: {}", stderr(&out));
        assert!(
            dir.path()
                .join("out")
                .join(cell)
                .join("report.json")
                .is_file(),
            "{variable}={value} should train {cell}"
        );
    }
    let finished = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("report.json").is_file())
        .count();
    assert_eq!(finished, 3);
    zoo_fails(
        &["sweep", plan.to_str().unwrap(), "--cell", "4"],
        "cell 4 is out of range: the plan has 4 cells",
    );
}

#[test]
fn a_cell_has_one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan_text(
        dir.path(),
        "plan.json",
        &bohp_plan(100_000, 1000, &[0]),
        "out",
    );
    let mut first = sweep_command(&plan, &["--cell", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.path().join("out/seed=0,lr=0.001/LOCK");
    let started = Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |t| t.trim().is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(30), "no lock taken");
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = zoo_fails(
        &["sweep", plan.to_str().unwrap(), "--cell", "0"],
        "is being written by process",
    );
    assert!(refused.contains(&first.id().to_string()), "{refused}");
    first.kill().unwrap();
    first.wait().unwrap();
}

/// A small xorshift generator, seeded from the clock and printed, for the moments to kill.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

#[test]
fn a_sweep_killed_at_random_moments_finishes_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let plan = bohp_plan(20_000, 1000, &[0]);
    let whole = write_plan_text(dir.path(), "whole.json", &plan, "whole");
    let cut = write_plan_text(dir.path(), "cut.json", &plan, "cut");
    let out = sweep_command(&whole, &["-j", "2"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut moments = Moments(seed);
    let mut kills = 0;
    for _ in 0..6 {
        let mut sweep = sweep_command(&cut, &["-j", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = moments.next_ms(200, 800);
        std::thread::sleep(Duration::from_millis(wait));
        if sweep.try_wait().unwrap().is_none() {
            sweep.kill().unwrap(); // SIGKILL: the cells die with it
            kills += 1;
        }
        sweep.wait().unwrap();
    }
    let out = sweep_command(&cut, &["-j", "2"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        kills >= 5,
        "only {kills} of 6 sweeps were still running when killed (seed {seed})"
    );
    assert_eq!(
        metrics_files(&dir.path().join("cut")),
        metrics_files(&dir.path().join("whole")),
        "killed {kills} times at moments drawn from seed {seed}"
    );
    for name in ["seed=0,lr=0.001", "seed=0,lr=0.0003"] {
        let report = |root: &str| -> Value {
            let text =
                std::fs::read_to_string(dir.path().join(root).join(name).join("report.json"))
                    .unwrap();
            let mut report: Value = serde_json::from_str(&text).unwrap();
            report["report"]["seconds"] = json!(0);
            report["report"]["run"] = json!(null);
            report["text"] = json!(null);
            report
        };
        assert_eq!(report("cut"), report("whole"), "{name}");
    }
}

#[test]
fn bad_plans_are_refused_in_one_line_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let base = || bohp_value(2, 2, &[0]);
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut plan = base();
    plan["model"] = json!("plastic-rnm");
    cases.push((plan, "unknown model 'plastic-rnm'"));
    let mut plan = base();
    plan["grid"]["lrr"] = json!([0.1]);
    cases.push((plan, "has no flag --lrr"));
    let mut plan = base();
    plan["grid"]["/train/sead"] = json!([1]);
    cases.push((plan, "unknown field `sead`"));
    let mut plan = base();
    plan["flags"]["episodes"] = json!("many");
    cases.push((plan, "invalid value 'many' for '--episodes"));
    let mut plan = base();
    plan["flags"]["/train/episodes"] = json!("many");
    cases.push((plan, "train.episodes: invalid type: string \"many\""));
    let mut plan = base();
    plan["grid"]["seed"] = json!([]);
    cases.push((plan, "grid field 'seed' has no values"));
    let mut plan = base();
    plan["flags"]["neurons"] = json!(100_000);
    cases.push((plan, "cell 0 (lr=0.001,seed=0): this run needs about"));
    let mut plan = base();
    plan["flags"]["run-name"] = json!("x");
    cases.push((plan, "each cell's directory is named after its grid values"));
    let mut plan = base();
    plan["grid"]["lr"] = json!([0.001, -1.0]);
    cases.push((plan, "cell 1 (lr=-1.0,seed=0): --lr must lie in (0, ∞)"));
    for (k, (plan, needle)) in cases.into_iter().enumerate() {
        let path = write_plan(
            dir.path(),
            &format!("bad{k}.json"),
            plan,
            &format!("out{k}"),
        );
        zoo_fails(&["sweep", path.to_str().unwrap()], needle);
        assert!(!dir.path().join(format!("out{k}")).exists(), "case {k}");
    }
    let mut plan = base();
    plan["out"] = json!(file);
    let path = dir.path().join("file-out.json");
    std::fs::write(&path, plan.to_string()).unwrap();
    zoo_fails(
        &["sweep", path.to_str().unwrap()],
        "is a file, not a directory",
    );
    zoo_fails(
        &["sweep", dir.path().join("absent.json").to_str().unwrap()],
        "cannot read plan",
    );
    let good = write_plan(dir.path(), "good.json", base(), "good");
    zoo_fails(
        &["sweep", good.to_str().unwrap(), "--cell", "x"],
        "--cell takes a cell's index or 'env'",
    );
    zoo_fails(
        &["sweep", good.to_str().unwrap(), "--max-memory", "1K"],
        "more than --max-memory",
    );
    zoo_fails(&["collect", dir.path().to_str().unwrap()], "holds no sweep");
    assert!(!dir.path().join("good").exists());
}

#[test]
fn emitted_jobs_run_every_cell_by_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan_text(dir.path(), "plan.json", &bohp_plan(2, 2, &[0, 1]), "out");
    let plan_text = plan.to_str().unwrap();
    let slurm = stdout(&zoo_ok(&[
        "sweep", plan_text, "--emit", "slurm", "--cpus", "2", "--limit", "3", "--time", "0:10:00",
    ]));
    for line in [
        "#SBATCH --array=0-3%3",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --time=0:10:00",
        "#SBATCH --requeue",
        "--cell env",
    ] {
        assert!(slurm.contains(line), "{line} missing from:\n{slurm}");
    }
    assert!(slurm.lines().any(|l| l.starts_with("#SBATCH --mem=")));
    let parallel = stdout(&zoo_ok(&["sweep", plan_text, "--emit", "parallel"]));
    assert_eq!(parallel.lines().count(), 4);
    assert!(parallel.lines().nth(2).unwrap().contains("--cell 2 "));
    let k8s = stdout(&zoo_ok(&["sweep", plan_text, "--emit", "k8s"]));
    for line in ["completionMode: Indexed", "completions: 4", "kind: Job"] {
        assert!(k8s.contains(line), "{line} missing from:\n{k8s}");
    }
    let out = zoo(&["sweep", plan_text, "--emit", "slurm", "--limit", "0"]);
    assert!(!out.status.success());
}

#[test]
fn every_shipped_plan_is_a_valid_sweep() {
    let plans = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(plans).unwrap() {
        let path = entry.unwrap().path();
        let out = Command::new(BIN)
            .args(["--json", "sweep"])
            .arg(&path)
            .arg("--list")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
        let plan: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            plan["about"].is_string(),
            "{} says what it measures",
            path.display()
        );
        assert!(!last_json(&out)["cells"].as_array().unwrap().is_empty());
        checked += 1;
    }
    assert!(checked >= 5, "{checked} plans");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "--list writes nothing"
    );
}

#[test]
fn the_models_summaries_are_made_from_the_collected_cells() {
    let dir = tempfile::tempdir().unwrap();
    for (name, plan, file, lines) in [
        (
            "bayesian",
            r#"{"model": "bayesian-synapse", "preset": "sweep",
                "flags": {"neurons": 40, "networks": 2, "targets": 2, "trials": 4, "test-every": 2},
                "grid": {"g": [1, 1.5], "seed": [0, 1]}, "out": "OUT"}"#,
            "rates-by-gain.md",
            vec![
                "| 1 | bayesian |",
                "| 1.5 | classical |",
                "g = 1.5: best classical / best Bayesian",
            ],
        ),
        (
            "hopfield",
            r#"{"model": "hopfield", "flags": {"neurons": [40], "loads": [0.05, 0.3], "min-probes": 20},
                "grid": {"seed": [0, 1, 2]}, "out": "OUT"}"#,
            "capacity-seeds.md",
            vec![
                "Critical loads over 3 runs (seeds 0, 1, 2)",
                "| classic | 40 |",
            ],
        ),
        (
            "force",
            r#"{"model": "force", "flags": {"neurons": 20, "train-time": 120, "test-time": 120, "g": [0.5, 1.5]},
                "grid": {"seed": [0, 1]}, "out": "OUT"}"#,
            "gains-seeds.md",
            vec!["over 2 runs (seeds 0, 1)", "| 0.5 | 2 |", "| 1.5 | 2 |"],
        ),
    ] {
        let path = write_plan_text(dir.path(), &format!("{name}.json"), plan, name);
        let out = sweep_command(&path, &[]).output().unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let summary = std::fs::read_to_string(dir.path().join(name).join(file)).unwrap();
        for line in lines {
            assert!(summary.contains(line), "{name}: no '{line}' in\n{summary}");
        }
        // The summary is part of what collect writes and prints.
        let collected =
            std::fs::read_to_string(dir.path().join(name).join("collected.md")).unwrap();
        assert!(collected.contains(summary.trim_end()), "{name}");
    }
}
