//! Training and checkpoints through the library, on the default CPU backend.
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::tensor::Tensor;
use plastic_models::{GradientEngine, PlasticRnn};
use plastic_zoo::checkpoint::{module_bytes, RunDir, RunState, MODEL_FILE};
use plastic_zoo::experiment::launch::resolve;
use plastic_zoo::experiments::plastic_rnn::episode::run_episode;
use plastic_zoo::experiments::plastic_rnn::{PlasticRnnExperiment, PlasticRnnRun};
use plastic_zoo::experiments::shared::episode_rng;
use plastic_zoo::experiments::shared::pattern::{batch_tensors, evaluate};
use plastic_zoo::trainer::{GradientSteps, Learner};
use rand::SeedableRng;
use serde_json::json;

type B = Autodiff<NdArray<f32>>;

#[test]
fn fifty_bohp_episodes_lower_the_loss() {
    let config = bohp_at_high_rate();
    let fresh = config
        .model
        .init::<B>(config.train.seed, &Default::default());
    let before = evaluate(&fresh.valid(), &config.task, 64, &Default::default()).unwrap();
    let (model, _) = bohp_training(GradientEngine::Bptt, 50);
    let after = evaluate(&model.valid(), &config.task, 64, &Default::default()).unwrap();
    assert!(
        after.loss < 0.95 * before.loss && after.sum_abs_error < 0.95 * before.sum_abs_error,
        "50 episodes should lower the loss: before {before}, after {after}"
    );
}

fn outputs_of(model: &PlasticRnn<NdArray<f32>>, inputs: Tensor<NdArray<f32>, 3>) -> Vec<u32> {
    let values = model.forward(inputs).into_data().to_vec::<f32>().unwrap();
    values.into_iter().map(f32::to_bits).collect()
}

#[test]
fn saved_and_loaded_model_gives_bit_identical_outputs() {
    let flags = json!({
        "model": {"neurons": 12},
        "task": {"neurons": 12, "patterns": 2},
        "train": {"optimizer": {"learning_rate": 0.01}},
    });
    let config = resolve::<PlasticRnnExperiment>(Some("bohp"), None, &flags).unwrap();
    let device = Default::default();
    let task = config.task.clone();
    let mut learner = GradientSteps::new(
        config.model.init::<B>(1, &device),
        &config.train.optimizer,
        |model: &PlasticRnn<B>, rng: &mut _| {
            run_episode(model, GradientEngine::Bptt, None, &task, 2, rng)
        },
        &device,
    );
    let mut rng = episode_rng(1);
    for step in 1..=5 {
        learner.step(step, &mut rng).unwrap();
    }
    let model = learner.into_model();
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path(), "plastic-rnn", "r").unwrap();
    let mut state = RunState::fresh("plastic-rnn", episode_rng(1));
    state.step = 5;
    let files = vec![(
        MODEL_FILE.to_string(),
        module_bytes::<B, _>(&model).unwrap(),
    )];
    run.save(&state, &serde_json::to_value(&config).unwrap(), files)
        .unwrap();

    // A model from another seed, overwritten by the checkpoint.
    let (_, checkpoint) = RunDir::open(&run.path).unwrap();
    assert_eq!(checkpoint.step(), 5);
    let loaded: PlasticRnn<B> = checkpoint
        .load_module(MODEL_FILE, config.model.init::<B>(99, &device), &device)
        .unwrap();
    let batch = plastic_tasks::generate_batch(
        &config.task,
        3,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(5),
    )
    .unwrap();
    let (inputs, _) = batch_tensors::<NdArray<f32>>(&batch, &device);
    let original = outputs_of(&model.valid(), inputs.clone());
    assert_eq!(original, outputs_of(&loaded.valid(), inputs.clone()));
    let other = outputs_of(&config.model.init::<B>(99, &device).valid(), inputs);
    assert_ne!(
        original, other,
        "a different model must give different outputs"
    );
}

/// The bohp preset at learning rate 0.03, where 50 episodes make visible progress.
fn bohp_at_high_rate() -> PlasticRnnRun {
    let flags = json!({"train": {"optimizer": {"learning_rate": 0.03}}});
    resolve::<PlasticRnnExperiment>(Some("bohp"), None, &flags).unwrap()
}

