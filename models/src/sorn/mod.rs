//! The self-organising recurrent network (SORN; Lazar, Pipa and Triesch 2009): binary
//! excitatory and inhibitory units whose excitatory recurrent synapses follow STDP and
//! synaptic normalisation, and whose excitatory thresholds follow intrinsic plasticity.
//!
//! Per step, with x the excitatory and y the inhibitory state and u the one-hot input symbol:
//! x' = H(W_EE x − W_EI y − T_E + W_EU u), y' = H(W_IE x' − T_I). Then, on the E→E
//! synapses that exist, ΔW_ij = η_STDP(x'_i x_j − x_i x'_j), clipped at 0, each neuron's
//! incoming weights rescaled to sum to 1, and T_E += η_IP(x' − H_IP).
//!
//! Many networks run side by side as the leading dimension of every tensor. Each excitatory
//! neuron receives exactly λ E→E synapses, stored as `[networks, N_E, λ]` weights and the
//! presynaptic neuron of each, so that the sparse recurrent drive and STDP cost λ/N_E of
//! their dense forms.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::{Tensor, TensorData};
//! use plastic_models::{Plasticity, SornConfig};
//! use rand::{Rng, SeedableRng};
//!
//! type B = NdArray;
//! let device = Default::default();
//! // Lazar et al.'s network (200 excitatory, 40 inhibitory units) on 4 input symbols, two
//! // networks side by side: one plastic, one static.
//! let mut rngs: Vec<_> = (0..2).map(rand_chacha::ChaCha8Rng::seed_from_u64).collect();
//! let mut network = SornConfig::new(4).init::<B, _>(&mut rngs, &device).unwrap();
//! let plasticity = Plasticity {
//!     stdp_rate: Tensor::<B, 1>::from_data(TensorData::new(vec![0.001f32, 0.0], [2]), &device),
//!     ip_rate: Tensor::from_data(TensorData::new(vec![0.001f32, 0.0], [2]), &device),
//!     target_rate: 0.1,
//!     prune: false,
//! };
//! let mut state = network.silent();
//! let before = network.recurrent.val();
//! let mut letters = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! for _ in 0..500 {
//!     let mut one_hot = vec![0f32; 2 * 4];
//!     let letter = letters.random_range(0..4);
//!     one_hot[letter] = 1.0;
//!     one_hot[4 + letter] = 1.0;
//!     let inputs = Tensor::from_data(TensorData::new(one_hot, [2, 4]), &device);
//!     state = network.step(&state, inputs, Some(&plasticity));
//! }
//! // STDP moved the plastic network's synapses and left the static one's (up to the
//! // rounding of its normalisation); every neuron's incoming E→E weights still sum to 1.
//! let change: Vec<f32> = (network.recurrent.val() - before).abs().sum_dim(2).sum_dim(1)
//!     .into_data().to_vec().unwrap();
//! assert!(change[0] > 0.1 && change[1] < 1e-4, "{change:?}");
//! let sums: Vec<f32> = network.recurrent.val().sum_dim(2).into_data().to_vec().unwrap();
//! assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-4), "{sums:?}");
//! ```

use burn::module::{Module, Param, ParamId};
use burn::tensor::backend::Backend;
use burn::tensor::{IndexingUpdateOp, Int, Tensor, TensorData};
use rand::seq::index::sample;
use rand::Rng;

mod phases;

pub use phases::{one_hot_inputs, predict_next_symbol, SymbolReadout};

/// A network that cannot be built as configured.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SornError {
    /// Sizes or ranges that cannot make a SORN.
    #[error("invalid SORN: {0}")]
    Invalid(String),
}

/// Sizes and initial ranges of a SORN.
#[derive(Debug, Clone, PartialEq)]
pub struct SornConfig {
    /// N_E, excitatory units.
    pub excitatory: usize,
    /// N_I, inhibitory units.
    pub inhibitory: usize,
    /// λ: E→E synapses each excitatory neuron receives.
    pub synapses_per_neuron: usize,
    /// Input symbols (letters).
    pub symbols: usize,
    /// Excitatory neurons each input symbol drives (disjoint pools).
    pub input_pool: usize,
    /// Initial thresholds are uniform on [0, max].
    pub excitatory_threshold_max: f64,
    /// Initial inhibitory thresholds are uniform on [0, max].
    pub inhibitory_threshold_max: f64,
}

