//! Each local rule's single update on a small network, against numbers worked out by hand
//! from the rule's formula, in f64; and a batch of replications updates each one alone.

use crate::hebbian_ff::{
    BoundedHebbian, DeltaRule, OjaRule, RewardModulatedHebbian, SupervisedHebbian,
    UnsupervisedHebbian,
};
use crate::{FeedForward, FeedForwardConfig, LocalRule, OutputActivation, RuleStep};
use burn::backend::NdArray;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

type B = NdArray<f64>;

const STEP: RuleStep = RuleStep {
    learning_rate: 0.1,
    w_max: 1.0,
};

fn tensor(values: &[f64], shape: [usize; 3]) -> Tensor<B, 3> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
}

/// 2 inputs → 2 ReLU → 1 tanh, W0 = [[0.5, −0.25], [0.1, 0.3]], W1 = [0.4, −0.6].
/// For x = (1, −1): hidden drive (0.75, −0.2), ReLU (0.75, 0), output tanh(0.3);
/// linear chain (0.75, −0.2) then 0.42.
fn network() -> FeedForward<B> {
    FeedForward {
        weights: vec![
            tensor(&[0.5, -0.25, 0.1, 0.3], [1, 2, 2]),
            tensor(&[0.4, -0.6], [1, 1, 2]),
        ],
        output_activation: OutputActivation::Tanh,
    }
}

fn input() -> Tensor<B, 3> {
    tensor(&[1.0, -1.0], [1, 1, 2])
}

fn target(value: f64) -> Option<Tensor<B, 3>> {
    Some(tensor(&[value], [1, 1, 1]))
}

fn values(t: &Tensor<B, 3>) -> Vec<f64> {
    t.to_data().to_vec::<f64>().unwrap()
}

fn assert_weights(rule: &str, net: &FeedForward<B>, expected: [&[f64]; 2]) {
    for (layer, want) in expected.iter().enumerate() {
        let got = values(&net.weights[layer]);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(*want) {
            assert!(
                (g - w).abs() < 1e-12,
                "{rule}, layer {layer}: {got:?}, expected {want:?}"
            );
        }
    }
}

#[test]
fn supervised_moves_the_output_layer_towards_the_target_only() {
    let rule = SupervisedHebbian {
        step: STEP,
        first_layer_learns: false,
    };
    let net = rule.update(&network(), input(), target(-1.0)).unwrap();
    // ΔW1 = lr·t·h = 0.1·(−1)·(0.75, 0); W0 keeps its random weights.
    assert_weights(
        "supervised",
        &net,
        [&[0.5, -0.25, 0.1, 0.3], &[0.325, -0.6]],
    );

    let rule = SupervisedHebbian {
        first_layer_learns: true,
        ..rule
    };
    let net = rule.update(&network(), input(), target(-1.0)).unwrap();
    // ΔW0 = lr·h⊗x = 0.1·[(0.75, −0.75), (0, 0)].
    assert_weights(
        "supervised, first layer learning",
        &net,
        [&[0.575, -0.325, 0.1, 0.3], &[0.325, -0.6]],
    );

    assert!(rule.update(&network(), input(), None).is_err());
}

#[test]
fn delta_rule_corrects_the_output_layer_by_its_error() {
    let rule = DeltaRule { step: STEP };
    let net = rule.update(&network(), input(), target(-1.0)).unwrap();
    // ΔW1 = lr·(t − y)·h = 0.1·(−1 − tanh(0.3))·(0.75, 0); W0 keeps its random weights.
    let error = -1.0 - 0.3f64.tanh();
    assert_weights(
        "delta",
        &net,
        [&[0.5, -0.25, 0.1, 0.3], &[0.4 + 0.075 * error, -0.6]],
    );
    // A target the output already has changes nothing.
    let net = rule
        .update(&network(), input(), target(0.3f64.tanh()))
        .unwrap();
    assert_weights(
        "delta at zero error",
        &net,
        [&[0.5, -0.25, 0.1, 0.3], &[0.4, -0.6]],
    );
    assert!(rule.update(&network(), input(), None).is_err());
}

#[test]
fn bounded_hebbian_slows_as_weights_near_the_bound() {
    let net = BoundedHebbian { step: STEP }
        .update(&network(), input(), None)
        .unwrap();
    // ΔW0_ij = 0.1·h_i·x_j·(1 − |W0_ij|): row 0 (h = 0.75) moves, row 1 (h = 0) does not.
    // ΔW1_0 = 0.1·tanh(0.3)·0.75·(1 − 0.4).
    let y = 0.3f64.tanh();
    assert_weights(
        "bounded",
        &net,
        [
            &[0.5 + 0.0375, -0.25 - 0.05625, 0.1, 0.3],
            &[0.4 + 0.045 * y, -0.6],
        ],
    );
}

