//! The two phases of Lazar et al.'s experiments: a plastic phase, in which the networks
//! organise themselves on their input streams, and a readout phase, plasticity off, in which a
//! linear readout learns to predict each network's next input symbol from its binary
//! excitatory state.

use std::ops::Range;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use burn::tensor::DType;

use super::{host, Plasticity, Sorn, SornState};
use crate::kernels::{host_vec, Kernels};
use crate::logistic::LogisticFit;
use crate::reservoir::{Readout, ReservoirError};

/// One-hot symbols `[steps, networks, symbols]` of every network's stream (one symbol index
/// per step) over `steps`: uploaded once for a stretch of steps, not once per step.
pub fn one_hot_inputs<B: Backend>(
    streams: &[Vec<u8>],
    steps: Range<usize>,
    symbols: usize,
    device: &B::Device,
) -> Tensor<B, 3> {
    let (count, networks) = (steps.len(), streams.len());
    let mut values = vec![0f32; count * networks * symbols];
    for (t, step) in steps.enumerate() {
        for (network, stream) in streams.iter().enumerate() {
            values[(t * networks + network) * symbols + stream[step] as usize] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(values, [count, networks, symbols]), device)
}

/// Step `t` of [`one_hot_inputs`]: `[networks, symbols]`.
fn inputs_at<B: Backend>(inputs: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let [_, networks, symbols] = inputs.dims();
    inputs.clone().narrow(0, t, 1).reshape([networks, symbols])
}

/// How the readout phase maps a state to the next symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SymbolReadout {
    /// Multinomial logistic regression with penalty λ/2·‖W‖² on the mean cross-entropy.
    Logistic {
        /// λ.
        l2: f64,
    },
    /// Ridge regression on one-hot symbols, in closed form.
    Ridge {
        /// The ridge.
        ridge: f64,
    },
}

impl<B: Backend> Sorn<B> {
    /// The plastic phase over `inputs` ([`one_hot_inputs`]) from `state`: the last state,
    /// and each network's mean excitatory firing rate over the steps, `[networks]`.
    /// On `kernels`: the host loops of `sorn/host.rs` or the backend's tensors.
    pub fn run_plastic(
        &mut self,
        mut state: SornState<B>,
        inputs: &Tensor<B, 3>,
        plasticity: &Plasticity<B>,
        kernels: Kernels,
    ) -> (SornState<B>, Tensor<B, 1>) {
        match (kernels, self.recurrent.val().dtype()) {
            (Kernels::Tensor, _) => {}
            (Kernels::Host, DType::F64) => {
                return host::run_plastic::<B, f64>(self, state, inputs, plasticity)
            }
            (Kernels::Host, _) => {
                return host::run_plastic::<B, f32>(self, state, inputs, plasticity)
            }
        }
        let [steps, networks, _] = inputs.dims();
        let mut active = Tensor::<B, 1>::zeros([networks], &self.recurrent.device());
        for t in 0..steps {
            state = self.step(&state, inputs_at(inputs, t), Some(plasticity));
            active = active + state.excitatory.clone().mean_dim(1).reshape([networks]);
        }
        (state, active / steps.max(1) as f64)
    }

    /// The readout phase's run: plasticity off, over `inputs` from `state`. The last state,
    /// and every network's binary excitatory states, `[steps][N_E]` (one byte each).
    /// On `kernels`, as [`Self::run_plastic`].
    pub fn record(
        &mut self,
        mut state: SornState<B>,
        inputs: &Tensor<B, 3>,
        kernels: Kernels,
    ) -> (SornState<B>, Vec<Vec<u8>>) {
        match (kernels, self.recurrent.val().dtype()) {
            (Kernels::Tensor, _) => {}
            (Kernels::Host, DType::F64) => return host::record::<B, f64>(self, state, inputs),
            (Kernels::Host, _) => return host::record::<B, f32>(self, state, inputs),
        }
        let [steps, networks, _] = inputs.dims();
        let units = self.excitatory();
        let mut record = vec![vec![0u8; steps * units]; networks];
        for t in 0..steps {
            state = self.step(&state, inputs_at(inputs, t), None);
            let active: Vec<f32> = host_vec(state.excitatory.clone());
            for (k, states) in record.iter_mut().enumerate() {
                for (i, &x) in active[k * units..(k + 1) * units].iter().enumerate() {
                    states[t * units + i] = u8::from(x > 0.5);
                }
            }
        }
        (state, record)
    }
}

/// Fits `readout` on one network's first `train` binary states (`[steps][units]`) to the
/// symbols that follow them (`next`, one per step) and predicts the symbol after each later
/// state: one guess per test step.
pub fn predict_next_symbol(
    states: &[u8],
    next: &[u8],
    units: usize,
    symbols: usize,
    train: usize,
    readout: SymbolReadout,
) -> Result<Vec<usize>, ReservoirError> {
    let as_f64 = |range: Range<usize>| -> Vec<f64> {
        states[range.start * units..range.end * units]
            .iter()
            .map(|&s| f64::from(s))
            .collect()
    };
    let fitted = match readout {
        SymbolReadout::Logistic { l2 } => {
            let labels: Vec<usize> = next[..train].iter().map(|&l| usize::from(l)).collect();
            let fit = LogisticFit {
                l2,
                ..LogisticFit::default()
            };
            Readout::fit_logistic(&as_f64(0..train), &labels, units, symbols, fit)?
        }
        SymbolReadout::Ridge { ridge } => {
            let mut targets = vec![0.0; train * symbols];
            for (t, &symbol) in next[..train].iter().enumerate() {
                targets[t * symbols + usize::from(symbol)] = 1.0;
            }
            Readout::fit(&as_f64(0..train), &targets, units, symbols, ridge)?
        }
    };
    let outputs = fitted.apply(&as_f64(train..next.len()));
    Ok(outputs
        .chunks(symbols)
        .map(|row| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect())
}
