//! Everything around an experiment's own training and evaluation, written once: the
//! configuration (preset ← `--config` file ← flags), run directories, resuming, the memory
//! guard, and running on the chosen backend.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Experiment, Finished, Report};
use crate::backend::{self, BackendChoice, BackendJob};
use crate::checkpoint::{Checkpoint, RunDir, CONFIG_FILE, METRICS_FILE};
use crate::config::{differences, overlay_file, overlay_value};
use crate::memory;
use crate::metrics::MetricsLog;
use crate::trainer::Trainer;
use crate::util::write_atomically;

/// What a `train` command line asks for, in plain values.
#[derive(Debug, Default)]
pub struct TrainRequest {
    /// The preset to start from (`None`: implied by the flags, or the default).
    pub preset: Option<String>,
    /// A JSON file laid over the preset.
    pub config_file: Option<PathBuf>,
    /// The flags given, laid over the file.
    pub flags: Value,
    /// Several runs from one command: each one's name and what it lays over the rest.
    pub variants: Vec<Variant>,
    /// The directory that holds the variants' runs (`None`: the first run's name).
    pub group: Option<String>,
    pub run_name: Option<String>,
    /// Root of the run directories.
    pub out: PathBuf,
    /// Continue the run in this directory (or from this checkpoint directory).
    pub resume: Option<PathBuf>,
    /// The most memory a run may need (`None`: what the machine has available).
    pub max_memory: Option<u64>,
}

/// One of several runs a command trains, e.g. one per `--method`.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub flags: Value,
}

/// What a `train` command did: one report per run, and what the runs show together.
pub struct Trained {
    pub reports: Vec<Report>,
    pub summary: Option<String>,
}

/// The run that a preset, a configuration file and flags describe.
pub fn resolve<E: Experiment>(
    preset: Option<&str>,
    config_file: Option<&std::path::Path>,
    flags: &Value,
) -> anyhow::Result<E::Run> {
    let presets = E::presets();
    let name = preset
        .or_else(|| E::implied_preset(flags))
        .unwrap_or(presets[0].0);
    if !presets.iter().any(|(known, _)| *known == name) {
        let known: Vec<&str> = presets.iter().map(|(n, _)| *n).collect();
        bail!(
            "unknown preset '{name}' for {} (known: {})",
            E::NAME,
            known.join(", ")
        );
    }
    let mut run = E::preset(name)?;
    if let Some(path) = config_file {
        run = overlay_file(&run, path)?;
    }
    overlay_value(&run, flags.clone()).context("the flags do not fit this model's run")
}

/// `train <model>`: fresh runs, the continuation of one (`--resume`), or of the runs of one
/// command (`--resume` of their parent directory, or the same command again).
pub fn train<E: Experiment>(
    request: TrainRequest,
    backend: BackendChoice,
) -> anyhow::Result<Trained> {
    if let Some(path) = &request.resume {
        if request.preset.is_some()
            || request.config_file.is_some()
            || request.run_name.is_some()
            || !request.variants.is_empty()
        {
            return Err(resume_refusal::<E>(&[]));
        }
        if path.join(GROUP_FILE).is_file() {
            return resume_group::<E>(path, &request, backend);
        }
        let report = resume::<E>(path, &request, backend)?;
        return Ok(Trained {
            reports: vec![report],
            summary: None,
        });
    }
    let base = resolve::<E>(
        request.preset.as_deref(),
        request.config_file.as_deref(),
        &request.flags,
    )?;
    let variants = if request.variants.is_empty() {
        vec![None]
    } else {
        request.variants.iter().map(Some).collect()
    };
    let mut runs = Vec::with_capacity(variants.len());
    for variant in &variants {
        let run = match variant {
            Some(variant) => overlay_value(&base, variant.flags.clone())?,
            None => base.clone(),
        };
        E::validate(&run)?;
        memory::check(E::memory_needed(&run), request.max_memory, E::MEMORY_HINT)?;
        runs.push(run);
    }
    for run in &runs {
        E::prepare(run)?;
    }
    let root = request.out.join(E::NAME);
    if variants.len() > 1 {
        let group = request
            .run_name
            .clone()
            .or_else(|| request.group.clone())
            .unwrap_or_else(|| E::run_name(&runs[0]));
        let members = variants
            .iter()
            .zip(runs)
            .map(|(variant, run)| {
                let name = variant.map(|v| v.name.clone()).unwrap_or_default();
                (name, run)
            })
            .collect();
        return train_group::<E>(RunDir::at(&root, &group)?, members, &request, backend);
    }
    let run = runs.pop().expect("one run");
    let name = match (&request.run_name, variants[0]) {
        (Some(name), _) => name.clone(),
        (None, Some(variant)) => format!("{}-{}", E::run_name(&run), variant.name),
        (None, None) => E::run_name(&run),
    };
    let dir = RunDir::at(&root, &name)?;
    let _lock = dir.lock()?;
    if dir.holds_run() {
        let shown = dir.path.display();
        bail!("run directory {shown} already holds a run: continue it with --resume {shown}, choose another --run-name, or remove it");
    }
    let (run, start) = plan::<E>(&dir, &dir.path, Target::Run(&run), request.max_memory)?;
    let report = execute::<E>(&dir, &run, start, None, backend)?;
    Ok(Trained {
        reports: vec![report],
        summary: None,
    })
}

