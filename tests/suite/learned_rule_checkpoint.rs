//! A saved learned rule reloads with identical weight changes, checked bit for bit in f32,
//! the precision runs are saved from (hence in the f32 binary: ndarray's float type is fixed
//! per process by the first backend that runs).
#![cfg(feature = "ndarray")]

use burn::backend::Autodiff;
use burn::backend::NdArray;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::ElementConversion;
use burn::tensor::{Tensor, TensorData};
use plastic_models::{LearnedRule, LearnedRuleConfig, ReadoutInit, RuleNetKind};
use plastic_tasks::TwoInputTask;
use plastic_zoo::checkpoint::{module_bytes, RunDir, RunState, MODEL_FILE};
use plastic_zoo::experiments::learned_rule::{inner_loop, meta_loss};
use plastic_zoo::trainer::adam;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

type F32 = NdArray<f32>;

fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

#[test]
fn a_saved_rule_reloads_with_identical_weight_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    let run = RunDir::create(tmp.path(), "learned-rule", "r").unwrap();
    let state = RunState::fresh("learned-rule", ChaCha8Rng::seed_from_u64(0));
    let config = LearnedRuleConfig::new(RuleNetKind::Lstm).with_readout_init(ReadoutInit::Random);
    F32::seed(&device, 5);
    let saved = config.init::<F32>(&device);
    let files = vec![(
        MODEL_FILE.to_string(),
        module_bytes::<F32, _>(&saved).unwrap(),
    )];
    run.save(&state, &serde_json::json!({}), files).unwrap();

    F32::seed(&device, 6);
    let other = config.init::<F32>(&device);
    let values = vec![
        0.3f32, -0.8, 0.5, 1.2, -1.0, 0.0, -0.2, 0.7, 0.9, 0.4, 0.1, -0.3,
    ];
    let features = Tensor::<F32, 2>::from_data(TensorData::new(values, [3, 4]), &device);
    let changes = |rule: &LearnedRule<F32>| host(rule.changes(features.clone(), None).0);
    assert_ne!(
        changes(&saved),
        changes(&other),
        "two seeds gave the same rule"
    );
    let (_, checkpoint) = RunDir::open(&run.path).unwrap();
    let loaded = checkpoint.load_module(MODEL_FILE, other, &device).unwrap();
    assert_eq!(changes(&saved), changes(&loaded));
}

use crate::common;

#[test]
fn train_learned_rule_writes_a_checkpoint_that_eval_reproduces() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let trained = common::zoo_ok(&[
        "train",
        "learned-rule",
        "--rule-net",
        "mlp",
        "--meta-steps",
        "3",
        "--meta-batch",
        "4",
        "--inner-steps",
        "3",
        "--checkpoint-every",
        "2",
        "--out",
        out,
    ]);
    let report: Vec<String> = common::stdout(&trained)
        .lines()
        .filter(|l| !l.starts_with("checkpoint:"))
        .map(String::from)
        .collect();
    // Per held-out task: the learned rule and the six hand-written rules; then a footnote.
    assert_eq!(report.len(), 2 * 7 + 1, "{report:#?}");
    assert!(
        report[0].starts_with("mlp rule on xor: success "),
        "{}",
        report[0]
    );
    assert!(report[1].contains("supervised (lr "), "{}", report[1]);
    let dir = tmp.path().join("learned-rule/mlp-seed0");
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3);
    let eval = common::zoo_ok(&["eval", dir.to_str().unwrap()]);
    let again: Vec<String> = common::stdout(&eval).lines().map(String::from).collect();
    assert_eq!(report, again);
    assert!(dir.join("rule.png").is_file());

    // Other budgets: per task and budget, the learned rule, each hand-written rule and the
    // best of them.
    let dir_arg = dir.to_str().unwrap();
    let eval = common::zoo_ok(&[
        "--json", "eval", dir_arg, "--budget", "1,2", "--task", "xor",
    ]);
    let json: serde_json::Value =
        serde_json::from_str(common::stdout(&eval).lines().last().unwrap()).unwrap();
    let metric = |name: &str| {
        json["metrics"][name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: {json}"))
    };
    for budget in [1, 2] {
        let best = metric(&format!("xor.k{budget}.best_hand"));
        for hand in ["delta", "supervised", "oja"] {
            assert!(metric(&format!("xor.k{budget}.{hand}")) <= best, "{json}");
        }
        assert!((0.0..=1.0).contains(&metric(&format!("xor.k{budget}.learned"))));
    }
    assert!(json["metrics"]["xor.k3.learned"].is_null(), "{json}");
    common::zoo_fails(&["eval", dir_arg, "--budget", "0"], "at least 1 update");

    // The meta-loss averaged over the inner loop: a finite loss every meta-step.
    common::zoo_ok(&[
        "train",
        "learned-rule",
        "--rule-net",
        "lstm",
        "--meta-steps",
        "2",
        "--meta-batch",
        "2",
        "--inner-steps",
        "3",
        "--loss-during",
        "--out",
        out,
    ]);
    let dir = tmp.path().join("learned-rule/lstm-seed0");
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(config.contains("\"loss_during\": true"), "{config}");
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    for line in metrics.lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(m["loss"].as_f64().unwrap().is_finite(), "{line}");
    }

    common::zoo_fails(
        &["train", "learned-rule", "--inner-steps", "0", "--out", out],
        "inner-steps must be at least 1",
    );
    common::zoo_fails(
        &["train", "learned-rule", "--held-out", "xand", "--out", out],
        "invalid value 'xand' for '--held-out",
    );
    common::zoo_fails(
        &[
            "train",
            "learned-rule",
            "--family",
            "linear",
            "--held-out",
            "xor",
            "--out",
            out,
        ],
        "task xor is not in the linear family",
    );
    common::zoo_fails(
        &["train", "learned-rule", "--family", "parity", "--out", out],
        "invalid value 'parity' for '--family",
    );
    common::zoo_fails(
        &[
            "train",
            "learned-rule",
            "--validation",
            "and,xor",
            "--out",
            out,
        ],
        "task xor is both held out and a validation task",
    );
    common::zoo_fails(
        &["train", "learned-rule", "--loss-at", "5,50", "--out", out],
        "--loss-at 50 is beyond the inner loop's 40 updates",
    );
    common::zoo_fails(
        &[
            "train",
            "learned-rule",
            "--loss-at",
            "5",
            "--loss-during",
            "--out",
            out,
        ],
        "choose one",
    );
}

