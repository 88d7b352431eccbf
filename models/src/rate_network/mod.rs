//! Chaotic rate networks whose linear readout is fed back into them (Sussillo & Abbott 2009;
//! the Bayesian synapse of Aitchison et al. 2021), and the online rules that learn the
//! readout: recursive least squares (FORCE) and the delta rule with a fixed or a Bayesian
//! per-synapse learning rate.
//!
//! τ dx/dt = −x + M r + w_f z, r = tanh(x), z = w·r, integrated by Euler steps of dt. Many
//! networks advance at once: states are `[networks, runs, neurons]`, every run of a network
//! sharing its recurrent and feedback weights (e.g. one run per target or learning rate).

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::reservoir::{host_tensor, ReservoirError};

/// The shape of every network of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateNetworkConfig {
    /// N, neurons per network.
    pub neurons: usize,
    /// Probability that a recurrent connection exists.
    pub connectivity: f64,
    /// Euler time step.
    pub dt: f64,
    /// Membrane time constant τ.
    pub tau: f64,
    /// Feed the readout back into the network through w_f ~ U(−1, 1).
    pub feedback: bool,
}

/// How one network of a batch is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkDraw {
    /// Seed of the network's connections and feedback weights.
    pub seed: u64,
    /// g: recurrent weights have variance g²/(pN).
    pub gain: f64,
}

impl RateNetworkConfig {
    /// Refuses sizes, probabilities and time constants that cannot make a network.
    pub fn validate(&self) -> Result<(), ReservoirError> {
        let invalid = |why: String| Err(ReservoirError::InvalidConfig(why));
        if self.neurons == 0 {
            return invalid("a rate network needs at least 1 neuron".into());
        }
        if !(self.connectivity > 0.0 && self.connectivity <= 1.0) {
            return invalid(format!(
                "the connection probability p must lie in (0, 1], not {}",
                self.connectivity
            ));
        }
        if !(self.dt > 0.0 && self.tau.is_finite() && self.dt < self.tau) {
            return invalid(format!(
                "the time step must satisfy 0 < dt < τ, not dt = {} with τ = {}",
                self.dt, self.tau
            ));
        }
        Ok(())
    }

    /// One network per draw, each from its own seed so that adding networks to a batch does
    /// not change the others, and every backend starts from the same numbers.
    pub fn init<B: Backend>(
        &self,
        draws: &[NetworkDraw],
        device: &B::Device,
    ) -> Result<RateNetwork<B>, ReservoirError> {
        self.validate()?;
        if draws.is_empty() {
            return Err(ReservoirError::InvalidConfig(
                "a batch needs at least one network".into(),
            ));
        }
        for draw in draws {
            if !(draw.gain >= 0.0 && draw.gain.is_finite()) {
                return Err(ReservoirError::InvalidConfig(format!(
                    "the gain g must be 0 or more, not {}",
                    draw.gain
                )));
            }
        }
        let n = self.neurons;
        let mut recurrent = Vec::with_capacity(draws.len() * n * n);
        let mut feedback = Vec::with_capacity(draws.len() * n);
        for draw in draws {
            let mut rng = ChaCha8Rng::seed_from_u64(draw.seed);
            let sd = draw.gain / (self.connectivity * n as f64).sqrt();
            recurrent.extend((0..n * n).map(|_| {
                if rng.random_bool(self.connectivity) {
                    sd * Distribution::<f64>::sample(&StandardNormal, &mut rng)
                } else {
                    0.0
                }
            }));
            feedback.extend((0..n).map(|_| {
                if self.feedback {
                    rng.random_range(-1.0..1.0)
                } else {
                    0.0
                }
            }));
        }
        let networks = draws.len();
        Ok(RateNetwork {
            recurrent: Param::from_tensor(host_tensor(recurrent, [networks, n, n], device)),
            feedback: Param::from_tensor(host_tensor(feedback, [networks, 1, n], device)),
            leak: self.dt / self.tau,
        })
    }
}

/// The fixed weights of a batch of networks.
#[derive(Module, Debug)]
pub struct RateNetwork<B: Backend> {
    /// `[networks, from, to]`: the transpose of M, so that the drive of state rows is r·Mᵀ.
    pub recurrent: Param<Tensor<B, 3>>,
    /// `[networks, 1, neurons]`.
    pub feedback: Param<Tensor<B, 3>>,
    /// dt/τ.
    #[module(skip)]
    pub leak: f64,
}

impl<B: Backend> RateNetwork<B> {
    /// How many networks run side by side.
    pub fn networks(&self) -> usize {
        self.recurrent.dims()[0]
    }

    /// N, neurons per network.
    pub fn neurons(&self) -> usize {
        self.recurrent.dims()[1]
    }

