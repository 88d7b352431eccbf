//! Neuromodulated plasticity: the BPTT gradient of a modulated plastic RNN against central
//! finite differences in f64, for every parameter the modulation adds and those it acts on;
//! training through the binary.
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};
use plastic_models::{last_step_loss, Modulation, PlasticRnn, PlasticRnnConfig};

use crate::common::*;

type Inner = NdArray<f64>;
type B = Autodiff<Inner>;

const NEURONS: usize = 4;
const STEPS: usize = 5;

fn episode<Bk: Backend>() -> (Tensor<Bk, 3>, Tensor<Bk, 2>) {
    let device = Default::default();
    Bk::seed(&device, 11);
    let inputs = Tensor::random(
        [2, STEPS, NEURONS],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let targets = Tensor::random([2, NEURONS], Distribution::Uniform(-1.0, 1.0), &device).sign();
    (inputs, targets)
}

/// Which parameter to perturb.
#[derive(Debug, Clone, Copy)]
enum Which {
    W,
    Alpha,
    Modulation,
    EligibilityRate,
}

fn values<Bk: Backend, const D: usize>(tensor: Tensor<Bk, D>) -> Vec<f64> {
    tensor.into_data().to_vec::<f64>().unwrap()
}

fn with_entry<const D: usize>(
    param: &Param<Tensor<Inner, D>>,
    index: usize,
    delta: f64,
) -> Param<Tensor<Inner, D>> {
    let tensor = param.val();
    let shape = tensor.shape();
    let mut entries = values(tensor);
    entries[index] += delta;
    Param::from_tensor(Tensor::from_data(
        TensorData::new(entries, shape),
        &Default::default(),
    ))
}

fn loss_of(model: &PlasticRnn<Inner>) -> f64 {
    let (inputs, targets) = episode::<Inner>();
    values(last_step_loss(model.forward(inputs), targets))[0]
}

/// `∂L/∂θ_index` by central differences.
fn finite_difference(model: &PlasticRnn<Inner>, which: Which, index: usize) -> f64 {
    let step = 1e-6;
    let shifted = |delta: f64| {
        let mut m = model.clone();
        match which {
            Which::W => m.w = with_entry(&model.w, index, delta),
            Which::Alpha => m.alpha = with_entry(&model.alpha, index, delta),
            Which::Modulation => {
                m.modulation_weights = Some(with_entry(
                    model.modulation_weights.as_ref().unwrap(),
                    index,
                    delta,
                ))
            }
            Which::EligibilityRate => {
                m.eligibility_rate = Some(with_entry(
                    model.eligibility_rate.as_ref().unwrap(),
                    index,
                    delta,
                ))
            }
        }
        loss_of(&m)
    };
    (shifted(step) - shifted(-step)) / (2.0 * step)
}

fn check(modulation: Modulation) {
    let config = PlasticRnnConfig::new(NEURONS)
        .with_bias_neuron(true)
        .with_w_init_std(0.6)
        .with_alpha_init_scale(0.6)
        .with_modulation(Some(modulation))
        .with_eligibility_rate_init(Some(0.3));
    let model = config.init::<B>(5, &Default::default());
    let (inputs, targets) = episode::<B>();
    let grads = last_step_loss(model.forward(inputs), targets).backward();
    let mut groups = vec![
        (Which::W, values(model.w.grad(&grads).unwrap())),
        (Which::Alpha, values(model.alpha.grad(&grads).unwrap())),
        (
            Which::Modulation,
            values(
                model
                    .modulation_weights
                    .as_ref()
                    .unwrap()
                    .grad(&grads)
                    .unwrap(),
            ),
        ),
    ];
    if modulation == Modulation::Retroactive {
        let rate = model
            .eligibility_rate
            .as_ref()
            .unwrap()
            .grad(&grads)
            .unwrap();
        groups.push((Which::EligibilityRate, values(rate)));
    }
    assert!(
        model.eta.grad(&grads).is_none(),
        "{modulation:?}: η takes no part in a modulated trace"
    );
    let inner = model.valid();
    for (which, autodiff) in groups {
        let largest = autodiff.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(
            largest > 1e-6,
            "{modulation:?} {which:?}: no gradient at all"
        );
        for (index, &analytic) in autodiff.iter().enumerate() {
            let numeric = finite_difference(&inner, which, index);
            assert!(
                (numeric - analytic).abs() <= 1e-6 * largest,
                "{modulation:?} {which:?}[{index}]: autodiff {analytic} vs finite difference {numeric}"
            );
        }
    }
}

#[test]
fn simple_modulation_gradient_matches_finite_differences() {
    check(Modulation::Simple);
}

#[test]
fn retroactive_modulation_gradient_matches_finite_differences() {
    check(Modulation::Retroactive);
}

#[test]
fn modulated_networks_train_and_evaluate_again() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    for modulation in ["simple", "retroactive"] {
        let trained = zoo_ok(&[
            "train",
            "plastic-rnn",
            "--out",
            out,
            "--run-name",
            modulation,
            "--neurons",
            "8",
            "--patterns",
            "2",
            "--episodes",
            "6",
            "--eval-episodes",
            "4",
            "--grad",
            "bptt",
            "--modulation",
            modulation,
        ]);
        let dir = tmp.path().join("plastic-rnn").join(modulation);
        let again = zoo_ok(&["eval", dir.to_str().unwrap(), "--episodes", "4"]);
        assert_eq!(
            eval_line(&again),
            eval_line(&trained),
            "{modulation}: eval differs"
        );
    }
    assert_ne!(
        eval_line(&zoo_ok(&[
            "eval",
            tmp.path().join("plastic-rnn/simple").to_str().unwrap(),
            "--episodes",
            "4"
        ])),
        eval_line(&zoo_ok(&[
            "eval",
            tmp.path().join("plastic-rnn/retroactive").to_str().unwrap(),
            "--episodes",
            "4"
        ])),
        "the two kinds of modulation must be different networks"
    );
}
