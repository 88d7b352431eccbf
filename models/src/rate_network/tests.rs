//! The rate network and its readout rules against hand computations and closed-form solves,
//! in f64: one step of the closed loop, the drawn weights' statistics, recursive least
//! squares against a direct ridge solve, and one classical and one Bayesian delta update.

use crate::rate_network::{
    DeltaRate, DeltaReadout, DeltaRule, NetworkDraw, RateNetwork, RateNetworkConfig, Rls,
};
use burn::backend::NdArray;
use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type B = NdArray<f64>;

fn tensor(values: &[f64], shape: [usize; 3]) -> Tensor<B, 3> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
}

fn values(tensor: Tensor<B, 3>) -> Vec<f64> {
    tensor.into_data().to_vec::<f64>().unwrap()
}

fn close(got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tolerance * (1.0 + w.abs()),
            "{got:?} against {want:?}"
        );
    }
}

#[test]
fn one_closed_loop_step_by_hand() {
    // Two neurons; M = [[0.5, -1], [2, 0]] (row: to, column: from), w_f = (1, −0.5),
    // dt/τ = 0.1.
    let network = RateNetwork::<B> {
        recurrent: Param::from_tensor(tensor(&[0.5, 2.0, -1.0, 0.0], [1, 2, 2])),
        feedback: Param::from_tensor(tensor(&[1.0, -0.5], [1, 1, 2])),
        leak: 0.1,
    };
    let x = [0.3, -0.8];
    let z = 0.7;
    let (state, rates) = network.step(tensor(&x, [1, 1, 2]), tensor(&[z], [1, 1, 1]));
    let r = [x[0].tanh(), x[1].tanh()];
    let drive = [0.5 * r[0] - r[1] + z, 2.0 * r[0] - 0.5 * z];
    let want = [0.9 * x[0] + 0.1 * drive[0], 0.9 * x[1] + 0.1 * drive[1]];
    close(&values(state), &want, 1e-15);
    close(&values(rates), &[want[0].tanh(), want[1].tanh()], 1e-15);
}

#[test]
fn drawn_weights_have_the_stated_density_and_variance() {
    let config = RateNetworkConfig {
        neurons: 400,
        connectivity: 0.1,
        dt: 0.1,
        tau: 1.0,
        feedback: true,
    };
    let device = Default::default();
    let draws = [
        NetworkDraw { seed: 3, gain: 1.5 },
        NetworkDraw { seed: 3, gain: 0.5 },
    ];
    let network = config.init::<B>(&draws, &device).unwrap();
    let weights = values(network.recurrent.val());
    let (first, second) = weights.split_at(400 * 400);
    let present: Vec<f64> = first.iter().copied().filter(|w| *w != 0.0).collect();
    let density = present.len() as f64 / first.len() as f64;
    assert!((density - 0.1).abs() < 0.005, "density {density}");
    // Var over all entries is g²/N (g²/(pN) on the p present).
    let variance = first.iter().map(|w| w * w).sum::<f64>() / first.len() as f64;
    assert!(
        (variance / (1.5f64.powi(2) / 400.0) - 1.0).abs() < 0.05,
        "variance {variance}"
    );
    // The same seed at another gain: the same connections, scaled.
    close(
        second,
        &first.iter().map(|w| w / 3.0).collect::<Vec<_>>(),
        1e-12,
    );
    let feedback = values(network.feedback.val());
    assert!(feedback.iter().all(|w| (-1.0..1.0).contains(w)));
    assert!(config.init::<B>(&[], &device).is_err());
    let refuse = |config: RateNetworkConfig| config.init::<B>(&draws, &device).is_err();
    assert!(refuse(RateNetworkConfig {
        connectivity: 0.0,
        ..config.clone()
    }));
    assert!(refuse(RateNetworkConfig {
        dt: 1.0,
        ..config.clone()
    }));
    assert!(config
        .init::<B>(
            &[NetworkDraw {
                seed: 0,
                gain: -1.0
            }],
            &device
        )
        .is_err());
}

