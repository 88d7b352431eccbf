//! Hopfield networks: binary ±1 units whose symmetric weights store patterns by the Hebbian
//! outer-product rule, W = (1/N)·Σ_μ ξ^μ ξ^μᵀ with a zero diagonal, and recall them as fixed
//! points of the sign dynamics. Many probe states run side by side as the rows of one tensor.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::ElementConversion;
//! use plastic_models::hopfield::{degraded, overlaps, random_patterns};
//! use plastic_models::Hopfield;
//! use rand::SeedableRng;
//!
//! let device = Default::default();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! // 10 patterns in 500 units (load 0.02), cued with a fifth of each pattern's units flipped.
//! let patterns = random_patterns::<NdArray>(10, 500, &mut rng, &device);
//! let network = Hopfield::storing(patterns.clone()).unwrap();
//! let cues = degraded(patterns.clone(), 0.2, &mut rng);
//! let (recalled, _steps) = network.settle_synchronously(cues, 20);
//! let overlap: f32 = overlaps(recalled, patterns).min().into_scalar().elem();
//! assert_eq!(overlap, 1.0, "every pattern recalled exactly");
//! ```

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::kernels::Kernels;

/// A network that cannot be built from the patterns given.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HopfieldError {
    /// The patterns cannot be stored (none, empty, or not ±1).
    #[error("invalid Hopfield network: {0}")]
    Invalid(String),
}

/// A classic Hopfield network of `N` units.
#[derive(Module, Debug)]
pub struct Hopfield<B: Backend> {
    /// Symmetric weights `[N, N]`, zero on the diagonal.
    pub weights: Param<Tensor<B, 2>>,
}

impl<B: Backend> Hopfield<B> {
    /// The network storing the rows of `patterns` `[P, N]` (entries ±1).
    pub fn storing(patterns: Tensor<B, 2>) -> Result<Self, HopfieldError> {
        let [_, units] = storable(&patterns)?;
        let device = patterns.device();
        let outer = patterns.clone().transpose().matmul(patterns) / units as f64;
        let off_diagonal = Tensor::<B, 2>::eye(units, &device).neg().add_scalar(1.0);
        Ok(Self {
            weights: Param::from_tensor(outer * off_diagonal),
        })
    }

    /// N, the number of units.
    pub fn units(&self) -> usize {
        self.weights.dims()[0]
    }

    /// Every unit's local field, `[M, N]` for states `[M, N]`.
    pub fn fields(&self, states: Tensor<B, 2>) -> Tensor<B, 2> {
        // W is symmetric: s·Wᵀ = s·W.
        states.matmul(self.weights.val())
    }

    /// E = −½ sᵀ W s of every state `[M, N]`: `[M]`.
    pub fn energy(&self, states: Tensor<B, 2>) -> Tensor<B, 1> {
        (self.fields(states.clone()) * states)
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            .mul_scalar(-0.5)
    }

    /// The Hebbian counts N·W = Σ_μ ξ^μ ξ^μᵀ (zero diagonal): integers, which the backend's
    /// floats sum exactly (below 2²⁴ in f32). The updates decide each unit's sign on them, so
    /// that a field of exactly zero takes +1 as the rule says, whatever the rounding of
    /// W = counts/N would make of it; and so that the host sweeps, which keep the counts as
    /// integers, decide the same.
    pub fn counts(&self) -> Tensor<B, 2> {
        // Rounded half away from zero by truncation: a cast per entry, where the backend's
        // `round` may call the C library once per entry.
        let scaled = self.weights.val().mul_scalar(self.units() as f64);
        (scaled.clone() + scaled.sign().mul_scalar(0.5))
            .int()
            .float()
    }

    /// Every unit at once takes the sign of its field (sign(0) = +1).
    pub fn synchronous_step(&self, states: Tensor<B, 2>) -> Tensor<B, 2> {
        sign(states.matmul(self.counts()))
    }

    /// One sweep of asynchronous updates: the units in the order `order`, one at a time,
    /// each taking the sign of its field given every unit updated before it. The same order
    /// applies to every state.
    pub fn asynchronous_sweep(&self, mut states: Tensor<B, 2>, order: &[usize]) -> Tensor<B, 2> {
        let counts = self.counts();
        let probes = states.dims()[0];
        for &unit in order {
            // Column `unit` of W is its row: the unit's incoming weights (as counts, N·W).
            let incoming = counts.clone().narrow(1, unit, 1);
            let field = states.clone().matmul(incoming);
            states = states.slice_assign([0..probes, unit..unit + 1], sign(field));
        }
        states
    }

