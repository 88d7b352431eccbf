//! One step worked by hand, pruning, STDP on existing synapses only with normalisation,
//! intrinsic plasticity's target rate; and the readout phase on a stream it can predict.

use burn::backend::NdArray;
use burn::module::{Param, ParamId};
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::kernels::Kernels;

use super::{
    one_hot_inputs, predict_next_symbol, Plasticity, Sorn, SornConfig, SornState, SymbolReadout,
};

type B = NdArray<f32>;

fn host<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

fn tensor<const D: usize>(values: &[f32], shape: [usize; D]) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
}

fn rates(stdp: f32, ip: f32, networks: usize) -> Plasticity<B> {
    Plasticity {
        stdp_rate: tensor(&vec![stdp; networks], [networks]),
        ip_rate: tensor(&vec![ip; networks], [networks]),
        target_rate: 0.1,
        prune: false,
    }
}

/// Three excitatory neurons, each receiving from the other two; one inhibitory neuron; one
/// input symbol driving neuron 0.
fn tiny() -> Sorn<B> {
    Sorn {
        recurrent: Param::from_tensor(tensor(&[0.6, 0.4, 0.5, 0.5, 0.3, 0.7], [1, 3, 2])),
        presynaptic: Param::initialized(
            ParamId::new(),
            Tensor::<B, 1, Int>::from_data(
                TensorData::new(vec![1i64, 2, 0, 2, 0, 1], [6]),
                &Default::default(),
            ),
        ),
        inhibition: Param::from_tensor(tensor(&[0.1, 0.5, 0.2], [1, 3, 1])),
        excitation: Param::from_tensor(tensor(&[0.3, 0.3, 0.4], [1, 1, 3])),
        input: Param::from_tensor(tensor(&[1.0, 0.0, 0.0], [1, 3, 1])),
        threshold_e: Param::from_tensor(tensor(&[0.5, 0.1, 0.2], [1, 3])),
        threshold_i: Param::from_tensor(tensor(&[0.5], [1, 1])),
    }
}

fn close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{got:?} against {want:?}");
    }
}

#[test]
fn one_step_worked_by_hand() {
    let mut net = tiny();
    let state = SornState {
        excitatory: tensor(&[0.0, 1.0, 1.0], [1, 3]),
        inhibitory: tensor(&[1.0], [1, 1]),
    };
    let next = net.step(&state, tensor(&[1.0], [1, 1]), Some(&rates(0.1, 0.01, 1)));
    // Drives: 1.0 − 0.1 − 0.5 + 1 = 1.4; 0.5 − 0.5 − 0.1 = −0.1; 0.7 − 0.2 − 0.2 = 0.3.
    close(&host(next.excitatory), &[1.0, 0.0, 1.0]);
    // 0.3 + 0.4 − 0.5 = 0.2 > 0.
    close(&host(next.inhibitory), &[1.0]);
    // ΔW_ij = 0.1·(x'_i x_j − x_i x'_j): neuron 0 gains 0.1 on both synapses (0.7, 0.5)/1.2;
    // neuron 1 loses 0.1 on both (0.4, 0.4)/0.8; neuron 2: (0.3 − 0.1, 0.7 + 0.1)/1.
    close(
        &host(net.recurrent.val()),
        &[0.7 / 1.2, 0.5 / 1.2, 0.5, 0.5, 0.2, 0.8],
    );
    // T_E += 0.01·(x' − 0.1).
    close(&host(net.threshold_e.val()), &[0.509, 0.099, 0.209]);

    // A large rate drives neuron 1's synapses below 0: clipped at 0, and a neuron left with
    // no weight keeps none instead of dividing by 0.
    let mut net = tiny();
    net.step(&state, tensor(&[1.0], [1, 1]), Some(&rates(1.0, 0.0, 1)));
    close(
        &host(net.recurrent.val()),
        &[1.6 / 3.0, 1.4 / 3.0, 0.0, 0.0, 0.0, 1.0],
    );
    close(&host(net.threshold_e.val()), &[0.5, 0.1, 0.2]);
}

