//! The classic Hopfield network: storage, energy, fixed points and recall.

use crate::hopfield::{degraded, overlaps, random_patterns, sign, AsynchronousMemory, Hopfield};
use burn::backend::NdArray;
use burn::tensor::{Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

type B = NdArray<f64>;

fn host<const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

#[test]
fn storage_is_the_hebbian_outer_product_with_a_zero_diagonal() {
    let device = Default::default();
    let patterns = Tensor::<B, 2>::from_data(
        TensorData::new(vec![1.0, -1.0, 1.0, 1.0, 1.0, -1.0], [2, 3]),
        &device,
    );
    let net = Hopfield::storing(patterns).unwrap();
    // W_ij = (ξ¹_i ξ¹_j + ξ²_i ξ²_j) / 3 off the diagonal.
    let expected = [0.0, 0.0, 0.0, 0.0, 0.0, -2.0 / 3.0, 0.0, -2.0 / 3.0, 0.0];
    for (got, want) in host(net.weights.val()).iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{got} against {want}");
    }
    let states = Tensor::<B, 2>::from_data(TensorData::new(vec![1.0, 1.0, 1.0], [1, 3]), &device);
    // E = −½ sᵀWs = −½ · 2 · (−2/3) = 2/3.
    assert!((host(net.energy(states))[0] - 2.0 / 3.0).abs() < 1e-12);
    let zero = Tensor::<B, 1>::from_data(TensorData::new(vec![-0.5, 0.0, 0.5], [3]), &device);
    assert_eq!(host(sign(zero)), vec![-1.0, 1.0, 1.0]);
}

#[test]
fn energy_never_increases_under_asynchronous_updates() {
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // A heavily loaded net (P/N = 0.4), started from random states: many units flip.
    let net = Hopfield::storing(random_patterns::<B>(40, 100, &mut rng, &device)).unwrap();
    let mut states = random_patterns::<B>(8, 100, &mut rng, &device);
    let mut order: Vec<usize> = (0..100).collect();
    let mut before = host(net.energy(states.clone()));
    let mut flips = 0.0;
    for _ in 0..5 {
        order.shuffle(&mut rng);
        // Unit by unit: the energy after each single update.
        for &unit in &order {
            let next = net.asynchronous_sweep(states.clone(), &[unit]);
            flips += host((next.clone() - states).abs()).iter().sum::<f64>() / 2.0;
            let after = host(net.energy(next.clone()));
            for (a, b) in after.iter().zip(&before) {
                assert!(*a <= b + 1e-9, "energy rose from {b} to {a}");
            }
            (states, before) = (next, after);
        }
    }
    assert!(
        flips > 100.0,
        "only {flips} units flipped: the check saw little"
    );
}

#[test]
fn stored_patterns_are_fixed_points_at_low_load() {
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let patterns = random_patterns::<B>(5, 500, &mut rng, &device);
    let net = Hopfield::storing(patterns.clone()).unwrap();
    let after = net.synchronous_step(patterns.clone());
    assert_eq!(host(after), host(patterns.clone()));
    let order: Vec<usize> = (0..500).collect();
    assert_eq!(
        host(net.asynchronous_sweep(patterns.clone(), &order)),
        host(patterns)
    );
}

#[test]
fn a_pattern_is_recalled_from_a_cue_with_a_fifth_of_its_units_flipped() {
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let patterns = random_patterns::<B>(10, 500, &mut rng, &device);
    let net = Hopfield::storing(patterns.clone()).unwrap();
    let cues = degraded(patterns.clone(), 0.2, &mut rng);
    let start = host(overlaps(cues.clone(), patterns.clone()));
    assert!(start.iter().all(|m| (0.45..0.75).contains(m)), "{start:?}");
    let (settled, sweeps) = net.settle(cues, 20, &mut rng);
    assert!(sweeps < 20, "still changing after 20 sweeps");
    let end = host(overlaps(settled, patterns));
    assert!(
        end.iter().all(|&m| m == 1.0),
        "overlaps after recall: {end:?}"
    );
}

