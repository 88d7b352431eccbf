//! `bayesian-synapse`: a chaotic rate network learns, through the readout it feeds back, to
//! generate a periodic target; the readout's synapses follow the classical delta rule or
//! the Bayesian one (Aitchison et al. 2021), whose per-synapse learning rate shrinks as its
//! uncertainty does. Every (gain, rule, rate) × network × target runs side by side as one
//! batch; one trial is one period of the target.

mod flags;
mod summary;

use std::time::Instant;

use anyhow::{ensure, Context};
use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use plastic_models::rate_network::{stop_mask, DeltaRate, DeltaReadout, DeltaRule, RateNetwork};
use plastic_models::reservoir::host_tensor;
use plastic_tasks::PeriodicGp;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use flags::{BayesianSynapseFlags, NoEvalFlags};

use super::rate_networks::RateNetworks;
use crate::checkpoint::{Checkpoint, MODEL_FILE};
use crate::experiment::{Experiment, Report};
use crate::memory::floats;
use crate::metrics::EpisodeMetrics;
use crate::trainer::{LocalSteps, LocalUpdate, Schedule, Trainer};
use crate::util::host_values;

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

/// The networks, their readouts and where their dynamics stand: what checkpoints hold.
#[derive(Module, Debug)]
pub struct SynapseNetworks<B: Backend> {
    pub network: RateNetwork<B>,
    pub readout: DeltaReadout<B>,
    /// x, `[networks, runs, neurons]`.
    pub state: Param<Tensor<B, 3>>,
    /// z of the last step, `[networks, runs, 1]`.
    pub output: Param<Tensor<B, 3>>,
}

impl<B: Backend> SynapseNetworks<B> {
    fn new(run: &BayesianSynapseRun, device: &B::Device) -> anyhow::Result<Self> {
        let network = run
            .network
            .shape()
            .init::<B>(&run.network.draws(run.seed), device)?;
        let neurons = run.network.neurons;
        let networks = network.networks();
        let rates: Vec<DeltaRate> = run
            .rates
            .iter()
            .flat_map(|&rate| std::iter::repeat_n(rate, run.targets))
            .collect();
        let readout = DeltaReadout::new(networks, neurons, &rates, run.error_variance, device);
        let state = network.random_state(run.runs(), run.initial_state, run.seed);
        let output = Tensor::zeros([networks, run.runs(), 1], device);
        Ok(Self {
            network,
            readout,
            state: Param::from_tensor(state),
            output: Param::from_tensor(output),
        })
    }
}

/// What one period did: the MSE of each run (`[networks][runs]`, row-major) and, where
/// asked, the output of every run at every step (`[networks][runs][steps]`).
struct Period {
    mse: Vec<f64>,
    outputs: Option<Vec<f32>>,
}

/// What a period does to the readouts.
enum Mode<B: Backend> {
    /// They learn at every `every` steps, from the error plus `noise` (`[networks, runs,
    /// steps]`), and the state carries on.
    Learn {
        every: usize,
        noise: Option<Tensor<B, 3>>,
    },
    /// They stay fixed and the state is left where it was: a measurement that changes
    /// nothing.
    Test,
}