    /// One Euler step: x ← (1 − dt/τ)x + (dt/τ)(M r + w_f z), with `rates` r = tanh(x) and
    /// `output` z (`[networks, runs, 1]`) of the step before.
    pub fn advance(
        &self,
        state: Tensor<B, 3>,
        rates: Tensor<B, 3>,
        output: Tensor<B, 3>,
    ) -> Tensor<B, 3> {
        let drive = rates.matmul(self.recurrent.val()) + output.mul(self.feedback.val());
        state.mul_scalar(1.0 - self.leak) + drive.mul_scalar(self.leak)
    }

    /// One step of the closed loop from state x and output z of the step before: the new
    /// state and its rates tanh(x).
    pub fn step(&self, state: Tensor<B, 3>, output: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let rates = state.clone().tanh();
        let state = self.advance(state, rates, output);
        let rates = state.clone().tanh();
        (state, rates)
    }

    /// Starting states x₀ ~ s·N(0, 1) for `runs` runs of every network, run r of network n
    /// drawn from `seed` + the run's index, so a run starts the same in any batch.
    pub fn random_state(&self, runs: usize, scale: f64, seed: u64) -> Tensor<B, 3> {
        let n = self.neurons();
        let networks = self.networks();
        let mut values = Vec::with_capacity(networks * runs * n);
        for index in 0..networks * runs {
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(index as u64));
            values.extend(
                (0..n).map(|_| scale * Distribution::<f64>::sample(&StandardNormal, &mut rng)),
            );
        }
        host_tensor(values, [networks, runs, n], &self.recurrent.device())
    }
}

/// z = w·r per run: `[networks, runs, neurons]` → `[networks, runs, 1]`.
pub fn read_out<B: Backend>(rates: Tensor<B, 3>, weights: Tensor<B, 3>) -> Tensor<B, 3> {
    (rates * weights).sum_dim(2)
}

/// Recursive least squares on the readout, one run per network (FORCE): the inverse
/// correlation P starts at I/α, and after samples r₁…r_k the weights are the ridge solution
/// (Σ r rᵀ + α I)⁻¹ Σ r f.
#[derive(Module, Debug)]
pub struct Rls<B: Backend> {
    /// `[networks, 1, neurons]`.
    pub weights: Param<Tensor<B, 3>>,
    /// `[networks, neurons, neurons]`, symmetric.
    pub inverse_correlation: Param<Tensor<B, 3>>,
}

impl<B: Backend> Rls<B> {
    /// Zero weights and P = I/α for `networks` networks of `neurons`.
    pub fn new(networks: usize, neurons: usize, alpha: f64, device: &B::Device) -> Self {
        let identity: Tensor<B, 2> = Tensor::eye(neurons, device);
        Self {
            weights: Param::from_tensor(Tensor::zeros([networks, 1, neurons], device)),
            inverse_correlation: Param::from_tensor(
                identity
                    .div_scalar(alpha)
                    .unsqueeze::<3>()
                    .repeat_dim(0, networks),
            ),
        }
    }

    /// The readout z = r·w of every network, `[networks, batch, 1]`.
    pub fn read(&self, rates: Tensor<B, 3>) -> Tensor<B, 3> {
        read_out(rates, self.weights.val())
    }

    /// Sussillo & Abbott's order: k = P r, c = 1/(1 + rᵀk), P ← P − c k kᵀ, e = z − f with
    /// the weights before the update, w ← w − c e k. `rates` is `[networks, 1, neurons]`,
    /// `target` `[networks, 1, 1]`; returns |Δw| per network, `[networks, 1, 1]`.
    pub fn update(&mut self, rates: Tensor<B, 3>, target: Tensor<B, 3>) -> Tensor<B, 3> {
        let inverse = self.inverse_correlation.val();
        // P is symmetric: the row r·P is (P r)ᵀ.
        let gain = rates.clone().matmul(inverse.clone());
        let c = (rates.clone() * gain.clone())
            .sum_dim(2)
            .add_scalar(1.0)
            .recip();
        let outer = gain.clone().swap_dims(1, 2).matmul(gain.clone());
        self.inverse_correlation = Param::from_tensor(inverse - outer * c.clone());
        let error = self.read(rates) - target;
        let step = gain.clone() * (c * error);
        let size = step.clone().powi_scalar(2).sum_dim(2).sqrt();
        self.weights = Param::from_tensor(self.weights.val() - step);
        size
    }
}