#[test]
fn patterns_that_do_not_fit_are_refused() {
    let device = Default::default();
    let empty = Tensor::<B, 2>::zeros([0, 10], &device);
    assert!(Hopfield::storing(empty).is_err());
}

#[test]
fn a_dense_memory_recalls_at_a_load_the_classic_network_cannot_hold() {
    use crate::hopfield::{DenseMemory, Interaction};
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    // P/N = 0.4, far above the classic capacity of 0.138.
    let patterns = random_patterns::<B>(40, 100, &mut rng, &device);
    let cues = degraded(patterns.clone(), 0.1, &mut rng);
    let order: Vec<usize> = (0..100).collect();
    let sweeps = |step: &dyn Fn(Tensor<B, 2>) -> Tensor<B, 2>| {
        let mut states = cues.clone();
        for _ in 0..10 {
            states = step(states);
        }
        host(overlaps(states, patterns.clone()))
    };
    let classic = Hopfield::storing(patterns.clone()).unwrap();
    let classic_end = sweeps(&|s| classic.asynchronous_sweep(s, &order));
    let classic_recalled = classic_end.iter().filter(|&&m| m == 1.0).count();
    assert!(classic_recalled < 20, "classic: {classic_end:?}");
    for interaction in [Interaction::Polynomial(3), Interaction::Exponential] {
        let dense = DenseMemory::storing(patterns.clone(), interaction).unwrap();
        let end = sweeps(&|s| dense.asynchronous_sweep(s, &order));
        assert!(end.iter().all(|&m| m == 1.0), "{interaction:?}: {end:?}");
    }
    assert!(DenseMemory::storing(patterns, Interaction::Polynomial(1)).is_err());
}

#[test]
fn a_dense_memory_never_raises_its_energy() {
    use crate::hopfield::{DenseMemory, Interaction};
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for interaction in [
        Interaction::Polynomial(2),
        Interaction::Polynomial(3),
        Interaction::Exponential,
    ] {
        let memory =
            DenseMemory::storing(random_patterns::<B>(60, 50, &mut rng, &device), interaction)
                .unwrap();
        let mut states = random_patterns::<B>(6, 50, &mut rng, &device);
        let mut before = host(memory.energy(states.clone()));
        for unit in (0..50).chain(0..50) {
            states = memory.asynchronous_sweep(states, &[unit]);
            let after = host(memory.energy(states.clone()));
            for (a, b) in after.iter().zip(&before) {
                assert!(
                    *a <= b + 1e-9 * b.abs().max(1.0),
                    "{interaction:?}: {b} → {a}"
                );
            }
            before = after;
        }
    }
}

#[test]
fn host_sweeps_settle_to_the_tensor_sweeps_states() {
    use crate::hopfield::host::HostHopfield;
    use crate::kernels::Kernels;
    use rand::Rng;
    let device = Default::default();
    // Loads below, at and above the capacity, with an even P (whose fields can be exactly
    // zero, so sign(0) is exercised) and an odd one; random and degraded starts.
    for (units, count, seed) in [
        (60, 4, 0),
        (60, 9, 1),
        (80, 12, 2),
        (100, 20, 3),
        (50, 25, 4),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let patterns = random_patterns::<B>(count, units, &mut rng, &device);
        let net = Hopfield::storing(patterns.clone()).unwrap();
        let cues = Tensor::cat(
            vec![
                degraded(patterns, 0.3, &mut rng),
                random_patterns::<B>(5, units, &mut rng, &device),
            ],
            0,
        );
        let (mut tensor_rng, mut host_rng) = (rng.clone(), rng);
        let (by_tensor, tensor_sweeps) =
            net.settle_on(Kernels::Tensor, cues.clone(), 40, &mut tensor_rng);
        let (by_host, host_sweeps) = HostHopfield::of(&net).settle(cues.clone(), 40, &mut host_rng);
        assert_eq!(
            host(by_host),
            host(by_tensor.clone()),
            "N {units}, P {count}"
        );
        assert_eq!(host_sweeps, tensor_sweeps);
        assert!(host_sweeps > 1, "the cues were already fixed points");
        // Both drew the same orders, and no more.
        assert_eq!(tensor_rng.random::<u64>(), host_rng.random::<u64>());
        // Settled: a fixed point of the rule.
        if tensor_sweeps < 40 {
            let again = net.asynchronous_sweep(by_tensor.clone(), &(0..units).collect::<Vec<_>>());
            assert_eq!(host(again), host(by_tensor));
        }
    }
}

