//! Checkpoints survive `kill -9` and refuse bit rot, through the real binary.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A plastic-RNN run that saves after every episode: most of its time goes to checkpoints,
/// so that kills land in every phase of a save.
fn run_args<'a>(out: &'a str, name: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "plastic-rnn",
        "--preset",
        "dp-simple",
        "--neurons",
        "60",
        "--patterns",
        "3",
        "--episodes",
        "40",
        "--checkpoint-every",
        "1",
        "--eval-episodes",
        "2",
        "--out",
        out,
        "--run-name",
        name,
    ]
}

#[test]
fn training_killed_at_random_moments_resumes_to_the_same_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let started = Instant::now();
    zoo_ok(&run_args(out, "whole"));
    let whole_time = started.elapsed();
    let whole = fs::read_to_string(tmp.path().join("plastic-rnn/whole/metrics.jsonl")).unwrap();
    assert_eq!(whole.lines().count(), 40);

    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut killed_mid_run = 0;
    let mut trial = 0;
    while killed_mid_run < 20 && trial < 60 {
        trial += 1;
        let name = format!("killed{trial}");
        let mut child = Command::new(BIN)
            .args(run_args(out, &name))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = whole_time.mul_f64(rng.random_range(0.05..0.8));
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let dir = tmp.path().join("plastic-rnn").join(&name);
        if !finished {
            killed_mid_run += 1;
        }
        if !dir.join("LATEST").exists() && !has_checkpoint(&dir) {
            // Killed before its first checkpoint: nothing to resume, start again.
            zoo_ok(&run_args(out, &format!("{name}-again")));
            continue;
        }
        let resumed = zoo(&["train", "plastic-rnn", "--resume", dir.to_str().unwrap()]);
        if !resumed.status.success() {
            assert!(
                stderr(&resumed).contains("already completed"),
                "trial {trial}: resume failed: {}",
                stderr(&resumed)
            );
        }
        let metrics = fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
        assert_eq!(
            metrics, whole,
            "trial {trial} (killed after {delay:?}): the resumed run logged other metrics"
        );
    }
    assert!(
        killed_mid_run >= 20,
        "only {killed_mid_run} of {trial} kills landed before the run ended"
    );
}

fn has_checkpoint(dir: &Path) -> bool {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("checkpoint-"))
        })
        .unwrap_or(false)
}

/// Flips bits of one byte of `file`.
fn flip(file: &Path, rng: &mut ChaCha8Rng) {
    let mut bytes = fs::read(file).unwrap();
    let at = rng.random_range(0..bytes.len());
    bytes[at] ^= rng.random_range(1..=255u8);
    fs::write(file, bytes).unwrap();
}

#[test]
fn a_checkpoint_with_any_byte_changed_is_refused_naming_the_last_good_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    zoo_ok(&small_run_args(out, "good", "5"));
    let good = run_dir(tmp.path(), "good");
    let previous = good.join("checkpoint-000000003");
    assert!(previous.is_dir());
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let files = [
        ("model.mpk", 150),
        ("optimizer.mpk", 20),
        ("state.json", 20),
        ("config.json", 20),
        ("MANIFEST", 20),
    ];
    let scratch = tmp.path().join("scratch");
    for (file, trials) in files {
        for trial in 0..trials {
            let _ = fs::remove_dir_all(&scratch);
            copy_run(&good, &scratch);
            flip(&latest(&scratch).join(file), &mut rng);
            let line = zoo_fails(
                &["eval", scratch.to_str().unwrap(), "--episodes", "2"],
                "is unusable",
            );
            assert!(
                line.contains(file) || file == "MANIFEST" && line.contains("MANIFEST"),
                "{file} trial {trial}: {line}"
            );
            assert!(
                line.contains("the last good checkpoint is")
                    && line.contains("checkpoint-000000003"),
                "{file} trial {trial}: {line}"
            );
            // Resuming refuses it the same way, and leaves the files as they were.
            let before = fs::read(latest(&scratch).join(file)).unwrap();
            zoo_fails(
                &[
                    "train",
                    "plastic-rnn",
                    "--resume",
                    scratch.to_str().unwrap(),
                    "--episodes",
                    "9",
                ],
                "is unusable",
            );
            assert_eq!(before, fs::read(latest(&scratch).join(file)).unwrap());
        }
    }
    // The named checkpoint is good: eval and resume take it.
    let _ = fs::remove_dir_all(&scratch);
    copy_run(&good, &scratch);
    flip(&latest(&scratch).join("model.mpk"), &mut rng);
    let earlier = scratch.join("checkpoint-000000003");
    zoo_ok(&["eval", earlier.to_str().unwrap(), "--episodes", "2"]);
    zoo_ok(&[
        "train",
        "plastic-rnn",
        "--resume",
        earlier.to_str().unwrap(),
    ]);
    assert_eq!(
        fs::read_to_string(scratch.join("metrics.jsonl")).unwrap(),
        fs::read_to_string(good.join("metrics.jsonl")).unwrap()
    );

    // A damaged pointer to the current checkpoint.
    let _ = fs::remove_dir_all(&scratch);
    copy_run(&good, &scratch);
    fs::write(scratch.join("LATEST"), "checkpoint-00000x005\n").unwrap();
    let line = zoo_fails(&["eval", scratch.to_str().unwrap()], "LATEST");
    assert!(line.contains("checkpoint-000000005"), "{line}");
}