impl SornConfig {
    /// Lazar et al.'s network for `symbols` input symbols: N_E = 200, N_I = 40, λ = 10, 10
    /// input neurons per symbol, thresholds up to 0.5.
    pub fn new(symbols: usize) -> Self {
        Self {
            excitatory: 200,
            inhibitory: 40,
            synapses_per_neuron: 10,
            symbols,
            input_pool: 10,
            excitatory_threshold_max: 0.5,
            inhibitory_threshold_max: 0.5,
        }
    }

    /// Refuses sizes and ranges that cannot make a SORN.
    pub fn validate(&self) -> Result<(), SornError> {
        let invalid = |why: String| Err(SornError::Invalid(why));
        if self.excitatory < 2 || self.inhibitory == 0 {
            return invalid(format!(
                "{} excitatory and {} inhibitory neurons: at least 2 and 1 are needed",
                self.excitatory, self.inhibitory
            ));
        }
        if self.synapses_per_neuron == 0 || self.synapses_per_neuron >= self.excitatory {
            return invalid(format!(
                "each neuron needs between 1 and {} E→E synapses, not {}",
                self.excitatory - 1,
                self.synapses_per_neuron
            ));
        }
        if self.symbols == 0 || self.input_pool == 0 {
            return invalid("the input needs at least one symbol and one neuron per symbol".into());
        }
        if self.symbols * self.input_pool > self.excitatory {
            return invalid(format!(
                "{} symbols × {} input neurons exceed the {} excitatory neurons",
                self.symbols, self.input_pool, self.excitatory
            ));
        }
        for max in [self.excitatory_threshold_max, self.inhibitory_threshold_max] {
            if !(max.is_finite() && max >= 0.0) {
                return invalid(format!("a threshold maximum must be 0 or more, not {max}"));
            }
        }
        Ok(())
    }

    /// One network per random source in `rngs`, each drawn from its own: E→E weights uniform
    /// on (0, 1), the I→E and E→I matrices full and uniform, every neuron's incoming weights
    /// of each kind normalised to sum to 1, thresholds uniform.
    pub fn init<B: Backend, R: Rng>(
        &self,
        rngs: &mut [R],
        device: &B::Device,
    ) -> Result<Sorn<B>, SornError> {
        self.validate()?;
        let networks = rngs.len();
        if networks == 0 {
            return Err(SornError::Invalid("no networks to build".into()));
        }
        let (ne, ni, lambda) = (self.excitatory, self.inhibitory, self.synapses_per_neuron);
        let mut sources = Vec::with_capacity(networks * ne * lambda);
        let (mut recurrent, mut inhibition, mut excitation) = (Vec::new(), Vec::new(), Vec::new());
        let mut input = vec![0f32; networks * ne * self.symbols];
        let (mut threshold_e, mut threshold_i) = (Vec::new(), Vec::new());
        for (network, rng) in rngs.iter_mut().enumerate() {
            for post in 0..ne {
                // λ distinct presynaptic neurons other than `post` itself.
                for pre in sample(rng, ne - 1, lambda) {
                    let pre = if pre >= post { pre + 1 } else { pre };
                    sources.push((network * ne + pre) as i64);
                }
            }
            recurrent.extend(normalised_rows(rng, ne, lambda));
            inhibition.extend(normalised_rows(rng, ne, ni));
            excitation.extend(normalised_rows(rng, ni, ne));
            let pools = sample(rng, ne, self.symbols * self.input_pool).into_vec();
            for (k, &neuron) in pools.iter().enumerate() {
                input[(network * ne + neuron) * self.symbols + k / self.input_pool] = 1.0;
            }
            let mut thresholds = |count: usize, max: f64| -> Vec<f32> {
                (0..count)
                    .map(|_| (rng.random::<f64>() * max) as f32)
                    .collect()
            };
            threshold_e.extend(thresholds(ne, self.excitatory_threshold_max));
            threshold_i.extend(thresholds(ni, self.inhibitory_threshold_max));
        }
        let tensor3 = |values: Vec<f32>, shape: [usize; 3]| {
            Param::from_tensor(Tensor::<B, 3>::from_data(
                TensorData::new(values, shape),
                device,
            ))
        };
        let tensor2 = |values: Vec<f32>, shape: [usize; 2]| {
            Param::from_tensor(Tensor::<B, 2>::from_data(
                TensorData::new(values, shape),
                device,
            ))
        };
        Ok(Sorn {
            recurrent: tensor3(recurrent, [networks, ne, lambda]),
            presynaptic: Param::initialized(
                ParamId::new(),
                Tensor::<B, 1, Int>::from_data(
                    TensorData::new(sources, [networks * ne * lambda]),
                    device,
                ),
            ),
            inhibition: tensor3(inhibition, [networks, ne, ni]),
            excitation: tensor3(excitation, [networks, ni, ne]),
            input: tensor3(input, [networks, ne, self.symbols]),
            threshold_e: tensor2(threshold_e, [networks, ne]),
            threshold_i: tensor2(threshold_i, [networks, ni]),
        })
    }
}