/// The file in the directory of a command's several runs that lists them: their names and
/// configurations, so that `--resume` of the directory can finish them all.
pub const GROUP_FILE: &str = "group.json";

/// `group.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupRecord {
    model: String,
    runs: Vec<GroupMember>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupMember {
    name: String,
    run: Value,
}

/// Trains the runs of one command into `group`, one directory each, and summarises them.
/// Runs the directory already holds are kept when finished and continued when cut off, so
/// the same command run again (or `--resume` of the directory) finishes whatever is missing.
fn train_group<E: Experiment>(
    group: RunDir,
    members: Vec<(String, E::Run)>,
    request: &TrainRequest,
    backend: BackendChoice,
) -> anyhow::Result<Trained> {
    let _group_lock = group.lock()?;
    let record_path = group.file(GROUP_FILE);
    let names: Vec<&str> = members.iter().map(|(name, _)| name.as_str()).collect();
    if let Some(record) = read_group(&group)? {
        let held: Vec<&str> = record.runs.iter().map(|m| m.name.as_str()).collect();
        if record.model != E::NAME || held != names {
            bail!(
                "{} holds the {} runs {} of another command, not {}: choose another --run-name, or remove it",
                group.path.display(),
                record.model,
                held.join(", "),
                names.join(", ")
            );
        }
    }
    // Every run is locked and checked before anything is written or trained.
    let mut planned = Vec::with_capacity(members.len());
    for (name, run) in &members {
        let dir = RunDir::at(&group.path, name)?;
        let lock = dir.lock()?;
        let (run, start) = plan::<E>(&dir, &dir.path, Target::Run(run), request.max_memory)?;
        planned.push((name.clone(), dir, lock, run, start));
    }
    let record = GroupRecord {
        model: E::NAME.to_string(),
        runs: planned
            .iter()
            .map(|(name, _, _, run, _)| {
                Ok(GroupMember {
                    name: name.clone(),
                    run: serde_json::to_value(run)?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    write_atomically(
        &record_path,
        serde_json::to_string_pretty(&record)?.as_bytes(),
    )?;
    let mut finished = Vec::with_capacity(planned.len());
    for (name, dir, _lock, run, start) in planned {
        let report = execute::<E>(&dir, &run, start, Some(&name), backend)?;
        finished.push(Finished {
            variant: name,
            run,
            dir: dir.path,
            report,
        });
    }
    let summary = E::summarise(&finished, &group.path)?;
    if let Some(summary) = &summary {
        println!("{summary}");
    }
    Ok(Trained {
        reports: finished.into_iter().map(|f| f.report).collect(),
        summary,
    })
}

fn read_group(group: &RunDir) -> anyhow::Result<Option<GroupRecord>> {
    let path = group.file(GROUP_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .with_context(|| format!("{} is damaged", path.display()))
}

/// `--resume DIR` of the directory of a command's several runs: each run as it was
/// configured (with what [`Experiment::RESUMABLE`] lists changed by the flags).
fn resume_group<E: Experiment>(
    path: &Path,
    request: &TrainRequest,
    backend: BackendChoice,
) -> anyhow::Result<Trained> {
    let group = RunDir::of(path)?;
    let record = read_group(&group)?.context("the group file vanished")?;
    if record.model != E::NAME {
        bail!(
            "{} holds '{}' runs, not '{}' ones",
            path.display(),
            record.model,
            E::NAME
        );
    }
    let mut members = Vec::with_capacity(record.runs.len());
    for member in record.runs {
        let saved: E::Run = serde_json::from_value(member.run).with_context(|| {
            format!(
                "{} describes run {} in another shape than this model's",
                group.file(GROUP_FILE).display(),
                member.name
            )
        })?;
        let run = changed_run::<E>(&saved, Target::Flags(&request.flags))?;
        members.push((member.name, run));
    }
    train_group::<E>(group, members, request, backend)
}

/// `train <model> --resume DIR`: the saved run, with only its length (and what else
/// [`Experiment::RESUMABLE`] lists) changed by the flags.
fn resume<E: Experiment>(
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
enum Start {
    /// From the first step: what the directory held is cleared.
    Fresh,
    /// From this checkpoint.
    From(Checkpoint),
    /// Not at all: the run is finished, and this is its report.
    Finished(Report),
}

/// What a run directory is to be trained as.
enum Target<'a, R> {
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
fn plan<E: Experiment>(
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
    Ok((run, Start::From(checkpoint)))
}

/// `target`'s run, refused unless it differs from `saved` only where a resumed run may.
fn changed_run<E: Experiment>(
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
fn resume_refusal<E: Experiment>(changed: &[String]) -> anyhow::Error {
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
fn execute<E: Experiment>(
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
            Some(checkpoint)
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

/// `eval DIR` on a checkpoint of `E`, with `options` laid over the default options.
pub fn eval<E: Experiment>(
    checkpoint: &Checkpoint,
    options: Value,
    backend: BackendChoice,
) -> anyhow::Result<Report> {
    let options: E::EvalOptions = overlay_value(&E::EvalOptions::default(), options)?;
    let run: E::Run = checkpoint.config()?;
    E::validate(&run).with_context(|| {
        format!(
            "{} holds an invalid configuration",
            checkpoint.dir.display()
        )
    })?;
    E::prepare(&run)?;
    let report = backend::run_on(
        backend,
        EvalJob::<E> {
            run: &run,
            checkpoint,
            options: &options,
        },
    )??;
    println!("{}", report.text);
    Ok(report)
}

/// Training of one run, on whichever backend was chosen.
struct TrainJob<'a, E: Experiment> {
    run: &'a E::Run,
    trainer: Trainer,
}

impl<E: Experiment> BackendJob for TrainJob<'_, E> {
    type Output = anyhow::Result<Report>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Report> {
        let started = Instant::now();
        let dir = self.trainer.run_dir().path.clone();
        let mut report = E::train::<B>(self.run, self.trainer, &device)?;
        if report.seconds == 0.0 {
            report.seconds = started.elapsed().as_secs_f64();
        }
        Ok(report.run(&dir))
    }
}

/// Evaluation of one checkpoint, on whichever backend was chosen.
struct EvalJob<'a, E: Experiment> {
    run: &'a E::Run,
    checkpoint: &'a Checkpoint,
    options: &'a E::EvalOptions,
}

impl<E: Experiment> BackendJob for EvalJob<'_, E> {
    type Output = anyhow::Result<Report>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Report> {
        let started = Instant::now();
        let mut report = E::eval::<B>(self.run, self.checkpoint, self.options, &device)?;
        if report.seconds == 0.0 {
            report.seconds = started.elapsed().as_secs_f64();
        }
        let run_dir = self.checkpoint.dir.parent().unwrap_or(&self.checkpoint.dir);
        Ok(report.run(run_dir))
    }
}