    /// Synchronous steps until no unit changes or `max_steps` have run (a state caught in a
    /// two-cycle, which synchronous dynamics allow, runs to the limit).
    pub fn settle_synchronously(
        &self,
        mut states: Tensor<B, 2>,
        max_steps: usize,
    ) -> (Tensor<B, 2>, usize) {
        for step in 1..=max_steps {
            let next = self.synchronous_step(states.clone());
            let unchanged = changed(&next, &states) == 0.0;
            states = next;
            if unchanged {
                return (states, step);
            }
        }
        (states, max_steps)
    }

    /// [`AsynchronousMemory::settle`] on `kernels`: the host loops of [`host::HostHopfield`]
    /// or the backend's tensors. Both draw the same orders from `rng` and end in the same
    /// states.
    pub fn settle_on(
        &self,
        kernels: Kernels,
        states: Tensor<B, 2>,
        max_sweeps: usize,
        rng: &mut impl Rng,
    ) -> (Tensor<B, 2>, usize) {
        match kernels {
            Kernels::Host => host::HostHopfield::of(self).settle(states, max_sweeps, rng),
            Kernels::Tensor => self.settle(states, max_sweeps, rng),
        }
    }

    /// How many units of `states` `[M, N]` one synchronous step would flip, on `kernels`.
    pub fn one_step_flips(&self, kernels: Kernels, states: Tensor<B, 2>) -> usize {
        match kernels {
            Kernels::Host => host::HostHopfield::of(self).one_step_flips(states),
            Kernels::Tensor => changed(&self.synchronous_step(states.clone()), &states) as usize,
        }
    }

    /// A network of `units` units storing nothing: what a saved network is loaded into.
    pub fn empty(units: usize, device: &B::Device) -> Self {
        Self {
            weights: Param::from_tensor(Tensor::zeros([units, units], device)),
        }
    }
}

/// Units that differ between two batches of ±1 states.
fn changed<B: Backend>(next: &Tensor<B, 2>, states: &Tensor<B, 2>) -> f64 {
    (next.clone() - states.clone())
        .abs()
        .sum()
        .into_scalar()
        .elem::<f64>()
        / 2.0
}

/// A memory whose units update one at a time: both kinds of network settle the same way.
pub trait AsynchronousMemory<B: Backend> {
    /// One sweep of single-unit updates in the order `order`, the same for every state
    /// (the rows of `states`).
    fn sweep(&self, states: Tensor<B, 2>, order: &[usize]) -> Tensor<B, 2>;

    /// Sweeps in fresh random orders until no unit changes or `max_sweeps` have run: the
    /// final states and the sweeps taken.
    fn settle(
        &self,
        mut states: Tensor<B, 2>,
        max_sweeps: usize,
        rng: &mut impl Rng,
    ) -> (Tensor<B, 2>, usize) {
        let mut order: Vec<usize> = (0..states.dims()[1]).collect();
        for done in 1..=max_sweeps {
            order.shuffle(rng);
            let next = self.sweep(states.clone(), &order);
            let unchanged = changed(&next, &states) == 0.0;
            states = next;
            if unchanged {
                return (states, done);
            }
        }
        (states, max_sweeps)
    }
}

impl<B: Backend> AsynchronousMemory<B> for Hopfield<B> {
    fn sweep(&self, states: Tensor<B, 2>, order: &[usize]) -> Tensor<B, 2> {
        self.asynchronous_sweep(states, order)
    }
}

impl<B: Backend> AsynchronousMemory<B> for DenseMemory<B> {
    fn sweep(&self, states: Tensor<B, 2>, order: &[usize]) -> Tensor<B, 2> {
        self.asynchronous_sweep(states, order)
    }
}

/// The shape `[P, N]` of patterns a network can store: at least one pattern of two units.
fn storable<B: Backend>(patterns: &Tensor<B, 2>) -> Result<[usize; 2], HopfieldError> {
    let [count, units] = patterns.dims();
    if count == 0 || units < 2 {
        return Err(HopfieldError::Invalid(format!(
            "{count} patterns of {units} units: at least 1 pattern of 2 units is needed"
        )));
    }
    Ok([count, units])
}

/// Elementwise sign with sign(0) = +1.
pub fn sign<B: Backend, const D: usize>(values: Tensor<B, D>) -> Tensor<B, D> {
    values
        .greater_equal_elem(0.0)
        .float()
        .mul_scalar(2.0)
        .sub_scalar(1.0)
}

/// `count` random ±1 patterns of `units` units, `[count, units]`.
pub fn random_patterns<B: Backend>(
    count: usize,
    units: usize,
    rng: &mut impl Rng,
    device: &B::Device,
) -> Tensor<B, 2> {
    random_signs(count, units, 0.5, rng, device)
}

/// Copies of `patterns` with each unit flipped with probability `flip`.
pub fn degraded<B: Backend>(patterns: Tensor<B, 2>, flip: f64, rng: &mut impl Rng) -> Tensor<B, 2> {
    let [count, units] = patterns.dims();
    let device = patterns.device();
    patterns * random_signs(count, units, flip, rng, &device)
}