/// Runs one period of the target from the networks' current state.
fn period<B: Backend>(
    networks: &mut SynapseNetworks<B>,
    targets: &Tensor<B, 3>,
    mode: Mode<B>,
    keep_outputs: bool,
) -> anyhow::Result<Period> {
    let steps = targets.dims()[2];
    let mut state = networks.state.val();
    let mut output = networks.output.val();
    let mut squared_error = output.zeros_like();
    let mut outputs = Vec::new();
    for t in 0..steps {
        let (next, rates) = networks.network.step(state, output);
        state = next;
        output = networks.readout.read(rates.clone());
        let error = targets.clone().narrow(2, t, 1) - output.clone();
        squared_error = squared_error + error.clone().powi_scalar(2);
        match &mode {
            Mode::Learn { every, .. } if !(t + 1).is_multiple_of(*every) => {}
            Mode::Learn { noise: None, .. } => networks.readout.update(rates, error),
            Mode::Learn {
                noise: Some(noise), ..
            } => networks
                .readout
                .update(rates, error + noise.clone().narrow(2, t, 1)),
            Mode::Test => {}
        }
        if keep_outputs {
            outputs.push(output.clone());
        }
    }
    if let Mode::Learn { .. } = mode {
        networks.state = Param::from_tensor(state);
        networks.output = Param::from_tensor(output);
    }
    let mse = host_values(squared_error.div_scalar(steps as f64))?
        .into_iter()
        .map(|v| {
            if v.is_finite() {
                f64::from(v)
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let outputs = if keep_outputs {
        Some(host_values(Tensor::cat(outputs, 2))?)
    } else {
        None
    };
    Ok(Period { mse, outputs })
}

/// The test MSE of every run at one trial.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestPoint {
    pub trial: usize,
    /// `[networks][runs]`, row-major; a diverged run is +∞.
    pub mse: Vec<f64>,
}

/// Trials of online learning, the driver of a run.
struct Trials<B: Backend> {
    networks: SynapseNetworks<B>,
    /// `[1, runs, period]`: run r's target is sample r mod `targets`.
    targets: Tensor<B, 3>,
    run: BayesianSynapseRun,
    /// Runs that diverged, `[networks][runs]`.
    stopped: Vec<bool>,
    tests: Vec<TestPoint>,
    /// The outputs of the last test, for the tracking plot.
    last_outputs: Option<Vec<f32>>,
}

#[derive(Serialize, Deserialize)]
struct TrialsState {
    stopped: Vec<bool>,
    tests: Vec<TestPoint>,
}

fn target_tensor<B: Backend>(
    run: &BayesianSynapseRun,
    device: &B::Device,
) -> anyhow::Result<(Vec<Vec<f64>>, Tensor<B, 3>)> {
    let samples = PeriodicGp::new(run.period).samples(&run.target_seeds())?;
    let values: Vec<f64> = (0..run.runs())
        .flat_map(|r| samples[r % run.targets].clone())
        .collect();
    let tensor = host_tensor(values, [1, run.runs(), run.period], device);
    Ok((samples, tensor))
}

impl<B: Backend> Trials<B> {
    /// Medians over every setting's runs, as metrics: `<label>` names them when there are
    /// several settings.
    fn medians(&self, name: &str, mse: &[f64], values: &mut Vec<(String, f64)>) {
        let settings = self.run.settings();
        let gains = self.run.network.gains.len();
        let mut per_setting = vec![Vec::new(); settings.len()];
        let runs = self.run.runs();
        for (index, &value) in mse.iter().enumerate() {
            per_setting[self.run.setting_of(index / runs, index % runs)].push(value);
        }
        for (setting, mut group) in settings.into_iter().zip(per_setting) {
            group.sort_by(f64::total_cmp);
            let key = if self.run.settings().len() > 1 {
                format!("{name}/{}", label(gains, setting))
            } else {
                name.to_string()
            };
            values.push((key, crate::util::median(&group)));
        }
    }

    fn test(&mut self, trial: usize) -> anyhow::Result<Vec<(String, f64)>> {
        let tested = period(&mut self.networks, &self.targets, Mode::Test, true)?;
        let mse: Vec<f64> = tested
            .mse
            .iter()
            .zip(&self.stopped)
            .map(|(&m, &stopped)| if stopped { f64::INFINITY } else { m })
            .collect();
        let mut values = Vec::new();
        self.medians("test_mse", &mse, &mut values);
        values.push((
            "diverged".into(),
            self.stopped.iter().filter(|s| **s).count() as f64,
        ));
        self.tests.push(TestPoint { trial, mse });
        self.last_outputs = tested.outputs;
        Ok(values)
    }

    /// The noise on the errors of trial `step` (from 1), drawn on the host from the run's seed
    /// and the trial, so that a resumed run and every backend see the same numbers.
    fn error_noise(&self, step: usize) -> Option<Tensor<B, 3>> {
        if self.run.error_noise == 0.0 {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.run.seed ^ (step as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let shape = [self.run.network.count(), self.run.runs(), self.run.period];
        let values: Vec<f64> = (0..shape.iter().product())
            .map(|_| self.run.error_noise * rng.sample::<f64, _>(rand_distr::StandardNormal))
            .collect();
        Some(host_tensor(values, shape, &self.networks.state.device()))
    }

    /// Stops the runs whose error blew up in the last trial.
    fn stop_diverged(&mut self, mse: &[f64]) {
        let newly: Vec<bool> = mse
            .iter()
            .zip(&self.stopped)
            .map(|(&m, &stopped)| !stopped && (m.is_nan() || m >= DIVERGED_MSE))
            .collect();
        if !newly.iter().any(|s| *s) {
            return;
        }
        for (stopped, new) in self.stopped.iter_mut().zip(&newly) {
            *stopped |= new;
        }
        let networks = &mut self.networks;
        networks.readout.stop(&self.stopped);
        let [n, r, neurons] = networks.state.dims();
        let device = networks.state.device();
        let mask = stop_mask::<B>(&self.stopped, [n, r, neurons], &device);
        networks.state = Param::from_tensor(networks.state.val().mask_fill(mask, 0.0));
        let mask = stop_mask::<B>(&self.stopped, [n, r, 1], &device);
        networks.output = Param::from_tensor(networks.output.val().mask_fill(mask, 0.0));
    }
}

impl<B: Backend> LocalUpdate for Trials<B> {
    type Backend = B;
    type Network = SynapseNetworks<B>;

    fn start(&mut self) -> anyhow::Result<Vec<EpisodeMetrics>> {
        let values = self.test(0)?;
        Ok(vec![metrics_line(0, values)])
    }

    fn update(
        &mut self,
        step: usize,
        _rng: &mut ChaCha8Rng,
    ) -> anyhow::Result<Vec<EpisodeMetrics>> {
        let noise = self.error_noise(step);
        let learned = period(
            &mut self.networks,
            &self.targets,
            Mode::Learn {
                every: self.run.learn_every,
                noise,
            },
            false,
        )?;
        self.stop_diverged(&learned.mse);
        let online: Vec<f64> = learned
            .mse
            .iter()
            .zip(&self.stopped)
            .map(|(&m, &stopped)| if stopped { f64::INFINITY } else { m })
            .collect();
        let mut values = Vec::new();
        self.medians("online_mse", &online, &mut values);
        if step.is_multiple_of(self.run.test_every) || step == self.run.trials {
            values.extend(self.test(step)?);
        }
        Ok(vec![metrics_line(step, values)])
    }

    fn network(&self) -> SynapseNetworks<B> {
        self.networks.clone()
    }

    fn set_network(&mut self, network: SynapseNetworks<B>) {
        self.networks = network;
    }

    fn device(&self) -> B::Device {
        self.networks.state.device()
    }

    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::to_value(TrialsState {
            stopped: self.stopped.clone(),
            tests: self.tests.clone(),
        })?)
    }

    fn restore_state(&mut self, state: &serde_json::Value) -> anyhow::Result<()> {
        let state: TrialsState = serde_json::from_value(state.clone())
            .context("the checkpoint's trial record is not readable")?;
        self.stopped = state.stopped;
        self.tests = state.tests;
        Ok(())
    }
}

fn metrics_line(trial: usize, values: Vec<(String, f64)>) -> EpisodeMetrics {
    // The loss the trainer plots and guards: the first setting's median error.
    let loss = values
        .first()
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .unwrap_or(f64::MAX);
    EpisodeMetrics {
        episode: trial,
        loss,
        // JSON has no infinity: a median over mostly diverged runs is left out, the count of
        // diverged runs says why.
        values: values.into_iter().filter(|(_, v)| v.is_finite()).collect(),
    }
}

/// `eval` on a bayesian-synapse checkpoint takes no options.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

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

    fn presets() -> Vec<(&'static str, String)> {
        vec![(
            "gp",
            "500 neurons, g = 1.5, Bayesian η₀ = 1e-2, 4 networks × 5 periodic GP targets, 1000 trials".into(),
        )]
    }

    /// The seed's network with its bugs fixed (N = 500, p = 0.1, g = 1.5, τ = 10, dt = 1, a
    /// 160-step period), σ_δ² = 1 as the official runs, and the best official η₀.
    fn preset(name: &str) -> anyhow::Result<BayesianSynapseRun> {
        ensure!(name == "gp", "unknown preset '{name}' (known: gp)");
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
            ensure!(
                rate.eta > 0.0 && rate.eta.is_finite(),
                "the {} learning rate must be positive, not {}",
                rate.rule.name(),
                rate.eta
            );
        }
        ensure!(
            run.error_variance > 0.0 && run.error_variance.is_finite(),
            "the error variance σ_δ² must be positive, not {}",
            run.error_variance
        );
        ensure!(run.targets > 0, "the number of targets must be at least 1");
        ensure!(
            run.error_noise >= 0.0 && run.error_noise.is_finite(),
            "the error noise must be 0 or more, not {}",
            run.error_noise
        );
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

    fn eval<B: AutodiffBackend>(
        run: &BayesianSynapseRun,
        checkpoint: &Checkpoint,
        _options: &NoOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let (_, targets) = target_tensor::<B::InnerBackend>(run, device)?;
        let empty = SynapseNetworks::new(run, device)?;
        let mut networks =
            checkpoint.load_module::<B::InnerBackend, _>(MODEL_FILE, empty, device)?;
        let state: TrialsState = serde_json::from_value(checkpoint.state.learner.clone())
            .context("the checkpoint's trial record is not readable")?;
        let tested = period(&mut networks, &targets, Mode::Test, false)?;
        let mse: Vec<f64> = tested
            .mse
            .iter()
            .zip(&state.stopped)
            .map(|(&m, &stopped)| if stopped { f64::INFINITY } else { m })
            .collect();
        let trial = checkpoint.state.step;
        let summary = summary::Summary::new(run, &[TestPoint { trial, mse }]);
        Ok(summary.report(run))
    }
}
