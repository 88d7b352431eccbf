//! `plastic-rnn`: the recurrent net with Hebbian plastic connections on the
//! pattern-completion task, trained by BPTT or RTRL gradients into Adam.

pub mod bench;
pub mod compare;
pub mod config;
pub mod episode;
pub(crate) mod flags;
pub(crate) mod plots;

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::{
    anchor_interval, rtrl_sensitivity_bytes, GradientEngine, Modulation, PlasticRnn,
};
use plastic_tasks::PATTERN_PRESETS;

pub use config::PlasticRnnRun;
pub use flags::PlasticRnnFlags;

use crate::checkpoint::{Checkpoint, RunState};
use crate::experiment::{saved_network, Experiment, Report};
use crate::experiments::shared::episode_rng;
use crate::experiments::shared::pattern::{
    evaluate, trained_text, EvalScore, PatternEval, PATTERN_HEADLINE, PATTERN_RESUMABLE,
};
use crate::memory::floats;
use crate::trainer::{GradientSteps, Schedule, Trainer};
use episode::run_episode;
use plots::WeightSummary;

/// The plastic RNN on the pattern tasks.
pub struct PlasticRnnExperiment;

impl Experiment for PlasticRnnExperiment {
    const NAME: &'static str = "plastic-rnn";
    const ABOUT: &'static str =
        "recurrent net with Hebbian plastic connections (learned α, η), trained by BPTT or RTRL";
    const HEADLINE: &'static [&'static str] = PATTERN_HEADLINE;
    const RESUMABLE: &'static [(&'static str, &'static str)] = PATTERN_RESUMABLE;
    const MEMORY_HINT: &'static str =
        "lower --neurons or --batch (or, for RTRL, use --grad adjoint)";

    type Run = PlasticRnnRun;
    type EvalOptions = PatternEval;
    type Network<B: Backend> = PlasticRnn<B>;

    fn presets() -> Vec<(&'static str, String)> {
        PATTERN_PRESETS
            .iter()
            .map(|&name| {
                let task = plastic_tasks::pattern_preset(name).expect("listed presets exist");
                let about = format!(
                    "{} neurons, {} patterns, {} steps",
                    task.neurons,
                    task.patterns,
                    task.steps()
                );
                (name, about)
            })
            .collect()
    }

    fn preset(name: &str) -> anyhow::Result<PlasticRnnRun> {
        config::preset(name)
    }

    fn validate(run: &PlasticRnnRun) -> anyhow::Result<()> {
        config::validate(run)
    }

    fn run_name(run: &PlasticRnnRun) -> String {
        format!("{}-seed{}", run.preset, run.train.seed)
    }

    fn schedule(run: &PlasticRnnRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.train.episodes,
            checkpoint_every: run.train.checkpoint_every,
        })
    }

    /// BPTT keeps two `[batch, n, n]` tensors per step for the backward pass; W and α
    /// carry a gradient and two Adam moments; a few `[batch, n, n]` tensors are in flight.
    /// RTRL keeps its forward sensitivities instead of the history; the adjoint keeps a
    /// trace and its adjoint per episode, the anchors, and the activities.
    fn memory_needed(run: &PlasticRnnRun) -> u64 {
        let n = run.model.total_neurons() as u128;
        let batch = run.train.batch as u128;
        let steps = run.task.steps() as u128;
        let parameters = 8 * n * n;
        let in_flight = 4 * batch * n * n;
        match run.gradient {
            GradientEngine::Bptt => {
                // A retroactively modulated step keeps its eligibility trace as well.
                let per_step = match run.model.modulation() {
                    Modulation::Retroactive => 3,
                    _ => 2,
                };
                floats(per_step * steps * batch * n * n + in_flight + parameters)
            }
            GradientEngine::Rtrl => {
                let sensitivities = rtrl_sensitivity_bytes(&run.model, run.train.batch, 4);
                floats(in_flight + parameters)
                    .saturating_add(u64::try_from(sensitivities).unwrap_or(u64::MAX))
            }
            GradientEngine::Adjoint => {
                let anchors = steps / anchor_interval(run.model.eta_init).max(1) as u128;
                let traces = (2 + anchors) * batch * n * n;
                floats(traces + parameters + 2 * n * n + 2 * (steps + 1) * batch * n)
            }
        }
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        Ok(run.model.init::<B>(run.train.seed, device))
    }

    fn train<B: AutodiffBackend>(
        run: &PlasticRnnRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        let start = trainer.start_step();
        let (task, batch, gradient) = (run.task.clone(), run.train.batch, run.gradient);
        let truncate = run.truncate;
        let model = run.model.init::<B>(run.train.seed, device);
        let mut learner = GradientSteps::new(
            model,
            &run.train.optimizer,
            |model: &PlasticRnn<B>, rng: &mut _| {
                run_episode(model, gradient, truncate, &task, batch, rng)
            },
            device,
        );
        let state = trainer.fit(&mut learner, episode_rng(run.train.seed))?;
        let seconds = started.elapsed().as_secs_f64();
        let model = learner.into_model().valid();
        let dir = trainer.run_dir();
        plots::write_plots(dir, &model)?;
        let weights = plots::weight_summary(&model)?;
        let score = evaluate(&model, &run.task, run.eval_episodes, device)?;
        let title = format!("{} ({}, {})", Self::NAME, run.preset, run.gradient.name());
        let details = format!("{weights}\n");
        let text = trained_text(&title, start, &state, seconds, &details, dir, &score);
        Ok(report(run, &score, &weights).text(text).seconds(seconds))
    }

    fn eval<B: AutodiffBackend>(
        run: &PlasticRnnRun,
        checkpoint: &Checkpoint,
        options: &PatternEval,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let episodes = options.checked_episodes()?;
        let model = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let score = evaluate(&model, &run.task, episodes, device)?;
        let weights = plots::weight_summary(&model)?;
        Ok(report(run, &score, &weights).text(format!("{score}\n{weights}")))
    }
}

fn report(run: &PlasticRnnRun, score: &EvalScore, weights: &WeightSummary) -> Report {
    let report = Report::new(PlasticRnnExperiment::NAME, &run.preset)
        .metric("alpha_positive_fraction", weights.alpha_positive)
        .metric("alpha_min", weights.alpha_min)
        .metric("w_self_mean", weights.w_self)
        .metric("w_other_mean", weights.w_other);
    score.add_to(report)
}
