//! `esn`: an echo-state network (a fixed random leaky reservoir with a ridge readout fitted
//! in closed form) predicting a time series one step ahead, as reservoirpy's README
//! benchmark does.

mod flags;

use std::time::Instant;

use anyhow::{bail, ensure, Context};
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::reservoir::{rmse, EchoStateNetwork, EsnConfig, SeriesSplit};
use plastic_models::Kernels;
use plastic_tasks::SeriesTask;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use flags::EsnFlags;

use crate::checkpoint::{Checkpoint, RunState};
use crate::config::{check_ranges, Range};
use crate::experiment::{saved_network, Experiment, NoOptions, Report};
use crate::memory::floats;
use crate::metrics::{EpisodeMetrics, MetricsLines};
use crate::stats::population_sd;
use crate::trainer::{LocalSteps, LocalUpdate, Schedule, Trainer};

/// Echo-state networks with a ridge readout.
pub struct EsnExperiment;

/// One `esn` run: the series, its split, the reservoir and the readout's ridge.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsnRun {
    pub task: SeriesTask,
    /// Samples of the series; the last `test_fraction` of them are the test set.
    pub samples: usize,
    pub test_fraction: f64,
    /// Reservoir states discarded before the readout is fitted.
    pub warmup: usize,
    pub ridge: f64,
    pub units: usize,
    pub spectral_radius: f64,
    pub leak: f64,
    pub input_scaling: f64,
    pub bias_scaling: f64,
    pub connectivity: f64,
    pub input_connectivity: f64,
    /// Closed-loop steps from the start of the test set: each prediction is the next input.
    #[serde(default = "default_generative_steps")]
    pub generative_steps: usize,
    /// Seeds the reservoir and the series.
    pub seed: u64,
}

fn default_generative_steps() -> usize {
    100
}

impl EsnRun {
    fn reservoir(&self) -> EsnConfig {
        EsnConfig {
            units: self.units,
            inputs: 1,
            spectral_radius: self.spectral_radius,
            leak: self.leak,
            input_scaling: self.input_scaling,
            bias_scaling: self.bias_scaling,
            connectivity: self.connectivity,
            input_connectivity: self.input_connectivity,
            seed: self.seed,
        }
    }

    /// The first test sample.
    fn split(&self) -> usize {
        ((1.0 - self.test_fraction) * self.samples as f64).round() as usize
    }
}

/// The whole run is one step: drive the reservoir with the series, fit the readout on the
/// training part, score the test part.
struct Fit<B: Backend> {
    network: EchoStateNetwork<B>,
    run: EsnRun,
    scores: Option<Scores>,
}

#[derive(Debug, Clone, Copy)]
struct Scores {
    train_rmse: f64,
    test_rmse: f64,
    test_nrmse: f64,
    generative_rmse: f64,
    seconds: f64,
}

/// Drives `network`'s reservoir with the run's series from a zero state: the states as
/// host rows `[samples][units]`, and the targets.
fn drive<B: Backend>(
    network: &EchoStateNetwork<B>,
    run: &EsnRun,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (inputs, targets) = run.task.generate(run.samples, run.seed)?;
    Ok((network.drive(&inputs, Kernels::preferred()), targets))
}

impl<B: Backend> Fit<B> {
    fn fit(&mut self) -> anyhow::Result<Scores> {
        let started = Instant::now();
        let run = &self.run;
        let (states, targets) = drive(&self.network, run)?;
        let split = SeriesSplit {
            warmup: run.warmup,
            split: run.split(),
        };
        let fit = self
            .network
            .clone()
            .fit_series(&states, &targets, split, run.ridge)?;
        let seconds = started.elapsed().as_secs_f64();
        self.network = fit.network;
        let predicted = fit.predicted;
        let test = &targets[split.split..];
        let test_rmse = rmse(&predicted[split.split..], test);
        let training = split.warmup..split.split;
        Ok(Scores {
            train_rmse: rmse(&predicted[training.clone()], &targets[training]),
            test_rmse,
            test_nrmse: test_rmse / population_sd(test),
            generative_rmse: self.network.closed_loop_rmse(
                &states,
                &targets,
                split.split,
                run.generative_steps,
            ),
            seconds,
        })
    }
}