#[test]
fn a_zero_readout_changes_nothing_and_the_layer_signal_is_one_more_feature() {
    let device = Default::default();
    for kind in [RuleNetKind::Lstm, RuleNetKind::Mlp] {
        let config = LearnedRuleConfig::new(kind)
            .with_readout_init(ReadoutInit::Zero)
            .with_layer_signal(true);
        assert_eq!(config.features(), 5);
        let rule = config.init::<F32>(&device);
        let features = Tensor::<F32, 2>::ones([7, 5], &device);
        let (changes, _) = rule.changes(features.clone(), None);
        assert_eq!(host(changes), vec![0.0; 7], "{kind:?}");
        let random = config
            .with_readout_init(ReadoutInit::Random)
            .init::<F32>(&device);
        assert!(host(random.changes(features, None).0)
            .iter()
            .any(|&c| c != 0.0));
    }
}

#[test]
fn the_linear_family_meta_trains_and_evaluates_any_of_its_maps() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let trained = common::zoo_ok(&[
        "train",
        "learned-rule",
        "--rule-net",
        "mlp",
        "--family",
        "linear",
        "--reward-signal",
        "--layer-signal",
        "--meta-steps",
        "2",
        "--meta-batch",
        "4",
        "--inner-steps",
        "3",
        "--out",
        out,
    ]);
    let report = common::stdout(&trained);
    assert!(
        report.contains("mlp rule on linear-60: success "),
        "{report}"
    );
    assert!(report.contains("delta (lr "), "{report}");
    let dir = tmp.path().join("learned-rule/mlp-linear-seed0");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["family"], "linear", "{config}");
    assert_eq!(
        config["held_out"],
        serde_json::json!(["linear-60", "linear-240"])
    );
    assert_eq!(config["rule"]["reward_signal"], true);
    assert_eq!(config["rule"]["layer_signal"], true);
    assert!(dir.join("rule.png").is_file());
    let dir = dir.to_str().unwrap();
    let eval = common::zoo_ok(&["eval", dir, "--task", "linear-0", "--replications", "5"]);
    let lines = common::stdout(&eval);
    assert!(
        lines.starts_with("mlp rule on linear-0: success "),
        "{lines}"
    );
    assert!(lines.contains("/5 = "), "{lines}");
    assert!(!lines.contains("linear-60"), "{lines}");
    common::zoo_fails(
        &["eval", dir, "--task", "xor"],
        "task xor is not in the linear family",
    );
}

#[test]
fn twenty_meta_steps_lower_the_meta_loss_on_a_fixed_task_batch() {
    type B = Autodiff<F32>;
    for kind in [RuleNetKind::Lstm, RuleNetKind::Mlp] {
        let run = common::small_run(kind);
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
