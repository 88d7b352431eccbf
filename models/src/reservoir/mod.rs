//! Echo-state networks: a fixed random leaky reservoir driven by the input, and a linear
//! readout fitted in closed form by ridge regression (as reservoirpy's `Reservoir >> Ridge`).
//!
//! The reservoir's state advances as tensors on any backend, or as a sparse product on the
//! host for the CPU backends ([`Esn::run_on`]); the readout's normal equations,
//! N × N at most, are solved on the host in f64, where a Cholesky factorisation is exact
//! enough and cheap next to the run. On one time series ([`series`]), the network is driven
//! once, fitted on the training steps and scored one step ahead and in closed loop.
//!
//! ```
//! use plastic_models::reservoir::{rmse, SeriesSplit};
//! use plastic_models::{EchoStateNetwork, EsnConfig, Kernels};
//! use plastic_tasks::MackeyGlass;
//!
//! // Mackey–Glass one step ahead (reservoirpy's README benchmark, smaller): a 50-unit
//! // reservoir, 100 warm-up steps, fitted on the next 700, tested on the last 200.
//! let series = MackeyGlass::default().generate(1001, 0).unwrap();
//! let mut config = EsnConfig::new(50, 1);
//! config.spectral_radius = 1.25;
//! config.leak = 0.3;
//! let device = Default::default();
//! let reservoir = config.init::<burn::backend::NdArray>(&device).unwrap();
//! let esn = EchoStateNetwork::unfitted(reservoir, 1);
//! let (inputs, targets) = (&series[..1000], &series[1..]);
//! let states = esn.drive(inputs, Kernels::Host);
//! let split = SeriesSplit { warmup: 100, split: 800 };
//! let fit = esn.fit_series(&states, targets, split, 1e-5).unwrap();
//! let test_rmse = rmse(&fit.predicted[800..], &targets[800..]);
//! assert!(test_rmse < 0.01, "one-step test RMSE {test_rmse}"); // the series' sd is about 0.23
//! // Fed its own predictions, the fitted network runs on for 20 steps close to the series.
//! let closed_loop = fit.network.closed_loop_rmse(&states, targets, 800, 20);
//! assert!(closed_loop < 0.1, "closed-loop RMSE {closed_loop}");
//! ```

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::kernels::{host_vec, tensor_from_host, Kernels, Real, SparseColumns};

mod readout;
pub mod series;
mod spectrum;

pub use readout::{EchoStateNetwork, Readout};
pub use series::{rmse, SeriesFit, SeriesSplit};
pub use spectrum::spectral_radius;

/// A reservoir that cannot be built or a readout that cannot be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReservoirError {
    /// Settings that cannot make a reservoir.
    #[error("invalid reservoir: {0}")]
    InvalidConfig(String),
    /// The ridge readout's system could not be solved (its smallest pivot).
    #[error("the ridge system is not positive definite: raise the ridge (now {0})")]
    Singular(f64),
}

/// What reservoirpy's `Reservoir` takes, with its defaults where the README benchmark
/// does not set them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsnConfig {
    /// Reservoir units.
    pub units: usize,
    /// Input dimensions.
    pub inputs: usize,
    /// Largest |eigenvalue| of the recurrent matrix after scaling.
    pub spectral_radius: f64,
    /// x ← (1 − leak)·x + leak·tanh(…).
    pub leak: f64,
    /// Input weights are ±`input_scaling`.
    pub input_scaling: f64,
    /// Bias entries are ±`bias_scaling` (0: no bias).
    pub bias_scaling: f64,
    /// Probability that a recurrent connection exists.
    pub connectivity: f64,
    /// Probability that an input (or bias) connection exists.
    pub input_connectivity: f64,
    /// Seed of every random draw of the reservoir.
    pub seed: u64,
}

