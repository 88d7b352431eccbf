//! What a run directory that may already hold a run needs: a fresh start, a checkpoint to
//! go on from, the last stretch again (to make the plots and report of a run cut off after
//! its final checkpoint), or nothing; and training it so.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;

use super::{TrainJob, TrainRequest};
use crate::backend::{self, BackendChoice};
use crate::checkpoint::{Checkpoint, RunDir, CONFIG_FILE, METRICS_FILE};
use crate::config::{differences, overlay_value};
use crate::experiment::{Experiment, Report};
use crate::memory;
use crate::metrics::MetricsLog;
use crate::trainer::Trainer;

/// `train <model> --resume DIR`: the saved run, with only its length (and what else
/// [`Experiment::RESUMABLE`] lists) changed by the flags.
pub(super) fn resume<E: Experiment>(
    path: &Path,
    request: &TrainRequest,
    backend: BackendChoice,
) -> anyhow::Result<Report> {
    let dir = RunDir::of(path)?;
    if !dir.holds_run() && !dir.file(CONFIG_FILE).exists() {
        bail!(
            "{} holds no run to resume (no checkpoint, no {CONFIG_FILE}): train a new one",
            path.display()
        );
    }
    if dir.file(super::IMPORTED_FILE).exists() {
        bail!(
            "{} holds imported weights ({}): it has no optimizer state or metrics to go on from; eval it, or train a new run",
            dir.path.display(),
            super::IMPORTED_FILE
        );
    }
    let _lock = dir.lock()?;
    let (run, start) = plan::<E>(
        &dir,
        path,
        Target::Flags(&request.flags),
        request.max_memory,
    )?;
    if let Start::Finished(_) = start {
        let steps = E::schedule(&run)?.steps;
        let longer = E::RESUMABLE
            .iter()
            .map(|(_, flag)| *flag)
            .find(|flag| !["--checkpoint-every", "--eval-episodes"].contains(flag));
        match longer {
            Some(flag) => bail!(
                "the run has already completed its {steps} steps: pass a larger {flag} to continue it, or eval it"
            ),
            None => bail!(
                "the run has already completed its {steps} steps and cannot be made longer: eval it, or train a new run"
            ),
        }
    }
    execute::<E>(&dir, &run, start, None, backend)
}

/// How a run directory that may hold a run is to be trained.
pub(super) enum Start {
    /// From the first step: what the directory held is cleared.
    Fresh,
    /// From this checkpoint.
    From(Box<Checkpoint>),
    /// Not at all: the run is finished, and this is its report.
    Finished(Report),
}

