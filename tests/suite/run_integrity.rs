//! A run directory has one writer at a time; every interrupted command can be finished;
//! a resumed run's history must be the one its checkpoint saw. All through the binary.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn spawn(args: &[String]) -> Child {
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The one clean error line of a refused command (and that it was refused cleanly).
fn refusal(out: &Output) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "should have been refused:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("training "))
        .collect();
    assert_eq!(lines.len(), 1, "one error line expected:\n{err}");
    lines[0].to_string()
}

fn metrics(run: &Path) -> String {
    fs::read_to_string(run.join("metrics.jsonl")).unwrap()
}

/// Waits until `path` exists (or the time runs out).
fn wait_for(path: &Path, limit: Duration) -> bool {
    let started = Instant::now();
    while !path.exists() {
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// A scratch root holding the small plastic-RNN run of 60 episodes; its metrics.
fn with_reference_of_60() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    zoo_ok(&small_run_args(
        tmp.path().to_str().unwrap(),
        "reference",
        "60",
    ));
    let reference = metrics(&run_dir(tmp.path(), "reference"));
    (tmp, reference)
}

/// `--resume` of the small plastic-RNN run in `dir` to 60 episodes.
fn resume_to_60(dir: &Path) -> Vec<String> {
    strings(&[
        "train",
        "plastic-rnn",
        "--resume",
        dir.to_str().unwrap(),
        "--episodes",
        "60",
    ])
}

#[test]
fn a_run_and_a_resume_of_it_started_together_leave_one_writer_and_a_whole_history() {
    let (tmp, reference) = with_reference_of_60();
    let out = tmp.path().to_str().unwrap();
    for trial in 0..8 {
        let name = format!("race{trial}");
        let fresh = spawn(&strings(&small_run_args(out, &name, "60")));
        // From at once to well into training: before, during and after the first checkpoint.
        std::thread::sleep(Duration::from_millis(15 * trial));
        let dir = run_dir(tmp.path(), &name);
        let resume = spawn(&resume_to_60(&dir));
        let (fresh, resume) = (
            fresh.wait_with_output().unwrap(),
            resume.wait_with_output().unwrap(),
        );
        assert!(
            fresh.status.success(),
            "trial {trial}: the first run failed:\n{}",
            stderr(&fresh)
        );
        refusal(&resume);
        assert_eq!(metrics(&dir), reference, "trial {trial}");
    }
}

#[test]
fn a_resume_while_the_run_trains_is_refused_naming_the_writer_and_eval_still_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_ok(&small_run_args(out, "reference", "400"));
    let mut training = spawn(&strings(&small_run_args(out, "busy", "400")));
    let dir = run_dir(tmp.path(), "busy");
    assert!(wait_for(&dir.join("LATEST"), Duration::from_secs(30)));
    let shown = dir.to_str().unwrap();
    let resumed = zoo(&["train", "plastic-rnn", "--resume", shown]);
    let line = refusal(&resumed);
    assert!(
        line.contains(&format!("process {}", training.id())),
        "{line}"
    );
    let again = zoo(&small_run_args(out, "busy", "400"));
    assert!(refusal(&again).contains("is being written by"));
    zoo_ok(&["eval", shown]);
    assert!(training.wait().unwrap().success());
    assert_eq!(metrics(&dir), metrics(&run_dir(tmp.path(), "reference")));
}

#[test]
fn two_resumes_started_together_leave_one_writer() {
    let (tmp, reference) = with_reference_of_60();
    let out = tmp.path().to_str().unwrap();
    for trial in 0..6 {
        let name = format!("cut{trial}");
        zoo_ok(&small_run_args(out, &name, "30"));
        let dir = run_dir(tmp.path(), &name);
        let resume = resume_to_60(&dir);
        let (first, second) = (spawn(&resume), spawn(&resume));
        let outs = [
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        ];
        let winners = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(winners, 1, "trial {trial}: exactly one resume proceeds");
        refusal(outs.iter().find(|o| !o.status.success()).unwrap());
        assert_eq!(metrics(&dir), reference, "trial {trial}");
    }
}

