//! SORN steps as plain loops over host memory, for the CPU backends: a step of a network of
//! 200 excitatory units is some 20 000 multiply-adds, far less than the cost of the dozen
//! tensor operations the tensor step issues. The networks are independent, so each runs
//! through the whole stretch of steps on one of rayon's threads; the result does not depend
//! on the threads. The sums run in the order of the tensor step's (over a neuron's synapses,
//! then over the inhibitory units, then over the excitatory ones), in the backend's float
//! type.

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::{Plasticity, Sorn, SornState};
use crate::kernels::{host_pieces, host_vec, tensor_from_host, Real};

/// One network's weights, thresholds and state on the host.
struct HostNetwork<T> {
    /// `[N_E, λ]` E→E weights and the presynaptic neuron of each (within this network).
    recurrent: Vec<T>,
    presynaptic: Vec<u32>,
    /// `[N_E, N_I]`, `[N_I, N_E]`, `[N_E, symbols]`.
    inhibition: Vec<T>,
    excitation: Vec<T>,
    input: Vec<T>,
    threshold_e: Vec<T>,
    threshold_i: Vec<T>,
    excitatory: Vec<T>,
    inhibitory: Vec<T>,
    /// η_STDP, η_IP.
    rates: (T, T),
}

/// Shapes: N_E, N_I, λ, symbols.
#[derive(Clone, Copy)]
struct Shape {
    ne: usize,
    ni: usize,
    lambda: usize,
    symbols: usize,
}

impl<T: Real> HostNetwork<T> {
    /// One step under input symbol `symbol`, then, with `plasticity` (H_IP and pruning),
    /// STDP, normalisation and intrinsic plasticity.
    fn step(&mut self, shape: Shape, symbol: usize, plasticity: Option<(T, bool)>) {
        let Shape {
            ne,
            ni,
            lambda,
            symbols,
        } = shape;
        let before = std::mem::take(&mut self.excitatory);
        let mut after = vec![T::zero(); ne];
        for (i, unit) in after.iter_mut().enumerate() {
            let synapses = i * lambda..(i + 1) * lambda;
            let recurrent = self.recurrent[synapses.clone()]
                .iter()
                .zip(&self.presynaptic[synapses])
                .fold(T::zero(), |sum, (&w, &j)| sum + w * before[j as usize]);
            let inhibition = self.inhibition[i * ni..(i + 1) * ni]
                .iter()
                .zip(&self.inhibitory)
                .fold(T::zero(), |sum, (&w, &y)| sum + w * y);
            let drive = self.input[i * symbols + symbol];
            *unit = heaviside(recurrent - inhibition - self.threshold_e[i] + drive);
        }
        for (j, unit) in self.inhibitory.iter_mut().enumerate() {
            let excitation = self.excitation[j * ne..(j + 1) * ne]
                .iter()
                .zip(&after)
                .fold(T::zero(), |sum, (&w, &x)| sum + w * x);
            *unit = heaviside(excitation - self.threshold_i[j]);
        }
        if let Some((target_rate, prune)) = plasticity {
            self.plastic_update(shape, &before, &after, target_rate, prune);
        }
        self.excitatory = after;
    }

    fn plastic_update(&mut self, shape: Shape, before: &[T], after: &[T], target: T, prune: bool) {
        let (stdp, ip) = self.rates;
        let lambda = shape.lambda;
        for i in 0..shape.ne {
            let synapses = i * lambda..(i + 1) * lambda;
            let weights = &mut self.recurrent[synapses.clone()];
            for (w, &j) in weights.iter_mut().zip(&self.presynaptic[synapses]) {
                let j = j as usize;
                let causal = after[i] * before[j] - before[i] * after[j];
                let change = if prune {
                    let exists = if *w > T::zero() { T::one() } else { T::zero() };
                    causal * exists * stdp
                } else {
                    causal * stdp
                };
                *w = (*w + change).max(T::zero());
            }
            let total = weights
                .iter()
                .fold(T::zero(), |sum, &w| sum + w)
                .max(T::min_positive_value());
            weights.iter_mut().for_each(|w| *w = *w / total);
            self.threshold_e[i] = self.threshold_e[i] + (after[i] - target) * ip;
        }
    }
}

fn heaviside<T: Real>(value: T) -> T {
    if value > T::zero() {
        T::one()
    } else {
        T::zero()
    }
}

