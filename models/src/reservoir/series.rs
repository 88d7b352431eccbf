//! An echo-state network on one time series, as reservoirpy's README benchmark uses it: the
//! reservoir is driven once by the whole series from a zero state, the readout is fitted in
//! closed form on the states of the training steps, and scored one step ahead on the rest
//! and in closed loop from the first test step.

use burn::tensor::backend::Backend;

use super::{host_tensor, EchoStateNetwork, Readout, ReservoirError};
use crate::kernels::{host_vec, Kernels};

/// Where a driven series is cut: the states before `warmup` are discarded, those of
/// `[warmup, split)` fit the readout, those from `split` on test it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesSplit {
    /// The first state the readout is fitted on.
    pub warmup: usize,
    /// The first test step.
    pub split: usize,
}

/// The root-mean-square difference of two equally long sequences.
pub fn rmse(predicted: &[f64], target: &[f64]) -> f64 {
    let sum: f64 = predicted
        .iter()
        .zip(target)
        .map(|(p, t)| (p - t).powi(2))
        .sum();
    (sum / target.len() as f64).sqrt()
}

/// A fitted readout's one-step predictions over every step of a driven series.
#[derive(Debug, Clone)]
pub struct SeriesFit<B: Backend> {
    /// The reservoir with its fitted readout.
    pub network: EchoStateNetwork<B>,
    /// The readout of every state, `[steps][outputs]`, row-major.
    pub predicted: Vec<f64>,
}

impl<B: Backend> EchoStateNetwork<B> {
    /// The reservoir's states after each input of `inputs` (`[steps][inputs]`, row-major)
    /// from a zero state, as host rows `[steps][units]`.
    pub fn drive(&self, inputs: &[f64], kernels: Kernels) -> Vec<f64> {
        let device = self.reservoir.recurrent.device();
        let steps = inputs.len() / self.reservoir.input.dims()[0];
        let inputs = host_tensor::<B, 2>(
            inputs.to_vec(),
            [steps, self.reservoir.input.dims()[0]],
            &device,
        );
        let (states, _) = self
            .reservoir
            .run_on(inputs, self.reservoir.zero_state(), kernels);
        host_vec(states)
    }

    /// Fits the readout by ridge regression to map the states of `split`'s training steps to
    /// their `targets` (`[steps][outputs]`, row-major; the target of a step is what its state
    /// should predict), and reads out every state.
    pub fn fit_series(
        self,
        states: &[f64],
        targets: &[f64],
        split: SeriesSplit,
        ridge: f64,
    ) -> Result<SeriesFit<B>, ReservoirError> {
        let (units, outputs) = (self.reservoir.units(), self.readout_weights.dims()[1]);
        let readout = Readout::fit(
            &states[split.warmup * units..split.split * units],
            &targets[split.warmup * outputs..split.split * outputs],
            units,
            outputs,
            ridge,
        )?;
        Ok(SeriesFit {
            predicted: readout.apply(states),
            network: self.with_readout(&readout),
        })
    }

    /// The network's readout of host state rows (`[steps][units]`, as
    /// [`EchoStateNetwork::drive`] gives them): `[steps][outputs]`, row-major.
    pub fn read_states(&self, states: &[f64]) -> Vec<f64> {
        let units = self.reservoir.units();
        let device = self.reservoir.recurrent.device();
        let rows = host_tensor::<B, 2>(states.to_vec(), [states.len() / units, units], &device);
        host_vec(self.read(rows))
    }

    /// The RMSE of `steps` closed-loop predictions from the state before the test set
    /// (`states` as [`EchoStateNetwork::drive`] gives them) against the series' `targets`.
    ///
    /// # Panics
    /// When `split` is 0 (no state precedes the test set) or `targets` ends before
    /// `split − 1 + steps`.
    pub fn closed_loop_rmse(
        &self,
        states: &[f64],
        targets: &[f64],
        split: usize,
        steps: usize,
    ) -> f64 {
        let units = self.reservoir.units();
        let device = self.reservoir.recurrent.device();
        let state = host_tensor::<B, 2>(
            states[(split - 1) * units..split * units].to_vec(),
            [1, units],
            &device,
        );
        let predicted: Vec<f64> = host_vec(self.generate(state, steps));
        // The state after input split − 1 predicts its target, the series' value at split.
        rmse(&predicted, &targets[split - 1..split - 1 + steps])
    }
}
