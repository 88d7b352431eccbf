//! The non-plastic baselines, truncated BPTT and global-norm clipping, on the default CPU
//! backend: gradients through the library, training through the binary.
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use plastic_models::{last_step_loss, LstmNetConfig, PatternNet, PlasticRnnConfig, RnnNetConfig};
use plastic_zoo::trainer::clip::{clip_global_norm, global_norm};

use crate::common::*;

type B = Autodiff<NdArray<f64>>;

const STEPS: usize = 9;

/// Episodes and targets of `neurons` channels, fixed by `seed`.
fn episode(neurons: usize, seed: u64) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let device = Default::default();
    B::seed(&device, seed);
    let inputs = Tensor::random(
        [1, STEPS, neurons],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let targets = Tensor::random([1, neurons], Distribution::Uniform(-1.0, 1.0), &device).sign();
    (inputs, targets)
}

/// `∂L/∂matrix` for the loss of `net` backpropagated through at most `truncate` steps.
fn gradient_of<N: PatternNet<B>>(
    net: &N,
    matrix: &Param<Tensor<B, 2>>,
    truncate: Option<usize>,
    neurons: usize,
) -> Vec<f64> {
    let (inputs, targets) = episode(neurons, 3);
    let grads = last_step_loss(net.last_outputs(inputs, truncate), targets).backward();
    matrix
        .grad(&grads)
        .expect("the matrix takes part")
        .into_data()
        .to_vec::<f64>()
        .unwrap()
}

/// The largest 2×2 minor of a `[rows, columns]` matrix, relative to its largest entry
/// squared: zero for a matrix of rank 1.
fn rank_one_defect(values: &[f64], columns: usize) -> f64 {
    let rows = values.len() / columns;
    let at = |i: usize, j: usize| values[i * columns + j];
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut worst = 0.0f64;
    for i in 0..rows {
        for k in i + 1..rows {
            for j in 0..columns {
                for l in j + 1..columns {
                    let minor = at(i, j) * at(k, l) - at(i, l) * at(k, j);
                    worst = worst.max(minor.abs());
                }
            }
        }
    }
    worst / (scale * scale)
}

/// K ≥ T is full BPTT, exactly; K = 1 leaves only the last step's product, whose gradient
/// with respect to the recurrent matrix is one outer product (rank 1), which full BPTT's is
/// not.
fn check_truncation<N: PatternNet<B>>(
    name: &str,
    net: &N,
    matrix: &Param<Tensor<B, 2>>,
    neurons: usize,
) {
    let full = gradient_of(net, matrix, None, neurons);
    for kept in [STEPS, STEPS + 4] {
        assert_eq!(
            gradient_of(net, matrix, Some(kept), neurons),
            full,
            "{name}: --truncate {kept} ≥ T must be full BPTT"
        );
    }
    let columns = matrix.val().dims()[1];
    let last_step = gradient_of(net, matrix, Some(1), neurons);
    assert!(
        rank_one_defect(&last_step, columns) < 1e-12,
        "{name}: one step kept must give an outer product"
    );
    assert!(
        rank_one_defect(&full, columns) > 1e-6,
        "{name}: full BPTT should not be rank 1 (the check would prove nothing)"
    );
    let partial = gradient_of(net, matrix, Some(4), neurons);
    assert_ne!(partial, full, "{name}: --truncate 4 must cut something");
}

#[test]
fn truncation_keeps_at_most_k_steps_in_every_bptt_network() {
    let device = Default::default();
    let neurons = 5;
    let rnn = RnnNetConfig::new(neurons)
        .with_hidden(3)
        .with_w_init_std(0.5)
        .init::<B>(1, &device);
    check_truncation("rnn", &rnn, &rnn.w, neurons);
    let lstm = LstmNetConfig::new(neurons, 7).init::<B>(2, &device);
    check_truncation("lstm", &lstm, &lstm.w_recurrent, neurons);
    let plastic = PlasticRnnConfig::new(neurons)
        .with_w_init_std(0.5)
        .with_alpha_init_scale(0.5)
        .init::<B>(3, &device);
    check_truncation("plastic-rnn", &plastic, &plastic.w, neurons);
}

#[test]
fn clipping_scales_the_whole_gradient_to_the_bound() {
    let device = Default::default();
    let neurons = 5;
    let lstm = LstmNetConfig::new(neurons, 7).init::<B>(2, &device);
    let fresh_gradients = || {
        let (inputs, targets) = episode(neurons, 4);
        let loss = last_step_loss(lstm.last_outputs(inputs, None), targets);
        GradientsParams::from_grads(loss.backward(), &lstm)
    };
    let gradients = fresh_gradients();
    let norm = global_norm::<B, _>(&lstm, &gradients);
    assert!(norm > 0.0);
    let entries = |gradients: &GradientsParams| -> Vec<f64> {
        let recurrent = gradients
            .get::<<B as burn::tensor::backend::AutodiffBackend>::InnerBackend, 2>(
                lstm.w_recurrent.id,
            )
            .unwrap();
        recurrent.into_data().to_vec::<f64>().unwrap()
    };
    let before = entries(&gradients);

    let mut loose = fresh_gradients();
    assert_eq!(
        clip_global_norm::<B, _>(&lstm, &mut loose, 2.0 * norm),
        norm
    );
    assert_eq!(
        entries(&loose),
        before,
        "a gradient within the bound is left alone"
    );

    let mut clipped = gradients;
    let bound = norm / 8.0;
    clip_global_norm::<B, _>(&lstm, &mut clipped, bound);
    let after = global_norm::<B, _>(&lstm, &clipped);
    assert!(
        (after - bound).abs() <= 1e-12 * bound,
        "norm {after} against bound {bound}"
    );
    // Every parameter scaled by the same factor: the direction is kept.
    for (a, b) in entries(&clipped).iter().zip(&before) {
        assert!((a - b / 8.0).abs() <= 1e-12 * b.abs().max(1e-300));
    }
    let _ = lstm.valid();
}

/// Training the baselines through the binary: a short run lowers the evaluation loss, the
/// run's `eval` repeats the end-of-training figures, and clipping logs the norm it clipped.
#[test]
fn baselines_train_lower_the_loss_and_evaluate_again() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    for (model, hidden) in [("rnn", "0"), ("lstm", "16")] {
        let run = |name: &str, episodes: &str| {
            zoo_ok(&[
                "train",
                model,
                "--out",
                out,
                "--run-name",
                name,
                "--neurons",
                "8",
                "--patterns",
                "2",
                "--hidden",
                hidden,
                "--episodes",
                episodes,
                "--lr",
                "0.01",
                "--eval-episodes",
                "32",
                "--grad-clip",
                "5",
            ])
        };
        let untrained = eval_numbers(&eval_line(&run("short", "1")));
        let trained_out = run("long", "150");
        let trained = eval_numbers(&eval_line(&trained_out));
        assert!(
            trained[1] < 0.97 * untrained[1],
            "{model}: 150 episodes should lower the eval loss: {untrained:?} → {trained:?}"
        );
        let dir = tmp.path().join(model).join("long");
        let again = zoo_ok(&["eval", dir.to_str().unwrap(), "--episodes", "32"]);
        assert_eq!(
            eval_line(&again),
            eval_line(&trained_out),
            "{model}: eval differs"
        );
        let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
        assert!(
            metrics.lines().all(|line| line.contains("\"grad_norm\"")),
            "{model}: a clipped run logs its gradient norms"
        );
    }
}
