//! What every network on the pattern tasks offers the training loop: episodes in, the last
//! step's outputs out, with backpropagation through time optionally cut short.

use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// A recurrent network scored on its last step (pattern completion).
pub trait PatternNet<B: Backend> {
    /// The last step's outputs of the pattern neurons, `[batch, neurons]`, for episodes
    /// `inputs` `[batch, steps, neurons]`. With `truncate = Some(K)` the state is cut from
    /// the graph before the last K steps, so that gradients flow back through at most K
    /// steps (see [`truncation_cut`]).
    fn last_outputs(&self, inputs: Tensor<B, 3>, truncate: Option<usize>) -> Tensor<B, 2>;

    /// The same outputs when no gradient is wanted (evaluation): a network may run them on
    /// faster kernels.
    fn eval_outputs(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        self.last_outputs(inputs, None)
    }
}

/// The step before which an episode of `steps` steps, backpropagated through at most `keep`
/// steps, cuts its state from the graph; `None` when nothing is cut (`keep` ≥ `steps`).
/// The loss is on the last step, so keeping the last K steps whole loses nothing else.
pub fn truncation_cut(steps: usize, keep: Option<usize>) -> Option<usize> {
    keep.filter(|&kept| kept < steps).map(|kept| steps - kept)
}

/// The last-step loss of a batch, its outputs and the gradient of every parameter, computed
/// by a hand-written backward pass instead of the autodiff graph.
pub struct HandGradients<B: Backend> {
    /// `[1]`: [`last_step_loss`](crate::last_step_loss) of the outputs.
    pub loss: Tensor<B, 1>,
    /// The last step's outputs of the pattern neurons, `[batch, neurons]`.
    pub outputs: Tensor<B, 2>,
    /// Keyed by the parameters' ids, which a module shares with its autodiff twin: ready for
    /// the optimizer of the module being trained.
    pub gradients: GradientsParams,
}

/// A pattern network whose BPTT gradient can be computed by hand on the host: one pass over
/// each matrix per step instead of the autodiff graph's tensor operations (for the CPU
/// backends; see [`Kernels`](crate::Kernels)).
pub trait HandBptt<B: Backend>: PatternNet<B> {
    /// The loss of `outputs` against `targets` `[batch, neurons]` for episodes `inputs`,
    /// and its gradient backpropagated through at most `truncate` steps, exactly as
    /// [`PatternNet::last_outputs`] on an autodiff backend would give it.
    fn hand_bptt(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        truncate: Option<usize>,
    ) -> HandGradients<B>;
}