/// The networks of `sorn` at `state` on the host, with per-network rates.
fn load<B: Backend, T: Real>(
    sorn: &Sorn<B>,
    state: &SornState<B>,
    rates: Option<&Plasticity<B>>,
) -> (Shape, Vec<HostNetwork<T>>) {
    let [networks, ne, lambda] = sorn.recurrent.dims();
    let (ni, symbols) = (sorn.inhibitory(), sorn.input.dims()[2]);
    let shape = Shape {
        ne,
        ni,
        lambda,
        symbols,
    };
    let mut recurrent = host_pieces(sorn.recurrent.val(), ne * lambda).into_iter();
    let presynaptic: Vec<i64> = sorn
        .presynaptic
        .val()
        .into_data()
        .convert::<i64>()
        .into_vec()
        .expect("indices convert to i64");
    let mut inhibition = host_pieces(sorn.inhibition.val(), ne * ni).into_iter();
    let mut excitation = host_pieces(sorn.excitation.val(), ni * ne).into_iter();
    let mut input = host_pieces(sorn.input.val(), ne * symbols).into_iter();
    let mut threshold_e = host_pieces(sorn.threshold_e.val(), ne).into_iter();
    let mut threshold_i = host_pieces(sorn.threshold_i.val(), ni).into_iter();
    let mut excitatory = host_pieces(state.excitatory.clone(), ne).into_iter();
    let mut inhibitory = host_pieces(state.inhibitory.clone(), ni).into_iter();
    let (stdp, ip): (Vec<T>, Vec<T>) = match rates {
        Some(p) => (host_vec(p.stdp_rate.clone()), host_vec(p.ip_rate.clone())),
        None => (vec![T::zero(); networks], vec![T::zero(); networks]),
    };
    let hosts = (0..networks)
        .map(|n| HostNetwork {
            recurrent: recurrent.next().expect("one per network"),
            // Indices into the flattened `[networks · N_E]` states, made local.
            presynaptic: presynaptic[n * ne * lambda..(n + 1) * ne * lambda]
                .iter()
                .map(|&j| (j as usize - n * ne) as u32)
                .collect(),
            inhibition: inhibition.next().expect("one per network"),
            excitation: excitation.next().expect("one per network"),
            input: input.next().expect("one per network"),
            threshold_e: threshold_e.next().expect("one per network"),
            threshold_i: threshold_i.next().expect("one per network"),
            excitatory: excitatory.next().expect("one per network"),
            inhibitory: inhibitory.next().expect("one per network"),
            rates: (stdp[n], ip[n]),
        })
        .collect();
    (shape, hosts)
}

/// Each network's input symbol at every step of one-hot `inputs` `[steps, networks, symbols]`:
/// `[networks][steps]`.
fn symbols_of<B: Backend>(inputs: &Tensor<B, 3>) -> Vec<Vec<usize>> {
    let [steps, networks, symbols] = inputs.dims();
    let one_hot: Vec<f32> = host_vec(inputs.clone());
    (0..networks)
        .map(|n| {
            (0..steps)
                .map(|t| {
                    let row = &one_hot[(t * networks + n) * symbols..][..symbols];
                    row.iter().position(|&v| v > 0.5).unwrap_or(0)
                })
                .collect()
        })
        .collect()
}

/// The networks' states as tensors `[networks, N_E]` and `[networks, N_I]`.
fn state_of<B: Backend, T: Real>(
    hosts: &[HostNetwork<T>],
    shape: Shape,
    device: &B::Device,
) -> SornState<B> {
    let networks = hosts.len();
    let excitatory = hosts
        .iter()
        .flat_map(|h| h.excitatory.iter().copied())
        .collect();
    let inhibitory = hosts
        .iter()
        .flat_map(|h| h.inhibitory.iter().copied())
        .collect();
    SornState {
        excitatory: tensor_from_host(excitatory, [networks, shape.ne], device),
        inhibitory: tensor_from_host(inhibitory, [networks, shape.ni], device),
    }
}

/// [`Sorn::run_plastic`] on the host (see the module's comment).
pub(super) fn run_plastic<B: Backend, T: Real>(
    sorn: &mut Sorn<B>,
    state: SornState<B>,
    inputs: &Tensor<B, 3>,
    plasticity: &Plasticity<B>,
) -> (SornState<B>, Tensor<B, 1>) {
    let (shape, mut hosts) = load::<B, T>(sorn, &state, Some(plasticity));
    let streams = symbols_of(inputs);
    let steps = inputs.dims()[0];
    let target = T::from(plasticity.target_rate).expect("a rate is a float");
    let plastic = Some((target, plasticity.prune));
    let rates: Vec<T> = hosts
        .par_iter_mut()
        .zip(&streams)
        .map(|(host, stream)| {
            let mut active = T::zero();
            for &symbol in stream {
                host.step(shape, symbol, plastic);
                let mean = host.excitatory.iter().fold(T::zero(), |sum, &x| sum + x)
                    / T::from(shape.ne).expect("a count is a float");
                active = active + mean;
            }
            active / T::from(steps.max(1)).expect("a count is a float")
        })
        .collect();
    let device = sorn.recurrent.device();
    let networks = hosts.len();
    let Shape { ne, lambda, .. } = shape;
    let recurrent = hosts
        .iter()
        .flat_map(|h| h.recurrent.iter().copied())
        .collect();
    let threshold = hosts
        .iter()
        .flat_map(|h| h.threshold_e.iter().copied())
        .collect();
    sorn.recurrent =
        Param::from_tensor(tensor_from_host(recurrent, [networks, ne, lambda], &device));
    sorn.threshold_e = Param::from_tensor(tensor_from_host(threshold, [networks, ne], &device));
    let state = state_of(&hosts, shape, &device);
    (state, tensor_from_host(rates, [networks], &device))
}

/// [`Sorn::record`] on the host: plasticity off.
pub(super) fn record<B: Backend, T: Real>(
    sorn: &Sorn<B>,
    state: SornState<B>,
    inputs: &Tensor<B, 3>,
) -> (SornState<B>, Vec<Vec<u8>>) {
    let (shape, mut hosts) = load::<B, T>(sorn, &state, None);
    let streams = symbols_of(inputs);
    let records: Vec<Vec<u8>> = hosts
        .par_iter_mut()
        .zip(&streams)
        .map(|(host, stream)| {
            let mut record = Vec::with_capacity(stream.len() * shape.ne);
            for &symbol in stream {
                host.step(shape, symbol, None);
                // The states are 0 or 1.
                record.extend(host.excitatory.iter().map(|&x| u8::from(x > T::zero())));
            }
            record
        })
        .collect();
    let state = state_of(&hosts, shape, &sorn.recurrent.device());
    (state, records)
}
