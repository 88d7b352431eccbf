//! Everything around an experiment's own training and evaluation, written once: the
//! configuration (preset ← `--config` file ← flags), run directories, resuming, the memory
//! guard, and running on the chosen backend.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::tensor::backend::AutodiffBackend;
use serde_json::Value;

use super::{Experiment, Finished, Report};
use crate::backend::{self, BackendChoice, BackendJob};
use crate::checkpoint::{Checkpoint, RunDir, CONFIG_FILE};
use crate::config::{differences, overlay_file, overlay_value};
use crate::memory;
use crate::trainer::Trainer;

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

/// `train <model>`: fresh runs, or the continuation of one.
pub fn train<E: Experiment>(
    request: TrainRequest,
    backend: BackendChoice,
) -> anyhow::Result<Trained> {
    if request.resume.is_some() {
        return resume::<E>(request, backend).map(|report| Trained {
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
    let group = (variants.len() > 1).then(|| {
        request
            .run_name
            .clone()
            .or_else(|| request.group.clone())
            .unwrap_or_else(|| E::run_name(&runs[0]))
    });
    let mut dirs = Vec::with_capacity(runs.len());
    for (run, variant) in runs.iter().zip(&variants) {
        let dir = match (&group, variant) {
            (Some(group), Some(variant)) => RunDir::create_at(root.join(group), &variant.name)?,
            (None, Some(variant)) => match &request.run_name {
                Some(name) => RunDir::create_at(root.clone(), name)?,
                None => RunDir::create_at(
                    root.clone(),
                    &format!("{}-{}", E::run_name(run), variant.name),
                )?,
            },
            _ => RunDir::create_at(
                root.clone(),
                &request.run_name.clone().unwrap_or_else(|| E::run_name(run)),
            )?,
        };
        dirs.push(dir);
    }
    let mut finished = Vec::with_capacity(runs.len());
    for ((run, variant), dir) in runs.into_iter().zip(variants).zip(dirs) {
        dir.write_json(CONFIG_FILE, &run)?;
        let label = variant
            .map(|v| format!(" ({})", v.name))
            .unwrap_or_default();
        eprintln!(
            "training {}{label} on {backend} into {}",
            E::NAME,
            dir.path.display()
        );
        let trainer = trainer_for::<E>(dir.clone(), &run, None)?;
        let report = backend::run_on(backend, TrainJob::<E> { run: &run, trainer })??;
        println!("{}", report.text);
        finished.push(Finished {
            variant: variant.map(|v| v.name.clone()).unwrap_or_default(),
            run,
            dir: dir.path,
            report,
        });
    }
    let summary = match &group {
        Some(group) => E::summarise(&finished, &root.join(group))?,
        None => None,
    };
    if let Some(summary) = &summary {
        println!("{summary}");
    }
    Ok(Trained {
        reports: finished.into_iter().map(|f| f.report).collect(),
        summary,
    })
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

/// `train <model> --resume DIR`: the saved run, with only its length (and what else
/// [`Experiment::RESUMABLE`] lists) changed by the flags.
fn resume<E: Experiment>(request: TrainRequest, backend: BackendChoice) -> anyhow::Result<Report> {
    let path = request.resume.as_deref().expect("a resume request");
    let (dir, checkpoint) = RunDir::open(path)?;
    if checkpoint.model() != E::NAME {
        bail!(
            "{} holds a '{}' checkpoint, not a '{}' one",
            path.display(),
            checkpoint.model(),
            E::NAME
        );
    }
    let allowed: Vec<&str> = E::RESUMABLE.iter().map(|(_, flag)| *flag).collect();
    let refuse = || {
        anyhow::anyhow!(
            "--resume continues a run as it was configured; only {} may change",
            allowed.join(", ")
        )
    };
    if request.preset.is_some()
        || request.config_file.is_some()
        || request.run_name.is_some()
        || !request.variants.is_empty()
    {
        return Err(refuse());
    }
    let saved: E::Run = checkpoint.config()?;
    let run: E::Run = overlay_value(&saved, request.flags.clone())?;
    let changed = differences(&serde_json::to_value(&saved)?, &serde_json::to_value(&run)?);
    if changed
        .iter()
        .any(|pointer| !E::RESUMABLE.iter().any(|(p, _)| p == pointer))
    {
        return Err(refuse());
    }
    E::validate(&run).context("cannot resume")?;
    memory::check(E::memory_needed(&run), request.max_memory, E::MEMORY_HINT)?;
    let steps = E::schedule(&run)?.steps;
    if checkpoint.step() >= steps {
        bail!(
            "the run has already completed {} of {steps} steps: pass a larger {} to continue it",
            checkpoint.step(),
            allowed.first().copied().unwrap_or("length")
        );
    }
    E::prepare(&run)?;
    dir.write_json(CONFIG_FILE, &run)?;
    eprintln!(
        "training {} from step {} on {backend} into {}",
        E::NAME,
        checkpoint.step(),
        dir.path.display()
    );
    let trainer = trainer_for::<E>(dir, &run, Some(checkpoint))?;
    let report = backend::run_on(backend, TrainJob::<E> { run: &run, trainer })??;
    println!("{}", report.text);
    Ok(report)
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
