//! The echo-state network's parts against hand computations and closed-form solves, in f64:
//! one reservoir step, the spectral radius of a fresh reservoir, the ridge readout, and a
//! small network predicting Mackey–Glass one step ahead.

use crate::reservoir::{spectral_radius, Esn, EsnConfig, Readout};
use crate::Kernels;
use burn::backend::NdArray;
use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use nalgebra::{DMatrix, DVector};
use plastic_tasks::MackeyGlass;

type B = NdArray<f64>;

fn tensor(values: &[f64], shape: [usize; 2]) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
}

fn values(tensor: Tensor<B, 2>) -> Vec<f64> {
    tensor.into_data().to_vec::<f64>().unwrap()
}

#[test]
fn one_reservoir_step_by_hand() {
    // Two units, one input, leak 0.3.
    let esn = Esn::<B> {
        recurrent: Param::from_tensor(tensor(&[0.5, -0.2, 0.1, 0.4], [2, 2])),
        input: Param::from_tensor(tensor(&[1.0, -1.0], [1, 2])),
        bias: Param::from_tensor(tensor(&[0.1, 0.0], [1, 2])),
        leak: 0.3,
    };
    let state = tensor(&[0.2, -0.5], [1, 2]);
    let next = values(esn.step(state, tensor(&[0.7], [1, 1])));
    // x·W = (0.2·0.5 − 0.5·0.1, 0.2·(−0.2) − 0.5·0.4) = (0.05, −0.24);
    // + u·W_in + b = (0.05 + 0.7 + 0.1, −0.24 − 0.7) = (0.85, −0.94).
    let expected = [
        0.7 * 0.2 + 0.3 * 0.85f64.tanh(),
        0.7 * -0.5 + 0.3 * (-0.94f64).tanh(),
    ];
    for (got, want) in next.iter().zip(expected) {
        assert!((got - want).abs() < 1e-15, "{got} against {want}");
    }
}

#[test]
fn a_fresh_reservoir_has_the_spectral_radius_asked_for() {
    let mut config = EsnConfig::new(60, 1);
    config.spectral_radius = 1.25;
    config.seed = 4;
    let esn = config.init::<B>(&Default::default()).unwrap();
    let recurrent = values(esn.recurrent.val());
    assert!((spectral_radius(60, &recurrent) - 1.25).abs() < 1e-9);
    let nonzero = recurrent.iter().filter(|w| **w != 0.0).count() as f64 / 3600.0;
    assert!((nonzero - 0.1).abs() < 0.03, "connectivity {nonzero}");
    let input = values(esn.input.val());
    assert!(input.iter().all(|w| *w == 0.0 || w.abs() == 1.0));
    // The same seed, the same reservoir.
    let again = config.init::<B>(&Default::default()).unwrap();
    assert_eq!(values(again.recurrent.val()), recurrent);
}

#[test]
fn bad_reservoirs_are_refused_with_the_reason() {
    let mut config = EsnConfig::new(10, 1);
    config.connectivity = 0.0;
    let error = config.init::<B>(&Default::default()).unwrap_err();
    assert!(error
        .to_string()
        .contains("connectivity must lie in (0, 1]"));
    let mut config = EsnConfig::new(0, 1);
    config.leak = 0.5;
    assert!(config.init::<B>(&Default::default()).is_err());
}