#[test]
fn a_field_of_exactly_zero_takes_plus_one() {
    let device = Default::default();
    // Two patterns of 3 units: unit 0's counts to units 1 and 2 are 0 (ξ¹ and ξ² agree on one
    // pair and disagree on the other), so its field is exactly zero whatever the state.
    let patterns = Tensor::<B, 2>::from_data(
        TensorData::new(vec![1.0, 1.0, 1.0, 1.0, -1.0, -1.0], [2, 3]),
        &device,
    );
    let net = Hopfield::storing(patterns).unwrap();
    let state = Tensor::<B, 2>::from_data(TensorData::new(vec![-1.0, 1.0, -1.0], [1, 3]), &device);
    assert_eq!(host(net.asynchronous_sweep(state.clone(), &[0]))[0], 1.0);
    assert_eq!(host(net.synchronous_step(state))[0], 1.0);
}

#[test]
fn one_step_flips_agree_on_both_kernels() {
    use crate::kernels::Kernels;
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // Above the capacity, from the stored patterns: some units flip.
    let patterns = random_patterns::<B>(30, 100, &mut rng, &device);
    let net = Hopfield::storing(patterns.clone()).unwrap();
    let on_host = net.one_step_flips(Kernels::Host, patterns.clone());
    assert_eq!(
        on_host,
        net.one_step_flips(Kernels::Tensor, patterns.clone())
    );
    assert!(on_host > 0, "nothing flipped: the test shows nothing");
    // The same count by hand from one synchronous step.
    let stepped = host(net.synchronous_step(patterns.clone()));
    let by_hand = stepped
        .iter()
        .zip(host(patterns))
        .filter(|(a, b)| **a != *b)
        .count();
    assert_eq!(on_host, by_hand);
}

#[test]
fn a_network_stored_on_the_host_is_the_tensor_networks_counts() {
    use crate::hopfield::host::HostHopfield;
    let device = Default::default();
    for (units, count, seed) in [(60, 4, 5), (80, 12, 6), (50, 25, 7)] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let patterns = random_patterns::<B>(count, units, &mut rng, &device);
        let net = Hopfield::storing(patterns.clone()).unwrap();
        let (stored, read) = (
            HostHopfield::storing(patterns.clone()).unwrap(),
            HostHopfield::of(&net),
        );
        // The same one-step flips, and the same settling (the stored network's starting
        // fields come from the patterns, the read one's from the counts).
        assert_eq!(
            stored.one_step_flips(patterns.clone()),
            read.one_step_flips(patterns.clone())
        );
        let cues = degraded(patterns, 0.3, &mut rng);
        let (mut a, mut b) = (rng.clone(), rng);
        let (by_stored, stored_sweeps) = stored.settle(cues.clone(), 40, &mut a);
        let (by_read, read_sweeps) = read.settle(cues, 40, &mut b);
        assert_eq!(host(by_stored), host(by_read));
        assert_eq!(stored_sweeps, read_sweeps);
    }
    let empty = Tensor::<B, 2>::zeros([0, 10], &device);
    assert!(HostHopfield::storing(empty).is_err());
}
