//! The trials of a bayesian-synapse run: the batch of networks and readouts that
//! checkpoints hold, one period of the target with or without learning, and the learner that
//! the trainer drives (diverged runs stopped, free-running tests recorded).

use anyhow::Context;
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use plastic_models::kernels::Kernels;
use plastic_models::rate_network::period::{closed_loop_period, ClosedLoop, PeriodMode};
use plastic_models::rate_network::{stop_mask, DeltaRate, DeltaReadout, RateNetwork};
use plastic_models::reservoir::host_tensor;
use plastic_tasks::PeriodicGp;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{label, BayesianSynapseRun, DIVERGED_MSE};
use crate::metrics::{EpisodeMetrics, MetricsLines};
use crate::trainer::LocalUpdate;

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
    pub(super) fn new(run: &BayesianSynapseRun, device: &B::Device) -> anyhow::Result<Self> {
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
pub(super) struct Period {
    pub(super) mse: Vec<f64>,
    pub(super) outputs: Option<Vec<f32>>,
}

/// Runs one period of the target from the networks' current state, on the kernels the
/// backend prefers; a learning period carries the state on, a test leaves it where it was.
pub(super) fn period<B: Backend>(
    networks: &mut SynapseNetworks<B>,
    targets: &Tensor<B, 3>,
    mode: PeriodMode<B>,
    keep_outputs: bool,
) -> anyhow::Result<Period> {
    let learning = matches!(mode, PeriodMode::Learn { .. });
    let ran = closed_loop_period(
        ClosedLoop {
            network: &networks.network,
            readout: &mut networks.readout,
            state: networks.state.val(),
            output: networks.output.val(),
            targets,
            mode,
            keep_outputs,
        },
        Kernels::preferred(),
    );
    if learning {
        networks.state = Param::from_tensor(ran.state);
        networks.output = Param::from_tensor(ran.output);
    }
    Ok(Period {
        mse: ran.mse,
        outputs: ran
            .outputs
            .map(|outputs| outputs.into_iter().map(|v| v as f32).collect()),
    })
}

/// Each run's MSE, a stopped (diverged) run's as +∞.
pub(super) fn scored(mse: &[f64], stopped: &[bool]) -> Vec<f64> {
    mse.iter()
        .zip(stopped)
        .map(|(&m, &stopped)| if stopped { f64::INFINITY } else { m })
        .collect()
}

/// The test MSE of every run at one trial.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestPoint {
    pub trial: usize,
    /// `[networks][runs]`, row-major; a diverged run is +∞.
    pub mse: Vec<f64>,
}

/// Trials of online learning, the driver of a run.
pub(super) struct Trials<B: Backend> {
    pub(super) networks: SynapseNetworks<B>,
    /// `[1, runs, period]`: run r's target is sample r mod `targets`.
    pub(super) targets: Tensor<B, 3>,
    pub(super) run: BayesianSynapseRun,
    /// Runs that diverged, `[networks][runs]`.
    pub(super) stopped: Vec<bool>,
    pub(super) tests: Vec<TestPoint>,
    /// The outputs of the last test, for the tracking plot.
    pub(super) last_outputs: Option<Vec<f32>>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct TrialsState {
    pub(super) stopped: Vec<bool>,
    pub(super) tests: Vec<TestPoint>,
}

pub(super) fn target_tensor<B: Backend>(
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
            values.push((key, crate::stats::median(&group)));
        }
    }

    fn test(&mut self, trial: usize) -> anyhow::Result<Vec<(String, f64)>> {
        let tested = period(&mut self.networks, &self.targets, PeriodMode::Test, true)?;
        let mse = scored(&tested.mse, &self.stopped);
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

    fn start(&mut self) -> MetricsLines {
        let values = self.test(0)?;
        Ok(vec![metrics_line(0, values)])
    }

    fn update(&mut self, step: usize, _rng: &mut ChaCha8Rng) -> MetricsLines {
        let noise = self.error_noise(step);
        let learned = period(
            &mut self.networks,
            &self.targets,
            PeriodMode::Learn {
                every: self.run.learn_every,
                noise,
            },
            false,
        )?;
        self.stop_diverged(&learned.mse);
        let online = scored(&learned.mse, &self.stopped);
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
