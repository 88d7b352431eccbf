//! The explicit backward passes of the feedback-alignment MLP: BP equals Burn's autodiff,
//! FA with the transposed forward weights as feedback equals BP, and FA learns.

use crate::feedback_alignment::{alignment_terms, angle_degrees};
use crate::{Activation, Feedback, Loss, Method, Mlp, MlpConfig};
use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};

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

/// With two hidden layers FA and DFA are different algorithms: give DFA's first matrix the
/// product of FA's two (`D₁ = B₂·B₁`, the same path from the output error), and the first
/// layer's updates still differ, by the second hidden layer's derivative that FA's error
/// passes through and DFA's skips. The output layer's update is the same.
#[test]
fn fa_and_dfa_differ_with_two_hidden_layers() {
    type B = F64;
    let device = Default::default();
    B::seed(&device, 5);
    let config = MlpConfig::new(4, vec![6, 5], 3, Activation::Tanh);
    let mlp = config.init::<B>(&mut rng(), &device);
    let fa = config.feedback::<B>(Method::Fa, &mut rng(), &device);
    let through_both = fa.matrices[1].clone().matmul(fa.matrices[0].clone());
    let dfa = Feedback {
        method: Method::Dfa,
        matrices: vec![through_both, fa.matrices[1].clone()],
    };
    let (input, target) = batch::<B>(Loss::SquaredError, &device);
    let pass = mlp.forward_pass(input);
    let (_, error) = Mlp::loss_and_error(&pass, target, Loss::SquaredError);
    let by_fa = mlp.updates(&pass, error.clone(), Some(&fa));
    let by_dfa = mlp.updates(&pass, error, Some(&dfa));
    assert_close(
        "output layer",
        &values(by_fa.weights[2].clone()),
        &values(by_dfa.weights[2].clone()),
        TOLERANCE,
    );
    assert_close(
        "second hidden layer (the same matrix from the output error)",
        &values(by_fa.weights[1].clone()),
        &values(by_dfa.weights[1].clone()),
        TOLERANCE,
    );
    let (first_fa, first_dfa) = (
        values(by_fa.weights[0].clone()),
        values(by_dfa.weights[0].clone()),
    );
    let scale = first_fa.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let apart = first_fa
        .iter()
        .zip(&first_dfa)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        apart > 0.05 * scale,
        "the first layer's updates should differ: {apart} apart at scale {scale}"
    );
}

/// Points of [−1, 1]² labelled by the sign of x₀·x₁ (continuous XOR), as one-hot classes.
fn continuous_xor<B: Backend>(points: usize, device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let input = Tensor::<B, 2>::random([points, 2], Distribution::Uniform(-1.0, 1.0), device);
    let xy = values(input.clone());
    let one_hot: Vec<f64> = xy
        .chunks(2)
        .flat_map(|p| {
            if p[0] * p[1] > 0.0 {
                [1.0, 0.0]
            } else {
                [0.0, 1.0]
            }
        })
        .collect();
    (
        input,
        Tensor::from_data(TensorData::new(one_hot, [points, 2]), device),
    )
}

/// The fraction of points whose larger logit is not their class.
fn classification_error<B: Backend>(
    mlp: &Mlp<B>,
    input: Tensor<B, 2>,
    target: Tensor<B, 2>,
) -> f64 {
    let predicted = values(mlp.forward(input).argmax(1).float());
    let wanted = values(target.argmax(1).float());
    let wrong = predicted
        .iter()
        .zip(&wanted)
        .filter(|(p, w)| p != w)
        .count();
    wrong as f64 / wanted.len() as f64
}

/// Continuous XOR needs a hidden layer that learns: with its feedback zeroed (the hidden layer
/// kept at its random weights, only the output layer learning) the net stays far from it;
/// through FA's random feedback the hidden layer learns and the net solves it.
#[test]
fn fa_hidden_feedback_solves_what_the_output_layer_alone_cannot() {
    type B = F64;
    let device = Default::default();
    B::seed(&device, 11);
    let (input, target) = continuous_xor::<B>(200, &device);
    let config = MlpConfig::new(2, vec![4], 2, Activation::Tanh);
    let train = |feedback: &Feedback<B>| {
        let mut mlp = config.init::<B>(&mut rng(), &device);
        for _ in 0..STEPS {
            let pass = mlp.forward_pass(input.clone());
            let (_, error) = Mlp::loss_and_error(&pass, target.clone(), Loss::CrossEntropy);
            let updates = mlp.updates(&pass, error, Some(feedback));
            mlp.step(&updates, 0.5);
        }
        classification_error(&mlp, input.clone(), target.clone())
    };
    const STEPS: usize = 2000;
    let fa = config.feedback::<B>(Method::Fa, &mut rng(), &device);
    let silent = Feedback {
        method: Method::Fa,
        matrices: fa.matrices.iter().map(|m| m.zeros_like()).collect(),
    };
    let (learned, frozen) = (train(&fa), train(&silent));
    eprintln!("continuous XOR: FA {learned}, output layer alone {frozen}");
    assert!(learned < 0.1, "FA left {learned} of the points wrong");
    assert!(
        frozen > 0.25,
        "the output layer alone got all but {frozen} right"
    );
}

