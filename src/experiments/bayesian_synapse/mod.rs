//! `bayesian-synapse`: a chaotic rate network learns, through the readout it feeds back, to
//! generate a periodic target; the readout's synapses follow the classical delta rule or
//! the Bayesian one (Aitchison et al. 2021), whose per-synapse learning rate shrinks as its
//! uncertainty does. Every (gain, rule, rate) × network × target runs side by side as one
//! batch; one trial is one period of the target.

mod cells;
mod flags;
mod summary;
mod trials;

use std::time::Instant;

use anyhow::{ensure, Context};
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::rate_network::{DeltaRate, DeltaRule};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use flags::BayesianSynapseFlags;
pub use trials::{SynapseNetworks, TestPoint};

use plastic_models::rate_network::period::PeriodMode;
use trials::{period, scored, target_tensor, Trials, TrialsState};

use crate::checkpoint::{Checkpoint, RunState};
use crate::config::{check_ranges, Range};
use crate::experiment::{saved_network, Experiment, NoOptions, Report};
use crate::experiments::shared::rate_networks::RateNetworks;
use crate::memory::floats;
use crate::trainer::{LocalSteps, Schedule, Trainer};

fn every_step() -> usize {
    1
}

/// A run's trial MSE above this (the target has variance 1) counts as diverged.
const DIVERGED_MSE: f64 = 1e3;

/// Classical and Bayesian delta rules on the readout of a chaotic rate network.
pub struct BayesianSynapseExperiment;

/// One `bayesian-synapse` run: the networks, the rules, the targets and the trials.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BayesianSynapseRun {
    pub network: RateNetworks,
    /// Every rule and rate trains each network on each target.
    pub rates: Vec<DeltaRate>,
    /// σ_δ², the error variance the Bayesian rule assumes (fixed, as the official runs).
    pub error_variance: f64,
    /// Targets: one periodic Gaussian-process sample each.
    pub targets: usize,
    /// Steps per trial: one period of the target.
    pub period: usize,
    /// Learning trials; the free-running test MSE is measured at trial 0 (before learning),
    /// every `test_every` trials and after the last.
    pub trials: usize,
    pub test_every: usize,
    /// Starting states x₀ ~ `initial_state`·N(0, 1).
    pub initial_state: f64,
    /// Standard deviation of Gaussian noise on the error the synapses learn from (each run's
    /// readout sees δ + ε, ε ~ N(0, s²), drawn afresh every step); the MSE is scored on the
    /// true error. 0: none.
    #[serde(default)]
    pub error_noise: f64,
    /// The readouts learn at every this many steps of a trial (from its first).
    #[serde(default = "every_step")]
    pub learn_every: usize,
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl BayesianSynapseRun {
    fn runs(&self) -> usize {
        self.rates.len() * self.targets
    }

    /// The run's settings, gain-major: (gain, rate).
    fn settings(&self) -> Vec<(f64, DeltaRate)> {
        self.network
            .gains
            .iter()
            .flat_map(|&g| self.rates.iter().map(move |&rate| (g, rate)))
            .collect()
    }

    /// The setting of network `network`, run `run` (indices into the batch).
    fn setting_of(&self, network: usize, run: usize) -> usize {
        (network / self.network.networks) * self.rates.len() + run / self.targets
    }

    fn target_seeds(&self) -> Vec<u64> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x7a26_e75e);
        (0..self.targets).map(|_| rng.random()).collect()
    }
}

/// The label of a setting, e.g. `bayesian 1e-2` or `g1.25 classical 3.16e-5`.
pub fn label(gains: usize, (gain, rate): (f64, DeltaRate)) -> String {
    let rate_label = format!("{} {}", rate.rule.name(), short(rate.eta));
    if gains > 1 {
        format!("g{gain} {rate_label}")
    } else {
        rate_label
    }
}

