//! The explicit backward passes of the feedback-alignment MLP: BP equals Burn's autodiff,
//! FA with the transposed forward weights as feedback equals BP, and FA learns.
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};
use plastic_models::feedback_alignment::{alignment_terms, angle_degrees};
use plastic_models::{Activation, Feedback, Loss, Method, Mlp, MlpConfig};

type F64 = NdArray<f64>;

fn rng() -> rand_chacha::ChaCha8Rng {
    rand::SeedableRng::seed_from_u64(7)
}
type AutodiffF64 = Autodiff<F64>;

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

// Every test here runs in f64: Burn's ndarray device keeps one float type per process.
const TOLERANCE: f64 = 1e-12;

fn assert_close(what: &str, got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "{what}");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tolerance * scale,
            "{what}: {g} against {w} (largest entry {scale})"
        );
    }
}

/// A batch of 5 inputs of 4 features and its targets: values for the squared error, one-hot
/// classes for cross-entropy.
fn batch<B: Backend>(loss: Loss, device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let input = Tensor::random([5, 4], Distribution::Normal(0.0, 1.0), device);
    let target = match loss {
        Loss::SquaredError => Tensor::random([5, 3], Distribution::Normal(0.0, 1.0), device),
        Loss::CrossEntropy => {
            let classes = [0, 2, 1, 1, 0];
            let one_hot: Vec<f64> = classes
                .iter()
                .flat_map(|&c| (0..3).map(move |k| if k == c { 1.0 } else { 0.0 }))
                .collect();
            Tensor::from_data(TensorData::new(one_hot, [5, 3]), device)
        }
    };
    (input, target)
}

fn angle(a: Tensor<F64, 2>, b: Tensor<F64, 2>) -> f64 {
    let terms = values(alignment_terms(a, b));
    angle_degrees([terms[0], terms[1], terms[2]])
}

#[test]
fn explicit_backprop_equals_autodiff() {
    let device = Default::default();
    for activation in [Activation::Tanh, Activation::Relu, Activation::Sigmoid] {
        for loss in [Loss::SquaredError, Loss::CrossEntropy] {
            AutodiffF64::seed(&device, 11);
            let config = MlpConfig::new(4, vec![6, 5], 3, activation);
            let mlp = config.init::<AutodiffF64>(&mut rng(), &device);
            let (input, target) = batch::<AutodiffF64>(loss, &device);
            let pass = mlp.forward_pass(input);
            let (value, _) = Mlp::loss_and_error(&pass, target.clone(), loss);
            let gradients = value.backward();

            let inner = mlp.valid();
            let pass = inner.forward_pass(pass.activities[0].clone().inner());
            let (_, error) = Mlp::loss_and_error(&pass, target.inner(), loss);
            let explicit = inner.updates(&pass, error, None);
            for (l, layer) in mlp.layers.iter().enumerate() {
                let what = format!("{activation:?} {loss:?} layer {l}");
                let weight = layer.weight.grad(&gradients).unwrap();
                assert_close(
                    &format!("{what} weight"),
                    &values(explicit.weights[l].clone()),
                    &values(weight),
                    TOLERANCE,
                );
                let bias = layer.bias.as_ref().unwrap().grad(&gradients).unwrap();
                assert_close(
                    &format!("{what} bias"),
                    &values(explicit.biases[l].clone()),
                    &values(bias),
                    TOLERANCE,
                );
            }
        }
    }
}