/// `[count, units]` entries, each −1 with probability `negative` and +1 otherwise.
fn random_signs<B: Backend>(
    count: usize,
    units: usize,
    negative: f64,
    rng: &mut impl Rng,
    device: &B::Device,
) -> Tensor<B, 2> {
    let values: Vec<f32> = (0..count * units)
        .map(|_| if rng.random_bool(negative) { -1.0 } else { 1.0 })
        .collect();
    Tensor::from_data(TensorData::new(values, [count, units]), device)
}

/// The overlap (1/N)·ξ·s of every state with its own pattern, `[M]` for `[M, N]` each.
pub fn overlaps<B: Backend>(states: Tensor<B, 2>, patterns: Tensor<B, 2>) -> Tensor<B, 1> {
    let units = states.dims()[1];
    (states * patterns)
        .sum_dim(1)
        .squeeze_dim::<1>(1)
        .div_scalar(units as f64)
}

/// The interaction function F of a dense associative memory, E = −Σ_μ F(ξ^μ·s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interaction {
    /// F(x) = xⁿ (Krotov and Hopfield 2016); n = 2 is the classic network, up to a constant.
    Polynomial(i32),
    /// F(x) = eˣ (Demircigil et al. 2017).
    Exponential,
}

/// A dense associative memory: the patterns themselves, `[P, N]`, and an interaction that
/// sharpens how each pattern's overlap with the state counts.
#[derive(Debug, Clone)]
pub struct DenseMemory<B: Backend> {
    /// The stored patterns, `[P, N]`, entries ±1.
    pub patterns: Tensor<B, 2>,
    /// How a pattern's overlap with the state counts.
    pub interaction: Interaction,
}

impl<B: Backend> DenseMemory<B> {
    /// The memory of the rows of `patterns` `[P, N]` (entries ±1) under `interaction`.
    pub fn storing(
        patterns: Tensor<B, 2>,
        interaction: Interaction,
    ) -> Result<Self, HopfieldError> {
        storable(&patterns)?;
        if let Interaction::Polynomial(degree) = interaction {
            if degree < 2 {
                return Err(HopfieldError::Invalid(format!(
                    "the interaction degree must be at least 2, got {degree}"
                )));
            }
        }
        Ok(Self {
            patterns,
            interaction,
        })
    }

    /// E = −Σ_μ F(ξ^μ·s) of every state `[M, N]`; for the exponential interaction
    /// −log Σ_μ exp(ξ^μ·s), which orders states the same way and stays finite.
    pub fn energy(&self, states: Tensor<B, 2>) -> Tensor<B, 1> {
        let overlaps = states.matmul(self.patterns.clone().transpose());
        let energy = match self.interaction {
            Interaction::Polynomial(degree) => overlaps.powi_scalar(degree).sum_dim(1),
            Interaction::Exponential => {
                let top = overlaps.clone().max_dim(1);
                (overlaps - top.clone()).exp().sum_dim(1).log() + top
            }
        };
        energy.squeeze_dim::<1>(1).neg()
    }

    /// Per state and pattern, F(a + ξ_i) − F(a − ξ_i) up to a positive factor per state, for
    /// the overlaps `a` `[M, P]` without unit i and the unit's pattern entries `xi` `[1, P]`.
    fn gains(&self, rest: Tensor<B, 2>, xi: Tensor<B, 2>) -> Tensor<B, 2> {
        match self.interaction {
            Interaction::Polynomial(degree) => {
                (rest.clone() + xi.clone()).powi_scalar(degree) - (rest - xi).powi_scalar(degree)
            }
            // e^(a+ξ) − e^(a−ξ) = 2·sinh(1)·ξ·e^a for ξ = ±1; shifted by each state's largest
            // overlap so that e^a stays finite.
            Interaction::Exponential => {
                let top = rest.clone().max_dim(1);
                (rest - top).exp() * xi
            }
        }
    }

    /// One sweep of asynchronous updates in the order `order`: each unit takes the sign of
    /// the energy it saves by pointing up rather than down (sign(0) = +1).
    pub fn asynchronous_sweep(&self, mut states: Tensor<B, 2>, order: &[usize]) -> Tensor<B, 2> {
        let by_unit = self.patterns.clone().transpose();
        let mut overlaps = states.clone().matmul(self.patterns.clone().transpose());
        let probes = states.dims()[0];
        for &unit in order {
            let xi = by_unit.clone().narrow(0, unit, 1);
            let old = states.clone().narrow(1, unit, 1);
            let rest = overlaps - old.matmul(xi.clone());
            let new = sign(self.gains(rest.clone(), xi.clone()).sum_dim(1));
            overlaps = rest + new.clone().matmul(xi);
            states = states.slice_assign([0..probes, unit..unit + 1], new);
        }
        states
    }
}

pub mod host;
#[cfg(test)]
mod tests;
