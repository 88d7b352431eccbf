//! `force`: FORCE learning (Sussillo & Abbott 2009). A chaotic rate network feeds its
//! readout back into itself; recursive least squares keeps the readout on the target from
//! the first step, until the loop generates the target on its own. Training, then a
//! free-running test with the readout fixed. Several gains run side by side as one batch.

mod flags;
mod seeds;

use std::time::Instant;

use anyhow::{ensure, Context};
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::force::{ForceNetworks, Stretch};
use plastic_tasks::{four_sines, FOUR_SINES_PERIOD};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use flags::ForceFlags;

use crate::checkpoint::{Checkpoint, RunState};
use crate::config::{check_ranges, Range};
use crate::experiment::{saved_network, Experiment, NoOptions, Report};
use crate::experiments::shared::rate_networks::RateNetworks;
use crate::memory::floats;
use crate::metrics::{EpisodeMetrics, MetricsLines};
use crate::plot::{self, Series};
use crate::trainer::{LocalSteps, LocalUpdate, Schedule, Trainer};

/// FORCE learning of the four-sine target.
pub struct ForceExperiment;

/// One `force` run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForceRun {
    pub network: RateNetworks,
    /// P starts at I/α.
    pub alpha: f64,
    /// RLS updates every this many steps.
    pub learn_every: usize,
    /// Time units of training, then of free-running test.
    pub train_time: f64,
    pub test_time: f64,
    /// x₀ and z₀ ~ `initial_state`·N(0, 1).
    pub initial_state: f64,
    /// A checkpoint every this many target periods (120 time units).
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl ForceRun {
    fn steps_per_period(&self) -> usize {
        (FOUR_SINES_PERIOD / self.network.dt).round() as usize
    }

    fn training_steps(&self) -> usize {
        (self.train_time / self.network.dt).round() as usize
    }

    fn test_steps(&self) -> usize {
        (self.test_time / self.network.dt).round() as usize
    }
}

/// The run's networks, fresh.
fn fresh_networks<B: Backend>(
    run: &ForceRun,
    device: &B::Device,
) -> anyhow::Result<ForceNetworks<B>> {
    Ok(ForceNetworks::new(
        &run.network.shape(),
        &run.network.draws(run.seed),
        run.alpha,
        run.initial_state,
        run.seed,
        device,
    )?)
}

/// Steps `from..to` of the run against the four sines, learning every `learn_every` steps
/// when `learn` is set.
fn advance<B: Backend>(
    networks: &mut ForceNetworks<B>,
    run: &ForceRun,
    from: usize,
    to: usize,
    learn: bool,
) -> Stretch {
    let dt = run.network.dt;
    let learn_every = learn.then_some(run.learn_every);
    networks.advance(from, to, learn_every, |k| four_sines(k as f64 * dt))
}

/// One target period of training per step; the whole training kept for the plots.
struct Training<B: Backend> {
    networks: ForceNetworks<B>,
    run: ForceRun,
    stretches: Vec<Stretch>,
}

impl<B: Backend> LocalUpdate for Training<B> {
    type Backend = B;
    type Network = ForceNetworks<B>;

    fn update(&mut self, step: usize, _rng: &mut ChaCha8Rng) -> MetricsLines {
        let per = self.run.steps_per_period();
        let from = (step - 1) * per;
        let to = (step * per).min(self.run.training_steps());
        let stretch = advance(&mut self.networks, &self.run, from, to, true);
        let mae = stretch.mae();
        let updates = stretch.weight_changes.len() / stretch.networks.max(1);
        let mut values: Vec<(String, f64)> = vec![("train_mae".into(), mae[0])];
        if updates > 0 {
            let mean_change = stretch.weight_changes[..updates]
                .iter()
                .map(|&d| f64::from(d))
                .sum::<f64>()
                / updates as f64;
            values.push(("mean_dw".into(), mean_change));
        }
        if mae.len() > 1 {
            for (g, m) in self.run.network.gains.iter().zip(&mae) {
                values.push((format!("train_mae/g{g}"), *m));
            }
        }
        self.stretches.push(stretch);
        Ok(vec![EpisodeMetrics {
            episode: step,
            loss: mae[0],
            values: values.into_iter().collect(),
        }])
    }

    fn network(&self) -> ForceNetworks<B> {
        self.networks.clone()
    }

    fn set_network(&mut self, network: ForceNetworks<B>) {
        self.networks = network;
    }

