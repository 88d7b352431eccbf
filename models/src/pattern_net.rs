//! What every network on the pattern tasks offers the training loop: episodes in, the last
//! step's outputs out, with backpropagation through time optionally cut short.

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
