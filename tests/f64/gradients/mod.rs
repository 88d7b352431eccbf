//! The gradients of the plastic RNN, in f64: autodiff (BPTT) equals central finite
//! differences (here), and the hand-written gradient engines (RTRL, the adjoint) equal
//! autodiff (`engines.rs`).
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use plastic_models::rtrl::{HOST_WINDOW_STEPS, WINDOW_STEPS};
use plastic_models::{
    anchor_interval, last_step_loss, HebbRule, Kernels, PlasticGradients, PlasticRnn,
    PlasticRnnConfig,
};
use plastic_zoo::experiments::plastic_rnn::compare::relative_difference;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod engines;

type Inner = NdArray<f64>;
type Diff = Autodiff<Inner>;

struct Problem {
    config: PlasticRnnConfig,
    w: Vec<f64>,
    alpha: Vec<f64>,
    eta: f64,
    inputs: Vec<f64>,
    targets: Vec<f64>,
    batch: usize,
    steps: usize,
}

fn problem(rule: HebbRule, bias_neuron: bool, zero_alpha_diagonal: bool, seed: u64) -> Problem {
    let config = PlasticRnnConfig::new(5)
        .with_rule(rule)
        .with_bias_neuron(bias_neuron)
        .with_zero_alpha_diagonal(zero_alpha_diagonal);
    problem_of(config, 2, 7, seed)
}

fn problem_of(config: PlasticRnnConfig, batch: usize, steps: usize, seed: u64) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (neurons, n) = (config.neurons, config.total_neurons());
    let [alpha_rows, alpha_cols] = config.alpha_shape();
    let mut uniform = |scale: f64, count: usize| -> Vec<f64> {
        (0..count)
            .map(|_| scale * rng.random_range(-1.0..1.0))
            .collect()
    };
    Problem {
        w: uniform(0.6, n * n),
        alpha: uniform(0.6, alpha_rows * alpha_cols),
        eta: 0.3,
        inputs: uniform(1.5, batch * steps * neurons),
        targets: uniform(1.0, batch * neurons)
            .into_iter()
            .map(f64::signum)
            .collect(),
        config,
        batch,
        steps,
    }
}

fn model<B: Backend>(p: &Problem, w: &[f64], alpha: &[f64], eta: f64) -> PlasticRnn<B> {
    let device = Default::default();
    let n = p.config.total_neurons();
    PlasticRnn {
        w: Param::from_tensor(Tensor::from_data(
            TensorData::new(w.to_vec(), [n, n]),
            &device,
        )),
        alpha: Param::from_tensor(Tensor::from_data(
            TensorData::new(alpha.to_vec(), p.config.alpha_shape()),
            &device,
        )),
        eta: Param::from_tensor(Tensor::from_data(TensorData::new(vec![eta], [1]), &device))
            .set_require_grad(p.config.learn_eta),
        modulation_weights: None,
        eligibility_rate: None,
        config: p.config.clone(),
    }
}

fn loss<B: Backend>(p: &Problem, m: &PlasticRnn<B>) -> Tensor<B, 1> {
    let (inputs, targets) = episode_tensors(p);
    last_step_loss(m.forward(inputs), targets)
}

fn episode_tensors<B: Backend>(p: &Problem) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let device = Default::default();
    let inputs = Tensor::from_data(
        TensorData::new(p.inputs.clone(), [p.batch, p.steps, p.config.neurons]),
        &device,
    );
    let targets = Tensor::from_data(
        TensorData::new(p.targets.clone(), [p.batch, p.config.neurons]),
        &device,
    );
    (inputs, targets)
}

fn loss_at(p: &Problem, w: &[f64], alpha: &[f64], eta: f64) -> f64 {
    loss::<Inner>(p, &model::<Inner>(p, w, alpha, eta))
        .into_scalar()
        .elem()
}

fn to_vec<const D: usize>(t: Tensor<Inner, D>) -> Vec<f64> {
    t.into_data().to_vec::<f64>().unwrap()
}