#[test]
fn a_pruned_synapse_stays_at_zero_and_an_unpruned_one_grows_again() {
    // Neuron 1 has lost both its synapses; a threshold below 0 makes it fire after neurons
    // 0 and 2, the causal order in which STDP strengthens synapses.
    let grown = |prune: bool| {
        let mut net = tiny();
        net.recurrent = Param::from_tensor(tensor(&[0.6, 0.4, 0.0, 0.0, 0.3, 0.7], [1, 3, 2]));
        net.threshold_e = Param::from_tensor(tensor(&[0.5, -0.2, 0.2], [1, 3]));
        let state = SornState {
            excitatory: tensor(&[1.0, 0.0, 1.0], [1, 3]),
            inhibitory: tensor(&[0.0], [1, 1]),
        };
        let next = net.step(
            &state,
            tensor(&[0.0], [1, 1]),
            Some(&Plasticity {
                prune,
                ..rates(0.1, 0.0, 1)
            }),
        );
        assert_eq!(host(next.excitatory)[1], 1.0, "neuron 1 was meant to fire");
        host(net.recurrent.val())[2..4].to_vec()
    };
    close(&grown(false), &[0.5, 0.5]);
    close(&grown(true), &[0.0, 0.0]);
}

fn random_net(networks: usize, seed: u64) -> Sorn<B> {
    let mut rngs: Vec<ChaCha8Rng> = (0..networks)
        .map(|k| ChaCha8Rng::seed_from_u64(seed + k as u64))
        .collect();
    let config = SornConfig {
        excitatory: 60,
        inhibitory: 12,
        input_pool: 5,
        ..SornConfig::new(4)
    };
    config.init(&mut rngs, &Default::default()).unwrap()
}

/// Random one-hot letters for `networks` networks.
fn letters(networks: usize, rng: &mut ChaCha8Rng) -> Tensor<B, 2> {
    let mut values = vec![0f32; networks * 4];
    for k in 0..networks {
        values[k * 4 + rng.random_range(0..4)] = 1.0;
    }
    tensor(&values, [networks, 4])
}

#[test]
fn stdp_changes_only_existing_synapses_and_normalisation_keeps_rows_summing_to_one() {
    let mut net = random_net(2, 3);
    let before = host(net.dense_recurrent());
    let existing = before.iter().filter(|&&w| w > 0.0).count();
    assert_eq!(existing, 2 * 60 * 10, "λ = 10 synapses per neuron");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut state = net.silent();
    for _ in 0..300 {
        state = net.step(&state, letters(2, &mut rng), Some(&rates(0.05, 0.001, 2)));
    }
    let after = host(net.dense_recurrent());
    let mut moved = 0.0f32;
    for (b, a) in before.iter().zip(&after) {
        if *b == 0.0 {
            assert_eq!(*a, 0.0, "STDP grew a synapse that does not exist");
        }
        moved += (a - b).abs();
    }
    assert!(moved > 1.0, "STDP barely moved the weights: {moved}");
    for row in after.chunks(60) {
        let sum: f32 = row.iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-4 || sum == 0.0,
            "a row sums to {sum}"
        );
        assert!(row.iter().all(|&w| w >= 0.0));
    }
}

/// Mean excitatory rate of each network over `steps` steps.
fn rates_over(net: &mut Sorn<B>, steps: usize, plasticity: Option<&Plasticity<B>>) -> Vec<f32> {
    let networks = net.networks();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut state = net.silent();
    let mut total = vec![0f32; networks];
    for _ in 0..steps {
        state = net.step(&state, letters(networks, &mut rng), plasticity);
        let rates = host(state.excitatory.clone().mean_dim(1));
        total.iter_mut().zip(rates).for_each(|(t, r)| *t += r);
    }
    total.iter().map(|t| t / steps as f32).collect()
}

#[test]
fn intrinsic_plasticity_drives_the_mean_rate_to_its_target() {
    // Thresholds of 0 make one network fire far too often, thresholds of 0.9 another far
    // too rarely.
    let start = || {
        let mut net = random_net(2, 11);
        let thresholds: Vec<f32> = [0.0f32, 0.9].iter().flat_map(|&t| [t; 60]).collect();
        net.threshold_e = Param::from_tensor(tensor(&thresholds, [2, 60]));
        net
    };
    let untouched = rates_over(&mut start(), 500, None);
    assert!(
        untouched[0] > 0.2 && untouched[1] < 0.05,
        "the starting rates {untouched:?} are not far from 0.1: the test shows nothing"
    );
    // IP alone, fast enough to settle within the test; the rate over the steps after.
    let mut net = start();
    rates_over(&mut net, 3000, Some(&rates(0.0, 0.01, 2)));
    for rate in rates_over(&mut net, 1000, Some(&rates(0.0, 0.01, 2))) {
        assert!(
            (rate - 0.1).abs() < 0.01,
            "mean rate {rate} after IP, target 0.1"
        );
    }
}