#[test]
fn feedback_alignment_through_the_transposed_weights_is_backprop() {
    let device = Default::default();
    F64::seed(&device, 5);
    let config = MlpConfig::new(4, vec![6, 5], 3, Activation::Tanh);
    let mlp = config.init::<F64>(&mut rng(), &device);
    let (input, target) = batch::<F64>(Loss::SquaredError, &device);
    let pass = mlp.forward_pass(input);
    let (_, error) = Mlp::loss_and_error(&pass, target, Loss::SquaredError);
    let transposed = Feedback {
        method: Method::Fa,
        matrices: (1..mlp.layers.len())
            .map(|l| mlp.layers[l].weight.val().transpose())
            .collect(),
    };
    let fa = mlp.updates(&pass, error.clone(), Some(&transposed));
    let bp = mlp.updates(&pass, error.clone(), None);
    for l in 0..mlp.layers.len() {
        assert_eq!(
            values(fa.weights[l].clone()),
            values(bp.weights[l].clone()),
            "layer {l}"
        );
        assert_eq!(values(fa.biases[l].clone()), values(bp.biases[l].clone()));
        let angle = angle(fa.weights[l].clone(), bp.weights[l].clone());
        assert!(angle < 1e-4, "layer {l}: {angle}°");
    }

    // With random feedback the hidden updates differ from the gradient, the output's does not.
    let random = config.feedback::<F64>(Method::Fa, &mut rng(), &device);
    let fa = mlp.updates(&pass, error.clone(), Some(&random));
    assert_eq!(values(fa.weights[2].clone()), values(bp.weights[2].clone()));
    let angle = angle(fa.weights[0].clone(), bp.weights[0].clone());
    assert!(angle > 1.0, "a random feedback matrix gave {angle}°");

    // DFA through the output layer's transposed weights, with one hidden layer, is BP too.
    let shallow = MlpConfig::new(4, vec![6], 3, Activation::Relu).init::<F64>(&mut rng(), &device);
    let pass = shallow.forward_pass(pass.activities[0].clone());
    let (_, error) = Mlp::loss_and_error(&pass, Tensor::zeros([5, 3], &device), Loss::SquaredError);
    let direct = Feedback {
        method: Method::Dfa,
        matrices: vec![shallow.layers[1].weight.val().transpose()],
    };
    let dfa = shallow.updates(&pass, error.clone(), Some(&direct));
    let bp = shallow.updates(&pass, error, None);
    assert_eq!(
        values(dfa.weights[0].clone()),
        values(bp.weights[0].clone())
    );
}

#[test]
fn a_short_fa_run_lowers_the_loss_on_a_synthetic_classification() {
    type B = F64;
    let device = Default::default();
    B::seed(&device, 3);
    // Three Gaussian clusters in 8 dimensions, 60 points each.
    let centres = Tensor::<B, 2>::random([3, 8], Distribution::Normal(0.0, 2.0), &device);
    let noise = Tensor::<B, 2>::random([180, 8], Distribution::Normal(0.0, 1.0), &device);
    let classes: Vec<usize> = (0..180).map(|i| i % 3).collect();
    let picks: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    let input =
        centres.select(0, Tensor::from_data(TensorData::new(picks, [180]), &device)) + noise;
    let one_hot: Vec<f64> = classes
        .iter()
        .flat_map(|&c| (0..3).map(move |k| if k == c { 1.0 } else { 0.0 }))
        .collect();
    let target = Tensor::<B, 2>::from_data(TensorData::new(one_hot, [180, 3]), &device);
    let config = MlpConfig::new(8, vec![32, 32], 3, Activation::Tanh);
    for method in [Method::Fa, Method::Dfa] {
        let mut mlp = config.init::<B>(&mut rng(), &device);
        let feedback = config.feedback::<B>(method, &mut rng(), &device);
        let loss_now = |mlp: &Mlp<B>| {
            let pass = mlp.forward_pass(input.clone());
            values(Mlp::loss_and_error(&pass, target.clone(), Loss::CrossEntropy).0)[0]
        };
        let before = loss_now(&mlp);
        for _ in 0..50 {
            let pass = mlp.forward_pass(input.clone());
            let (_, error) = Mlp::loss_and_error(&pass, target.clone(), Loss::CrossEntropy);
            let updates = mlp.updates(&pass, error, Some(&feedback));
            mlp.step(&updates, 0.1);
        }
        let after = loss_now(&mlp);
        assert!(
            after < 0.5 * before,
            "{method:?}: cross-entropy {before} before, {after} after 50 steps"
        );
    }
}
