//! One period of a target through the closed loop of rate networks whose readouts follow the
//! delta rule: every step advances the networks, reads the outputs, scores them against the
//! target and (when learning) updates the readouts. On the CPU backends the period runs as
//! plain loops over host memory ([`Kernels::Host`]): per network, one pass over M's
//! connections per step drives every run at once (M held by columns, its connections only),
//! and the networks run on rayon's threads. The tensor path is the same arithmetic in the
//! backend's operations; `tests.rs` holds the two together.

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

use super::{DeltaReadout, RateNetwork};
use crate::kernels::{host_pieces, host_vec, tensor_from_host, Kernels, Real, SparseColumns};

/// What a period does to the readouts.
pub enum PeriodMode<B: Backend> {
    /// They learn at every `every`-th step (the `every`-th, the 2·`every`-th, …) from the
    /// error plus `noise` (`[networks, runs, steps]`, added to the error the synapses see,
    /// not to the error scored).
    Learn {
        /// Learn at every this many steps.
        every: usize,
        /// Added to the error the synapses learn from.
        noise: Option<Tensor<B, 3>>,
    },
    /// They stay fixed.
    Test,
}

/// What one period did.
pub struct Period<B: Backend> {
    /// x after the last step, `[networks, runs, neurons]`.
    pub state: Tensor<B, 3>,
    /// z after the last step, `[networks, runs, 1]`.
    pub output: Tensor<B, 3>,
    /// The mean squared error of each run over the period (`[networks][runs]`, row-major),
    /// +∞ where it is not finite.
    pub mse: Vec<f64>,
    /// Where asked, the output of every run at every step, `[networks][runs][steps]`.
    pub outputs: Option<Vec<f64>>,
}

/// One period to run: the networks, their readouts, where the loop stands (x and z) and the
/// target of every run at every step.
pub struct ClosedLoop<'a, B: Backend> {
    /// The networks.
    pub network: &'a RateNetwork<B>,
    /// Their readouts, updated when the period learns.
    pub readout: &'a mut DeltaReadout<B>,
    /// x, `[networks, runs, neurons]`.
    pub state: Tensor<B, 3>,
    /// z of the step before, `[networks, runs, 1]`.
    pub output: Tensor<B, 3>,
    /// `[networks, runs, steps]`, or `[1, runs, steps]` for the same targets in every network.
    pub targets: &'a Tensor<B, 3>,
    /// Whether and how the readouts learn.
    pub mode: PeriodMode<B>,
    /// Whether to hand back every output.
    pub keep_outputs: bool,
}

/// Runs one period of the closed loop on `kernels`.
pub fn closed_loop_period<B: Backend>(run: ClosedLoop<'_, B>, kernels: Kernels) -> Period<B> {
    match (kernels, run.state.dtype()) {
        (Kernels::Tensor, _) => tensor_period(run),
        (Kernels::Host, DType::F64) => host_period::<B, f64>(run),
        (Kernels::Host, _) => host_period::<B, f32>(run),
    }
}

fn finite_or_infinity(mse: f64) -> f64 {
    if mse.is_finite() {
        mse
    } else {
        f64::INFINITY
    }
}

fn tensor_period<B: Backend>(run: ClosedLoop<'_, B>) -> Period<B> {
    let ClosedLoop {
        network,
        readout,
        mut state,
        mut output,
        targets,
        mode,
        keep_outputs,
    } = run;
    let steps = targets.dims()[2];
    let mut squared_error = output.zeros_like();
    let mut outputs = Vec::new();
    for t in 0..steps {
        let (next, rates) = network.step(state, output);
        state = next;
        output = readout.read(rates.clone());
        let error = targets.clone().narrow(2, t, 1) - output.clone();
        squared_error = squared_error + error.clone().powi_scalar(2);
        match &mode {
            PeriodMode::Learn { every, .. } if !(t + 1).is_multiple_of(*every) => {}
            PeriodMode::Learn { noise: None, .. } => readout.update(rates, error),
            PeriodMode::Learn {
                noise: Some(noise), ..
            } => readout.update(rates, error + noise.clone().narrow(2, t, 1)),
            PeriodMode::Test => {}
        }
        if keep_outputs {
            outputs.push(output.clone());
        }
    }
    let mse = host_vec::<B, 3, f64>(squared_error.div_scalar(steps as f64))
        .into_iter()
        .map(finite_or_infinity)
        .collect();
    let outputs = keep_outputs.then(|| host_vec::<B, 3, f64>(Tensor::cat(outputs, 2)));
    Period {
        state,
        output,
        mse,
        outputs,
    }
}

