//! One cell of a sweep: its run assembled as `train` assembles one (preset ← overlay ←
//! flags), trained into its own directory, and the finished cells read back for the model's
//! summary.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use super::plan::{execute, plan, Target};
use super::preset_run;
use crate::backend::BackendChoice;
use crate::checkpoint::{RunDir, CONFIG_FILE};
use crate::config::overlay_value;
use crate::experiment::{Experiment, Finished, Report};

/// A cell's run, checked, as JSON, with the memory it needs at its peak.
#[derive(Debug, Clone)]
pub struct CellRun {
    pub run: Value,
    pub memory: u64,
}

/// The run of a cell: `preset`, `config` laid over it, then `flags` (an overlay in the run's
/// shape, as a command line's flags make one); validated.
pub fn sweep_cell<E: Experiment>(
    preset: Option<&str>,
    config: Option<&Value>,
    flags: &Value,
) -> anyhow::Result<CellRun> {
    let mut run = preset_run::<E>(preset, flags)?;
    if let Some(config) = config {
        run = overlay_value(&run, config.clone())
            .context("'config' does not fit this model's run")?;
    }
    let run = overlay_value(&run, flags.clone())?;
    E::validate(&run)?;
    Ok(CellRun {
        memory: E::memory_needed(&run),
        run: serde_json::to_value(&run)?,
    })
}

/// Trains a cell's `run` in `dir`: afresh, on from its last checkpoint when it was cut off,
/// or not at all when it is finished. One process at a time writes a cell (its lock).
pub fn train_cell<E: Experiment>(
    run: &Value,
    dir: &Path,
    max_memory: Option<u64>,
    backend: BackendChoice,
) -> anyhow::Result<Report> {
    let run: E::Run = serde_json::from_value(run.clone())?;
    E::validate(&run)?;
    E::prepare(&run)?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("a cell's directory has a name")?;
    let dir = RunDir::at(parent, name)?;
    let _lock = dir.lock()?;
    let (run, start) = plan::<E>(&dir, &dir.path, Target::Run(&run), max_memory)?;
    execute::<E>(&dir, &run, start, None, backend)
}

/// The model's own summary of finished cells (name, run directory, report), written under
/// `dir`.
pub fn summarise_cells<E: Experiment>(
    cells: &[(String, PathBuf, Report)],
    dir: &Path,
) -> anyhow::Result<Option<String>> {
    let finished = cells
        .iter()
        .map(|(name, path, report)| {
            let run: E::Run = crate::config::read_json(&path.join(CONFIG_FILE))?;
            Ok(Finished {
                variant: name.clone(),
                run,
                dir: path.clone(),
                report: report.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    E::summarise(&finished, dir)
}