/// Trains `episodes` bohp episodes with one gradient engine; returns the model and the
/// per-episode losses.
fn bohp_training(gradient: GradientEngine, episodes: usize) -> (PlasticRnn<B>, Vec<f64>) {
    let config = bohp_at_high_rate();
    let device = Default::default();
    let task = config.task.clone();
    let mut learner = GradientSteps::new(
        config.model.init::<B>(config.train.seed, &device),
        &config.train.optimizer,
        |model: &PlasticRnn<B>, rng: &mut _| run_episode(model, gradient, None, &task, 1, rng),
        &device,
    );
    let mut rng = episode_rng(config.train.seed);
    let mut losses = Vec::new();
    for step in 1..=episodes {
        let records = learner.step(step, &mut rng).unwrap();
        losses.push(records[0].loss);
    }
    (learner.into_model(), losses)
}

/// RTRL and BPTT compute the same gradient, so in f32 their training runs may part only by
/// rounding: every episode's loss within 1e-4 (relative), the final W within 1e-4 of its
/// largest entry. (Measured: 9e-7 on the losses at this learning rate.)
#[test]
fn fifty_rtrl_episodes_follow_the_bptt_trajectory() {
    let weights = |model: PlasticRnn<B>| model.w.val().into_data().to_vec::<f32>().unwrap();
    let (bptt, bptt_losses) = bohp_training(GradientEngine::Bptt, 50);
    let (rtrl, rtrl_losses) = bohp_training(GradientEngine::Rtrl, 50);
    let (bptt_w, rtrl_w) = (weights(bptt), weights(rtrl));
    for (episode, (b, r)) in bptt_losses.iter().zip(&rtrl_losses).enumerate() {
        assert!(
            (b - r).abs() <= 1e-4 * b.abs(),
            "episode {}: BPTT loss {b}, RTRL loss {r}",
            episode + 1
        );
    }
    let worst = bptt_losses
        .iter()
        .zip(&rtrl_losses)
        .fold(0.0f64, |m, (b, r)| m.max((b - r).abs() / b.abs()));
    eprintln!("largest relative loss difference over 50 episodes: {worst:e}");
    let scale = bptt_w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let apart = bptt_w
        .iter()
        .zip(&rtrl_w)
        .fold(0.0f32, |m, (b, r)| m.max((b - r).abs()));
    assert!(
        apart <= 1e-4 * scale,
        "final W apart by {apart} (scale {scale})"
    );
    assert!(
        bptt_losses[45..].iter().sum::<f64>() < bptt_losses[..5].iter().sum::<f64>(),
        "the runs should have learned something"
    );
}

/// The fused Adam of the CPU backends computes Burn's Adam bit for bit: weights and both
/// moments over several steps, from a first step without state on.
#[test]
fn fused_adam_steps_are_burns_adam_steps_bit_for_bit() {
    use burn::optim::SimpleOptimizer;
    use burn::tensor::Distribution;
    use plastic_models::Kernels;
    use plastic_zoo::config::AdamSettings;
    use plastic_zoo::trainer::FusedAdam;

    type Inner = NdArray<f32>;
    let bits = |t: &Tensor<Inner, 2>| -> Vec<u32> {
        let values = t.clone().into_data().to_vec::<f32>().unwrap();
        values.into_iter().map(f32::to_bits).collect()
    };
    let device = Default::default();
    let settings = AdamSettings {
        beta_1: 0.8,
        ..AdamSettings::with_learning_rate(3e-3)
    };
    let burns = settings.config().build();
    let fused = FusedAdam::on(&settings, Kernels::Host);
    // More entries than one task of the fused pass takes, so that it splits.
    let shape = [300, 700];
    let start = Tensor::<Inner, 2>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let (mut ours, mut theirs) = ((start.clone(), None), (start, None));
    for step in 0..4 {
        let grad = Tensor::<Inner, 2>::random(shape, Distribution::Normal(0.0, 0.1), &device);
        // A zero gradient entry and a large one: the edges of the moments' arithmetic.
        let grad = grad.slice_assign([0..1, 0..2], Tensor::from_floats([[0.0, 1e3]], &device));
        ours = fused.step(1e-2, ours.0, grad.clone(), ours.1);
        theirs = burns.step(1e-2, theirs.0, grad, theirs.1);
        let (o, t) = (ours.1.as_ref().unwrap(), theirs.1.as_ref().unwrap());
        assert_eq!(o.momentum.time, t.momentum.time);
        assert!(
            bits(&ours.0) == bits(&theirs.0),
            "weights differ at step {step}"
        );
        assert!(
            bits(&o.momentum.moment_1) == bits(&t.momentum.moment_1),
            "first moments differ at step {step}"
        );
        assert!(
            bits(&o.momentum.moment_2) == bits(&t.momentum.moment_2),
            "second moments differ at step {step}"
        );
    }
}
