//! The learned synaptic rule: one update equals the rule network worked by hand on a
//! synapse's inputs; meta-training lowers the meta-loss.
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use plastic_models::{
    FeedForward, LearnedRule, LearnedRuleConfig, OutputActivation, ReadoutInit, RuleMemory,
    RuleNetKind,
};
use plastic_tasks::TwoInputTask;
use plastic_zoo::experiments::learned_rule::{inner_loop, meta_loss};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::common::small_run;

type F64 = NdArray<f64>;

fn tensor<B: Backend, const D: usize>(values: &[f64], shape: [usize; D]) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
}

fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

/// 2 → 2 ReLU → 1 tanh with W0 = [[0.5, −0.25], [0.1, 0.3]], W1 = [0.4, −0.6]; for
/// x = (1, −1) the hidden activity is (0.75, 0) and the output tanh(0.3).
fn network() -> FeedForward<F64> {
    FeedForward {
        weights: vec![
            tensor(&[0.5, -0.25, 0.1, 0.3], [1, 2, 2]),
            tensor(&[0.4, -0.6], [1, 1, 2]),
        ],
        output_activation: OutputActivation::Tanh,
    }
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// `features · W + b` for a Burn `Linear` (weight `[in, out]`), on the host.
fn affine(linear: &burn::nn::Linear<F64>, features: &[f64]) -> Vec<f64> {
    let weight = host(linear.weight.val());
    let outs = linear.weight.dims()[1];
    let bias = linear
        .bias
        .as_ref()
        .map(|b| host(b.val()))
        .unwrap_or(vec![0.0; outs]);
    (0..outs)
        .map(|o| {
            bias[o]
                + features
                    .iter()
                    .enumerate()
                    .map(|(i, f)| f * weight[i * outs + o])
                    .sum::<f64>()
        })
        .collect()
}

/// The rule's weight change for one synapse's features and the LSTM's carried cell and
/// hidden state (zero for a synapse's first update), computed from its parameters on the
/// host; with it, the new cell and hidden state.
fn change_by_hand_from(
    rule: &LearnedRule<F64>,
    features: &[f64],
    carried: Option<(&[f64], &[f64])>,
) -> (f64, Vec<f64>, Vec<f64>) {
    let size = rule.config.hidden;
    let zero = vec![0.0; size];
    let (cell, hidden) = carried.unwrap_or((&zero, &zero));
    let (hidden, cell): (Vec<f64>, Vec<f64>) = match (&rule.lstm, &rule.mlp) {
        (Some(lstm), _) => {
            let gate = |g: &burn::nn::GateController<F64>| -> Vec<f64> {
                let from_input = affine(&g.input_transform, features);
                let from_hidden = affine(&g.hidden_transform, hidden);
                from_input
                    .iter()
                    .zip(from_hidden)
                    .map(|(a, b)| a + b)
                    .collect()
            };
            let input = gate(&lstm.input_gate);
            let forget = gate(&lstm.forget_gate);
            let output = gate(&lstm.output_gate);
            let candidate = gate(&lstm.cell_gate);
            let cell: Vec<f64> = (0..size)
                .map(|k| sigmoid(forget[k]) * cell[k] + sigmoid(input[k]) * candidate[k].tanh())
                .collect();
            let hidden = (0..size)
                .map(|k| sigmoid(output[k]) * cell[k].tanh())
                .collect();
            (hidden, cell)
        }
        (None, Some(mlp)) => (
            affine(mlp, features)
                .into_iter()
                .map(|v| v.max(0.0))
                .collect(),
            Vec::new(),
        ),
        _ => unreachable!(),
    };
    let change = affine(&rule.readout, &hidden)[0] * rule.config.step_scale;
    (change, cell, hidden)
}

/// The rule's first weight change for one synapse's features.
fn change_by_hand(rule: &LearnedRule<F64>, features: &[f64]) -> f64 {
    change_by_hand_from(rule, features, None).0
}

fn check_one_update(kind: RuleNetKind, reward_signal: bool, layer_signal: bool) {
    let device = Default::default();
    F64::seed(&device, 3);
    let rule = LearnedRuleConfig::new(kind)
        .with_step_scale(0.5)
        .with_reward_signal(reward_signal)
        .with_layer_signal(layer_signal)
        .with_readout_init(ReadoutInit::Random)
        .init::<F64>(&device);
    let target = -1.0;
    let (updated, memory) = rule.update(
        &network(),
        tensor(&[1.0, -1.0], [1, 1, 2]),
        tensor(&[target], [1, 1, 1]),
        RuleMemory::fresh(2),
        1.0,
    );
    let y = 0.3f64.tanh();
    let error = target - y;
    let reward = -error * error;
    // Output layer, synapse from hidden unit 0 (activity 0.75, weight 0.4) and from hidden
    // unit 1 (activity 0, weight −0.6); first layer, synapse 1 → 0 (x = −1, post 0.75).
    let cases = [
        (1, 0, vec![0.75, y, 0.4, error], 0.4),
        (1, 1, vec![0.0, y, -0.6, error], -0.6),
        (0, 1, vec![-1.0, 0.75, -0.25, error], -0.25),
    ];
    for (layer, index, mut features, before) in cases {
        if reward_signal {
            features.push(reward);
        }
        if layer_signal {
            features.push(if layer == 1 { 1.0 } else { 0.0 });
        }
        let expected = (before + change_by_hand(&rule, &features)).clamp(-1.0, 1.0);
        let got = host(updated.weights[layer].clone())[index];
        assert!(
            // Burn's sigmoid goes through exp(log-sigmoid): agreement to 1e-8, not 1e-15.
            (got - expected).abs() < 1e-8,
            "{kind:?} layer {layer} synapse {index}: {got} against {expected} by hand"
        );
    }
    let stateful = memory.layers.iter().all(|state| state.is_some());
    assert_eq!(stateful, kind == RuleNetKind::Lstm);
}

#[test]
fn one_lstm_rule_step_equals_the_rule_worked_by_hand() {
    check_one_update(RuleNetKind::Lstm, false, false);
}

#[test]
fn one_mlp_rule_step_equals_the_rule_worked_by_hand() {
    check_one_update(RuleNetKind::Mlp, false, false);
}

#[test]
fn a_rule_reading_the_reward_gets_minus_the_squared_error() {
    check_one_update(RuleNetKind::Lstm, true, false);
    check_one_update(RuleNetKind::Mlp, true, false);
}

#[test]
fn a_rule_told_its_layer_reads_one_at_the_output_and_zero_below() {
    check_one_update(RuleNetKind::Lstm, false, true);
    check_one_update(RuleNetKind::Mlp, true, true);
}

/// A synapse's second update starts from the cell and hidden state its first one left: the
/// rule's change then depends on the forget gate and the carried state, as worked by hand.
#[test]
fn an_lstm_rule_step_from_a_carried_state_equals_the_rule_worked_by_hand() {
    let device = Default::default();
    F64::seed(&device, 8);
    let rule = LearnedRuleConfig::new(RuleNetKind::Lstm)
        .with_step_scale(0.5)
        .with_readout_init(ReadoutInit::Random)
        .init::<F64>(&device);
    let first = [0.3, -0.8, 0.5, 1.2];
    let second = [-1.0, 0.4, 0.1, -0.3];
    let (_, state) = rule.changes(tensor(&first, [1, 4]), None);
    let (cell, hidden) = state.expect("an LSTM rule carries a state");
    let (cell, hidden) = (host(cell), host(hidden));
    assert!(
        cell.iter().any(|c| c.abs() > 1e-3),
        "the carried state is not zero"
    );
    let (got, new_state) = rule.changes(
        tensor(&second, [1, 4]),
        Some((
            tensor(&cell, [1, rule.config.hidden]),
            tensor(&hidden, [1, rule.config.hidden]),
        )),
    );
    let (want, want_cell, want_hidden) =
        change_by_hand_from(&rule, &second, Some((&cell, &hidden)));
    let got = host(got)[0];
    assert!((got - want).abs() < 1e-7, "Δw {got} against {want} by hand");
    let (new_cell, new_hidden) = new_state.unwrap();
    for (what, got, want) in [
        ("cell", host(new_cell), want_cell),
        ("hidden", host(new_hidden), want_hidden),
    ] {
        for (g, w) in got.iter().zip(&want) {
            // Burn's sigmoid goes through exp(log-sigmoid): agreement to 1e-7.
            assert!((g - w).abs() < 1e-7, "{what}: {g} against {w}");
        }
    }
    // From a zero state the same features give another change: the state matters.
    let from_zero = host(rule.changes(tensor(&second, [1, 4]), None).0)[0];
    assert!((from_zero - got).abs() > 1e-6, "{from_zero} and {got}");
}

/// The meta-gradient, backpropagated through the whole inner loop, equals central finite
/// differences of the meta-loss in f64, for an LSTM and an MLP rule: a tiny net (2-[3]-1),
/// two tasks, three inner updates, the same nets and examples at every evaluation.
#[test]
fn the_meta_gradient_equals_finite_differences() {
    type B = Autodiff<F64>;
    let device = Default::default();
    for kind in [RuleNetKind::Lstm, RuleNetKind::Mlp] {
        let mut run = small_run(kind);
        run.hidden = vec![3];
        run.inner_steps = 3;
        // No clamp: the loss is smooth in the rule's parameters.
        run.w_max = 100.0;
        run.rule = LearnedRuleConfig::new(kind)
            .with_hidden(3)
            .with_step_scale(0.5)
            .with_readout_init(ReadoutInit::Random);
        B::seed(&device, 21);
        let rule = run.rule.init::<B>(&device);
        let tasks = ["xor", "and"].map(|name| TwoInputTask::named(name).unwrap());
        let loss_of = |rule: &LearnedRule<B>| {
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let network = inner_loop(rule, &run, &tasks, &mut rng, &device).unwrap();
            meta_loss(&network, &tasks)
        };
        let grads = loss_of(&rule).backward();
        let analytic = host(rule.readout.weight.grad(&grads).unwrap());
        let inner = rule.valid();
        let weight = host(inner.readout.weight.val());
        // Burn's sigmoid agrees with the exact one to about 1e-8 in f64, not smoothly: a step
        // of 1e-3 keeps that below the comparison's tolerance, and the O(h²) error too.
        let h = 1e-3;
        for (k, &g) in analytic.iter().enumerate() {
            let at = |delta: f64| {
                let mut shifted = weight.clone();
                shifted[k] += delta;
                let mut moved = inner.clone();
                moved.readout.weight =
                    burn::module::Param::from_tensor(tensor(&shifted, [run.rule.hidden, 1]));
                let mut rng = ChaCha8Rng::seed_from_u64(4);
                let network = inner_loop(&moved, &run, &tasks, &mut rng, &device).unwrap();
                meta_loss(&network, &tasks).into_scalar()
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (g - numeric).abs() <= 1e-5 * (1.0 + numeric.abs()),
                "{kind:?} readout weight {k}: autodiff {g:e} against finite differences {numeric:e}"
            );
        }
        // The gradient reaches the rule network's first layer too, through the inner loop.
        let first = match (&rule.lstm, &rule.mlp) {
            (Some(lstm), _) => lstm.input_gate.input_transform.weight.grad(&grads),
            (None, Some(mlp)) => mlp.weight.grad(&grads),
            _ => None,
        };
        let first = host(first.expect("the first layer has a gradient"));
        assert!(
            first.iter().any(|g| g.abs() > 1e-12),
            "{kind:?}: no gradient"
        );
    }
}
