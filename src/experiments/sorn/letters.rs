//! The counting task's letters as the networks' input: one-hot, uploaded for a stretch of
//! steps at a time.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// One-hot letters `[steps, networks, symbols]` of every network over `steps`: uploaded once
/// for a stretch of steps, not once per step.
pub fn letter_inputs<B: Backend>(
    letters: &[Vec<u8>],
    steps: std::ops::Range<usize>,
    device: &B::Device,
) -> Tensor<B, 3> {
    let symbols = plastic_tasks::COUNTING_ALPHABET.len();
    let (count, networks) = (steps.len(), letters.len());
    let mut values = vec![0f32; count * networks * symbols];
    for (t, step) in steps.enumerate() {
        for (network, stream) in letters.iter().enumerate() {
            values[(t * networks + network) * symbols + stream[step] as usize] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(values, [count, networks, symbols]), device)
}

/// Step `t` of [`letter_inputs`]: `[networks, symbols]`.
pub fn inputs_at<B: Backend>(inputs: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let [_, networks, symbols] = inputs.dims();
    inputs.clone().narrow(0, t, 1).reshape([networks, symbols])
}
