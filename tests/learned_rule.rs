//! The learned synaptic rule: one update equals the rule network worked by hand on a
//! synapse's inputs; meta-training lowers the meta-loss.
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use plastic_models::{
    FeedForward, LearnedRule, LearnedRuleConfig, OutputActivation, RuleMemory, RuleNetKind,
};
use plastic_tasks::TwoInputTask;
use plastic_zoo::experiment::Experiment;
use plastic_zoo::experiments::learned_rule::{
    inner_loop, meta_loss, LearnedRuleExperiment, LearnedRuleRun,
};
use plastic_zoo::trainer::adam;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

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

/// The rule's weight change for one synapse's features, computed from its parameters
/// on the host (an LSTM starts from zero state: the forget gate does not matter).
fn change_by_hand(rule: &LearnedRule<F64>, features: &[f64]) -> f64 {
    let hidden: Vec<f64> = match (&rule.lstm, &rule.mlp) {
        (Some(lstm), _) => {
            let zero = vec![0.0; rule.config.hidden];
            let gate = |g: &burn::nn::GateController<F64>| -> Vec<f64> {
                let from_input = affine(&g.input_transform, features);
                let from_hidden = affine(&g.hidden_transform, &zero);
                from_input
                    .iter()
                    .zip(from_hidden)
                    .map(|(a, b)| a + b)
                    .collect()
            };
            let input = gate(&lstm.input_gate);
            let output = gate(&lstm.output_gate);
            let candidate = gate(&lstm.cell_gate);
            (0..rule.config.hidden)
                .map(|k| {
                    let cell = sigmoid(input[k]) * candidate[k].tanh();
                    sigmoid(output[k]) * cell.tanh()
                })
                .collect()
        }
        (None, Some(mlp)) => affine(mlp, features)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect(),
        _ => unreachable!(),
    };
    affine(&rule.readout, &hidden)[0] * rule.config.step_scale
}

fn check_one_update(kind: RuleNetKind, reward_signal: bool) {
    let device = Default::default();
    F64::seed(&device, 3);
    let rule = LearnedRuleConfig::new(kind)
        .with_step_scale(0.5)
        .with_reward_signal(reward_signal)
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
    check_one_update(RuleNetKind::Lstm, false);
}

#[test]
fn one_mlp_rule_step_equals_the_rule_worked_by_hand() {
    check_one_update(RuleNetKind::Mlp, false);
}

#[test]
fn a_rule_reading_the_reward_gets_minus_the_squared_error() {
    check_one_update(RuleNetKind::Lstm, true);
    check_one_update(RuleNetKind::Mlp, true);
}

fn small_run(kind: RuleNetKind) -> LearnedRuleRun {
    let mut run = LearnedRuleExperiment::preset("boolean").unwrap();
    run.rule = LearnedRuleConfig::new(kind);
    run.hidden = vec![8];
    run.held_out = vec![TwoInputTask::named("xor").unwrap()];
    run.inner_steps = 8;
    run.train.episodes = 20;
    run.train.batch = 8;
    run.train.optimizer.learning_rate = 1e-2;
    run
}

#[test]
fn twenty_meta_steps_lower_the_meta_loss_on_a_fixed_task_batch() {
    type B = Autodiff<NdArray<f32>>;
    for kind in [RuleNetKind::Lstm, RuleNetKind::Mlp] {
        let run = small_run(kind);
        let device = Default::default();
        B::seed(&device, 1);
        let mut rule = run.rule.init::<B>(&device);
        let tasks: Vec<TwoInputTask> = ["and", "or", "nand", "a"]
            .map(|name| TwoInputTask::named(name).unwrap())
            .repeat(2);
        // The same nets and examples at every step: only the rule changes.
        let loss_of = |rule: &LearnedRule<B>| {
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let network = inner_loop(rule, &run, &tasks, &mut rng, &device).unwrap();
            meta_loss(&network, &tasks)
        };
        let before = loss_of(&rule).into_scalar().elem::<f64>();
        let mut optim = adam::<B, LearnedRule<B>>(&run.train.optimizer);
        for _ in 0..20 {
            let gradients = GradientsParams::from_grads(loss_of(&rule).backward(), &rule);
            rule = optim.step(run.train.optimizer.learning_rate, rule, gradients);
        }
        let after = loss_of(&rule).into_scalar().elem::<f64>();
        assert!(
            after < 0.9 * before,
            "{kind:?}: meta-loss {before} before, {after} after 20 steps"
        );
    }
}
