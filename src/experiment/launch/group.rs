//! The runs of one command (one per method, network or seed), trained into one directory
//! that `group.json` describes, so that the same command again, or `--resume` of the
//! directory, finishes whatever is missing and writes the summary.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::{changed_run, execute, plan, Target};
use super::{TrainRequest, Trained};
use crate::backend::BackendChoice;
use crate::checkpoint::RunDir;
use crate::experiment::{Experiment, Finished};
use crate::util::write_atomically;

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
pub(super) fn train_group<E: Experiment>(
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
pub(super) fn resume_group<E: Experiment>(
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
