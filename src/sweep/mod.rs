//! Sweeps: a plan's grid of settings and seeds, one ordinary run per cell, run by the local
//! engine (`sweep PLAN -j N`) or by a cluster's scheduler (`sweep PLAN --emit slurm`, whose
//! tasks each run `sweep PLAN --cell env`), and collected into one table (`collect DIR`).
//! Placing the cells is the scheduler's work; a cell cut off anywhere resumes from its last
//! checkpoint, so pre-emption and requeueing lose nothing.

pub mod collect;
pub mod emit;
pub mod engine;
mod figure;
pub mod plan;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use self::plan::{is_path, path_overlay, pointer, value_text, Cell, Plan, PRESET_KEY};
use crate::checkpoint::REPORT_FILE;
use crate::experiment::launch::CellRun;
use crate::flags::Entry;
use crate::memory;
use crate::util::{human_bytes, write_atomically};

/// The file in a sweep's directory that records its model, plan and cells, for `collect`.
pub const SWEEP_FILE: &str = "sweep.json";
/// The folder in a sweep's directory that holds each cell's output when run by an engine.
pub const LOGS_DIR: &str = "logs";

/// The flags of `train` that a plan does not set, and what sets them instead.
const NOT_IN_PLANS: [(&str, &str); 5] = [
    (
        "config",
        "a plan's base overlay is its own field \"config\"",
    ),
    ("out", "the sweep's directory is the plan's field \"out\""),
    (
        "run-name",
        "each cell's directory is named after its grid values",
    ),
    (
        "resume",
        "a sweep started again goes on where each cell stopped",
    ),
    ("max-memory", "give --max-memory to `sweep`"),
];

/// `sweep.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRecord {
    pub model: String,
    pub plan: Plan,
    pub cells: Vec<Cell>,
}

/// A plan with its model found and every cell's run assembled and checked.
pub struct Sweep<'a> {
    /// The plan file, as an absolute path (what the cluster's tasks are given).
    pub path: PathBuf,
    pub plan: Plan,
    pub entry: &'a dyn Entry,
    pub cells: Vec<Cell>,
    pub runs: Vec<CellRun>,
}

/// The entry of the model `name`, or why there is none.
pub fn find_entry<'a>(entries: &'a [Box<dyn Entry>], name: &str) -> anyhow::Result<&'a dyn Entry> {
    match entries.iter().find(|e| e.name() == name) {
        Some(entry) => Ok(entry.as_ref()),
        None => {
            let known: Vec<&str> = entries.iter().map(|e| e.name()).collect();
            bail!("unknown model '{name}' (known: {})", known.join(", "))
        }
    }
}

impl<'a> Sweep<'a> {
    /// Reads `path` and checks the whole plan before anything runs: the model, every cell's
    /// run (the model's own validation) and its memory against `max_memory` (or what the
    /// machine, or its cgroup, has available).
    pub fn load(
        path: &Path,
        entries: &'a [Box<dyn Entry>],
        max_memory: Option<u64>,
    ) -> anyhow::Result<Self> {
        let plan = Plan::read(path)?;
        let shown = path.display();
        let entry = find_entry(entries, &plan.model).with_context(|| format!("plan {shown}"))?;
        if plan.out.exists() && !plan.out.is_dir() {
            bail!(
                "plan {shown}: its out {} is a file, not a directory",
                plan.out.display()
            );
        }
        let cells = plan.cells().with_context(|| format!("plan {shown}"))?;
        let mut runs = Vec::with_capacity(cells.len());
        for cell in &cells {
            let run = cell_run(entry, &plan, cell)
                .with_context(|| format!("plan {shown}, cell {} ({})", cell.index, cell.name))?;
            memory::check(run.memory, max_memory, entry.memory_hint())
                .with_context(|| format!("plan {shown}, cell {} ({})", cell.index, cell.name))?;
            runs.push(run);
        }
        let path = std::path::absolute(path)
            .with_context(|| format!("cannot resolve the path of {shown}"))?;
        Ok(Self {
            path,
            plan,
            entry,
            cells,
            runs,
        })
    }

    /// The run directory of a cell.
    pub fn cell_dir(&self, cell: &Cell) -> PathBuf {
        self.plan.out.join(&cell.name)
    }

    /// Whether a cell's run is finished (its report is written).
    pub fn finished(&self, cell: &Cell) -> bool {
        self.cell_dir(cell).join(REPORT_FILE).is_file()
    }

    /// The most memory any cell needs.
    pub fn peak_memory(&self) -> u64 {
        self.runs.iter().map(|r| r.memory).max().unwrap_or(0)
    }

    /// Creates the sweep's directory and records its plan and cells there.
    pub fn write_record(&self) -> anyhow::Result<()> {
        let out = &self.plan.out;
        std::fs::create_dir_all(out.join(LOGS_DIR))
            .with_context(|| format!("cannot create the sweep directory {}", out.display()))?;
        let record = SweepRecord {
            model: self.plan.model.clone(),
            plan: self.plan.clone(),
            cells: self.cells.clone(),
        };
        write_atomically(
            &out.join(SWEEP_FILE),
            serde_json::to_string_pretty(&record)?.as_bytes(),
        )
    }