#[test]
fn the_ridge_readout_solves_the_regularised_least_squares_with_a_free_bias() {
    // 7 samples of 3 units, 2 outputs, deterministic but irregular.
    let (samples, units, outputs) = (7, 3, 2);
    let states: Vec<f64> = (0..samples * units)
        .map(|k| ((k * k * 7 + 3 * k) % 13) as f64 / 4.0 - 1.5)
        .collect();
    let targets: Vec<f64> = (0..samples * outputs)
        .map(|k| ((k * 23 % 7) as f64 - 3.0) / 2.0)
        .collect();
    let ridge = 0.3;
    let readout = Readout::fit(&states, &targets, units, outputs, ridge).unwrap();

    // The same problem as one linear system over [W; b], the bias row not penalised.
    let x = DMatrix::from_row_slice(samples, units, &states);
    let y = DMatrix::from_row_slice(samples, outputs, &targets);
    let augmented = x.clone().insert_column(units, 1.0);
    let mut penalty = DMatrix::identity(units + 1, units + 1) * ridge;
    penalty[(units, units)] = 0.0;
    let solution = (augmented.transpose() * &augmented + penalty)
        .lu()
        .solve(&(augmented.transpose() * &y))
        .unwrap();
    for u in 0..units {
        for o in 0..outputs {
            let got = readout.weights[u * outputs + o];
            assert!((got - solution[(u, o)]).abs() < 1e-12, "W[{u},{o}]");
        }
    }
    for o in 0..outputs {
        assert!(
            (readout.bias[o] - solution[(units, o)]).abs() < 1e-12,
            "b[{o}]"
        );
    }
    // And it applies as x·W + b.
    let predicted = readout.apply(&states);
    let expected = augmented * solution;
    for i in 0..samples {
        for o in 0..outputs {
            assert!((predicted[i * outputs + o] - expected[(i, o)]).abs() < 1e-12);
        }
    }
    // Without a ridge, an exactly linear target is recovered.
    let w = DVector::from_vec(vec![0.5, -1.0, 2.0]);
    let exact: Vec<f64> = (x * w).iter().map(|v| v + 0.25).collect();
    let fitted = Readout::fit(&states, &exact, units, 1, 0.0).unwrap();
    assert!((fitted.bias[0] - 0.25).abs() < 1e-10);
    assert!((fitted.weights[2] - 2.0).abs() < 1e-10);
}

#[test]
fn a_small_esn_predicts_mackey_glass_one_step_ahead() {
    // reservoirpy's README benchmark, smaller: 1000 samples, the last 20 % for testing.
    let series = MackeyGlass::default().generate(1001, 0).unwrap();
    let mut config = EsnConfig::new(50, 1);
    config.spectral_radius = 1.25;
    config.leak = 0.3;
    let esn = config.init::<B>(&Default::default()).unwrap();
    let inputs = tensor(&series[..1000], [1000, 1]);
    let (states, _) = esn.run(inputs, esn.zero_state());
    let states = values(states);
    let (warmup, split) = (100, 800);
    let readout = Readout::fit(
        &states[warmup * 50..split * 50],
        &series[warmup + 1..split + 1],
        50,
        1,
        1e-5,
    )
    .unwrap();
    let predicted = readout.apply(&states[split * 50..]);
    let target = &series[split + 1..];
    let mse = predicted
        .iter()
        .zip(target)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / target.len() as f64;
    let rmse = mse.sqrt();
    println!("one-step test RMSE {rmse:.5}");
    // The series' standard deviation is about 0.23; reservoirpy's 100-unit benchmark
    // reaches 0.002.
    assert!(rmse < 0.01, "one-step test RMSE {rmse}");
}

#[test]
fn the_host_run_equals_the_tensor_run() {
    // Dense enough (and large enough) that the host splits each step across threads.
    let mut config = EsnConfig::new(300, 1);
    config.connectivity = 0.5;
    config.spectral_radius = 1.25;
    config.leak = 0.3;
    let esn = config.init::<B>(&Default::default()).unwrap();
    let series = MackeyGlass::default().generate(200, 1).unwrap();
    let run = |kernels| {
        let (states, last) = esn.run_on(tensor(&series, [200, 1]), esn.zero_state(), kernels);
        (values(states), values(last))
    };
    let (host, host_last) = run(Kernels::Host);
    let (tensors, tensor_last) = run(Kernels::Tensor);
    assert_eq!(host.len(), 200 * 300);
    assert_eq!(host_last, host[199 * 300..]);
    for (h, t) in host
        .iter()
        .chain(&host_last)
        .zip(tensors.iter().chain(&tensor_last))
    {
        assert!((h - t).abs() < 1e-12, "host {h} vs tensor {t}");
    }
    assert!(
        host.iter().any(|x| x.abs() > 0.1),
        "the reservoir should be active"
    );
}
