//! The fused host loop of FORCE against the tensor version, in f64: two networks of a batch
//! learning by RLS, then running free, must give the same outputs, updates, state, readout
//! and P.

use burn::backend::NdArray;
use burn::tensor::Tensor;

use super::ForceNetworks;
use crate::{Kernels, NetworkDraw, RateNetworkConfig};

type B = NdArray<f64>;

fn values(tensor: Tensor<B, 3>) -> Vec<f64> {
    tensor.into_data().to_vec::<f64>().unwrap()
}

fn largest_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_host_loop_runs_the_same_closed_loop_and_rls_as_the_tensor_operations() {
    // 130 neurons: not a multiple of the eight lanes of the host's dot products.
    let shape = RateNetworkConfig {
        neurons: 130,
        connectivity: 0.2,
        dt: 0.1,
        tau: 1.0,
        feedback: true,
    };
    let draws = [
        NetworkDraw { seed: 3, gain: 1.5 },
        NetworkDraw { seed: 4, gain: 1.2 },
    ];
    let fresh = || ForceNetworks::<B>::new(&shape, &draws, 1.0, 0.5, 7, &Default::default());
    let target = |k: usize| (k as f64 * 0.1 / 8.0).sin();
    let mut runs = [
        (Kernels::Tensor, fresh().unwrap()),
        (Kernels::Host, fresh().unwrap()),
    ];
    let stretches: Vec<_> = runs
        .iter_mut()
        .map(|(kernels, networks)| {
            // Learning, across two calls (an update pending at the end of the first), then
            // free running.
            let first = networks.advance_on(*kernels, 0, 151, Some(2), target);
            let second = networks.advance_on(*kernels, 151, 400, Some(2), target);
            let free = networks.advance_on(*kernels, 400, 500, None, target);
            [first, second, free]
        })
        .collect();
    for (tensor, host) in stretches[0].iter().zip(&stretches[1]) {
        let to_f64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        let outputs = largest_difference(&to_f64(&tensor.outputs), &to_f64(&host.outputs));
        assert!(outputs < 1e-6, "outputs differ by {outputs}");
        assert_eq!(tensor.weight_changes.len(), host.weight_changes.len());
        let changes = largest_difference(
            &to_f64(&tensor.weight_changes),
            &to_f64(&host.weight_changes),
        );
        assert!(changes < 1e-6, "|Δw| differ by {changes}");
    }
    assert_eq!(stretches[1][0].weight_changes.len(), 2 * 75);
    assert!(stretches[1][2].weight_changes.is_empty());
    let [(_, tensor), (_, host)] = &runs;
    for (name, a, b) in [
        ("x", tensor.state.val(), host.state.val()),
        ("z", tensor.output.val(), host.output.val()),
        (
            "w",
            tensor.readout.weights.val(),
            host.readout.weights.val(),
        ),
        (
            "P",
            tensor.readout.inverse_correlation.val(),
            host.readout.inverse_correlation.val(),
        ),
    ] {
        let difference = largest_difference(&values(a), &values(b));
        assert!(difference < 1e-9, "{name} differs by {difference}");
    }
}

#[test]
fn the_host_loop_gives_the_same_numbers_on_any_number_of_threads() {
    let shape = RateNetworkConfig {
        neurons: 150,
        connectivity: 0.1,
        dt: 0.1,
        tau: 1.0,
        feedback: true,
    };
    let draws = [NetworkDraw { seed: 1, gain: 1.5 }];
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut networks =
                ForceNetworks::<B>::new(&shape, &draws, 1.0, 0.5, 2, &Default::default()).unwrap();
            let target = |k: usize| (k as f64 * 0.1 / 6.0).sin();
            let stretch = networks.advance_on(Kernels::Host, 0, 300, Some(2), target);
            let inverse = networks.readout.inverse_correlation.val().into_data();
            (
                stretch.outputs,
                stretch.weight_changes,
                inverse.to_vec::<f64>().unwrap(),
            )
        })
    };
    let one = run(1);
    for threads in [2, 3, 5] {
        // Bit for bit: any change in the order of a sum shows.
        assert!(run(threads) == one, "{threads} threads differ from one");
    }
}