/// Runs whose drives one pass over M sums side by side.
const LANES: usize = 8;

/// One network and its runs on the host; per-run vectors are `[runs][neurons]`.
struct HostRuns<T> {
    runs: usize,
    n: usize,
    leak: T,
    /// M, `[from, to]`: the drive is r·M.
    recurrent: SparseColumns<T>,
    feedback: Vec<T>,
    state: Vec<T>,
    output: Vec<T>,
    weights: Vec<T>,
    variance: Vec<T>,
    fixed_rate: Vec<T>,
}

/// Per network, what its runs did: the summed squared errors and the outputs.
struct RunsRecord<T> {
    squared_error: Vec<T>,
    outputs: Vec<T>,
}

impl<T: Real> HostRuns<T> {
    /// The period, in the tensor path's order of operations: rates tanh(x), the drive r·M +
    /// z·w_f, x ← (1 − leak)x + leak·drive, r = tanh(x), z = r·w, the error, then the update.
    fn period(
        &mut self,
        targets: &[T],
        noise: Option<&[T]>,
        learn_every: Option<usize>,
        error_variance: T,
        keep_outputs: bool,
    ) -> RunsRecord<T> {
        let (runs, n) = (self.runs, self.n);
        let steps = targets.len() / runs;
        let mut squared_error = vec![T::zero(); runs];
        let mut outputs = Vec::with_capacity(if keep_outputs { runs * steps } else { 0 });
        // Rates by neuron, the runs side by side in groups of LANES (the last group padded
        // with zeros), `[group][neuron][lane]`: one pass over M drives a group's runs at once,
        // a fixed-width sum that vectorises.
        let groups = runs.div_ceil(LANES);
        let at = |run: usize, i: usize| ((run / LANES) * n + i) * LANES + run % LANES;
        let mut by_neuron = vec![T::zero(); groups * n * LANES];
        let mut rates = vec![T::zero(); n];
        let keep = T::one() - self.leak;
        // tanh of each state, once: a step's rates are the next step's starting rates.
        for run in 0..runs {
            rates.copy_from_slice(&self.state[run * n..(run + 1) * n]);
            T::tanh_all(&mut rates);
            for (i, &r) in rates.iter().enumerate() {
                by_neuron[at(run, i)] = r;
            }
        }
        for t in 0..steps {
            for group in 0..groups {
                let rates_of = &by_neuron[group * n * LANES..(group + 1) * n * LANES];
                let lanes = LANES.min(runs - group * LANES);
                for j in 0..n {
                    let mut drive = [T::zero(); LANES];
                    let (rows, values) = self.recurrent.column(j);
                    for (&i, &m) in rows.iter().zip(values) {
                        let from = &rates_of[i as usize * LANES..(i as usize + 1) * LANES];
                        for lane in 0..LANES {
                            drive[lane] = drive[lane] + from[lane] * m;
                        }
                    }
                    for (lane, &d) in drive.iter().enumerate().take(lanes) {
                        let run = group * LANES + lane;
                        let x = &mut self.state[run * n + j];
                        let total = d + self.output[run] * self.feedback[j];
                        *x = *x * keep + total * self.leak;
                    }
                }
            }
            for run in 0..runs {
                rates.copy_from_slice(&self.state[run * n..(run + 1) * n]);
                T::tanh_all(&mut rates);
                for (i, &r) in rates.iter().enumerate() {
                    by_neuron[at(run, i)] = r;
                }
                let weights = &mut self.weights[run * n..(run + 1) * n];
                let z = rates
                    .iter()
                    .zip(weights.iter())
                    .fold(T::zero(), |sum, (&r, &w)| sum + r * w);
                self.output[run] = z;
                let error = targets[run * steps + t] - z;
                squared_error[run] = squared_error[run] + error * error;
                if keep_outputs {
                    outputs.push(z);
                }
                let Some(every) = learn_every else { continue };
                if !(t + 1).is_multiple_of(every) {
                    continue;
                }
                let seen = match noise {
                    Some(noise) => error + noise[run * steps + t],
                    None => error,
                };
                let variance = &mut self.variance[run * n..(run + 1) * n];
                for ((w, s), &r) in weights.iter_mut().zip(variance.iter_mut()).zip(&rates) {
                    let rate = *s / error_variance + self.fixed_rate[run];
                    *w = *w + rate * r * seen;
                    let shrink = (*s * *s) * (r * r);
                    *s = (*s - shrink / error_variance).max(T::zero());
                }
            }
        }
        RunsRecord {
            squared_error,
            outputs,
        }
    }
}

