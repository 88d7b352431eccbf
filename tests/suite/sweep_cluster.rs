//! A sweep on real schedulers: a single-node SLURM started from Debian's packages runs the
//! emitted job array, one task is cancelled mid-run and resubmitted, and every cell's
//! `metrics.jsonl` equals the local engine's byte for byte; GNU parallel runs the emitted job
//! list likewise. Without the schedulers installed (and root, which slurmd needs) these tests
//! say so and are not run, unless `PLASTIC_ZOO_REQUIRE_CLUSTER=1` makes that a failure (CI
//! installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::sweeps::{bohp_plan, last_json, metrics_files, write_plan_text};
use crate::common::{stderr, stdout, BIN};

/// Whether `programs` are all installed (and, for SLURM, this is root); if not, says so, or
/// fails where `PLASTIC_ZOO_REQUIRE_CLUSTER=1`.
fn available(what: &str, programs: &[&str], needs_root: bool) -> bool {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {p}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let why = if !missing.is_empty() {
        format!("{} not installed", missing.join(", "))
    } else if needs_root && !root {
        "not root".to_string()
    } else {
        return true;
    };
    if std::env::var("PLASTIC_ZOO_REQUIRE_CLUSTER").as_deref() == Ok("1") {
        panic!("PLASTIC_ZOO_REQUIRE_CLUSTER=1, but the {what} test cannot run: {why}");
    }
    eprintln!(
        "the {what} test is not run: {why} (PLASTIC_ZOO_REQUIRE_CLUSTER=1 makes this a failure)"
    );
    false
}

/// Two plans of two models: plastic-rnn cells long enough to be cancelled mid-run (saved
/// every 1000 of 20 000 episodes), and quick hebbian-ff cells.
fn plans(dir: &Path, out_prefix: &str) -> [PathBuf; 2] {
    let long = write_plan_text(
        dir,
        &format!("{out_prefix}-long.json"),
        &bohp_plan(20_000, 1000, &[0]),
        &format!("{out_prefix}-long"),
    );
    let quick = write_plan_text(
        dir,
        &format!("{out_prefix}-quick.json"),
        r#"{"model": "hebbian-ff", "flags": {"replications": 4, "updates": 50},
            "grid": {"seed": [0, 1]}, "out": "OUT"}"#,
        &format!("{out_prefix}-quick"),
    );
    [long, quick]
}

