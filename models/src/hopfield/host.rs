//! Asynchronous sweeps of the classic network as plain loops over host memory: for the CPU
//! backends, where a tensor operation per unit (a column of W, a product, a write) costs far
//! more than the unit's arithmetic.
//!
//! Every probe keeps its units' local fields and updates them only when a unit flips (adding
//! ±2 × that unit's row of the Hebbian counts), so a sweep in which nothing changes reads
//! each field once instead of recomputing it from all N units. The fields are kept as the
//! integer counts N·W, summed exactly, so each decision is the exact sign, sign(0) = +1, as
//! the tensor sweep decides it ([`Hopfield::counts`]). Probes run on rayon's threads: they
//! share the update order but nothing else, so the result does not depend on the threads.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::seq::SliceRandom;
use rand::Rng;
use rayon::prelude::*;

use super::{Hopfield, HopfieldError};
use crate::kernels::{host_vec, tensor_from_host};

/// A classic network's Hebbian counts C = N·W (row-major, symmetric, zero diagonal) on the
/// host.
pub struct HostHopfield {
    units: usize,
    counts: Vec<i32>,
    /// The stored patterns `[P, N]`, when known: a probe's starting fields are then
    /// ξᵀ(ξ s) − P s, 2PN additions instead of N².
    patterns: Option<Vec<i8>>,
}

impl HostHopfield {
    /// The counts of `network`, whose weights are Hebbian counts over N (what
    /// [`Hopfield::storing`] builds).
    pub fn of<B: Backend>(network: &Hopfield<B>) -> Self {
        let units = network.units();
        // The same rounding as `Hopfield::counts`, on the host.
        let counts = host_vec::<B, 2, f64>(network.weights.val())
            .into_iter()
            .map(|weight| {
                let scaled = weight * units as f64;
                (scaled + 0.5f64.copysign(scaled)) as i32
            })
            .collect();
        Self {
            units,
            counts,
            patterns: None,
        }
    }

    /// The network storing the rows of `patterns` `[P, N]` (entries ±1), built on the host:
    /// the same counts as [`Hopfield::storing`]'s weights hold, and the patterns kept.
    pub fn storing<B: Backend>(patterns: Tensor<B, 2>) -> Result<Self, HopfieldError> {
        let [_, units] = super::storable(&patterns)?;
        let signs: Vec<i8> = host_vec::<B, 2, f64>(patterns)
            .into_iter()
            .map(|s| if s < 0.0 { -1 } else { 1 })
            .collect();
        let wide: Vec<i32> = signs.iter().map(|&s| i32::from(s)).collect();
        let mut counts = vec![0i32; units * units];
        counts
            .par_chunks_mut(units)
            .enumerate()
            .for_each(|(i, row)| {
                for pattern in wide.chunks(units) {
                    add_row(row, pattern, pattern[i] > 0);
                }
                row[i] = 0;
            });
        Ok(Self {
            units,
            counts,
            patterns: Some(signs),
        })
    }

    /// Sweeps in fresh random orders until no unit of any probe changes or `max_sweeps` have
    /// run, drawing the orders from `rng` exactly as [`super::AsynchronousMemory::settle`]
    /// does: the final states `[M, N]` and the sweeps taken.
    pub fn settle<B: Backend>(
        &self,
        states: Tensor<B, 2>,
        max_sweeps: usize,
        rng: &mut impl Rng,
    ) -> (Tensor<B, 2>, usize) {
        let [probes, units] = states.dims();
        assert_eq!(
            units, self.units,
            "states of {units} units for {} units",
            self.units
        );
        let device = states.device();
        let mut probes_state: Vec<Probe> = host_vec::<B, 2, f64>(states)
            .par_chunks(units)
            .map(|signs| self.probe(signs))
            .collect();
        let mut order: Vec<usize> = (0..units).collect();
        let mut taken = max_sweeps;
        for done in 1..=max_sweeps {
            order.shuffle(rng);
            let flips: usize = probes_state
                .par_iter_mut()
                .map(|probe| self.sweep(probe, &order))
                .sum();
            if flips == 0 {
                taken = done;
                break;
            }
        }
        let values: Vec<f32> = probes_state
            .iter()
            .flat_map(|probe| probe.signs.iter().map(|&s| f32::from(s)))
            .collect();
        let settled = tensor_from_host(values, [probes, units], &device);
        (settled, taken)
    }

    /// How many units of `states` `[M, N]` one synchronous step would flip: those whose field
    /// has the other sign.
    pub fn one_step_flips<B: Backend>(&self, states: Tensor<B, 2>) -> usize {
        host_vec::<B, 2, f64>(states)
            .par_chunks(self.units)
            .map(|signs| {
                let probe = self.probe(signs);
                let flips = probe.fields.iter().zip(&probe.signs);
                flips.filter(|(&h, &s)| (h >= 0) != (s > 0)).count()
            })
            .sum()
    }

    /// A probe at the ±1 state `signs`, with its fields.
    fn probe(&self, signs: &[f64]) -> Probe {
        let signs: Vec<i8> = signs
            .iter()
            .map(|&s| if s < 0.0 { -1 } else { 1 })
            .collect();
        if let Some(patterns) = &self.patterns {
            // C s = ξᵀ(ξ s) − P s: C is ξᵀξ without its diagonal, which is P.
            let count = (patterns.len() / self.units) as i32;
            let mut fields: Vec<i32> = signs.iter().map(|&s| -count * i32::from(s)).collect();
            for pattern in patterns.chunks(self.units) {
                let overlap: i32 = pattern
                    .iter()
                    .zip(&signs)
                    .map(|(&x, &s)| i32::from(x) * i32::from(s))
                    .sum();
                for (field, &x) in fields.iter_mut().zip(pattern) {
                    *field += i32::from(x) * overlap;
                }
            }
            return Probe { signs, fields };
        }
        let mut fields = vec![0i32; self.units];
        for (j, &s) in signs.iter().enumerate() {
            // C is symmetric: row j is column j.
            add_row(
                &mut fields,
                &self.counts[j * self.units..(j + 1) * self.units],
                s > 0,
            );
        }
        Probe { signs, fields }
    }

    /// One sweep of `probe` in `order`: how many units flipped.
    fn sweep(&self, probe: &mut Probe, order: &[usize]) -> usize {
        let mut flips = 0;
        for &unit in order {
            let new: i8 = if probe.fields[unit] >= 0 { 1 } else { -1 };
            if new != probe.signs[unit] {
                probe.signs[unit] = new;
                flips += 1;
                // The unit's change of 2·new moves every field by 2·new·C_unit,j (the row
                // added twice); its own field is unchanged, C's diagonal being zero.
                let row = &self.counts[unit * self.units..(unit + 1) * self.units];
                add_row(&mut probe.fields, row, new > 0);
                add_row(&mut probe.fields, row, new > 0);
            }
        }
        flips
    }
}

/// `fields ± row`: additions alone, which vectorise on every x86-64 (a product by ±1 would
/// need SSE4.1's 32-bit multiply).
fn add_row(fields: &mut [i32], row: &[i32], plus: bool) {
    if plus {
        fields
            .iter_mut()
            .zip(row)
            .for_each(|(field, &c)| *field += c);
    } else {
        fields
            .iter_mut()
            .zip(row)
            .for_each(|(field, &c)| *field -= c);
    }
}

/// One probe's state and the counts-weighted fields Σ_j C_ij s_j of its units.
struct Probe {
    signs: Vec<i8>,
    fields: Vec<i32>,
}
