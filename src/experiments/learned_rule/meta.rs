//! Meta-training a learned rule: every meta-step builds fresh random nets, one per task
//! sampled from the training tasks, lets the rule train them for K online updates, and
//! backpropagates the nets' error through the whole inner loop into the rule.

use std::collections::BTreeMap;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use plastic_models::{FeedForward, LearnedRule};
use plastic_tasks::{draw_examples, TwoInputTask};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::LearnedRuleRun;
use crate::experiments::shared::local_rules::{probe_outputs, successes};
use crate::trainer::EpisodeOutcome;

/// Fresh nets, one per entry of `tasks`, trained by `rule` for `inner_steps` updates.
/// With `truncation`, the weights and the rule's memory are cut from the graph before the
/// last `truncation` updates.
pub fn inner_loop<B: Backend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    tasks: &[TwoInputTask],
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> anyhow::Result<FeedForward<B>> {
    inner_loop_watched(rule, run, tasks, rng, device, |_| {})
}

/// [`inner_loop`], calling `after_update` with the nets after every update.
pub fn inner_loop_watched<B: Backend, F: FnMut(&FeedForward<B>)>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    tasks: &[TwoInputTask],
    rng: &mut ChaCha8Rng,
    device: &B::Device,
    after_update: F,
) -> anyhow::Result<FeedForward<B>> {
    let nets = tasks.len();
    let network = run.network().init::<B>(nets, rng, device)?;
    let draw = || {
        let (inputs, targets) = draw_examples(tasks, rng);
        (
            Tensor::from_data(TensorData::new(inputs, [nets, 1, 2]), device),
            Tensor::from_data(TensorData::new(targets, [nets, 1, 1]), device),
        )
    };
    Ok(rule.train_online(
        network,
        run.inner_steps,
        run.truncation,
        run.w_max,
        draw,
        after_update,
    ))
}

/// Mean squared error over every net and probe input, `[1]`: the meta-loss.
pub fn meta_loss<B: Backend>(network: &FeedForward<B>, tasks: &[TwoInputTask]) -> Tensor<B, 1> {
    let outputs = probe_outputs(network, tasks);
    let [nets, probes, _] = outputs.dims();
    let targets: Vec<f32> = tasks.iter().flat_map(|t| t.probe_targets()).collect();
    let targets = Tensor::from_data(
        TensorData::new(targets, [nets, probes, 1]),
        &outputs.device(),
    );
    (outputs - targets).powi_scalar(2).mean()
}

/// One meta-step: a batch of tasks drawn from the training tasks, the inner loop, the
/// meta-loss after it (or averaged over it).
pub fn meta_step<B: AutodiffBackend>(
    rule: &LearnedRule<B>,
    run: &LearnedRuleRun,
    train: &[TwoInputTask],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<EpisodeOutcome<B>> {
    let device = rule.readout.weight.device();
    let tasks: Vec<TwoInputTask> = (0..run.train.batch)
        .map(|_| train[rng.random_range(0..train.len())])
        .collect();
    let scored_after: Option<Vec<usize>> = match (&run.loss_at, run.loss_during) {
        (Some(budgets), _) => Some(budgets.clone()),
        (None, true) => Some((1..=run.inner_steps).collect()),
        (None, false) => None,
    };
    let (network, loss) = if let Some(budgets) = scored_after {
        let mut losses = Vec::with_capacity(budgets.len());
        let mut updates = 0;
        let network = inner_loop_watched(rule, run, &tasks, rng, &device, |net| {
            updates += 1;
            if budgets.contains(&updates) {
                losses.push(meta_loss(net, &tasks));
            }
        })?;
        (network, Tensor::cat(losses, 0).mean())
    } else {
        let network = inner_loop(rule, run, &tasks, rng, &device)?;
        let loss = meta_loss(&network, &tasks);
        (network, loss)
    };
    let solved = successes(&network, &tasks)?;
    let mut values = BTreeMap::new();
    values.insert("success_rate".into(), solved as f64 / tasks.len() as f64);
    Ok(EpisodeOutcome {
        loss,
        gradients: None,
        values,
    })
}
