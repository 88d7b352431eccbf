//! The one training driver. A [`Trainer`] owns the run directory, the progress bar,
//! `metrics.jsonl`, the checkpoint cadence, the divergence guard and resuming; a
//! [`Learner`] supplies the steps. Two kinds of learner exist:
//!
//! - gradient steps ([`GradientSteps`]): a loss and its gradient (Burn's autodiff, or
//!   gradients the model computes itself, e.g. RTRL) into Adam;
//! - local updates ([`LocalSteps`] over a [`LocalUpdate`]): the network changes itself
//!   (Hebbian rules, explicit feedback-alignment passes).

mod adam;
pub mod clip;
mod steps;

use std::time::Duration;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use rand_chacha::ChaCha8Rng;

pub use adam::FusedAdam;
pub use steps::{
    adam, parameters_are_finite, AdamOptimizer, EpisodeOutcome, GradientSteps, LocalSteps,
    LocalUpdate,
};

use crate::checkpoint::{Checkpoint, RunDir, RunState, METRICS_FILE};
use crate::metrics::{EpisodeMetrics, MetricsLines, MetricsLog};

/// How long a run is and how often it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Steps (episodes, updates, meta-steps) of the whole run.
    pub steps: usize,
    /// A checkpoint is written after this many steps (and always at the end).
    pub checkpoint_every: usize,
}

/// What a learner does: one step at a time, saved and restored by the trainer.
pub trait Learner {
    /// Step number `step` (from 1), drawing from `rng`: the metrics lines it logs (none,
    /// one or several). A loss that is not a finite number stops training.
    fn step(&mut self, step: usize, rng: &mut ChaCha8Rng) -> MetricsLines;

    /// The metrics lines of a fresh run before its first step (e.g. what random weights
    /// score).
    fn start(&mut self) -> MetricsLines {
        Ok(Vec::new())
    }

    /// Whether every parameter is a finite number.
    fn parameters_finite(&self) -> bool;

    /// The files of a checkpoint: model record, optimizer state.
    fn files(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>>;

    /// What the learner carries between steps besides its files.
    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }

    /// Takes up the files and state of `checkpoint`.
    fn restore(&mut self, checkpoint: &Checkpoint) -> anyhow::Result<()>;
}

/// Training diverged: the loss or a parameter is no longer a finite number.
#[derive(Debug, thiserror::Error)]
#[error("training diverged at step {step} ({what} is not finite); the last good checkpoint (step {kept}) is kept in {dir}{hint}")]
pub struct Diverged {
    pub step: usize,
    pub what: &'static str,
    pub kept: usize,
    pub dir: String,
    pub hint: String,
}

/// Drives one run from its first step, or from a checkpoint, to its last.
pub struct Trainer {
    pub run: RunDir,
    /// The model's name, saved in every checkpoint.
    pub model: &'static str,
    /// The run's configuration, saved in every checkpoint.
    pub config: serde_json::Value,
    pub schedule: Schedule,
    /// The metrics the progress bar shows beside the loss.
    pub headline: &'static [&'static str],
    /// The checkpoint to go on from (`None`: a fresh run).
    pub resume: Option<Checkpoint>,
    /// Advice added to a divergence message.
    pub hint: &'static str,
}

impl Trainer {
    /// Advice added to a divergence message (e.g. "try a smaller --lr").
    pub fn with_divergence_hint(mut self, hint: &'static str) -> Self {
        self.hint = hint;
        self
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }

    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// The step training starts from (0, or the checkpoint's).
    pub fn start_step(&self) -> usize {
        self.resume.as_ref().map_or(0, Checkpoint::step)
    }

    /// Runs `learner` to the end of the schedule; a fresh run draws from `fresh_rng`. A
    /// fresh run is saved before its first step, so that a divergence always leaves a
    /// checkpoint behind. Returns the final state.
    pub fn fit<L: Learner>(
        &self,
        learner: &mut L,
        fresh_rng: ChaCha8Rng,
    ) -> anyhow::Result<RunState> {
        let path = self.run.file(METRICS_FILE);
        let (mut state, mut log) = match &self.resume {
            Some(checkpoint) => {
                let log =
                    MetricsLog::resume(path, checkpoint.step(), checkpoint.state.history.as_ref())?;
                learner.restore(checkpoint)?;
                self.run.discard_after(checkpoint.step())?;
                (checkpoint.state.clone(), log)
            }
            None => (
                RunState::fresh(self.model, fresh_rng),
                MetricsLog::fresh(path)?,
            ),
        };
        let total = self.schedule.steps;
        if state.step >= total {
            bail!(
                "the run has already completed {} of {total} steps: ask for more to continue it",
                state.step
            );
        }
        if self.resume.is_none() {
            for record in learner.start()? {
                log.append(&record)?;
                state.last_metrics = Some(record);
            }
            self.save(learner, &mut state, &log)?;
        }
        let mut last_saved = state.step;
        let bar = progress_bar(total as u64, state.step as u64);
        while state.step < total {
            let step = state.step + 1;
            let records = learner.step(step, &mut state.rng)?;
            if records.iter().any(|r| !r.loss.is_finite()) {
                bar.abandon();
                return Err(self.diverged(step, "the loss", last_saved).into());
            }
            state.step = step;
            for record in &records {
                log.append(record)?;
            }
            if let Some(last) = records.last() {
                bar.set_message(headline(last, self.headline));
                state.last_metrics = Some(last.clone());
            }
            bar.set_position(step as u64);
            if step - last_saved >= self.schedule.checkpoint_every || step == total {
                if !learner.parameters_finite() {
                    bar.abandon();
                    return Err(self.diverged(step, "a parameter", last_saved).into());
                }
                self.save(learner, &mut state, &log)?;
                last_saved = step;
            }
        }
        bar.finish_and_clear();
        Ok(state)
    }

    fn diverged(&self, step: usize, what: &'static str, kept: usize) -> Diverged {
        Diverged {
            step,
            what,
            kept,
            dir: self.run.path.display().to_string(),
            hint: if self.hint.is_empty() {
                String::new()
            } else {
                format!(": {}", self.hint)
            },
        }
    }

    fn save<L: Learner>(
        &self,
        learner: &L,
        state: &mut RunState,
        log: &MetricsLog,
    ) -> anyhow::Result<()> {
        state.learner = learner.state()?;
        state.history = Some(log.history());
        self.run.save(state, &self.config, learner.files()?)
    }
}

/// `loss 0.1234 sign_error 0.0450`: the loss and the named metrics of `metrics`.
pub fn headline(metrics: &EpisodeMetrics, names: &[&str]) -> String {
    let mut text = format!("loss {:.4}", metrics.loss);
    for name in names {
        if let Some(value) = metrics.values.get(*name) {
            text.push_str(&format!(" {name} {value:.4}"));
        }
    }
    text
}

/// `loss 0.123 sign_error 0.045 …` with every metric, for summaries.
pub fn summary(metrics: &EpisodeMetrics) -> String {
    let names: Vec<&str> = metrics.values.keys().map(String::as_str).collect();
    headline(metrics, &names)
}

/// The progress bar of every long job: elapsed, bar, count, time left, a message.
pub fn progress_bar(total: u64, position: u64) -> ProgressBar {
    let bar = ProgressBar::new(total).with_position(position);
    let style =
        ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} eta {eta} {msg}")
            .expect("the progress template is valid")
            .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}