fn host_period<B: Backend, T: Real>(run: ClosedLoop<'_, B>) -> Period<B> {
    let ClosedLoop {
        network,
        readout,
        state,
        output,
        targets,
        mode,
        keep_outputs,
    } = run;
    let [networks, runs, n] = state.dims();
    let steps = targets.dims()[2];
    let device = state.device();
    let recurrent = host_vec::<B, 3, T>(network.recurrent.val());
    let feedback = host_pieces(network.feedback.val(), n);
    let mut state = host_pieces(state, runs * n).into_iter();
    let mut output = host_pieces(output, runs).into_iter();
    let mut weights = host_pieces(readout.weights.val(), runs * n).into_iter();
    let mut variance = host_pieces(readout.variance.val(), runs * n).into_iter();
    let mut fixed_rate = host_pieces(readout.fixed_rate.val(), runs).into_iter();
    let targets = host_pieces(targets.clone(), runs * steps);
    let (noise, learn_every) = match &mode {
        PeriodMode::Learn { every, noise } => (
            noise.clone().map(|noise| host_pieces(noise, runs * steps)),
            Some(*every),
        ),
        PeriodMode::Test => (None, None),
    };
    let leak = T::from(network.leak).expect("a float");
    let error_variance = T::from(readout.error_variance).expect("a float");
    let mut hosts: Vec<HostRuns<T>> = (0..networks)
        .map(|k| HostRuns {
            runs,
            n,
            leak,
            recurrent: SparseColumns::from_dense(&recurrent[k * n * n..(k + 1) * n * n], n),
            feedback: feedback[k].clone(),
            state: state.next().expect("one per network"),
            output: output.next().expect("one per network"),
            weights: weights.next().expect("one per network"),
            variance: variance.next().expect("one per network"),
            fixed_rate: fixed_rate.next().expect("one per network"),
        })
        .collect();
    let records: Vec<RunsRecord<T>> = hosts
        .par_iter_mut()
        .enumerate()
        .map(|(k, host)| {
            // A leading dimension of 1 is shared by every network, as the tensors broadcast.
            host.period(
                &targets[k.min(targets.len() - 1)],
                noise
                    .as_ref()
                    .map(|noise| noise[k.min(noise.len() - 1)].as_slice()),
                learn_every,
                error_variance,
                keep_outputs,
            )
        })
        .collect();
    // Every network's part, network after network: `[networks, runs, …]`.
    let gather = |part: fn(&HostRuns<T>) -> &Vec<T>| -> Vec<T> {
        hosts
            .iter()
            .flat_map(|host| part(host).iter().copied())
            .collect()
    };
    if learn_every.is_some() {
        let shape = [networks, runs, n];
        readout.weights =
            Param::from_tensor(tensor_from_host(gather(|h| &h.weights), shape, &device));
        readout.variance =
            Param::from_tensor(tensor_from_host(gather(|h| &h.variance), shape, &device));
    }
    let state = tensor_from_host(gather(|h| &h.state), [networks, runs, n], &device);
    let output = tensor_from_host(gather(|h| &h.output), [networks, runs, 1], &device);
    let as_f64 = |v: T| num_traits::ToPrimitive::to_f64(&v).expect("a float");
    let scale = T::from(steps).expect("a count is a float");
    let mse = records
        .iter()
        .flat_map(|record| record.squared_error.iter())
        .map(|&sum| finite_or_infinity(as_f64(sum / scale)))
        .collect();
    // Outputs step by step per run: `[networks][runs][steps]`, as each network kept them
    // step-major.
    let outputs = keep_outputs.then(|| {
        let mut all = vec![0.0; networks * runs * steps];
        for (k, record) in records.iter().enumerate() {
            for t in 0..steps {
                for run in 0..runs {
                    all[(k * runs + run) * steps + t] = as_f64(record.outputs[t * runs + run]);
                }
            }
        }
        all
    });
    Period {
        state,
        output,
        mse,
        outputs,
    }
}