    /// `--list`: one line per cell (index, name, memory), and the same as JSON.
    pub fn list(&self) -> Value {
        let finished = self.cells.iter().filter(|c| self.finished(c)).count();
        println!(
            "{} cells of {} into {} ({finished} finished); each needs at most {} of memory",
            self.cells.len(),
            self.plan.model,
            self.plan.out.display(),
            human_bytes(u128::from(self.peak_memory()))
        );
        let rows: Vec<Value> = self
            .cells
            .iter()
            .zip(&self.runs)
            .map(|(cell, run)| {
                let done = if self.finished(cell) {
                    "  finished"
                } else {
                    ""
                };
                println!(
                    "{:>5}  {:<40} {:>10}{done}",
                    cell.index,
                    cell.name,
                    human_bytes(u128::from(run.memory))
                );
                json!({
                    "index": cell.index,
                    "name": cell.name,
                    "values": cell.values,
                    "dir": self.cell_dir(cell),
                    "memory": run.memory,
                    "finished": self.finished(cell),
                    "run": run.run,
                })
            })
            .collect();
        json!({ "model": self.plan.model, "out": self.plan.out, "cells": rows })
    }

    /// The cell `which` names: an index, or `env` (the scheduler's task index:
    /// `SLURM_ARRAY_TASK_ID`, `JOB_COMPLETION_INDEX`, or GNU parallel's 1-based `PARALLEL_SEQ`).
    pub fn cell(&self, which: &str) -> anyhow::Result<&Cell> {
        let index = if which == "env" {
            index_from_env()?
        } else {
            which.parse::<usize>().map_err(|_| {
                anyhow::anyhow!("--cell takes a cell's index or 'env', got '{which}'")
            })?
        };
        self.cells.get(index).with_context(|| {
            format!(
                "cell {index} is out of range: the plan has {} cells (0 to {})",
                self.cells.len(),
                self.cells.len() - 1
            )
        })
    }

    /// Trains one cell in this process (or continues it, or keeps it when finished).
    pub fn train_cell(
        &self,
        cell: &Cell,
        max_memory: Option<u64>,
        backend: crate::backend::BackendChoice,
    ) -> anyhow::Result<crate::experiment::Report> {
        self.write_record()?;
        self.entry.train_cell(
            &self.runs[cell.index].run,
            &self.cell_dir(cell),
            max_memory,
            backend,
        )
    }
}

/// The index the scheduler gives this task.
fn index_from_env() -> anyhow::Result<usize> {
    for (variable, first) in [
        ("SLURM_ARRAY_TASK_ID", 0),
        ("JOB_COMPLETION_INDEX", 0),
        ("PARALLEL_SEQ", 1),
    ] {
        if let Ok(text) = std::env::var(variable) {
            let value: usize = text
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{variable}='{text}' is not an index"))?;
            return value
                .checked_sub(first)
                .with_context(|| format!("{variable}={value} counts from {first}"));
        }
    }
    bail!("--cell env: none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or PARALLEL_SEQ is set (give the index: --cell I)")
}

/// A cell's run: its fields turned into the model's `train` flags as typed (`--lr=0.001`)
/// and, for fields named by JSON path, into an overlay.
fn cell_run(entry: &dyn Entry, plan: &Plan, cell: &Cell) -> anyhow::Result<CellRun> {
    let command = entry.train_command();
    let mut args = Vec::new();
    let mut paths = Vec::new();
    for (key, value) in cell.fields(plan) {
        if key == PRESET_KEY {
            continue;
        }
        if is_path(&key) {
            paths.push((pointer(&key), value));
            continue;
        }
        let name = key.trim_start_matches("--");
        if let Some((_, instead)) = NOT_IN_PLANS.iter().find(|(flag, _)| *flag == name) {
            bail!("'{key}' is not a plan's field: {instead}");
        }
        let Some(arg) = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(name))
        else {
            bail!(
                "{} has no flag --{name} (see `plastic-zoo train {} --help`; a run field can be named by its JSON path, e.g. \"/train/seed\")",
                entry.name(),
                entry.name()
            );
        };
        let switch = matches!(
            arg.get_action(),
            clap::ArgAction::SetTrue | clap::ArgAction::SetFalse
        );
        match (switch, &value) {
            (true, Value::Bool(true)) => args.push(format!("--{name}")),
            (true, Value::Bool(false)) => {}
            (true, other) => bail!("--{name} is a switch: give true or false, not {other}"),
            (false, Value::Null | Value::Object(_)) => {
                bail!("--{name} takes a value such as a number or a string, not {value}")
            }
            (false, _) => args.push(format!("--{name}={}", value_text(&value))),
        }
    }
    entry.cell_run(
        cell.preset(plan)?.as_deref(),
        plan.config.as_ref(),
        &args,
        &path_overlay(&paths)?,
    )
}

/// Reads a sweep's record.
pub fn read_record(dir: &Path) -> anyhow::Result<SweepRecord> {
    let path = dir.join(SWEEP_FILE);
    if !path.is_file() {
        bail!(
            "{} holds no sweep (no {SWEEP_FILE}): collect the directory a plan's \"out\" names",
            dir.display()
        );
    }
    crate::config::read_json(&path)
}
