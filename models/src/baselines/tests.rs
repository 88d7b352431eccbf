//! The hand-written BPTT of the baselines against the autodiff graph.

use burn::backend::autodiff::grads::Gradients;
use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

use super::host::outputs_on;
use super::{LstmNetConfig, RnnNetConfig};
use crate::pattern_net::{HandBptt, PatternNet};
use crate::{last_step_loss, Kernels};

type B = Autodiff<NdArray<f64>>;
type Inner = NdArray<f64>;

fn host<Be: Backend, const D: usize>(t: Tensor<Be, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

/// Episodes `[batch, steps, neurons]` of −`scale`, 0 and `scale` (pattern-like inputs)
/// and ±1 targets, fixed by `seed`.
fn episodes(shape: [usize; 3], scale: f64, seed: u64) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let device = Default::default();
    B::seed(&device, seed);
    let [batch, _, neurons] = shape;
    let inputs = Tensor::<B, 3>::random(shape, Distribution::Uniform(-1.5, 1.5), &device)
        .round()
        .mul_scalar(scale);
    let targets =
        Tensor::<B, 2>::random([batch, neurons], Distribution::Uniform(-1.0, 1.0), &device).sign();
    (inputs, targets)
}

/// Largest difference between `got` and `want`, relative to `want`'s largest entry.
fn relative_gap(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "a gradient of zeros proves nothing");
    got.iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

/// The hand-written gradient of `param` against autodiff's.
fn same_gradient<const D: usize>(
    name: &str,
    param: &Param<Tensor<B, D>>,
    autodiff: &Gradients,
    hand: &GradientsParams,
) {
    let want = host(param.grad(autodiff).expect("the parameter takes part"));
    let got = host(
        hand.get::<Inner, D>(param.id)
            .expect("a gradient for every parameter"),
    );
    let gap = relative_gap(&got, &want);
    assert!(
        gap < 1e-10,
        "{name}: hand-written and autodiff gradients differ by {gap:e}"
    );
}

/// Runs `net` both ways on the same episodes: the autodiff gradients and the hand-written
/// ones, after checking that loss and outputs agree.
fn both_ways<N>(
    net: &N,
    episodes: &(Tensor<B, 3>, Tensor<B, 2>),
    truncate: Option<usize>,
) -> (Gradients, GradientsParams)
where
    N: AutodiffModule<B> + PatternNet<B>,
    N::InnerModule: HandBptt<Inner>,
{
    let (inputs, targets) = episodes.clone();
    let outputs = net.last_outputs(inputs.clone(), truncate);
    let loss = last_step_loss(outputs.clone(), targets.clone());
    let hand = net
        .valid()
        .hand_bptt(inputs.inner(), targets.inner(), truncate);
    assert!(relative_gap(&host(hand.outputs), &host(outputs)) < 1e-12);
    assert!(relative_gap(&host(hand.loss), &host(loss.clone())) < 1e-12);
    (loss.backward(), hand.gradients)
}

#[test]
fn rnn_hand_bptt_is_the_autodiff_gradient() {
    let device = Default::default();
    for bias_neuron in [true, false] {
        let net = RnnNetConfig::new(5)
            .with_hidden(30)
            .with_bias_neuron(bias_neuron)
            .with_w_init_std(0.3)
            .init::<B>(1, &device);
        let episodes = episodes([3, 7, 5], 1.0, 2);
        for truncate in [None, Some(3), Some(1)] {
            let (autodiff, hand) = both_ways(&net, &episodes, truncate);
            same_gradient("w", &net.w, &autodiff, &hand);
        }
    }
}

#[test]
fn lstm_hand_bptt_is_the_autodiff_gradient() {
    let device = Default::default();
    for clamp_inputs in [true, false] {
        let net = LstmNetConfig::new(4, 21)
            .with_clamp_inputs(clamp_inputs)
            .init::<B>(3, &device);
        // Inputs ×100, as dp-50bit gives the LSTM: the clamped units saturate.
        let episodes = episodes([2, 6, 4], 100.0, 4);
        for truncate in [None, Some(2)] {
            let (autodiff, hand) = both_ways(&net, &episodes, truncate);
            same_gradient("w_recurrent", &net.w_recurrent, &autodiff, &hand);
            same_gradient("w_input", &net.w_input, &autodiff, &hand);
            same_gradient("bias", &net.bias, &autodiff, &hand);
        }
    }
}

#[test]
fn host_evaluation_gives_the_tensor_outputs() {
    let device = Default::default();
    let (inputs, _) = episodes([3, 5, 4], 1.0, 5);
    let inputs = inputs.inner();
    let rnn = RnnNetConfig::new(4)
        .with_hidden(9)
        .with_w_init_std(0.4)
        .init::<Inner>(6, &device);
    let lstm = LstmNetConfig::new(4, 11).init::<Inner>(7, &device);
    for (name, host_side, tensor_side) in [
        (
            "rnn",
            outputs_on(&rnn, inputs.clone(), Kernels::Host),
            outputs_on(&rnn, inputs.clone(), Kernels::Tensor),
        ),
        (
            "lstm",
            outputs_on(&lstm, inputs.clone(), Kernels::Host),
            outputs_on(&lstm, inputs.clone(), Kernels::Tensor),
        ),
    ] {
        let gap = relative_gap(&host(host_side), &host(tensor_side));
        assert!(
            gap < 1e-12,
            "{name}: host and tensor outputs differ by {gap:e}"
        );
    }
}