#[test]
fn two_fresh_runs_into_one_name_leave_one_of_them_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let seeded = |name: &str, seed: &str| {
        let mut args = strings(&small_run_args(out, name, "30"));
        args.extend(["--seed".to_string(), seed.to_string()]);
        args
    };
    let references: Vec<String> = ["0", "1"]
        .iter()
        .map(|seed| {
            let name = format!("seed{seed}");
            assert!(Command::new(BIN)
                .args(seeded(&name, seed))
                .output()
                .unwrap()
                .status
                .success());
            metrics(&run_dir(tmp.path(), &name))
        })
        .collect();
    for trial in 0..8 {
        let name = format!("shared{trial}");
        let first = spawn(&seeded(&name, "0"));
        let second = spawn(&seeded(&name, "1"));
        let outs = [
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        ];
        let winners: Vec<usize> = (0..2).filter(|&k| outs[k].status.success()).collect();
        assert_eq!(winners.len(), 1, "trial {trial}: exactly one run proceeds");
        refusal(&outs[1 - winners[0]]);
        let dir = run_dir(tmp.path(), &name);
        let config: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["train"]["seed"], winners[0] as u64, "trial {trial}");
        assert_eq!(metrics(&dir), references[winners[0]], "trial {trial}");
    }
}

#[test]
fn a_run_without_a_complete_checkpoint_starts_afresh_by_train_or_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_ok(&small_run_args(out, "reference", "12"));
    let reference = run_dir(tmp.path(), "reference");
    // What a kill before the first checkpoint was complete leaves: the configuration, a
    // line of metrics, a partial checkpoint.
    for (name, how) in [("by-train", "train"), ("by-resume", "resume")] {
        let dir = run_dir(tmp.path(), name);
        fs::create_dir_all(dir.join(".checkpoint-000000000.partial")).unwrap();
        fs::copy(reference.join("config.json"), dir.join("config.json")).unwrap();
        fs::write(dir.join("metrics.jsonl"), "{\"episode\":1,\"loss\":9.0}\n").unwrap();
        let done = if how == "train" {
            zoo_ok(&small_run_args(out, name, "12"))
        } else {
            zoo_ok(&["train", "plastic-rnn", "--resume", dir.to_str().unwrap()])
        };
        assert!(
            stderr(&done).contains("holds no complete checkpoint: starting the run afresh"),
            "{}",
            stderr(&done)
        );
        assert_eq!(metrics(&dir), metrics(&reference), "{how}");
    }
    // Nothing at all to go on from: refused, not started.
    let empty = tmp.path().join("plastic-rnn/empty");
    fs::create_dir_all(&empty).unwrap();
    let line = refusal(&zoo(&[
        "train",
        "plastic-rnn",
        "--resume",
        empty.to_str().unwrap(),
    ]));
    assert!(line.contains("holds no run to resume"), "{line}");
}

#[test]
fn a_run_cut_off_after_its_final_checkpoint_is_finished_by_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let whole = zoo_ok(&small_run_args(out, "cut", "12"));
    let dir = run_dir(tmp.path(), "cut");
    let history = metrics(&dir);
    let eval = eval_line(&whole);
    // What a kill between the final checkpoint and the plots leaves.
    for file in ["report.json", "learning_curve.png", "weights.png"] {
        fs::remove_file(dir.join(file)).unwrap();
    }
    let shown = dir.to_str().unwrap();
    let finished = zoo_ok(&["train", "plastic-rnn", "--resume", shown]);
    assert!(
        stderr(&finished).contains("completed its 12 steps but not its plots and report"),
        "{}",
        stderr(&finished)
    );
    for file in ["report.json", "learning_curve.png", "weights.png"] {
        assert!(dir.join(file).exists(), "{file}");
    }
    assert_eq!(metrics(&dir), history);
    assert_eq!(eval_line(&finished), eval);
    // Now it is finished: a resume without a longer run is refused.
    let line = refusal(&zoo(&["train", "plastic-rnn", "--resume", shown]));
    assert!(line.contains("pass a larger --episodes"), "{line}");
}