/// The local engine's sweep of `plan`, one thread per cell.
fn run_locally(plan: &Path) {
    let out = Command::new(BIN)
        .arg("sweep")
        .arg(plan)
        .args(["-j", "2"])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

fn out_of(plan: &Path) -> PathBuf {
    plan.with_extension("")
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The collected cells' figures, without where and how fast they ran.
fn collected_figures(dir: &Path) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["--json", "collect"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    last_json(&out)["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            serde_json::json!({"name": cell["name"], "finished": cell["finished"], "metrics": cell["metrics"]})
        })
        .collect()
}

/// A single-node SLURM (munged, slurmctld, slurmd) under a temporary directory; stopped by
/// PID when dropped.
struct Slurm {
    dir: tempfile::TempDir,
    pids: Vec<u32>,
}

impl Slurm {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["munge", "state", "spool", "log", "run"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let mut slurm = Self {
            dir,
            pids: Vec::new(),
        };
        let root = slurm.dir.path().to_path_buf();
        let key = root.join("munge/munge.key");
        run_ok(Command::new("mungekey").arg("-c").arg("-k").arg(&key));
        run_ok(
            Command::new("munged")
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--socket={}", root.join("munge/socket").display()))
                .arg(format!(
                    "--pid-file={}",
                    root.join("munge/munged.pid").display()
                ))
                .arg(format!(
                    "--log-file={}",
                    root.join("munge/munged.log").display()
                ))
                .arg(format!("--seed-file={}", root.join("munge/seed").display()))
                .arg("--force"),
        );
        slurm.remember(&root.join("munge/munged.pid"));
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
            .to_string();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let memory_mb = std::fs::read_to_string("/proc/meminfo")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap()
            / 1024
            / 2;
        // Ports of this test's own, away from SLURM's defaults.
        let port = 17_000 + (std::process::id() % 2000) * 2;
        let conf = format!(
            "ClusterName=pz\nSlurmctldHost={host}\nSlurmUser=root\nSlurmdUser=root\n\
             AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket={socket}\n\
             SlurmctldPort={port}\nSlurmdPort={port2}\n\
             StateSaveLocation={root}/state\nSlurmdSpoolDir={root}/spool\n\
             SlurmctldPidFile={root}/run/slurmctld.pid\nSlurmdPidFile={root}/run/slurmd.pid\n\
             SlurmctldLogFile={root}/log/slurmctld.log\nSlurmdLogFile={root}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
             SelectType=select/cons_tres\nSelectTypeParameters=CR_Core_Memory\n\
             JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n\
             MpiDefault=none\nReturnToService=2\nKillWait=2\n\
             SchedulerParameters=sched_interval=1\n\
             NodeName={host} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN\n\
             PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n",
            socket = root.join("munge/socket").display(),
            port2 = port + 1,
            root = root.display(),
        );
        std::fs::write(root.join("slurm.conf"), conf).unwrap();
        run_ok(&mut slurm.command("slurmctld"));
        slurm.remember(&root.join("run/slurmctld.pid"));
        run_ok(&mut slurm.command("slurmd"));
        slurm.remember(&root.join("run/slurmd.pid"));
        wait_until("the node to be idle", Duration::from_secs(60), || {
            let out = slurm.command("sinfo").args(["-h", "-o", "%T"]).output();
            out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        slurm
    }

    /// A SLURM command that reads this cluster's configuration.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", self.dir.path().join("slurm.conf"));
        command
    }

    fn remember(&mut self, pid_file: &Path) {
        let mut pid = None;
        wait_until("a daemon's PID file", Duration::from_secs(20), || {
            pid = std::fs::read_to_string(pid_file)
                .ok()
                .and_then(|t| t.trim().parse().ok());
            pid.is_some()
        });
        self.pids.push(pid.unwrap());
    }

    /// Submits `script` (with `extra` sbatch options first); returns the job's id.
    fn submit(&self, script: &Path, extra: &[&str]) -> String {
        let out = self
            .command("sbatch")
            .arg("--parsable")
            .args(extra)
            .arg(script)
            .output()
            .unwrap();
        assert!(out.status.success(), "sbatch: {}", stderr(&out));
        stdout(&out).trim().to_string()
    }

    fn queue_is_empty(&self) -> bool {
        let out = self.command("squeue").args(["-h"]).output().unwrap();
        stdout(&out).trim().is_empty()
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        for pid in self.pids.iter().rev() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let started = Instant::now();
        for pid in &self.pids {
            while Path::new(&format!("/proc/{pid}")).exists()
                && started.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

fn run_ok(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

#[test]
fn a_slurm_array_with_a_cancelled_and_resubmitted_task_equals_the_local_engine() {
    if !available(
        "SLURM",
        &[
            "slurmctld",
            "slurmd",
            "munged",
            "mungekey",
            "sbatch",
            "scancel",
        ],
        true,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = plans(dir.path(), "local");
    for plan in &local {
        run_locally(plan);
    }
    let slurm = Slurm::start();
    let cluster = plans(dir.path(), "slurm");
    let mut scripts = Vec::new();
    let mut jobs = Vec::new();
    for plan in &cluster {
        let emitted = Command::new(BIN)
            .arg("sweep")
            .arg(plan)
            .args(["--emit", "slurm", "--time", "0:10:00"])
            .output()
            .unwrap();
        assert!(emitted.status.success(), "{}", stderr(&emitted));
        let script = plan.with_extension("sbatch");
        std::fs::write(&script, stdout(&emitted)).unwrap();
        jobs.push(slurm.submit(&script, &[]));
        scripts.push(script);
    }
    // Cancel the long plan's first task once it has saved a checkpoint past its start.
    let cell = out_of(&cluster[0]).join("seed=0,lr=0.001");
    wait_until("a checkpoint of cell 0", Duration::from_secs(120), || {
        std::fs::read_dir(&cell).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.starts_with("checkpoint-") && name != "checkpoint-000000000"
            })
        })
    });
    run_ok(slurm.command("scancel").arg(format!("{}_0", jobs[0])));
    wait_until("the cancelled task to end", Duration::from_secs(60), || {
        let out = slurm
            .command("squeue")
            .args(["-h", "-j", &format!("{}_0", jobs[0])])
            .output()
            .unwrap();
        stdout(&out).trim().is_empty()
    });
    assert!(
        !cell.join("report.json").exists(),
        "cell 0 finished before it was cancelled: lengthen it"
    );
    let again = slurm.submit(&scripts[0], &["--array=0"]);
    wait_until("every task to end", Duration::from_secs(300), || {
        slurm.queue_is_empty()
    });
    let log = std::fs::read_to_string(
        out_of(&cluster[0])
            .join("logs")
            .join(format!("slurm-{again}_0.out")),
    )
    .unwrap();
    assert!(
        log.contains("from step"),
        "the resubmitted task should resume cell 0 from its checkpoint:\n{log}"
    );
    for (here, there) in local.iter().zip(&cluster) {
        assert_eq!(
            metrics_files(&out_of(there)),
            metrics_files(&out_of(here)),
            "{}",
            there.display()
        );
        let figures = collected_figures(&out_of(there));
        assert!(figures.iter().all(|c| c["finished"] == true), "{figures:?}");
        assert_eq!(figures, collected_figures(&out_of(here)));
    }
}

#[test]
fn gnu_parallel_runs_the_emitted_job_list_as_the_local_engine_does() {
    if !available("GNU parallel", &["parallel"], false) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = plans(dir.path(), "local");
    let listed = plans(dir.path(), "parallel");
    // The quick plan (the long one is the SLURM test's).
    run_locally(&local[1]);
    let emitted = Command::new(BIN)
        .arg("sweep")
        .arg(&listed[1])
        .args(["--emit", "parallel"])
        .output()
        .unwrap();
    assert!(emitted.status.success(), "{}", stderr(&emitted));
    let mut parallel = Command::new("parallel")
        .args(["--will-cite", "-j", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    parallel
        .stdin
        .take()
        .unwrap()
        .write_all(&emitted.stdout)
        .unwrap();
    let out = parallel.wait_with_output().unwrap();
    assert!(out.status.success(), "parallel: {}", stderr(&out));
    assert_eq!(
        metrics_files(&out_of(&listed[1])),
        metrics_files(&out_of(&local[1]))
    );
    assert_eq!(
        collected_figures(&out_of(&listed[1])),
        collected_figures(&out_of(&local[1]))
    );
}
