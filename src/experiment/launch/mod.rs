//! Everything around an experiment's own training and evaluation, written once: the
//! configuration (preset ← `--config` file ← flags), run directories, resuming, the memory
//! guard, and running on the chosen backend.

mod cell;
mod group;
mod plan;
mod weights;

pub use cell::{summarise_cells, sweep_cell, train_cell, CellRun};
pub use group::GROUP_FILE;
pub use weights::{
    export, import, tensors_of, ImportRequest, TensorInfo, WeightsFormat, WeightsReport,
    IMPORTED_FILE,
};

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::tensor::backend::AutodiffBackend;
use serde_json::Value;

use self::group::{resume_group, train_group};
use self::plan::{execute, plan, resume, resume_refusal, Target};
use super::{Experiment, Report};
use crate::backend::{self, BackendChoice, BackendJob};
use crate::checkpoint::{Checkpoint, RunDir};
use crate::config::{overlay_file, overlay_value};
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
    let mut run = preset_run::<E>(preset, flags)?;
    if let Some(path) = config_file {
        run = overlay_file(&run, path)?;
    }
    overlay_value(&run, flags.clone()).context("the flags do not fit this model's run")
}

/// The run of `preset` (`None`: the one `flags` imply, or the first).
fn preset_run<E: Experiment>(preset: Option<&str>, flags: &Value) -> anyhow::Result<E::Run> {
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
    E::preset(name)
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
pub(super) struct TrainJob<'a, E: Experiment> {
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