#[test]
fn rls_reaches_the_ridge_solution() {
    // After samples r₁…r_k with targets f, w = (Σ r rᵀ + αI)⁻¹ Σ r f exactly.
    let (neurons, samples, alpha) = (6, 40, 0.5);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let rows: Vec<Vec<f64>> = (0..samples)
        .map(|_| (0..neurons).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let targets: Vec<f64> = (0..samples).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut rls = Rls::<B>::new(1, neurons, alpha, &Default::default());
    for (row, &f) in rows.iter().zip(&targets) {
        rls.update(tensor(row, [1, 1, neurons]), tensor(&[f], [1, 1, 1]));
    }
    let x = DMatrix::from_fn(samples, neurons, |i, j| rows[i][j]);
    let y = DVector::from_column_slice(&targets);
    let gram = x.transpose() * &x + DMatrix::identity(neurons, neurons) * alpha;
    let want = gram.clone().lu().solve(&(x.transpose() * y)).unwrap();
    close(&values(rls.weights.val()), want.as_slice(), 1e-10);
    // And P is the inverse of that Gram matrix.
    let inverse = gram.try_inverse().unwrap();
    let p = values(rls.inverse_correlation.val());
    close(&p, inverse.transpose().as_slice(), 1e-10);
}

#[test]
fn one_delta_update_by_hand_for_each_rule() {
    // Two runs of one network: classical η = 0.1, Bayesian η₀ = 0.2 with σ_δ² = 0.5.
    let rates = [
        DeltaRate {
            rule: DeltaRule::Classical,
            eta: 0.1,
        },
        DeltaRate {
            rule: DeltaRule::Bayesian,
            eta: 0.2,
        },
    ];
    let mut readout = DeltaReadout::<B>::new(1, 2, &rates, 0.5, &Default::default());
    readout.weights = Param::from_tensor(tensor(&[0.3, -0.1, 0.2, 0.4], [1, 2, 2]));
    let r = [0.5, -0.25, 0.8, 0.1];
    let delta = [0.4, -0.6];
    readout.update(tensor(&r, [1, 2, 2]), tensor(&delta, [1, 2, 1]));
    let sigma0 = 0.2 * 0.5;
    let eta = sigma0 / 0.5;
    let want_weights = [
        0.3 + 0.1 * r[0] * delta[0],
        -0.1 + 0.1 * r[1] * delta[0],
        0.2 + eta * r[2] * delta[1],
        0.4 + eta * r[3] * delta[1],
    ];
    close(&values(readout.weights.val()), &want_weights, 1e-15);
    let shrink = |r: f64| sigma0 - sigma0 * sigma0 * r * r / 0.5;
    close(
        &values(readout.variance.val()),
        &[0.0, 0.0, shrink(r[2]), shrink(r[3])],
        1e-15,
    );
    // A stopped run loses its weights and never learns again; the other is untouched.
    readout.stop(&[true, false]);
    readout.update(tensor(&r, [1, 2, 2]), tensor(&delta, [1, 2, 1]));
    let weights = values(readout.weights.val());
    assert_eq!(&weights[..2], &[0.0, 0.0]);
    assert!(weights[2] != want_weights[2]);
}

#[test]
fn a_period_on_the_host_follows_the_tensor_period() {
    use crate::kernels::Kernels;
    use crate::rate_network::period::{closed_loop_period, ClosedLoop, PeriodMode};
    // Two networks of 60 neurons at g = 1.5, four runs each: both rules, at rates that learn
    // within a few periods; a learning period with noise, one learning every 3rd step, then
    // a test period.
    let shape = RateNetworkConfig {
        neurons: 60,
        connectivity: 0.2,
        dt: 1.0,
        tau: 10.0,
        feedback: true,
    };
    let draws = [0, 1].map(|seed| NetworkDraw { seed, gain: 1.5 });
    let network = shape.init::<B>(&draws, &Default::default()).unwrap();
    let rates = [
        DeltaRate {
            rule: DeltaRule::Bayesian,
            eta: 1e-2,
        },
        DeltaRate {
            rule: DeltaRule::Bayesian,
            eta: 1e-3,
        },
        DeltaRate {
            rule: DeltaRule::Classical,
            eta: 1e-3,
        },
        DeltaRate {
            rule: DeltaRule::Classical,
            eta: 1e-2,
        },
    ];
    let steps = 40;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut draw = |count: usize, scale: f64| -> Vec<f64> {
        (0..count)
            .map(|_| scale * rng.random_range(-1.0..1.0))
            .collect()
    };
    // The same targets in both networks, as a run's targets are shared.
    let targets = tensor(&draw(4 * steps, 1.0), [1, 4, steps]);
    let noise = tensor(&draw(2 * 4 * steps, 0.1), [2, 4, steps]);
    let run = |kernels: Kernels| {
        let mut readout = DeltaReadout::<B>::new(2, 60, &rates, 1.0, &Default::default());
        let state = network.random_state(4, 0.5, 7);
        let output = Tensor::zeros([2, 4, 1], &Default::default());
        let modes = [
            PeriodMode::Learn {
                every: 1,
                noise: Some(noise.clone()),
            },
            PeriodMode::Learn {
                every: 3,
                noise: None,
            },
            PeriodMode::Test,
        ];
        let mut record = Vec::new();
        let (mut state, mut output) = (state, output);
        for mode in modes {
            let run = ClosedLoop {
                network: &network,
                readout: &mut readout,
                state,
                output,
                targets: &targets,
                mode,
                keep_outputs: true,
            };
            let period = closed_loop_period(run, kernels);
            record.extend(period.mse);
            record.extend(period.outputs.unwrap());
            (state, output) = (period.state, period.output);
        }
        record.extend(values(readout.weights.val()));
        record.extend(values(readout.variance.val()));
        record.extend(values(state));
        record
    };
    let (host, tensors) = (run(Kernels::Host), run(Kernels::Tensor));
    close(&host, &tensors, 1e-10);
    // The readouts learned: the weights moved.
    assert!(host.iter().any(|v| v.abs() > 1e-3));
}
