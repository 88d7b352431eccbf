//! The local engine: a sweep's unfinished cells as child processes of this executable
//! (`sweep PLAN --cell I`), several at once, each writing its output to `logs/`. Killing the
//! sweep kills its cells (they die with their parent); running it again keeps the finished
//! cells and continues the others from their last checkpoints.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::plan::Cell;
use super::{Sweep, LOGS_DIR};
use crate::backend::BackendChoice;
use crate::util::human_bytes;

/// Memory a cell's process needs besides its run's estimate (the executable, its runtime).
pub const PROCESS_OVERHEAD: u64 = 256 << 20;

/// How the local engine runs a sweep.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// Cells at once (`None`: what the CPUs and the memory allow together).
    pub jobs: Option<usize>,
    /// Passed to every cell.
    pub backend: Option<BackendChoice>,
    pub max_memory: Option<u64>,
}

/// What a local sweep did.
pub struct Outcome {
    /// Cells already finished before this command.
    pub kept: usize,
    pub trained: usize,
    /// Cells that failed, with their logs.
    pub failed: Vec<(Cell, PathBuf)>,
}

/// The CPUs this process may use: its affinity mask and cgroup quota (what the standard
/// library reads), or what SLURM granted the task.
pub fn allowed_cpus() -> usize {
    let allowed = std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        Some(granted) if granted > 0 => granted.min(allowed),
        _ => allowed,
    }
}

/// Cells at once by default: one per CPU, as many as the memory holds at each cell's peak.
pub fn default_jobs(sweep: &Sweep, pending: usize, max_memory: Option<u64>) -> usize {
    let per_cell = sweep.peak_memory().saturating_add(PROCESS_OVERHEAD);
    let memory = max_memory.or_else(crate::memory::available_bytes);
    let by_memory = memory.map_or(usize::MAX, |bytes| (bytes / per_cell).max(1) as usize);
    allowed_cpus().min(by_memory).min(pending).max(1)
}

struct Running {
    cell: Cell,
    child: Child,
    log: PathBuf,
    started: Instant,
}

/// Runs every unfinished cell of `sweep`, `jobs` at a time, with one progress bar.
pub fn run_local(sweep: &Sweep, options: &LocalOptions) -> anyhow::Result<Outcome> {
    sweep.write_record()?;
    let mut pending: Vec<Cell> = sweep
        .cells
        .iter()
        .filter(|c| !sweep.finished(c))
        .cloned()
        .collect();
    let kept = sweep.cells.len() - pending.len();
    let jobs = match options.jobs {
        Some(0) => bail!("-j takes at least 1 cell at a time"),
        Some(jobs) => jobs,
        None => default_jobs(sweep, pending.len(), options.max_memory),
    };
    let threads = (allowed_cpus() / jobs.min(pending.len()).max(1)).max(1);
    eprintln!(
        "sweep {}: {} cells of {} ({kept} finished before), {jobs} at a time, {threads} thread{} each, up to {} per cell",
        sweep.path.display(),
        sweep.cells.len(),
        sweep.plan.model,
        if threads == 1 { "" } else { "s" },
        human_bytes(u128::from(sweep.peak_memory()))
    );
    let exe = std::env::current_exe().context("cannot find the plastic-zoo executable")?;
    let bar = crate::trainer::progress_bar(sweep.cells.len() as u64, kept as u64);
    let say = |line: String| {
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
    };
    pending.reverse();
    let mut running: Vec<Running> = Vec::new();
    let mut trained = 0;
    let mut failed = Vec::new();
    while !pending.is_empty() || !running.is_empty() {
        while running.len() < jobs {
            let Some(cell) = pending.pop() else { break };
            running.push(start(sweep, &exe, cell, threads, options)?);
        }
        let mut k = 0;
        while k < running.len() {
            let Some(status) = running[k]
                .child
                .try_wait()
                .context("cannot wait for a cell's process")?
            else {
                k += 1;
                continue;
            };
            let done = running.swap_remove(k);
            let seconds = done.started.elapsed().as_secs_f64();
            if status.success() {
                trained += 1;
                say(format!(
                    "cell {} ({}) finished in {seconds:.1} s",
                    done.cell.index, done.cell.name
                ));
            } else {
                say(format!(
                    "cell {} ({}) failed after {seconds:.1} s: {}",
                    done.cell.index,
                    done.cell.name,
                    last_error(&done.log)
                ));
                failed.push((done.cell, done.log));
            }
            bar.inc(1);
        }
        bar.set_message(format!(
            "{} running, {} failed",
            running.len(),
            failed.len()
        ));
        std::thread::sleep(Duration::from_millis(50));
    }
    bar.finish_and_clear();
    Ok(Outcome {
        kept,
        trained,
        failed,
    })
}

/// Starts `cell` as a child process that writes to its log and dies with this process.
fn start(
    sweep: &Sweep,
    exe: &std::path::Path,
    cell: Cell,
    threads: usize,
    options: &LocalOptions,
) -> anyhow::Result<Running> {
    let log = sweep
        .plan
        .out
        .join(LOGS_DIR)
        .join(format!("{}-{}.log", cell.index, cell.name));
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open the log {}", log.display()))?;
    writeln!(
        file,
        "== plastic-zoo sweep: cell {} ({})",
        cell.index, cell.name
    )?;
    let mut command = Command::new(exe);
    if let Some(backend) = options.backend {
        command.args(["--backend", backend.name()]);
    }
    command
        .arg("sweep")
        .arg(&sweep.path)
        .args(["--cell", &cell.index.to_string()]);
    if let Some(bytes) = options.max_memory {
        command.args(["--max-memory", &bytes.to_string()]);
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        command.env("RAYON_NUM_THREADS", threads.to_string());
    }
    command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    crate::backend::ends_with_this_process(&mut command);
    let child = command
        .spawn()
        .with_context(|| format!("cannot start cell {}", cell.index))?;
    Ok(Running {
        cell,
        child,
        log,
        started: Instant::now(),
    })
}

/// The last `error:` line of a cell's log (or its last line).
pub fn last_error(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut lines = text.lines().rev().filter(|l| !l.trim().is_empty());
    let last = lines.clone().next().unwrap_or("no output").to_string();
    lines
        .find(|l| l.starts_with("error:"))
        .map(str::to_string)
        .unwrap_or(last)
}