impl EsnConfig {
    /// `units` units reading `inputs` inputs, with reservoirpy's defaults otherwise.
    pub fn new(units: usize, inputs: usize) -> Self {
        Self {
            units,
            inputs,
            spectral_radius: 1.0,
            leak: 1.0,
            input_scaling: 1.0,
            bias_scaling: 1.0,
            connectivity: 0.1,
            input_connectivity: 0.1,
            seed: 0,
        }
    }

    /// Refuses sizes, probabilities and scales that cannot make a reservoir.
    pub fn validate(&self) -> Result<(), ReservoirError> {
        let invalid = |why: String| Err(ReservoirError::InvalidConfig(why));
        if self.units == 0 || self.inputs == 0 {
            return invalid("units and inputs must be at least 1".into());
        }
        for (name, p) in [
            ("connectivity", self.connectivity),
            ("input connectivity", self.input_connectivity),
        ] {
            if !(p > 0.0 && p <= 1.0) {
                return invalid(format!("{name} must lie in (0, 1], not {p}"));
            }
        }
        if !(self.leak > 0.0 && self.leak <= 1.0) {
            return invalid(format!(
                "the leak rate must lie in (0, 1], not {}",
                self.leak
            ));
        }
        if !(self.spectral_radius >= 0.0 && self.spectral_radius.is_finite()) {
            return invalid(format!(
                "the spectral radius must be 0 or more, not {}",
                self.spectral_radius
            ));
        }
        if !(self.input_scaling.is_finite() && self.bias_scaling.is_finite()) {
            return invalid("input and bias scaling must be finite".into());
        }
        Ok(())
    }

    /// The weights, drawn on the host from `seed` so that every backend starts from the same
    /// numbers: recurrent entries N(0, 1) where a connection exists, rescaled to the spectral
    /// radius; input and bias entries ±scaling where a connection exists.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<Esn<B>, ReservoirError> {
        self.validate()?;
        let n = self.units;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut recurrent: Vec<f64> = (0..n * n)
            .map(|_| {
                if rng.random_bool(self.connectivity) {
                    StandardNormal.sample(&mut rng)
                } else {
                    0.0
                }
            })
            .collect();
        let radius = spectral_radius(n, &recurrent);
        if radius > 0.0 {
            let scale = self.spectral_radius / radius;
            recurrent.iter_mut().for_each(|w| *w *= scale);
        }
        let mut sign = |scaling: f64| {
            if rng.random_bool(self.input_connectivity) {
                if rng.random_bool(0.5) {
                    scaling
                } else {
                    -scaling
                }
            } else {
                0.0
            }
        };
        let input: Vec<f64> = (0..self.inputs * n)
            .map(|_| sign(self.input_scaling))
            .collect();
        let bias: Vec<f64> = (0..n).map(|_| sign(self.bias_scaling)).collect();
        Ok(Esn {
            recurrent: Param::from_tensor(host_tensor(recurrent, [n, n], device)),
            input: Param::from_tensor(host_tensor(input, [self.inputs, n], device)),
            bias: Param::from_tensor(host_tensor(bias, [1, n], device)),
            leak: self.leak,
        })
    }
}

/// A tensor of host values, in the backend's own float type.
pub fn host_tensor<B: Backend, const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    // In the backend's own float type: an f32 tensor on an f64 backend would stay f32.
    crate::kernels::tensor_from_host(values, shape, device)
}

/// The reservoir: states are rows, `[batch, units]`; the recurrent matrix acts on the right
/// (x·W), the transpose of reservoirpy's W·x, with the same spectrum.
#[derive(Module, Debug)]
pub struct Esn<B: Backend> {
    /// Recurrent weights `[units, units]`, acting on the right of the state.
    pub recurrent: Param<Tensor<B, 2>>,
    /// Input weights `[inputs, units]`.
    pub input: Param<Tensor<B, 2>>,
    /// Bias `[1, units]`.
    pub bias: Param<Tensor<B, 2>>,
    /// The leak rate: x ← (1 − leak)·x + leak·tanh(…).
    #[module(skip)]
    pub leak: f64,
}

impl<B: Backend> Esn<B> {
    /// Reservoir units.
    pub fn units(&self) -> usize {
        self.recurrent.dims()[0]
    }