/// What a run directory is to be trained as.
pub(super) enum Target<'a, R> {
    /// What it was configured as, with these flags laid over it (`--resume`).
    Flags(&'a Value),
    /// This run (the same command again).
    Run(&'a R),
}

/// What to do with `dir` (locked by the caller) to train `target`, starting from the
/// checkpoint `from` names: afresh when it holds no complete checkpoint, from the
/// checkpoint when it is not at the end, nothing when the run is finished, and, when its
/// final checkpoint is complete but the plots and report are not, from the checkpoint
/// before (the run's last stretch is repeated, which makes what it reports again).
pub(super) fn plan<E: Experiment>(
    dir: &RunDir,
    from: &Path,
    target: Target<'_, E::Run>,
    max_memory: Option<u64>,
) -> anyhow::Result<(E::Run, Start)> {
    if !dir.holds_run() {
        let run = match target {
            Target::Run(run) => run.clone(),
            Target::Flags(flags) => {
                let path = dir.file(CONFIG_FILE);
                let saved: E::Run = crate::config::read_json(&path)
                    .with_context(|| format!("{} holds no checkpoint and", dir.path.display()))?;
                let run = changed_run::<E>(&saved, Target::Flags(flags))?;
                E::prepare(&run)?;
                run
            }
        };
        E::validate(&run)?;
        memory::check(E::memory_needed(&run), max_memory, E::MEMORY_HINT)?;
        if dir.holds_anything() {
            eprintln!(
                "{} holds no complete checkpoint: starting the run afresh",
                dir.path.display()
            );
        }
        return Ok((run, Start::Fresh));
    }
    let (_, checkpoint) = RunDir::open(from)?;
    if checkpoint.model() != E::NAME {
        bail!(
            "{} holds a '{}' checkpoint, not a '{}' one",
            from.display(),
            checkpoint.model(),
            E::NAME
        );
    }
    let saved: E::Run = checkpoint.config()?;
    let run = changed_run::<E>(&saved, target)?;
    E::validate(&run).context("cannot resume")?;
    memory::check(E::memory_needed(&run), max_memory, E::MEMORY_HINT)?;
    let steps = E::schedule(&run)?.steps;
    let checkpoint = if checkpoint.step() < steps {
        checkpoint
    } else if let Some(report) = dir.read_report()? {
        return Ok((run, Start::Finished(report)));
    } else {
        let previous = dir
            .checkpoint_dirs()
            .into_iter()
            .rev()
            .filter(|(step, _)| *step < checkpoint.step())
            .find_map(|(_, path)| RunDir::open(&path).ok().map(|(_, c)| c));
        let Some(previous) = previous else {
            bail!(
                "{} completed its {steps} steps but not its plots and report, and holds no earlier checkpoint to repeat the last stretch from: eval it, or train it again",
                dir.path.display()
            );
        };
        eprintln!(
            "{} completed its {steps} steps but not its plots and report: repeating steps {}..{} to make them",
            dir.path.display(),
            previous.step(),
            checkpoint.step()
        );
        previous
    };
    if let Some(history) = &checkpoint.state.history {
        MetricsLog::new(dir.file(METRICS_FILE))
            .checked_prefix(history)
            .with_context(|| format!("cannot resume from {}", checkpoint.dir.display()))?;
    }
    E::prepare(&run)?;
    Ok((run, Start::From(Box::new(checkpoint))))
}

/// `target`'s run, refused unless it differs from `saved` only where a resumed run may.
pub(super) fn changed_run<E: Experiment>(
    saved: &E::Run,
    target: Target<'_, E::Run>,
) -> anyhow::Result<E::Run> {
    let run = match target {
        Target::Flags(flags) => overlay_value(saved, flags.clone())?,
        Target::Run(run) => run.clone(),
    };
    let changed: Vec<String> =
        differences(&serde_json::to_value(saved)?, &serde_json::to_value(&run)?)
            .into_iter()
            .filter(|pointer| !E::RESUMABLE.iter().any(|(p, _)| p == pointer))
            .collect();
    if changed.is_empty() {
        return Ok(run);
    }
    Err(resume_refusal::<E>(&changed))
}

/// Why a run cannot go on as asked: what differs from how it was configured.
pub(super) fn resume_refusal<E: Experiment>(changed: &[String]) -> anyhow::Error {
    let allowed: Vec<&str> = E::RESUMABLE.iter().map(|(_, flag)| *flag).collect();
    let may = if allowed.is_empty() {
        "nothing may change".to_string()
    } else {
        format!("only {} may change", allowed.join(", "))
    };
    let differs = if changed.is_empty() {
        String::new()
    } else {
        format!(" (this would change {})", changed.join(", "))
    };
    anyhow::anyhow!(
        "a run goes on as it was configured; {may}{differs}: train a new run under another --run-name for other settings"
    )
}

/// Trains `run` in `dir` (locked by the caller) as `start` says, then marks it finished.
pub(super) fn execute<E: Experiment>(
    dir: &RunDir,
    run: &E::Run,
    start: Start,
    variant: Option<&str>,
    backend: BackendChoice,
) -> anyhow::Result<Report> {
    let label = variant.map(|v| format!(" ({v})")).unwrap_or_default();
    let checkpoint = match start {
        Start::Finished(report) => {
            eprintln!(
                "{}{label} finished earlier: kept as it is",
                dir.path.display()
            );
            println!("{}", report.text);
            return Ok(report);
        }
        Start::Fresh => {
            dir.clear_unfinished()?;
            eprintln!(
                "training {}{label} on {backend} into {}",
                E::NAME,
                dir.path.display()
            );
            None
        }
        Start::From(checkpoint) => {
            dir.forget_report()?;
            eprintln!(
                "training {}{label} from step {} on {backend} into {}",
                E::NAME,
                checkpoint.step(),
                dir.path.display()
            );
            Some(*checkpoint)
        }
    };
    dir.write_json(CONFIG_FILE, run)?;
    let trainer = trainer_for::<E>(dir.clone(), run, checkpoint)?;
    let report = backend::run_on(backend, TrainJob::<E> { run, trainer })??;
    dir.write_report(&report)?;
    println!("{}", report.text);
    Ok(report)
}

fn trainer_for<E: Experiment>(
    dir: RunDir,
    run: &E::Run,
    resume: Option<Checkpoint>,
) -> anyhow::Result<Trainer> {
    Ok(Trainer {
        run: dir,
        model: E::NAME,
        config: serde_json::to_value(run)?,
        schedule: E::schedule(run)?,
        headline: E::HEADLINE,
        resume,
        hint: "",
    })
}