impl<B: Backend> LocalUpdate for Fit<B> {
    type Backend = B;
    type Network = EchoStateNetwork<B>;

    fn update(&mut self, step: usize, _rng: &mut ChaCha8Rng) -> MetricsLines {
        let scores = self.fit()?;
        self.scores = Some(scores);
        Ok(vec![EpisodeMetrics {
            episode: step,
            loss: scores.train_rmse.powi(2),
            values: [
                ("train_rmse".to_string(), scores.train_rmse),
                ("test_rmse".to_string(), scores.test_rmse),
                ("test_nrmse".to_string(), scores.test_nrmse),
                ("generative_rmse".to_string(), scores.generative_rmse),
            ]
            .into(),
        }])
    }

    fn network(&self) -> EchoStateNetwork<B> {
        self.network.clone()
    }

    fn set_network(&mut self, network: EchoStateNetwork<B>) {
        self.network = network;
    }

    fn device(&self) -> B::Device {
        self.network.reservoir.recurrent.device()
    }
}

fn report(run: &EsnRun, scores: &Scores) -> Report {
    Report::new(EsnExperiment::NAME, run.task.name())
        .metric("test_rmse", scores.test_rmse)
        .metric("test_nrmse", scores.test_nrmse)
        .metric("generative_rmse", scores.generative_rmse)
}

fn generative_text(run: &EsnRun, scores: &Scores) -> String {
    format!(
        "closed loop over the first {} test steps: RMSE {:.6}",
        run.generative_steps, scores.generative_rmse
    )
}

