//! What is read out of a reservoir: a linear readout fitted by ridge regression, and the
//! echo-state network that checkpoints hold, the reservoir with its fitted readout.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::{host_tensor, Esn, ReservoirError};

/// A linear readout y = x·W + b.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readout {
    /// `[units][outputs]`, row-major.
    pub weights: Vec<f64>,
    /// `[outputs]`, unregularised.
    pub bias: Vec<f64>,
    /// Reservoir units read.
    pub units: usize,
    /// Outputs.
    pub outputs: usize,
}

impl Readout {
    /// Ridge regression on centred states and targets, so that the bias is not regularised:
    /// W = (XcᵀXc + ridge·I)⁻¹ XcᵀYc, b = ȳ − x̄·W. `states` is `[samples][units]` and
    /// `targets` `[samples][outputs]`, both row-major.
    pub fn fit(
        states: &[f64],
        targets: &[f64],
        units: usize,
        outputs: usize,
        ridge: f64,
    ) -> Result<Self, ReservoirError> {
        let samples = states.len() / units;
        if samples == 0 || targets.len() != samples * outputs {
            return Err(ReservoirError::InvalidConfig(format!(
                "{samples} states against {} target values of width {outputs}",
                targets.len()
            )));
        }
        if ridge.is_nan() || ridge < 0.0 {
            return Err(ReservoirError::InvalidConfig(format!(
                "the ridge must be 0 or more, not {ridge}"
            )));
        }
        let x = DMatrix::from_row_slice(samples, units, states);
        let y = DMatrix::from_row_slice(samples, outputs, targets);
        let x_mean = x.row_mean();
        let y_mean = y.row_mean();
        let xc = DMatrix::from_fn(samples, units, |i, j| x[(i, j)] - x_mean[j]);
        let yc = DMatrix::from_fn(samples, outputs, |i, j| y[(i, j)] - y_mean[j]);
        // As a product of the transpose, which goes through the blocked matrix multiply (tr_mul
        // takes one dot product per entry).
        let xt = xc.transpose();
        let gram = &xt * &xc + DMatrix::identity(units, units) * ridge;
        let cross = xt * yc;
        let weights = gram
            .cholesky()
            .ok_or(ReservoirError::Singular(ridge))?
            .solve(&cross);
        Ok(Self::from_centred(
            &weights,
            y_mean.as_slice(),
            x_mean.as_slice(),
        ))
    }

    /// The readout of raw states from `weights` (`units × outputs`) and `centred_bias`
    /// fitted on states less their mean: the bias becomes b − x̄·W.
    pub(crate) fn from_centred(
        weights: &DMatrix<f64>,
        centred_bias: &[f64],
        state_mean: &[f64],
    ) -> Self {
        let (units, outputs) = weights.shape();
        let bias = (0..outputs)
            .map(|o| {
                centred_bias[o]
                    - (0..units)
                        .map(|u| state_mean[u] * weights[(u, o)])
                        .sum::<f64>()
            })
            .collect();
        Self {
            weights: (0..units)
                .flat_map(|u| (0..outputs).map(move |o| weights[(u, o)]))
                .collect(),
            bias,
            units,
            outputs,
        }
    }

    /// The readout of each state row: `[samples][outputs]`, row-major.
    pub fn apply(&self, states: &[f64]) -> Vec<f64> {
        let x = DMatrix::from_row_slice(states.len() / self.units, self.units, states);
        let w = DMatrix::from_row_slice(self.units, self.outputs, &self.weights);
        let b = DVector::from_column_slice(&self.bias);
        let y = x * w;
        (0..y.nrows())
            .flat_map(|i| (0..self.outputs).map(move |o| (i, o)))
            .map(|(i, o)| y[(i, o)] + b[o])
            .collect()
    }
}

/// An echo-state network as checkpoints hold it: the reservoir and its fitted readout.
#[derive(Module, Debug)]
pub struct EchoStateNetwork<B: Backend> {
    /// The fixed reservoir.
    pub reservoir: Esn<B>,
    /// `[units, outputs]`.
    pub readout_weights: Param<Tensor<B, 2>>,
    /// `[1, outputs]`.
    pub readout_bias: Param<Tensor<B, 2>>,
}

impl<B: Backend> EchoStateNetwork<B> {
    /// A reservoir with a zero readout, before fitting.
    pub fn unfitted(reservoir: Esn<B>, outputs: usize) -> Self {
        let device = reservoir.recurrent.device();
        let units = reservoir.units();
        Self {
            reservoir,
            readout_weights: Param::from_tensor(Tensor::zeros([units, outputs], &device)),
            readout_bias: Param::from_tensor(Tensor::zeros([1, outputs], &device)),
        }
    }

    /// The network with `readout` as its readout.
    pub fn with_readout(mut self, readout: &Readout) -> Self {
        let device = self.reservoir.recurrent.device();
        self.readout_weights = Param::from_tensor(host_tensor(
            readout.weights.clone(),
            [readout.units, readout.outputs],
            &device,
        ));
        self.readout_bias = Param::from_tensor(host_tensor(
            readout.bias.clone(),
            [1, readout.outputs],
            &device,
        ));
        self
    }

    /// The readout of state rows `[samples, units]`: `[samples, outputs]`.
    pub fn read(&self, states: Tensor<B, 2>) -> Tensor<B, 2> {
        states.matmul(self.readout_weights.val()) + self.readout_bias.val()
    }

    /// Closed-loop (generative) prediction: from `state` (`[1, units]`, the reservoir after
    /// its last true input), each prediction is fed back as the next input, `steps` times.
    /// The predictions, `[steps, outputs]`; the readout must have as many outputs as the
    /// reservoir has inputs.
    pub fn generate(&self, state: Tensor<B, 2>, steps: usize) -> Tensor<B, 2> {
        let mut state = state;
        let mut predictions = Vec::with_capacity(steps);
        for _ in 0..steps {
            let prediction = self.read(state.clone());
            state = self.reservoir.step(state, prediction.clone());
            predictions.push(prediction);
        }
        Tensor::cat(predictions, 0)
    }
}