fn assert_close(what: &str, analytic: f64, numeric: f64) {
    let tolerance = 1e-6 * (1.0 + analytic.abs().max(numeric.abs()));
    assert!(
        (analytic - numeric).abs() <= tolerance,
        "{what}: autodiff {analytic:e} vs finite differences {numeric:e}"
    );
}

/// Central difference of the loss along one coordinate of the flattened (W, α, η).
fn finite_difference(p: &Problem, k: usize, h: f64) -> f64 {
    let mut params: Vec<f64> = p.w.iter().chain(&p.alpha).copied().chain([p.eta]).collect();
    let (nw, na) = (p.w.len(), p.alpha.len());
    let mut at = |delta: f64| {
        params[k] += delta;
        let value = loss_at(p, &params[..nw], &params[nw..nw + na], params[nw + na]);
        params[k] -= delta;
        value
    };
    (at(h) - at(-h)) / (2.0 * h)
}

fn check(rule: HebbRule, bias_neuron: bool, zero_alpha_diagonal: bool) {
    let p = problem(rule, bias_neuron, zero_alpha_diagonal, 42);
    let m = model::<Diff>(&p, &p.w, &p.alpha, p.eta);
    let grads = loss(&p, &m).backward();
    let analytic: Vec<(String, f64)> = [
        ("W", to_vec(m.w.grad(&grads).expect("W has a gradient"))),
        (
            "alpha",
            to_vec(m.alpha.grad(&grads).expect("alpha has a gradient")),
        ),
        (
            "eta",
            to_vec(m.eta.grad(&grads).expect("eta has a gradient")),
        ),
    ]
    .into_iter()
    .flat_map(|(name, values)| {
        values
            .into_iter()
            .enumerate()
            .map(move |(i, g)| (format!("{name}[{i}]"), g))
    })
    .collect();
    let mut nonzero_w = 0;
    for (k, (name, gradient)) in analytic.iter().enumerate() {
        let numeric = finite_difference(&p, k, 1e-6);
        assert_close(
            &format!("{rule:?} bias={bias_neuron} dL/d{name}"),
            *gradient,
            numeric,
        );
        nonzero_w += usize::from(k < p.w.len() && numeric.abs() > 1e-4);
    }
    let eta_numeric = finite_difference(&p, analytic.len() - 1, 1e-6);
    assert!(
        eta_numeric.abs() > 1e-4,
        "the eta gradient should not vanish in this problem"
    );
    assert!(
        nonzero_w > p.w.len() / 2,
        "most W gradients should be non-trivial"
    );
}

#[test]
fn hebb_gradient_matches_finite_differences() {
    check(HebbRule::Hebb, false, false);
}

#[test]
fn hebb_with_bias_neuron_gradient_matches_finite_differences() {
    check(HebbRule::Hebb, true, false);
}

#[test]
fn oja_gradient_matches_finite_differences() {
    check(HebbRule::Oja, false, false);
}

#[test]
fn oja_with_bias_neuron_and_no_plastic_self_connections() {
    check(HebbRule::Oja, true, true);
}

#[test]
fn masked_alpha_diagonal_gets_no_gradient() {
    let p = problem(HebbRule::Hebb, false, true, 7);
    let m = model::<Diff>(&p, &p.w, &p.alpha, p.eta);
    let grads = loss(&p, &m).backward();
    let grad_alpha = to_vec(m.alpha.grad(&grads).unwrap());
    let n = p.config.total_neurons();
    for i in 0..n {
        assert_eq!(grad_alpha[i * n + i], 0.0);
    }
    assert!(grad_alpha.iter().any(|g| g.abs() > 1e-6));
}

#[test]
fn fixed_eta_gets_no_gradient() {
    let mut p = problem(HebbRule::Hebb, false, false, 8);
    p.config.learn_eta = false;
    let m = model::<Diff>(&p, &p.w, &p.alpha, p.eta);
    let grads = loss(&p, &m).backward();
    assert!(m.eta.grad(&grads).is_none());
    assert!(m.w.grad(&grads).is_some());
}
