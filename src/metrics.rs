//! Per-episode metrics: one JSON object per line in `metrics.jsonl`.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkpoint::sha256_hex;
use crate::util::write_atomically;

/// The metrics lines a step logs, or why it failed.
pub type MetricsLines = anyhow::Result<Vec<EpisodeMetrics>>;

/// What one training episode measured; model-specific figures live in `values`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeMetrics {
    pub episode: usize,
    pub loss: f64,
    #[serde(flatten)]
    pub values: BTreeMap<String, f64>,
}

impl EpisodeMetrics {
    pub fn get(&self, name: &str) -> Option<f64> {
        if name == "loss" {
            Some(self.loss)
        } else {
            self.values.get(name).copied()
        }
    }
}

/// `metrics.jsonl` as it stood when a checkpoint was written: its number of lines and the
/// SHA-256 of their bytes. A resumed run checks the file against it, so that a history cut
/// short or altered is refused rather than extended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub lines: usize,
    pub sha256: String,
}

/// The append-only metrics file of a run.
pub struct MetricsLog {
    path: PathBuf,
    /// Lines written so far, and the digest of their bytes.
    lines: usize,
    digest: Sha256,
}

impl MetricsLog {
    /// The log at `path`, for reading.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lines: 0,
            digest: Sha256::new(),
        }
    }

    /// A new, empty log at `path` (a log left there is removed).
    pub fn fresh(path: PathBuf) -> anyhow::Result<Self> {
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => {}
        }
        Ok(Self::new(path))
    }

    /// The log at `path` cut back to a checkpoint at `step` that recorded `history`: the
    /// lines logged after it go (the resumed run logs them again), and the lines before it
    /// must be the ones the checkpoint saw. Checkpoints without a history are cut by episode.
    pub fn resume(path: PathBuf, step: usize, history: Option<&History>) -> anyhow::Result<Self> {
        let mut log = Self::new(path);
        let Some(history) = history else {
            log.truncate_after(step)?;
            let text = fs::read_to_string(&log.path).unwrap_or_default();
            log.lines = text.lines().count();
            log.digest.update(text.as_bytes());
            return Ok(log);
        };
        let kept = log.checked_prefix(history)?;
        let text = fs::read_to_string(&log.path).unwrap_or_default();
        if kept.len() != text.len() {
            write_atomically(&log.path, kept.as_bytes())?;
        }
        log.lines = history.lines;
        log.digest.update(kept.as_bytes());
        Ok(log)
    }

    /// Checks that the file begins with the lines `history` describes; returns them.
    pub fn checked_prefix(&self, history: &History) -> anyhow::Result<String> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && history.lines == 0 => {
                String::new()
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()))
            }
        };
        let complete: Vec<&str> = text
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .collect();
        let shown = self.path.display();
        if complete.len() < history.lines {
            bail!(
                "{shown} holds {} lines, but the checkpoint recorded {}: the history was cut short; put the file back, or start the run afresh",
                complete.len(),
                history.lines
            );
        }
        let kept: String = complete[..history.lines].concat();
        if sha256_hex(kept.as_bytes()) != history.sha256 {
            bail!(
                "the first {} lines of {shown} are not the ones the checkpoint recorded (their SHA-256 differs): the history was altered; put the file back, or start the run afresh",
                history.lines
            );
        }
        Ok(kept)
    }

    pub fn append(&mut self, metrics: &EpisodeMetrics) -> anyhow::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("cannot append to {}", self.path.display()))?;
        // One write per line: an interrupted run leaves whole lines, or a last line cut short.
        let line = format!("{}\n", serde_json::to_string(metrics)?);
        file.write_all(line.as_bytes())
            .with_context(|| format!("cannot append to {}", self.path.display()))?;
        self.lines += 1;
        self.digest.update(line.as_bytes());
        Ok(())
    }

    /// The lines written so far, as a checkpoint records them.
    pub fn history(&self) -> History {
        let digest = self.digest.clone().finalize();
        History {
            lines: self.lines,
            sha256: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
        }
    }

    pub fn read(&self) -> MetricsLines {
        read_lines(&self.path)
    }

    /// Drops the lines past `step`: they were logged after the checkpoint a resumed run
    /// starts from, and the resumed run logs them again. A last line cut short by an
    /// interrupted write goes too.
    fn truncate_after(&self, step: usize) -> anyhow::Result<()> {
        if !self.path.exists() {
            return Ok(());
        }
        let text = fs::read_to_string(&self.path)
            .with_context(|| format!("cannot read {}", self.path.display()))?;
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut kept = String::new();
        for (index, line) in lines.iter().enumerate() {
            let metrics: EpisodeMetrics = match serde_json::from_str(line) {
                Ok(metrics) => metrics,
                Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => break,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("{} line {} is corrupt", self.path.display(), index + 1)
                    })
                }
            };
            if metrics.episode <= step {
                // The line as written: re-serialising could change the last digit.
                kept.push_str(line);
                kept.push('\n');
            }
        }
        if kept != text {
            write_atomically(&self.path, kept.as_bytes())?;
        }
        Ok(())
    }
}

fn read_lines(path: &Path) -> MetricsLines {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{} line {} is corrupt", path.display(), i + 1))
        })
        .collect()
}

/// Mean of each named value over a slice of metrics.
pub fn mean_of(metrics: &[EpisodeMetrics], name: &str) -> f64 {
    let values: Vec<f64> = metrics.iter().filter_map(|m| m.get(name)).collect();
    values.iter().sum::<f64>() / values.len().max(1) as f64
}