#[test]
fn a_readout_of_the_recorded_states_predicts_a_cycle_of_symbols() {
    // Each symbol drives its own pool of 5 excitatory neurons, so a static network's state
    // tells the symbol it has just seen, and with it, in a cycle, the next one.
    let mut net = random_net(2, 7);
    let stream: Vec<u8> = (0..400).map(|t| (t % 4) as u8).collect();
    let streams = vec![stream.clone(), stream.clone()];
    let inputs = one_hot_inputs::<B>(&streams, 0..399, 4, &Default::default());
    let (_, record) = net.record(net.silent(), &inputs, Kernels::Tensor);
    assert_eq!(record.len(), 2);
    assert_eq!(record[0].len(), 399 * 60);
    for readout in [
        SymbolReadout::Ridge { ridge: 1e-3 },
        SymbolReadout::Logistic { l2: 1e-4 },
    ] {
        for states in &record {
            let guesses = predict_next_symbol(states, &stream[1..], 60, 4, 300, readout).unwrap();
            assert_eq!(guesses.len(), 99);
            let right = guesses
                .iter()
                .zip(&stream[301..])
                .filter(|(g, s)| **g == usize::from(**s))
                .count();
            assert_eq!(right, 99, "{readout:?}");
        }
    }
    // Plastic steps report each network's mean rate, between 0 and 1, and move the weights.
    let before = host(net.recurrent.val());
    let (_, rates) = net.run_plastic(
        net.silent(),
        &inputs,
        &rates(0.05, 0.001, 2),
        Kernels::Tensor,
    );
    let rates = host(rates);
    assert!(
        rates.iter().all(|r| (0.0..=1.0).contains(r)) && rates[0] > 0.0,
        "{rates:?}"
    );
    assert_ne!(before, host(net.recurrent.val()));
}

#[test]
fn host_steps_follow_the_tensor_steps() {
    // Two networks on different streams, one with STDP, pruning and IP on, one static.
    let stream = |seed: u64| -> Vec<u8> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..600).map(|_| rng.random_range(0..4u8)).collect()
    };
    let inputs = one_hot_inputs::<B>(&[stream(1), stream(2)], 0..600, 4, &Default::default());
    let plasticity = Plasticity {
        stdp_rate: tensor(&[0.01, 0.0], [2]),
        ip_rate: tensor(&[0.005, 0.0], [2]),
        target_rate: 0.1,
        prune: true,
    };
    let plastic = |kernels| {
        let mut net = random_net(2, 11);
        let (state, rates) = net.run_plastic(net.silent(), &inputs, &plasticity, kernels);
        let (_, record) = net.record(state.clone(), &inputs, kernels);
        (net, state, host(rates), record)
    };
    let (host_net, host_state, host_rates, host_record) = plastic(Kernels::Host);
    let (tensor_net, tensor_state, tensor_rates, tensor_record) = plastic(Kernels::Tensor);
    // Binary states are equal; weights and thresholds agree to the float's rounding.
    assert_eq!(host(host_state.excitatory), host(tensor_state.excitatory));
    assert_eq!(host(host_state.inhibitory), host(tensor_state.inhibitory));
    assert_eq!(host_record, tensor_record);
    for (a, b) in [
        (
            host(host_net.recurrent.val()),
            host(tensor_net.recurrent.val()),
        ),
        (
            host(host_net.threshold_e.val()),
            host(tensor_net.threshold_e.val()),
        ),
        (host_rates, tensor_rates),
    ] {
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-5, "host and tensor differ by {worst}");
    }
    // The plastic network changed, and some synapses were pruned.
    let weights = host(host_net.recurrent.val());
    assert_ne!(
        weights[..600],
        host(random_net(2, 11).recurrent.val())[..600]
    );
    assert!(weights[..600].contains(&0.0), "nothing pruned");
}