    /// One step: x ← (1 − leak)·x + leak·tanh(x·W + u·W_in + b).
    pub fn step(&self, state: Tensor<B, 2>, input: Tensor<B, 2>) -> Tensor<B, 2> {
        let input_drive = input.matmul(self.input.val()) + self.bias.val();
        self.advance(state, &self.recurrent.val(), input_drive)
    }

    /// x ← (1 − leak)·x + leak·tanh(x·W + input_drive), the input's drive already computed.
    fn advance(
        &self,
        state: Tensor<B, 2>,
        recurrent: &Tensor<B, 2>,
        input_drive: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let drive = state.clone().matmul(recurrent.clone()) + input_drive;
        state.mul_scalar(1.0 - self.leak) + drive.tanh().mul_scalar(self.leak)
    }

    /// The states after each input of `inputs` (`[steps, inputs]`), from `state`
    /// (`[1, units]`): `[steps, units]`, and the last state.
    pub fn run(&self, inputs: Tensor<B, 2>, state: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let steps = inputs.dims()[0];
        // The input's drive does not depend on the state: one product for every step.
        let input_drive = inputs.matmul(self.input.val()) + self.bias.val();
        let recurrent = self.recurrent.val();
        let mut state = state;
        let mut states = Vec::with_capacity(steps);
        for t in 0..steps {
            state = self.advance(state, &recurrent, input_drive.clone().narrow(0, t, 1));
            states.push(state.clone());
        }
        (Tensor::cat(states, 0), state)
    }

    /// A zero state, `[1, units]`.
    pub fn zero_state(&self) -> Tensor<B, 2> {
        Tensor::zeros([1, self.units()], &self.recurrent.device())
    }

    /// [`Esn::run`] on the given kernels. On the host, the recurrent matrix is held as its
    /// nonzero entries only (10 % of them by default), and each step is one sparse product,
    /// split across threads when the matrix is large.
    pub fn run_on(
        &self,
        inputs: Tensor<B, 2>,
        state: Tensor<B, 2>,
        kernels: Kernels,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        match (kernels, self.recurrent.val().dtype()) {
            (Kernels::Tensor, _) => self.run(inputs, state),
            (Kernels::Host, DType::F64) => self.host_run::<f64>(inputs, state),
            (Kernels::Host, _) => self.host_run::<f32>(inputs, state),
        }
    }

    fn host_run<T: Real>(
        &self,
        inputs: Tensor<B, 2>,
        state: Tensor<B, 2>,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let (steps, n) = (inputs.dims()[0], self.units());
        let device = self.recurrent.device();
        let input_drive: Vec<T> = host_vec(inputs.matmul(self.input.val()) + self.bias.val());
        let recurrent = SparseColumns::<T>::from_dense(&host_vec(self.recurrent.val()), n);
        let leak = T::from(self.leak).expect("a float");
        let keep = T::one() - leak;
        let mut state: Vec<T> = host_vec(state);
        let mut states = Vec::with_capacity(steps * n);
        let parallel = recurrent.nonzeros() >= PARALLEL_NONZEROS;
        for drive in input_drive.chunks(n) {
            let unit = |j: usize| recurrent.column_sum(j, &state, T::zero()) + drive[j];
            let mut squashed: Vec<T> = if parallel {
                (0..n).into_par_iter().map(unit).collect()
            } else {
                (0..n).map(unit).collect()
            };
            T::tanh_all(&mut squashed);
            for (x, &r) in state.iter_mut().zip(&squashed) {
                *x = keep * *x + leak * r;
            }
            states.extend_from_slice(&state);
        }
        let tensor = |values: Vec<T>, rows: usize| tensor_from_host(values, [rows, n], &device);
        (tensor(states, steps), tensor(state, 1))
    }
}

/// Nonzero entries of a recurrent matrix above which a step's product is split across threads.
const PARALLEL_NONZEROS: usize = 1 << 15;

#[cfg(test)]
mod tests;