impl Experiment for EsnExperiment {
    const NAME: &'static str = "esn";
    const ABOUT: &'static str =
        "echo-state network: a fixed random leaky reservoir, a ridge readout fitted in closed form";
    const HEADLINE: &'static [&'static str] = &["test_rmse", "test_nrmse", "fit_predict_seconds"];
    const RESUMABLE: &'static [(&'static str, &'static str)] = &[];
    const MEMORY_HINT: &'static str = "lower --units or --samples";

    type Run = EsnRun;
    type EvalOptions = NoOptions;
    type Network<B: Backend> = EchoStateNetwork<B>;

    fn presets() -> Vec<(&'static str, String)> {
        SeriesTask::ALL
            .iter()
            .map(|task| {
                (
                    task.name(),
                    format!("{} one step ahead, 2000 samples, 100 units", task.name()),
                )
            })
            .collect()
    }

    /// reservoirpy's README benchmark: 2000 samples, the last 20 % for testing, 100 units,
    /// spectral radius 1.25, leak 0.3, ridge 1e-5, warm-up 100.
    fn preset(name: &str) -> anyhow::Result<EsnRun> {
        let task = SeriesTask::ALL
            .into_iter()
            .find(|task| task.name() == name)
            .with_context(|| {
                let names: Vec<&str> = SeriesTask::ALL.iter().map(|t| t.name()).collect();
                format!("unknown preset '{name}' (known: {})", names.join(", "))
            })?;
        let reservoir = EsnConfig::new(100, 1);
        Ok(EsnRun {
            task,
            samples: 2000,
            test_fraction: 0.2,
            warmup: 100,
            ridge: 1e-5,
            units: reservoir.units,
            spectral_radius: 1.25,
            leak: 0.3,
            input_scaling: reservoir.input_scaling,
            bias_scaling: reservoir.bias_scaling,
            connectivity: reservoir.connectivity,
            input_connectivity: reservoir.input_connectivity,
            generative_steps: default_generative_steps(),
            seed: 0,
        })
    }

    fn implied_preset(flags: &serde_json::Value) -> Option<&'static str> {
        SeriesTask::ALL
            .into_iter()
            .find(|task| flags["task"] == task.name())
            .map(SeriesTask::name)
    }

    fn validate(run: &EsnRun) -> anyhow::Result<()> {
        check_ranges(&[
            (
                "--spectral-radius",
                run.spectral_radius,
                Range::NON_NEGATIVE,
            ),
            ("--leak", run.leak, Range::FRACTION),
            ("--ridge", run.ridge, Range::NON_NEGATIVE),
            ("--input-scaling", run.input_scaling, Range::ANY),
            ("--connectivity", run.connectivity, Range::FRACTION),
        ])?;
        ensure!(
            run.generative_steps > 0,
            "--generative-steps must be at least 1"
        );
        run.reservoir().validate()?;
        ensure!(
            run.test_fraction > 0.0 && run.test_fraction < 1.0,
            "the test fraction must lie in (0, 1), not {}",
            run.test_fraction
        );
        ensure!(
            run.ridge >= 0.0 && run.ridge.is_finite(),
            "the ridge must be 0 or more, not {}",
            run.ridge
        );
        let split = run.split();
        ensure!(
            run.generative_steps <= run.samples.saturating_add(1).saturating_sub(split),
            "{} closed-loop steps run past the {} test samples",
            run.generative_steps,
            run.samples - split
        );
        if run.warmup.saturating_add(1) >= split || split >= run.samples {
            bail!(
                "{} samples with a test fraction of {} leave no training samples after a warm-up of {}",
                run.samples,
                run.test_fraction,
                run.warmup
            );
        }
        Ok(())
    }

    fn run_name(run: &EsnRun) -> String {
        format!("{}-n{}-seed{}", run.task.name(), run.units, run.seed)
    }

    fn schedule(_run: &EsnRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: 1,
            checkpoint_every: 1,
        })
    }

    /// The states of the whole series on the host in f64 (and on the device), the normal
    /// equations and their factor.
    fn memory_needed(run: &EsnRun) -> u64 {
        let units = run.units as u128;
        let samples = run.samples as u128;
        floats(2 * samples * units + 2 * samples * units + 6 * units * units)
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        Ok(EchoStateNetwork::unfitted(
            run.reservoir().init::<B>(device)?,
            1,
        ))
    }

    fn train<B: AutodiffBackend>(
        run: &EsnRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let reservoir = run.reservoir().init::<B::InnerBackend>(device)?;
        let mut learner = LocalSteps(Fit {
            network: EchoStateNetwork::unfitted(reservoir, 1),
            run: run.clone(),
            scores: None,
        });
        trainer.fit(&mut learner, rand::SeedableRng::seed_from_u64(run.seed))?;
        let scores = learner
            .0
            .scores
            .context("the run had nothing left to fit: it was already complete")?;
        Ok(report(run, &scores)
            .metric("train_rmse", scores.train_rmse)
            .metric("fit_predict_seconds", scores.seconds)
            .text(format!(
                "esn on {}, {} units: one-step test RMSE {:.6} (NRMSE {:.5}), training RMSE {:.6}; fit + predict {:.3} s; {}",
                run.task.name(),
                run.units,
                scores.test_rmse,
                scores.test_nrmse,
                scores.train_rmse,
                scores.seconds,
                generative_text(run, &scores)
            )))
    }

    fn eval<B: AutodiffBackend>(
        run: &EsnRun,
        checkpoint: &Checkpoint,
        _options: &NoOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let network = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let (states, targets) = drive(&network, run)?;
        let split = run.split();
        let predicted = network.read_states(&states[split * run.units..]);
        let test = &targets[split..];
        let test_rmse = rmse(&predicted, test);
        let scores = Scores {
            train_rmse: f64::NAN,
            test_rmse,
            test_nrmse: test_rmse / population_sd(test),
            generative_rmse: network.closed_loop_rmse(
                &states,
                &targets,
                split,
                run.generative_steps,
            ),
            seconds: f64::NAN,
        };
        Ok(report(run, &scores).text(format!(
            "esn on {}, {} units: one-step test RMSE {test_rmse:.6} (NRMSE {:.5}); {}",
            run.task.name(),
            run.units,
            scores.test_nrmse,
            generative_text(run, &scores)
        )))
    }
}