/// `rows` rows of `cols` weights uniform on (0, 1), each row scaled to sum to 1.
fn normalised_rows(rng: &mut impl Rng, rows: usize, cols: usize) -> Vec<f32> {
    let mut values: Vec<f32> = (0..rows * cols)
        .map(|_| rng.random_range(f32::EPSILON..1.0))
        .collect();
    for row in values.chunks_mut(cols) {
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|w| *w /= sum);
    }
    values
}

/// Networks of a SORN side by side.
#[derive(Module, Debug)]
pub struct Sorn<B: Backend> {
    /// W_EE: each excitatory neuron's incoming E→E weights, `[networks, N_E, λ]`.
    pub recurrent: Param<Tensor<B, 3>>,
    /// The presynaptic neuron of each E→E synapse, as an index into the flattened
    /// `[networks · N_E]` excitatory states, `[networks · N_E · λ]`.
    pub presynaptic: Param<Tensor<B, 1, Int>>,
    /// W_EI: inhibitory → excitatory, `[networks, N_E, N_I]`.
    pub inhibition: Param<Tensor<B, 3>>,
    /// W_IE: excitatory → inhibitory, `[networks, N_I, N_E]`.
    pub excitation: Param<Tensor<B, 3>>,
    /// W_EU: input symbol → its pool of excitatory neurons, `[networks, N_E, symbols]`.
    pub input: Param<Tensor<B, 3>>,
    /// T_E, `[networks, N_E]`.
    pub threshold_e: Param<Tensor<B, 2>>,
    /// T_I, `[networks, N_I]`.
    pub threshold_i: Param<Tensor<B, 2>>,
}

/// The state of every network: excitatory `[networks, N_E]` and inhibitory `[networks, N_I]`
/// units, each 0 or 1.
#[derive(Debug, Clone)]
pub struct SornState<B: Backend> {
    /// Excitatory units, `[networks, N_E]`, each 0 or 1.
    pub excitatory: Tensor<B, 2>,
    /// Inhibitory units, `[networks, N_I]`, each 0 or 1.
    pub inhibitory: Tensor<B, 2>,
}

/// Per-network plasticity rates, `[networks]` each: 0 switches a mechanism off in that
/// network. Synaptic normalisation goes with STDP.
#[derive(Debug, Clone)]
pub struct Plasticity<B: Backend> {
    /// η_STDP per network.
    pub stdp_rate: Tensor<B, 1>,
    /// η_IP per network.
    pub ip_rate: Tensor<B, 1>,
    /// H_IP, the excitatory firing rate intrinsic plasticity aims at.
    pub target_rate: f64,
    /// Whether a synapse that STDP drives to 0 is gone for good (SORN_V2's pruning), or
    /// may grow again when its neurons fire in causal order.
    pub prune: bool,
}

impl<B: Backend> Sorn<B> {
    /// How many networks run side by side.
    pub fn networks(&self) -> usize {
        self.recurrent.dims()[0]
    }

    /// N_E, excitatory units per network.
    pub fn excitatory(&self) -> usize {
        self.recurrent.dims()[1]
    }

    /// N_I, inhibitory units per network.
    pub fn inhibitory(&self) -> usize {
        self.inhibition.dims()[2]
    }

    /// Every unit silent.
    pub fn silent(&self) -> SornState<B> {
        let device = self.recurrent.device();
        SornState {
            excitatory: Tensor::zeros([self.networks(), self.excitatory()], &device),
            inhibitory: Tensor::zeros([self.networks(), self.inhibitory()], &device),
        }
    }

    /// Each E→E synapse's presynaptic activity in `states` `[networks, N_E]`:
    /// `[networks, N_E, λ]`.
    fn presynaptic_of(&self, states: Tensor<B, 2>) -> Tensor<B, 3> {
        let [networks, ne, lambda] = self.recurrent.dims();
        states
            .reshape([networks * ne])
            .select(0, self.presynaptic.val())
            .reshape([networks, ne, lambda])
    }