#[test]
fn unsupervised_hebbian_feeds_each_layer_the_updated_activity_as_the_seed_does() {
    let rule = UnsupervisedHebbian { step: STEP };
    let net = rule.update(&network(), input(), None).unwrap();
    // Layer 0: y = (0.75, −0.2), ΔW0 = 0.1·y⊗(1, −1) → W0' = [[0.575, −0.325], [0.08, 0.32]].
    // The next layer sees W0'·x = (0.9, −0.24), not (0.75, −0.2): y = 0.4·0.9 + 0.6·0.24 =
    // 0.504 and ΔW1 = 0.1·0.504·(0.9, −0.24).
    assert_weights(
        "unsupervised",
        &net,
        [&[0.575, -0.325, 0.08, 0.32], &[0.44536, -0.612096]],
    );
}

#[test]
fn the_seeds_reward_sign_depends_on_prediction_and_correctness() {
    let rule = RewardModulatedHebbian { step: STEP };
    // The output tanh(0.3) is positive. Target −1: wrong, reward −(2·1 − 1)·(1 − 2) = +1,
    // the unsupervised update. Target +1: right, reward −1, the update reversed.
    let wrong = rule.update(&network(), input(), target(-1.0)).unwrap();
    assert_weights(
        "reward, wrong",
        &wrong,
        [&[0.575, -0.325, 0.08, 0.32], &[0.4315, -0.6084]],
    );
    let right = rule.update(&network(), input(), target(1.0)).unwrap();
    assert_weights(
        "reward, right",
        &right,
        [&[0.425, -0.175, 0.12, 0.28], &[0.3685, -0.5916]],
    );
    assert!(rule.update(&network(), input(), None).is_err());
}

#[test]
fn oja_subtracts_the_squared_output_times_the_weight() {
    let net = OjaRule { step: STEP }
        .update(&network(), input(), None)
        .unwrap();
    // ΔW_ij = 0.1·y_i·(x_j − y_i·W_ij) with y the linear activities.
    assert_weights(
        "oja",
        &net,
        [
            &[0.546875, -0.3109375, 0.0796, 0.3188],
            &[0.424444, -0.597816],
        ],
    );
}

#[test]
fn weights_are_clamped_to_the_bound() {
    let rule = SupervisedHebbian {
        step: RuleStep {
            learning_rate: 10.0,
            w_max: 0.5,
        },
        first_layer_learns: false,
    };
    // ΔW1 = 10·(−1)·(0.75, 0) takes W1_0 to −7.1, clamped to −0.5; W1_1 = −0.6 → −0.5;
    // W0 is not updated but clamped as well (0.5, −0.25, 0.1, 0.3 lie inside).
    let net = rule.update(&network(), input(), target(-1.0)).unwrap();
    assert_weights("clamped", &net, [&[0.5, -0.25, 0.1, 0.3], &[-0.5, -0.5]]);
}

#[test]
fn replications_update_independently() {
    let config = FeedForwardConfig {
        inputs: 3,
        hidden: vec![4, 3],
        outputs: 2,
        output_activation: OutputActivation::Tanh,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let batch = config.init::<B>(3, &mut rng, &Default::default()).unwrap();
    let inputs = tensor(&[0.3, -1.0, 0.7, 1.0, 0.2, -0.4, -0.6, 0.9, 0.1], [3, 1, 3]);
    let targets = tensor(&[1.0, -1.0, -1.0, 1.0, 1.0, 1.0], [3, 1, 2]);
    type Update<'a> = &'a dyn Fn(&FeedForward<B>, Tensor<B, 3>, Tensor<B, 3>) -> FeedForward<B>;
    let rules: [Update; 5] = [
        &|n, x, t| {
            SupervisedHebbian {
                step: STEP,
                first_layer_learns: true,
            }
            .update(n, x, Some(t))
            .unwrap()
        },
        &|n, x, _| BoundedHebbian { step: STEP }.update(n, x, None).unwrap(),
        &|n, x, t| {
            RewardModulatedHebbian { step: STEP }
                .update(n, x, Some(t))
                .unwrap()
        },
        &|n, x, _| OjaRule { step: STEP }.update(n, x, None).unwrap(),
        &|n, x, _| {
            UnsupervisedHebbian { step: STEP }
                .update(n, x, None)
                .unwrap()
        },
    ];
    for (which, rule) in rules.iter().enumerate() {
        let together = rule(&batch, inputs.clone(), targets.clone());
        for r in 0..3 {
            let alone = rule(
                &batch.replication(r),
                inputs.clone().narrow(0, r, 1),
                targets.clone().narrow(0, r, 1),
            );
            for layer in 0..3 {
                let (a, b) = (
                    values(&together.replication(r).weights[layer]),
                    values(&alone.weights[layer]),
                );
                assert_eq!(a, b, "rule {which}, replication {r}, layer {layer}");
            }
        }
    }
}
