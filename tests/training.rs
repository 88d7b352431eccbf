//! Training and checkpoints through the library, on the default CPU backend.
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::tensor::Tensor;
use plastic_models::PlasticRnn;
use plastic_zoo::checkpoint::{RunDir, RunState};
use plastic_zoo::config::{
    resolve_plastic_rnn, GradientEngine, PlasticRnnOverrides, PlasticRnnRun,
};
use plastic_zoo::train::plastic_rnn::{batch_tensors, episode_rng, evaluate, run_episode};
use plastic_zoo::train::{adam, optimizer_step};
use rand::SeedableRng;

type B = Autodiff<NdArray<f32>>;

#[test]
fn fifty_bohp_episodes_lower_the_loss() {
    let config = bohp_at_high_rate();
    let fresh = config
        .model
        .init::<B>(config.train.seed, &Default::default());
    let before = evaluate(&fresh.valid(), &config.task, 64).unwrap();
    let (model, _) = bohp_training(GradientEngine::Bptt, 50);
    let after = evaluate(&model.valid(), &config.task, 64).unwrap();
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
    let flags = PlasticRnnOverrides {
        neurons: Some(12),
        patterns: Some(2),
        learning_rate: Some(0.01),
        ..Default::default()
    };
    let config = resolve_plastic_rnn("bohp", None, &flags).unwrap();
    let device = Default::default();
    let mut model = config.model.init::<B>(1, &device);
    let mut optim = adam();
    let mut rng = episode_rng(1);
    for _ in 0..5 {
        let outcome = run_episode(&model, GradientEngine::Bptt, &config.task, 2, &mut rng).unwrap();
        model = optimizer_step(model, &mut optim, 0.01, outcome.loss, None);
    }
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path(), "plastic-rnn", "r", true).unwrap();
    let state = RunState {
        model: "plastic-rnn".into(),
        crate_version: "test".into(),
        episode: 5,
        rng: episode_rng(1),
        last_metrics: None,
    };
    run.save_checkpoint(&model, &optim, &state).unwrap();

    // A model from another seed, overwritten by the checkpoint.
    let loaded: PlasticRnn<B> = run
        .load_model(config.model.init::<B>(99, &device), &device)
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
    let flags = PlasticRnnOverrides {
        learning_rate: Some(0.03),
        ..Default::default()
    };
    resolve_plastic_rnn("bohp", None, &flags).unwrap()
}

/// Trains `episodes` bohp episodes with one gradient engine; returns the model and the
/// per-episode losses.
fn bohp_training(gradient: GradientEngine, episodes: usize) -> (PlasticRnn<B>, Vec<f64>) {
    let config = bohp_at_high_rate();
    let mut model = config
        .model
        .init::<B>(config.train.seed, &Default::default());
    let mut optim = adam();
    let mut rng = episode_rng(config.train.seed);
    let mut losses = Vec::new();
    for _ in 0..episodes {
        let outcome = run_episode(&model, gradient, &config.task, 1, &mut rng).unwrap();
        losses.push(outcome.loss.clone().into_scalar() as f64);
        model = optimizer_step(
            model,
            &mut optim,
            config.train.learning_rate,
            outcome.loss,
            outcome.gradients,
        );
    }
    (model, losses)
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