/// 3.1623e-5 → "3.16e-5".
fn short(x: f64) -> String {
    let text = format!("{x:.2e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    format!("{mantissa}e{exponent}")
}

impl Experiment for BayesianSynapseExperiment {
    const NAME: &'static str = "bayesian-synapse";
    const ABOUT: &'static str = "rate network learning a periodic target through its fed-back readout: classical vs Bayesian delta rule";
    const HEADLINE: &'static [&'static str] = &["online_mse", "test_mse"];
    const RESUMABLE: &'static [(&'static str, &'static str)] = &[
        ("/trials", "--trials"),
        ("/checkpoint_every", "--checkpoint-every"),
    ];
    const MEMORY_HINT: &'static str = "lower --neurons, --networks, --targets or the sweep";

    type Run = BayesianSynapseRun;
    type EvalOptions = NoOptions;
    type Network<B: Backend> = SynapseNetworks<B>;

    fn presets() -> Vec<(&'static str, String)> {
        vec![
            (
                "gp",
                "500 neurons, g = 1.5, Bayesian η₀ = 1e-2, 4 networks × 5 periodic GP targets, 1000 trials".into(),
            ),
            (
                "sweep",
                "gp with every rate of the official sweep side by side (Bayesian η₀ 1e-5 … 2e-2, classical η 1e-6 … 1e-3, in half decades) on 20 networks × 20 targets".into(),
            ),
        ]
    }

    /// The seed's network with its bugs fixed (N = 500, p = 0.1, g = 1.5, τ = 10, dt = 1, a
    /// 160-step period), σ_δ² = 1 as the official runs, and the best official η₀.
    fn preset(name: &str) -> anyhow::Result<BayesianSynapseRun> {
        if name == "sweep" {
            // The official protocol: every rate, 20 networks × 20 targets per setting.
            let mut run = Self::preset("gp")?;
            let bayesian = flags::BAYESIAN_SWEEP.map(|eta| DeltaRate {
                rule: DeltaRule::Bayesian,
                eta,
            });
            let classical = flags::CLASSICAL_SWEEP.map(|eta| DeltaRate {
                rule: DeltaRule::Classical,
                eta,
            });
            run.rates = bayesian.into_iter().chain(classical).collect();
            run.network.networks = 20;
            run.targets = 20;
            return Ok(run);
        }
        ensure!(name == "gp", "unknown preset '{name}' (known: gp, sweep)");
        Ok(BayesianSynapseRun {
            network: RateNetworks {
                neurons: 500,
                connectivity: 0.1,
                dt: 1.0,
                tau: 10.0,
                feedback: true,
                gains: vec![1.5],
                networks: 4,
            },
            rates: vec![DeltaRate {
                rule: DeltaRule::Bayesian,
                eta: 1e-2,
            }],
            error_variance: 1.0,
            targets: 5,
            period: 160,
            trials: 1000,
            test_every: 100,
            initial_state: 0.5,
            error_noise: 0.0,
            learn_every: 1,
            checkpoint_every: 100,
            seed: 0,
        })
    }

    fn validate(run: &BayesianSynapseRun) -> anyhow::Result<()> {
        run.network.validate()?;
        ensure!(!run.rates.is_empty(), "the list of learning rates is empty");
        for rate in &run.rates {
            Range::POSITIVE.check("--eta", rate.eta)?;
        }
        check_ranges(&[
            ("--error-variance", run.error_variance, Range::POSITIVE),
            ("--error-noise", run.error_noise, Range::NON_NEGATIVE),
        ])?;
        ensure!(run.targets > 0, "the number of targets must be at least 1");
        ensure!(
            run.period >= 2,
            "a trial needs at least 2 steps, not {}",
            run.period
        );
        ensure!(run.trials > 0, "the number of trials must be at least 1");
        ensure!(
            run.learn_every > 0 && run.learn_every <= run.period,
            "--learn-every must lie between 1 and the period ({}), not {}",
            run.period,
            run.learn_every
        );
        ensure!(run.test_every > 0, "--test-every must be at least 1");
        ensure!(
            run.checkpoint_every > 0,
            "--checkpoint-every must be at least 1"
        );
        Ok(())
    }

    fn run_name(run: &BayesianSynapseRun) -> String {
        let rates = if run.rates.len() == 1 {
            format!("{}-{}", run.rates[0].rule.name(), short(run.rates[0].eta))
        } else {
            format!("sweep{}", run.rates.len())
        };
        let gains: Vec<String> = run.network.gains.iter().map(f64::to_string).collect();
        format!(
            "{rates}-g{}-n{}-seed{}",
            gains.join("_"),
            run.network.neurons,
            run.seed
        )
    }

    fn schedule(run: &BayesianSynapseRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.trials,
            checkpoint_every: run.checkpoint_every,
        })
    }

    /// Recurrent weights per network; per run the readout's mean and variance, the state and
    /// a handful of temporaries of the same size; the outputs of a test period.
    fn memory_needed(run: &BayesianSynapseRun) -> u64 {
        let neurons = run.network.neurons as u128;
        let networks = run.network.count() as u128;
        let runs = networks * run.runs() as u128;
        floats(
            2 * networks * neurons * neurons + 12 * runs * neurons + 2 * runs * run.period as u128,
        )
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        SynapseNetworks::new(run, device)
    }

    fn train<B: AutodiffBackend>(
        run: &BayesianSynapseRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        let (samples, targets) = target_tensor::<B::InnerBackend>(run, device)?;
        let networks = SynapseNetworks::new(run, device)?;
        let mut learner = LocalSteps(Trials {
            stopped: vec![false; run.network.count() * run.runs()],
            networks,
            targets,
            run: run.clone(),
            tests: Vec::new(),
            last_outputs: None,
        });
        let dir = trainer.run_dir().path.clone();
        trainer.fit(&mut learner, rand::SeedableRng::seed_from_u64(run.seed))?;
        let trials = learner.0;
        let outputs = trials
            .last_outputs
            .context("the run had nothing left to train: it was already complete")?;
        let summary = summary::Summary::new(run, &trials.tests);
        summary.write(&dir, run, &samples, &outputs)?;
        Ok(summary
            .report(run)
            .seconds(started.elapsed().as_secs_f64())
            .run(&dir))
    }

    /// Several runs (a sweep's gains or seeds): each rule's best rate per gain.
    fn summarise(
        runs: &[crate::experiment::Finished<Self>],
        dir: &std::path::Path,
    ) -> anyhow::Result<Option<String>> {
        cells::summarise(runs, dir)
    }

    fn eval<B: AutodiffBackend>(
        run: &BayesianSynapseRun,
        checkpoint: &Checkpoint,
        _options: &NoOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let (_, targets) = target_tensor::<B::InnerBackend>(run, device)?;
        let mut networks = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let state: TrialsState = serde_json::from_value(checkpoint.state.learner.clone())
            .context("the checkpoint's trial record is not readable")?;
        let tested = period(&mut networks, &targets, PeriodMode::Test, false)?;
        let mse = scored(&tested.mse, &state.stopped);
        let trial = checkpoint.state.step;
        let summary = summary::Summary::new(run, &[TestPoint { trial, mse }]);
        Ok(summary.report(run))
    }
}