    /// One step of the dynamics under one-hot inputs `[networks, symbols]`, then (when
    /// `plasticity` is given) STDP, normalisation and intrinsic plasticity: the new state.
    pub fn step(
        &mut self,
        state: &SornState<B>,
        inputs: Tensor<B, 2>,
        plasticity: Option<&Plasticity<B>>,
    ) -> SornState<B> {
        let [networks, ne, _] = self.recurrent.dims();
        let ni = self.inhibitory();
        let x = state.excitatory.clone();
        let x_pre = self.presynaptic_of(x.clone());
        let recurrent = (self.recurrent.val() * x_pre.clone())
            .sum_dim(2)
            .reshape([networks, ne]);
        let inhibition = self
            .inhibition
            .val()
            .matmul(state.inhibitory.clone().reshape([networks, ni, 1]))
            .reshape([networks, ne]);
        let symbols = inputs.dims()[1];
        let drive = self
            .input
            .val()
            .matmul(inputs.reshape([networks, symbols, 1]))
            .reshape([networks, ne]);
        let excitatory = heaviside(recurrent - inhibition - self.threshold_e.val() + drive);
        let inhibitory = heaviside(
            self.excitation
                .val()
                .matmul(excitatory.clone().reshape([networks, ne, 1]))
                .reshape([networks, ni])
                - self.threshold_i.val(),
        );
        if let Some(plasticity) = plasticity {
            self.plastic_update(&x, x_pre, &excitatory, plasticity);
        }
        SornState {
            excitatory,
            inhibitory,
        }
    }

    /// STDP (x'_i x_j − x_i x'_j) on the existing synapses (those not pruned), clipped at 0,
    /// normalisation of each neuron's incoming weights, and intrinsic plasticity of T_E.
    fn plastic_update(
        &mut self,
        before: &Tensor<B, 2>,
        before_pre: Tensor<B, 3>,
        after: &Tensor<B, 2>,
        plasticity: &Plasticity<B>,
    ) {
        let [networks, ne, _] = self.recurrent.dims();
        let after_pre = self.presynaptic_of(after.clone());
        let post_after = after.clone().reshape([networks, ne, 1]);
        let post_before = before.clone().reshape([networks, ne, 1]);
        let causal = post_after * before_pre - post_before * after_pre;
        let rate = plasticity.stdp_rate.clone().reshape([networks, 1, 1]);
        let weights = self.recurrent.val();
        let change = if plasticity.prune {
            causal * weights.clone().greater_elem(0.0).float() * rate
        } else {
            causal * rate
        };
        let changed = (weights + change).clamp_min(0.0);
        // A neuron whose synapses all fell to 0 keeps them at 0 rather than dividing by 0.
        let total = changed
            .clone()
            .sum_dim(2)
            .clamp_min(f32::MIN_POSITIVE as f64);
        let normalised = changed / total;
        self.recurrent = Param::from_tensor(normalised);
        let ip = plasticity.ip_rate.clone().reshape([networks, 1]);
        let threshold =
            self.threshold_e.val() + after.clone().sub_scalar(plasticity.target_rate) * ip;
        self.threshold_e = Param::from_tensor(threshold);
    }

    /// The E→E weights as dense matrices `[networks, N_E (post), N_E (pre)]`, 0 where no
    /// synapse exists.
    pub fn dense_recurrent(&self) -> Tensor<B, 3> {
        let [networks, ne, lambda] = self.recurrent.dims();
        let device = self.recurrent.device();
        // Synapse (n, i, k) sits at flat index (n·N_E + i)·N_E + pre, with pre its source.
        let sources = self.presynaptic.val().reshape([networks * ne, lambda]);
        let offsets = Tensor::<B, 1, Int>::arange(0..(networks * ne) as i64, &device)
            .reshape([networks * ne, 1])
            .mul_scalar(ne as i64);
        let network_of = Tensor::<B, 1, Int>::arange(0..(networks * ne) as i64, &device)
            .div_scalar(ne as i64)
            .reshape([networks * ne, 1])
            .mul_scalar(ne as i64);
        let flat = (offsets + sources - network_of).reshape([networks * ne * lambda]);
        Tensor::<B, 1>::zeros([networks * ne * ne], &device)
            .select_assign(
                0,
                flat,
                self.recurrent.val().reshape([networks * ne * lambda]),
                IndexingUpdateOp::Add,
            )
            .reshape([networks, ne, ne])
    }
}

/// H(z): 1 where z > 0, else 0.
pub fn heaviside<B: Backend, const D: usize>(values: Tensor<B, D>) -> Tensor<B, D> {
    values.greater_elem(0.0).float()
}

mod host;
#[cfg(test)]
mod tests;