/// The delta rule on a readout per run, with a learning rate per synapse
/// η_i = η_fixed + σ_i²/σ_δ²: the classical rule is σ² = 0 with a fixed η, the Bayesian one
/// η_fixed = 0 with σ_i²(0) = η₀σ_δ², shrinking as the synapse learns
/// (μ_i += η_i r_i δ, σ_i² −= σ_i⁴ r_i²/σ_δ²). Both kinds can share a batch.
#[derive(Module, Debug)]
pub struct DeltaReadout<B: Backend> {
    /// μ, `[networks, runs, neurons]`.
    pub weights: Param<Tensor<B, 3>>,
    /// σ², `[networks, runs, neurons]`.
    pub variance: Param<Tensor<B, 3>>,
    /// η_fixed per run, `[networks, runs, 1]`.
    pub fixed_rate: Param<Tensor<B, 3>>,
    /// σ_δ²: the error variance the Bayesian rule assumes.
    #[module(skip)]
    pub error_variance: f64,
}

/// Which delta rule a run of a [`DeltaReadout`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DeltaRule {
    /// A fixed η.
    Classical,
    /// η_i = σ_i²/σ_δ², from σ_i²(0) = η₀σ_δ².
    Bayesian,
}

impl DeltaRule {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Classical => "classical",
            Self::Bayesian => "bayesian",
        }
    }
}

/// The rule of one run and its (initial) learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaRate {
    /// Classical or Bayesian.
    pub rule: DeltaRule,
    /// The learning rate (the Bayesian rule's initial η₀).
    pub eta: f64,
}

impl<B: Backend> DeltaReadout<B> {
    /// Zero weights for `networks` networks, one run per entry of `rates`.
    pub fn new(
        networks: usize,
        neurons: usize,
        rates: &[DeltaRate],
        error_variance: f64,
        device: &B::Device,
    ) -> Self {
        let runs = rates.len();
        let fixed: Vec<f64> = rates
            .iter()
            .map(|rate| match rate.rule {
                DeltaRule::Classical => rate.eta,
                DeltaRule::Bayesian => 0.0,
            })
            .collect();
        let prior: Vec<f64> = rates
            .iter()
            .map(|rate| match rate.rule {
                DeltaRule::Classical => 0.0,
                DeltaRule::Bayesian => rate.eta * error_variance,
            })
            .collect();
        let prior = host_tensor::<B, 3>(prior, [1, runs, 1], device);
        let fixed = host_tensor::<B, 3>(fixed, [1, runs, 1], device);
        Self {
            weights: Param::from_tensor(Tensor::zeros([networks, runs, neurons], device)),
            variance: Param::from_tensor(prior.repeat_dim(0, networks).repeat_dim(2, neurons)),
            fixed_rate: Param::from_tensor(fixed.repeat_dim(0, networks)),
            error_variance,
        }
    }

    /// The readout z = r·w of every network, `[networks, batch, 1]`.
    pub fn read(&self, rates: Tensor<B, 3>) -> Tensor<B, 3> {
        read_out(rates, self.weights.val())
    }

    /// One update from the error δ = f − z (`[networks, runs, 1]`) at `rates`.
    pub fn update(&mut self, rates: Tensor<B, 3>, error: Tensor<B, 3>) {
        let variance = self.variance.val();
        let rate = variance.clone().div_scalar(self.error_variance) + self.fixed_rate.val();
        let weights = self.weights.val() + rate * rates.clone() * error;
        // The first-order shrinkage cannot cross zero while σ²r²/σ_δ² < 1; the floor keeps a
        // run whose rates blew up from turning its variance negative.
        let shrink = variance.clone().powi_scalar(2) * rates.powi_scalar(2);
        let variance = (variance - shrink.div_scalar(self.error_variance)).clamp_min(0.0);
        self.weights = Param::from_tensor(weights);
        self.variance = Param::from_tensor(variance);
    }

    /// Stops the runs flagged in `stopped` (`[networks][runs]`, row-major): zero weights, no
    /// learning, so a diverged run neither spreads non-finite numbers nor learns again.
    pub fn stop(&mut self, stopped: &[bool]) {
        let [networks, runs, neurons] = self.weights.dims();
        let device = self.weights.device();
        let mask = stop_mask::<B>(stopped, [networks, runs, neurons], &device);
        self.weights = Param::from_tensor(self.weights.val().mask_fill(mask.clone(), 0.0));
        self.variance = Param::from_tensor(self.variance.val().mask_fill(mask, 0.0));
        let rate_mask = stop_mask::<B>(stopped, [networks, runs, 1], &device);
        self.fixed_rate = Param::from_tensor(self.fixed_rate.val().mask_fill(rate_mask, 0.0));
    }
}

/// Per-run flags spread over the neurons: `[networks, runs, neurons]`.
pub fn stop_mask<B: Backend>(
    stopped: &[bool],
    [networks, runs, neurons]: [usize; 3],
    device: &B::Device,
) -> Tensor<B, 3, Bool> {
    let flags: Vec<bool> = stopped
        .iter()
        .flat_map(|&s| std::iter::repeat_n(s, neurons))
        .collect();
    Tensor::from_data(TensorData::new(flags, [networks, runs, neurons]), device)
}

pub mod period;
#[cfg(test)]
mod tests;
