//! The batch of networks as the trainer drives it: the plastic phase a stretch of steps at a
//! time, then the readout phase; and the state a checkpoint carries between them.

use anyhow::{ensure, Context};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use plastic_models::kernels::Kernels;
use plastic_models::sorn::{one_hot_inputs, Plasticity, Sorn, SornState};
use plastic_tasks::COUNTING_ALPHABET;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::readout::{self, Accuracy};
use super::{SornRun, Variant};
use crate::metrics::{EpisodeMetrics, MetricsLines};
use crate::trainer::LocalUpdate;
use crate::util::host_values;

/// The networks' state between updates, for resuming.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct PhaseState {
    pub excitatory: Vec<f32>,
    pub inhibitory: Vec<f32>,
    pub accuracy: Vec<Accuracy>,
}

pub(super) struct Counting<B: Backend> {
    pub run: SornRun,
    pub network: Sorn<B>,
    pub state: SornState<B>,
    pub letters: Vec<Vec<u8>>,
    pub plasticity: Plasticity<B>,
    pub accuracy: Vec<Accuracy>,
}

impl<B: Backend> Counting<B> {
    /// Plastic steps `[from, to)`; the mean excitatory rate of each variant over them.
    fn plastic(&mut self, from: usize, to: usize) -> anyhow::Result<Vec<(Variant, f64)>> {
        let device = self.network.recurrent.device();
        let inputs = one_hot_inputs(&self.letters, from..to, COUNTING_ALPHABET.len(), &device);
        let (state, rates) = self.network.run_plastic(
            self.state.clone(),
            &inputs,
            &self.plasticity,
            Kernels::preferred(),
        );
        self.state = state;
        Ok(per_variant(&self.run, &host_values(rates)?))
    }
}

/// The mean of a per-network value over each variant's networks.
fn per_variant(run: &SornRun, values: &[f32]) -> Vec<(Variant, f64)> {
    let networks = run.networks();
    run.variants
        .iter()
        .map(|&variant| {
            let of: Vec<f64> = networks
                .iter()
                .zip(values)
                .filter(|((_, v, _), _)| *v == variant)
                .map(|(_, &x)| f64::from(x))
                .collect();
            (variant, of.iter().sum::<f64>() / of.len().max(1) as f64)
        })
        .collect()
}

impl<B: Backend> LocalUpdate for Counting<B> {
    type Backend = B;
    type Network = Sorn<B>;

    fn update(&mut self, step: usize, _rng: &mut ChaCha8Rng) -> MetricsLines {
        let plastic_updates = self.run.plastic_updates();
        let mut values = std::collections::BTreeMap::new();
        let loss = if step <= plastic_updates {
            let from = (step - 1) * self.run.steps_per_update;
            let to = (step * self.run.steps_per_update).min(self.run.plastic_steps);
            let rates = self.plastic(from, to)?;
            for (variant, rate) in &rates {
                values.insert(format!("rate.{}", variant.key()), *rate);
            }
            // How far the networks fire from the rate intrinsic plasticity aims at.
            rates
                .iter()
                .map(|(_, r)| (r - self.run.target_rate).abs())
                .sum::<f64>()
                / rates.len().max(1) as f64
        } else {
            self.accuracy = readout::score(
                &self.run,
                &mut self.network,
                self.state.clone(),
                &self.letters,
            )?;
            let summary = readout::Summary::new(&self.run, &self.accuracy);
            values.extend(summary.metrics());
            1.0 - summary.mean(Variant::Sorn).unwrap_or(f64::NAN)
        };
        Ok(vec![EpisodeMetrics {
            episode: step,
            loss,
            values,
        }])
    }

    fn network(&self) -> Sorn<B> {
        self.network.clone()
    }

    fn set_network(&mut self, network: Sorn<B>) {
        self.network = network;
    }

    fn device(&self) -> B::Device {
        self.network.recurrent.device()
    }

    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::to_value(PhaseState {
            excitatory: host_values(self.state.excitatory.clone())?,
            inhibitory: host_values(self.state.inhibitory.clone())?,
            accuracy: self.accuracy.clone(),
        })?)
    }

    fn restore_state(&mut self, state: &serde_json::Value) -> anyhow::Result<()> {
        let saved: PhaseState = serde_json::from_value(state.clone())
            .context("the checkpoint's network state is not readable")?;
        self.state = restore(&self.network, saved.excitatory, saved.inhibitory)?;
        self.accuracy = saved.accuracy;
        Ok(())
    }
}

/// A saved state as tensors shaped for `network`.
pub(super) fn restore<B: Backend>(
    network: &Sorn<B>,
    excitatory: Vec<f32>,
    inhibitory: Vec<f32>,
) -> anyhow::Result<SornState<B>> {
    let (networks, ne, ni) = (
        network.networks(),
        network.excitatory(),
        network.inhibitory(),
    );
    ensure!(
        excitatory.len() == networks * ne && inhibitory.len() == networks * ni,
        "the checkpoint's state does not fit its {networks} networks"
    );
    let device = network.recurrent.device();
    Ok(SornState {
        excitatory: Tensor::from_data(TensorData::new(excitatory, [networks, ne]), &device),
        inhibitory: Tensor::from_data(TensorData::new(inhibitory, [networks, ni]), &device),
    })
}