#[test]
fn a_history_cut_short_or_altered_is_refused_not_extended() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_ok(&small_run_args(out, "half", "30"));
    let dir = run_dir(tmp.path(), "half");
    let shown = dir.to_str().unwrap();
    let whole = metrics(&dir);
    let resume = [
        "train",
        "plastic-rnn",
        "--resume",
        shown,
        "--episodes",
        "40",
    ];
    let cut: String = whole.lines().take(10).map(|l| format!("{l}\n")).collect();
    fs::write(dir.join("metrics.jsonl"), &cut).unwrap();
    let line = refusal(&zoo(&resume));
    assert!(line.contains("cut short"), "{line}");
    assert_eq!(metrics(&dir), cut, "a refused resume leaves the file alone");
    fs::write(
        dir.join("metrics.jsonl"),
        whole.replacen("\"loss\":", "\"loss\":1", 1),
    )
    .unwrap();
    let line = refusal(&zoo(&resume));
    assert!(line.contains("altered"), "{line}");
    fs::write(dir.join("metrics.jsonl"), &whole).unwrap();
    zoo_ok(&resume);
    assert_eq!(metrics(&dir).lines().count(), 40);
}

/// feedback-alignment's default trains three methods, one run each, then a summary.
fn methods_args<'a>(out: &'a str, name: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "feedback-alignment",
        "--hidden",
        "8",
        "--steps",
        "3000",
        "--log-every",
        "100",
        "--checkpoint-every",
        "500",
        "--out",
        out,
        "--run-name",
        name,
    ]
}

#[test]
fn a_killed_command_of_several_runs_is_finished_by_the_same_command_or_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_ok(&methods_args(out, "whole"));
    let group = |name: &str| tmp.path().join("feedback-alignment").join(name);
    let whole = group("whole");
    let whole_summary = fs::read_to_string(whole.join("summary.md")).unwrap();
    for (name, again) in [("again", "same command"), ("resumed", "resume")] {
        let mut child = spawn(&strings(&methods_args(out, name)));
        // Killed while the second method trains: the first is finished, the third untouched.
        assert!(wait_for(
            &group(name).join("fa").join("LATEST"),
            Duration::from_secs(120)
        ));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!group(name).join("summary.md").exists());
        let done = if again == "same command" {
            zoo_ok(&methods_args(out, name))
        } else {
            zoo_ok(&[
                "train",
                "feedback-alignment",
                "--resume",
                group(name).to_str().unwrap(),
            ])
        };
        assert!(
            stderr(&done).contains("finished earlier: kept"),
            "{again}: {}",
            stderr(&done)
        );
        for method in ["bp", "fa", "dfa"] {
            assert_eq!(
                metrics(&group(name).join(method)),
                metrics(&whole.join(method)),
                "{again}: {method}"
            );
        }
        let summary = fs::read_to_string(group(name).join("summary.md")).unwrap();
        assert_eq!(summary, whole_summary, "{again}");
    }
    // Another command into the same directory is refused, not mixed in.
    let mut other = methods_args(out, "whole");
    other.extend(["--method", "bp,fa"]);
    let line = refusal(&zoo(&other));
    assert!(line.contains("of another command"), "{line}");
}

/// The processes whose parent is `pid` (Linux: every thread's `children` list).
#[cfg(target_os = "linux")]
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Whether process `pid` still runs (a zombie has ended).
#[cfg(target_os = "linux")]
fn is_running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        })
        .unwrap_or(false)
}

/// A process killed when the test lets go of it, failing or not, so that nothing is left
/// running.
#[cfg(target_os = "linux")]
struct KilledOnDrop(std::process::Child);

#[cfg(target_os = "linux")]
impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_compare_takes_its_measuring_child_with_it() {
    // `compare` measures each engine in a child process of its own; asked for endless
    // episodes, the child would run on after its parent was killed, were it not tied to it.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let mut parent = KilledOnDrop(spawn(&strings(&[
        "compare",
        "--sizes",
        "8",
        "--steps",
        "66",
        "--episodes",
        "1000000000",
        "--out",
        out,
    ])));
    let started = Instant::now();
    // The first running child: one that has already ended (a zombie not yet reaped) does
    // not count.
    let child = loop {
        if let Some(child) = children_of(parent.0.id())
            .into_iter()
            .find(|&c| is_running(c))
        {
            break child;
        }
        assert!(
            parent.0.try_wait().unwrap().is_none(),
            "compare ended before it started a child"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no child within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    parent.0.kill().unwrap();
    parent.0.wait().unwrap();
    let killed = Instant::now();
    while is_running(child) {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "the measuring child {child} runs on 10 s after its parent was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
