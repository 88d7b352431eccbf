//! FORCE learning (Sussillo & Abbott 2009): a chaotic rate network feeds its readout back
//! into itself, and recursive least squares keeps the readout on the target from the first
//! step, until the loop generates the target on its own. Several networks (one per gain,
//! say) run side by side as one batch.
//!
//! ```
//! use burn::backend::NdArray;
//! use plastic_models::force::ForceNetworks;
//! use plastic_models::{NetworkDraw, RateNetworkConfig};
//!
//! // A 300-neuron network at g = 1.5 learns a sine of period 60 by RLS every 2 steps for 10
//! // periods, then runs on its own for 2 periods with the readout fixed.
//! let shape = RateNetworkConfig { neurons: 300, connectivity: 0.1, dt: 0.1, tau: 1.0, feedback: true };
//! let draws = [NetworkDraw { seed: 0, gain: 1.5 }];
//! let mut networks =
//!     ForceNetworks::<NdArray>::new(&shape, &draws, 1.0, 0.5, 0, &Default::default()).unwrap();
//! let target = |step: usize| (2.0 * std::f64::consts::PI * step as f64 * 0.1 / 60.0).sin();
//! let period = 600; // steps
//! networks.advance(0, 10 * period, Some(2), target);
//! let test = networks.advance(10 * period, 12 * period, None, target);
//! let mae = test.mae()[0];
//! assert!(mae < 0.1, "free-running mean |z − f| {mae}");
//! ```

mod host;

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use crate::kernels::{host_vec, tensor_from_host, Kernels, Real, SparseColumns};
use crate::rate_network::{NetworkDraw, RateNetwork, RateNetworkConfig, Rls};
use crate::reservoir::{host_tensor, ReservoirError};
use host::HostNetwork;

/// The networks, their readouts and where their dynamics stand: what checkpoints hold.
#[derive(Module, Debug)]
pub struct ForceNetworks<B: Backend> {
    /// The recurrent networks, one per draw.
    pub network: RateNetwork<B>,
    /// Each network's readout w and the RLS matrix P that trains it.
    pub readout: Rls<B>,
    /// x, `[networks, 1, neurons]`.
    pub state: Param<Tensor<B, 3>>,
    /// z of the last step, `[networks, 1, 1]`.
    pub output: Param<Tensor<B, 3>>,
}

/// A stretch of time: the output of every network at every step (`[networks][steps]`), the
/// target, and while learning, |Δw| at every update (`[networks][updates]`).
#[derive(Debug, Clone)]
pub struct Stretch {
    /// z of every network at every step, network-major.
    pub outputs: Vec<f32>,
    /// The target at every step.
    pub targets: Vec<f64>,
    /// |Δw| of every network at every update, network-major (empty without learning).
    pub weight_changes: Vec<f32>,
    /// How many networks ran.
    pub networks: usize,
}

impl Stretch {
    /// Mean |z − f| of each network.
    pub fn mae(&self) -> Vec<f64> {
        let steps = self.targets.len();
        self.outputs
            .chunks(steps)
            .map(|z| {
                z.iter()
                    .zip(&self.targets)
                    .map(|(&z, f)| (f64::from(z) - f).abs())
                    .sum::<f64>()
                    / steps as f64
            })
            .collect()
    }
}

impl<B: Backend> ForceNetworks<B> {
    /// One network of `shape` per draw, each with a zero readout whose RLS matrix starts at
    /// P = I/`alpha`, and a starting state x₀ (and output z₀) ~ `initial_state`·N(0, 1) drawn
    /// from `seed`.
    pub fn new(
        shape: &RateNetworkConfig,
        draws: &[NetworkDraw],
        alpha: f64,
        initial_state: f64,
        seed: u64,
        device: &B::Device,
    ) -> Result<Self, ReservoirError> {
        let network = shape.init::<B>(draws, device)?;
        let networks = network.networks();
        let state = network.random_state(1, initial_state, seed);
        // z₀ from the stream after the states'.
        let output = network
            .random_state(1, initial_state, seed.wrapping_add(networks as u64))
            .narrow(2, 0, 1);
        Ok(Self {
            readout: Rls::new(networks, shape.neurons, alpha, device),
            network,
            state: Param::from_tensor(state),
            output: Param::from_tensor(output),
        })
    }

    /// Steps `from..to` of the closed loop, with `target(k)` the target after step `k` (at
    /// time (k + 1)·dt), learning by RLS every `learn_every` steps when it is given. The
    /// state carries on either way. Runs on the kernels the backend prefers.
    pub fn advance(
        &mut self,
        from: usize,
        to: usize,
        learn_every: Option<usize>,
        target: impl Fn(usize) -> f64,
    ) -> Stretch {
        self.advance_on(Kernels::preferred(), from, to, learn_every, target)
    }

