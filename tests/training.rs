//! Training and checkpoints through the library, on the default CPU backend.
#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::tensor::Tensor;
use plastic_models::PlasticRnn;
use plastic_zoo::checkpoint::{RunDir, RunState};
use plastic_zoo::config::{resolve_plastic_rnn, PlasticRnnOverrides};
use plastic_zoo::train::plastic_rnn::{batch_tensors, episode_rng, evaluate, run_episode};
use plastic_zoo::train::{adam, optimizer_step};
use rand::SeedableRng;

type B = Autodiff<NdArray<f32>>;

#[test]
fn fifty_bohp_episodes_lower_the_loss() {
    let flags = PlasticRnnOverrides {
        learning_rate: Some(0.03),
        ..Default::default()
    };
    let config = resolve_plastic_rnn("bohp", None, &flags).unwrap();
    let device = Default::default();
    let mut model = config.model.init::<B>(config.train.seed, &device);
    let before = evaluate(&model.valid(), &config.task, 64).unwrap();
    let mut optim = adam();
    let mut rng = episode_rng(config.train.seed);
    for _ in 0..50 {
        let outcome = run_episode(&model, &config.task, 1, &mut rng).unwrap();
        model = optimizer_step(model, &mut optim, config.train.learning_rate, outcome.loss);
    }
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
        let outcome = run_episode(&model, &config.task, 2, &mut rng).unwrap();
        model = optimizer_step(model, &mut optim, 0.01, outcome.loss);
    }
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path(), "plastic-rnn", "r").unwrap();
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