    fn device(&self) -> B::Device {
        self.networks.state.device()
    }
}

/// The free-running test after `trained` steps, and its report.
fn test<B: Backend>(
    networks: &mut ForceNetworks<B>,
    run: &ForceRun,
    trained: usize,
) -> anyhow::Result<(Stretch, Report)> {
    let stretch = advance(networks, run, trained, trained + run.test_steps(), false);
    let mae = stretch.mae();
    let gains = &run.network.gains;
    let mut report = Report::new(ForceExperiment::NAME, "four-sines").metric("test_mae", mae[0]);
    let mut text = format!(
        "force, N = {}: free-running test over {} time units after {} of training: MAE {:.4} (g = {})",
        run.network.neurons,
        run.test_time,
        trained as f64 * run.network.dt,
        mae[0],
        gains[0]
    );
    if gains.len() > 1 {
        text.push_str("\n\n| g | test MAE |\n|---|---|\n");
        for (g, m) in gains.iter().zip(&mae) {
            report = report.metric(&format!("test_mae/g{g}"), *m);
            text.push_str(&format!("| {g} | {m:.4} |\n"));
        }
    }
    Ok((stretch, report.text(text)))
}

/// tracking.png: target and output of the first network during training and test;
/// weight_change.png: |Δw| at every update of each network.
fn plots(
    run: &ForceRun,
    training: &[Stretch],
    test: &Stretch,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let dt = run.network.dt;
    let first_network = |stretches: &[&Stretch], start: usize| -> (Series, Series) {
        let mut target = Vec::new();
        let mut output = Vec::new();
        let mut k = start;
        for stretch in stretches {
            let steps = stretch.targets.len();
            for (i, f) in stretch.targets.iter().enumerate() {
                let t = (k + i + 1) as f64 * dt;
                target.push((t, *f));
                output.push((t, f64::from(stretch.outputs[i])));
            }
            k += steps;
        }
        (
            Series {
                label: "target".into(),
                points: target,
            },
            Series {
                label: format!("output, g = {}", run.network.gains[0]),
                points: output,
            },
        )
    };
    let trained: usize = training.iter().map(|s| s.targets.len()).sum();
    let training_refs: Vec<&Stretch> = training.iter().collect();
    let (train_target, train_output) =
        first_network(&training_refs, run.training_steps() - trained);
    let (test_target, test_output) = first_network(&[test], run.training_steps());
    plot::lines(
        &[
            ("training (RLS on)", "z", vec![train_target, train_output]),
            (
                "free-running test (readout fixed)",
                "z",
                vec![test_target, test_output],
            ),
        ],
        "time",
        &dir.join("tracking.png"),
    )?;
    let interval = run.learn_every as f64 * dt;
    let changes: Vec<Series> = run
        .network
        .gains
        .iter()
        .enumerate()
        .map(|(n, g)| {
            let mut points = Vec::new();
            let mut k = run.training_steps() - trained;
            for stretch in training {
                let updates = stretch.weight_changes.len() / stretch.networks;
                let mine = &stretch.weight_changes[n * updates..(n + 1) * updates];
                let first = (k / run.learn_every + 1) as f64 * interval;
                points.extend(
                    mine.iter()
                        .enumerate()
                        .map(|(i, &d)| (first + i as f64 * interval, f64::from(d))),
                );
                k += stretch.targets.len();
            }
            Series {
                label: format!("g = {g}"),
                points,
            }
        })
        .collect();
    plot::lines_log_y(
        &[("|Δw| per update", "|Δw|", changes)],
        "time",
        &dir.join("weight_change.png"),
    )
}