    /// [`ForceNetworks::advance`] on the given kernels: fused loops on the host in the
    /// backend's float type, or tensor operations of the backend.
    pub fn advance_on(
        &mut self,
        kernels: Kernels,
        from: usize,
        to: usize,
        learn_every: Option<usize>,
        target: impl Fn(usize) -> f64,
    ) -> Stretch {
        let targets: Vec<f64> = (from..to).map(|k| target(k + 1)).collect();
        let learns = |k: usize| learn_every.is_some_and(|every| (k + 1).is_multiple_of(every));
        match (kernels, self.state.val().dtype()) {
            (Kernels::Tensor, _) => self.advance_on_tensors(from, targets, learns),
            (Kernels::Host, DType::F64) => self.advance_on_host::<f64>(from, targets, learns),
            (Kernels::Host, _) => self.advance_on_host::<f32>(from, targets, learns),
        }
    }

    /// The steps from `from` on, one per target, with tensor operations.
    fn advance_on_tensors(
        &mut self,
        from: usize,
        targets: Vec<f64>,
        learns: impl Fn(usize) -> bool,
    ) -> Stretch {
        let to = from + targets.len();
        let count = self.network.networks();
        // Every network's target for the whole stretch, moved to the device once.
        let target_tensor =
            host_tensor::<B, 3>(targets.clone(), [1, 1, to - from], &self.state.device())
                .repeat_dim(0, count);
        let mut state = self.state.val();
        let mut output = self.output.val();
        let mut outputs = Vec::with_capacity(to - from);
        let mut changes = Vec::new();
        for k in from..to {
            let (next, rates) = self.network.step(state, output);
            state = next;
            output = self.readout.read(rates.clone());
            outputs.push(output.clone());
            if learns(k) {
                let target = target_tensor.clone().narrow(2, k - from, 1);
                changes.push(self.readout.update(rates, target));
            }
        }
        self.state = Param::from_tensor(state);
        self.output = Param::from_tensor(output);
        let weight_changes = if changes.is_empty() {
            Vec::new()
        } else {
            host_vec(Tensor::cat(changes, 2))
        };
        Stretch {
            outputs: if outputs.is_empty() {
                Vec::new()
            } else {
                host_vec(Tensor::cat(outputs, 2))
            },
            targets,
            weight_changes,
            networks: count,
        }
    }

    /// The steps from `from` on, one per target, as fused loops on the host in `T`, one
    /// network after the other.
    fn advance_on_host<T: Real>(
        &mut self,
        from: usize,
        targets: Vec<f64>,
        learns: impl Fn(usize) -> bool,
    ) -> Stretch {
        let count = self.network.networks();
        let n = self.network.neurons();
        let float = |v: f64| T::from(v).expect("a float");
        let host_targets: Vec<T> = targets.iter().map(|&f| float(f)).collect();
        let recurrent: Vec<T> = host_vec(self.network.recurrent.val());
        let feedback: Vec<T> = host_vec(self.network.feedback.val());
        let mut state: Vec<T> = host_vec(self.state.val());
        let mut output: Vec<T> = host_vec(self.output.val());
        let mut weights: Vec<T> = host_vec(self.readout.weights.val());
        let mut inverse: Vec<T> = host_vec(self.readout.inverse_correlation.val());
        let mut outputs = Vec::with_capacity(count * targets.len());
        let mut changes = Vec::new();
        for (net, output) in output.iter_mut().enumerate() {
            let (vector, matrix) = (net * n..(net + 1) * n, net * n * n..(net + 1) * n * n);
            let mut host = HostNetwork {
                n,
                leak: float(self.network.leak),
                recurrent: SparseColumns::from_dense(&recurrent[matrix.clone()], n),
                feedback: feedback[vector.clone()].to_vec(),
                state: state[vector.clone()].to_vec(),
                output: *output,
                weights: weights[vector.clone()].to_vec(),
                inverse_correlation: inverse[matrix.clone()].to_vec(),
            };
            host.advance(
                &host_targets,
                |step| learns(from + step),
                &mut outputs,
                &mut changes,
            );
            state[vector.clone()].copy_from_slice(&host.state);
            *output = host.output;
            weights[vector].copy_from_slice(&host.weights);
            inverse[matrix].copy_from_slice(&host.inverse_correlation);
        }
        let device = self.state.device();
        let tensor = |values: Vec<T>, shape: [usize; 3]| {
            Param::from_tensor(tensor_from_host(values, shape, &device))
        };
        self.state = tensor(state, [count, 1, n]);
        self.output = tensor(output, [count, 1, 1]);
        self.readout.weights = tensor(weights, [count, 1, n]);
        self.readout.inverse_correlation = tensor(inverse, [count, n, n]);
        let single = |values: Vec<T>| {
            values
                .into_iter()
                .map(|v| num_traits::ToPrimitive::to_f32(&v).unwrap_or(f32::NAN))
                .collect()
        };
        Stretch {
            outputs: single(outputs),
            targets,
            weight_changes: single(changes),
            networks: count,
        }
    }
}

#[cfg(test)]
mod tests;