/// FA's hidden update starts at a random angle to the true gradient and aligns with it as
/// the forward weights come to follow the fixed feedback: on three Gaussian clusters it starts
/// above 90° (103°) and averages below 70° over the last 20 of 200 updates (61°).
#[test]
fn the_fa_update_comes_to_align_with_the_gradient() {
    type B = F64;
    let device = Default::default();
    B::seed(&device, 3);
    let centres = Tensor::<B, 2>::random([3, 8], Distribution::Normal(0.0, 2.0), &device);
    let noise = Tensor::<B, 2>::random([180, 8], Distribution::Normal(0.0, 1.0), &device);
    let picks: Vec<i64> = (0..180).map(|i| (i % 3) as i64).collect();
    let input =
        centres.select(0, Tensor::from_data(TensorData::new(picks, [180]), &device)) + noise;
    let one_hot: Vec<f64> = (0..180)
        .flat_map(|i| (0..3).map(move |k| if k == i % 3 { 1.0 } else { 0.0 }))
        .collect();
    let target = Tensor::<B, 2>::from_data(TensorData::new(one_hot, [180, 3]), &device);
    let config = MlpConfig::new(8, vec![32], 3, Activation::Tanh);
    let mut mlp = config.init::<B>(&mut rng(), &device);
    let feedback = config.feedback::<B>(Method::Fa, &mut rng(), &device);
    let mut angles = Vec::new();
    for _ in 0..200 {
        let pass = mlp.forward_pass(input.clone());
        let (_, error) = Mlp::loss_and_error(&pass, target.clone(), Loss::CrossEntropy);
        let updates = mlp.updates(&pass, error.clone(), Some(&feedback));
        let gradient = mlp.updates(&pass, error, None);
        angles.push(angle(
            updates.weights[0].clone(),
            gradient.weights[0].clone(),
        ));
        mlp.step(&updates, 0.1);
    }
    eprintln!(
        "FA angles every 20 updates: {:?}",
        angles
            .iter()
            .step_by(20)
            .map(|a| a.round())
            .collect::<Vec<_>>()
    );
    assert!(
        angles[0] > 90.0,
        "the first angle {} is already aligned",
        angles[0]
    );
    let last = angles[180..].iter().sum::<f64>() / 20.0;
    assert!(last < 70.0, "the last 20 angles average {last}°");
}

#[test]
fn the_host_loops_learn_as_the_tensor_operations_do() {
    use crate::MlpLearner;
    let device = Default::default();
    let cases = [
        (Method::Bp, Loss::SquaredError, Activation::Tanh),
        (Method::Fa, Loss::SquaredError, Activation::Relu),
        (Method::Dfa, Loss::CrossEntropy, Activation::Sigmoid),
        (Method::Fa, Loss::CrossEntropy, Activation::Tanh),
    ];
    for (method, loss, activation) in cases {
        // Burn's sigmoid runs in f32 whatever the backend's float type (burn-backend's
        // default `sigmoid`), so against it the f64 host loop agrees to f32's precision.
        let tolerance = match activation {
            Activation::Sigmoid => 1e-6,
            _ => TOLERANCE,
        };
        let config = MlpConfig::new(4, vec![6, 5], 3, activation);
        let learner = || MlpLearner::<F64>::new(&config, method, 0.1, loss, &mut rng(), &device);
        let (mut on_tensors, mut on_host) = (learner(), learner());
        for step in 0..6 {
            let (input, target) = batch::<F64>(loss, &device);
            let host = |t: &Tensor<F64, 2>| -> Vec<f32> {
                values(t.clone()).iter().map(|&v| v as f32).collect()
            };
            // The host takes f32 values: the tensor side gets the same, rounded, numbers.
            let (input_values, target_values) = (host(&input), host(&target));
            let widen = |v: &[f32], shape: [usize; 2]| {
                let wide: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
                Tensor::<F64, 2>::from_data(TensorData::new(wide, shape), &device)
            };
            let (input, target) = (
                widen(&input_values, input.dims()),
                widen(&target_values, target.dims()),
            );
            let case = format!("{method:?} {loss:?} {activation:?} step {step}");
            // Step 3 runs on tensors on both sides: the host copy hands its weights back.
            if step == 3 {
                on_host.update(input.clone(), target.clone(), false);
                on_tensors.update(input, target, false);
                continue;
            }
            let (want_loss, want_terms) = on_tensors.update(input, target, true);
            let (got_loss, got_terms) = on_host.update_on_host(&input_values, &target_values, true);
            assert_close(&case, &[got_loss], &values(want_loss), tolerance);
            match (got_terms, want_terms) {
                (Some(got), Some(want)) => assert_close(&case, &got, &values(want), tolerance),
                (None, None) => assert_eq!(method, Method::Bp, "{case}"),
                _ => panic!("{case}: one side measured the angles, the other did not"),
            }
        }
        let (want, got) = (on_tensors.mlp(), on_host.mlp());
        for (l, (want, got)) in want.layers.iter().zip(&got.layers).enumerate() {
            let what = format!("{method:?} {loss:?} layer {l}");
            assert_close(
                &what,
                &values(got.weight.val()),
                &values(want.weight.val()),
                tolerance,
            );
            let bias = |layer: &burn::nn::Linear<F64>| values(layer.bias.as_ref().unwrap().val());
            assert_close(&what, &bias(got), &bias(want), tolerance);
        }
    }
}