impl Experiment for ForceExperiment {
    const NAME: &'static str = "force";
    const ABOUT: &'static str =
        "FORCE learning: recursive least squares on the fed-back readout of a chaotic rate network";
    const HEADLINE: &'static [&'static str] = &["train_mae", "mean_dw"];
    const RESUMABLE: &'static [(&'static str, &'static str)] = &[
        ("/train_time", "--train-time"),
        ("/checkpoint_every", "--checkpoint-every"),
    ];
    const MEMORY_HINT: &'static str = "lower --neurons or the number of gains";

    type Run = ForceRun;
    type EvalOptions = NoOptions;
    type Network<B: Backend> = ForceNetworks<B>;

    fn presets() -> Vec<(&'static str, String)> {
        vec![
            (
                "four-sines",
                "Sussillo & Abbott's script: N = 1000, p = 0.1, g = 1.5, dt = 0.1, 1440 + 1440 time units".into(),
            ),
            (
                "gains",
                "four-sines with one network at each gain of 0.5 … 2 side by side (the same connections, scaled)".into(),
            ),
        ]
    }

    fn preset(name: &str) -> anyhow::Result<ForceRun> {
        ensure!(
            name == "four-sines" || name == "gains",
            "unknown preset '{name}' (known: four-sines, gains)"
        );
        let gains = if name == "gains" {
            flags::GAIN_SWEEP.to_vec()
        } else {
            vec![1.5]
        };
        Ok(ForceRun {
            network: RateNetworks {
                neurons: 1000,
                connectivity: 0.1,
                dt: 0.1,
                tau: 1.0,
                feedback: true,
                gains,
                networks: 1,
            },
            alpha: 1.0,
            learn_every: 2,
            train_time: 1440.0,
            test_time: 1440.0,
            initial_state: 0.5,
            checkpoint_every: 4,
            seed: 0,
        })
    }

    fn validate(run: &ForceRun) -> anyhow::Result<()> {
        check_ranges(&[
            ("--alpha", run.alpha, Range::POSITIVE),
            ("--train-time", run.train_time, Range::POSITIVE),
            ("--test-time", run.test_time, Range::POSITIVE),
        ])?;
        run.network.validate()?;
        ensure!(
            run.network.feedback,
            "FORCE learns through the readout's feedback: it cannot be off"
        );
        ensure!(
            run.alpha > 0.0 && run.alpha.is_finite(),
            "α must be positive, not {}",
            run.alpha
        );
        ensure!(run.learn_every > 0, "--learn-every must be at least 1");
        for (name, time) in [("training", run.train_time), ("test", run.test_time)] {
            ensure!(
                time.is_finite() && time >= run.network.dt,
                "the {name} time must be at least one step dt = {}, not {time}",
                run.network.dt
            );
        }
        ensure!(
            run.checkpoint_every > 0,
            "--checkpoint-every must be at least 1"
        );
        Ok(())
    }

    fn run_name(run: &ForceRun) -> String {
        let gains: Vec<String> = run.network.gains.iter().map(f64::to_string).collect();
        format!(
            "g{}-n{}-seed{}",
            gains.join("_"),
            run.network.neurons,
            run.seed
        )
    }

    fn schedule(run: &ForceRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.training_steps().div_ceil(run.steps_per_period()),
            checkpoint_every: run.checkpoint_every,
        })
    }

    /// Per network: M, P and the outer-product temporary (N² each); the output traces.
    fn memory_needed(run: &ForceRun) -> u64 {
        let neurons = run.network.neurons as u128;
        let networks = run.network.count() as u128;
        let steps = (run.training_steps() + run.test_steps()) as u128;
        floats(networks * (4 * neurons * neurons + 3 * steps))
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        fresh_networks(run, device)
    }

    fn train<B: AutodiffBackend>(
        run: &ForceRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        let networks = fresh_networks::<B::InnerBackend>(run, device)?;
        let dir = trainer.run_dir().path.clone();
        let mut learner = LocalSteps(Training {
            networks,
            run: run.clone(),
            stretches: Vec::new(),
        });
        trainer.fit(&mut learner, rand::SeedableRng::seed_from_u64(run.seed))?;
        let mut training = learner.0;
        ensure!(
            !training.stretches.is_empty(),
            "the run had nothing left to train: it was already complete"
        );
        let (stretch, report) = test(&mut training.networks, run, run.training_steps())?;
        plots(run, &training.stretches, &stretch, &dir).context("cannot draw the plots")?;
        let last = training
            .stretches
            .last()
            .map(Stretch::mae)
            .unwrap_or_default();
        Ok(report
            .metric("train_mae", last[0])
            .seconds(started.elapsed().as_secs_f64())
            .run(&dir))
    }

    /// Several runs (a sweep's seeds): each gain's test error over them.
    fn summarise(
        runs: &[crate::experiment::Finished<Self>],
        dir: &std::path::Path,
    ) -> anyhow::Result<Option<String>> {
        seeds::summarise(runs, dir)
    }

    fn eval<B: AutodiffBackend>(
        run: &ForceRun,
        checkpoint: &Checkpoint,
        _options: &NoOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let mut networks = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let trained = (checkpoint.state.step * run.steps_per_period()).min(run.training_steps());
        Ok(test(&mut networks, run, trained)?.1)
    }
}
