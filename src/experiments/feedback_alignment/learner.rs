//! The learning net of the models crate ([`MlpLearner`]) as local updates for the trainer;
//! a [`Feed`] brings the examples: online samples of the product task, or shuffled
//! mini-batches of Fashion-MNIST.

use std::collections::BTreeMap;
use std::sync::Arc;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use plastic_models::feedback_alignment::angle_degrees;
use plastic_models::{Kernels, Mlp, MlpLearner};
use plastic_tasks::fashion_mnist::FashionMnist;
use plastic_tasks::ProductSignal;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::data::{batch_of, test_error};
use crate::metrics::{EpisodeMetrics, MetricsLines};
use crate::trainer::{parameters_are_finite, LocalUpdate};
use crate::util::host_values;

/// `angle_hidden1`, … : the metric holding hidden layer `layer`'s alignment angle.
pub fn angle_name(layer: usize) -> String {
    format!("angle_hidden{}", layer + 1)
}

/// One metrics record: a loss and the angles, named per layer.
fn record(
    update: usize,
    loss: f64,
    alignment: Option<Vec<f32>>,
    extra: &[(&str, f64)],
) -> EpisodeMetrics {
    let mut values = BTreeMap::new();
    for (layer, terms) in alignment.unwrap_or_default().chunks(3).enumerate() {
        let terms = [0, 1, 2].map(|k| f64::from(terms[k]));
        values.insert(angle_name(layer), angle_degrees(terms));
    }
    for (name, value) in extra {
        values.insert(name.to_string(), *value);
    }
    EpisodeMetrics {
        episode: update,
        loss,
        values,
    }
}

/// The losses of a window of updates, in update order: scalar tensors `[1]` kept on the device
/// until they are averaged (tensor updates), or host values (host updates, and every loss
/// restored from a checkpoint). The mean is taken the same way wherever they are, so that a
/// resumed run averages the very same numbers as one never stopped.
struct Losses<B: Backend>(Vec<LossValue<B>>);

enum LossValue<B: Backend> {
    OnDevice(Tensor<B, 1>),
    OnHost(f32),
}

impl<B: Backend> Losses<B> {
    fn new() -> Self {
        Self(Vec::new())
    }

    fn push_on_device(&mut self, loss: Tensor<B, 1>) {
        self.0.push(LossValue::OnDevice(loss));
    }

    fn push_on_host(&mut self, loss: f32) {
        self.0.push(LossValue::OnHost(loss));
    }

    /// Mean of the losses (those on the device read back in one transfer); empties the list.
    fn take_mean(&mut self) -> anyhow::Result<f64> {
        let values = self.values()?;
        self.0.clear();
        let total: f64 = values.iter().map(|&v| f64::from(v)).sum();
        Ok(total / values.len() as f64)
    }

    /// The losses' values, in update order.
    fn values(&self) -> anyhow::Result<Vec<f32>> {
        let on_device: Vec<Tensor<B, 1>> = self
            .0
            .iter()
            .filter_map(|loss| match loss {
                LossValue::OnDevice(tensor) => Some(tensor.clone()),
                LossValue::OnHost(_) => None,
            })
            .collect();
        let mut read = if on_device.is_empty() {
            Vec::new()
        } else {
            host_values(Tensor::cat(on_device, 0))?
        }
        .into_iter();
        Ok(self
            .0
            .iter()
            .map(|loss| match loss {
                LossValue::OnDevice(_) => read.next().expect("one value per device loss"),
                LossValue::OnHost(value) => *value,
            })
            .collect())
    }

    /// The losses saved as `values`.
    fn from_values(values: &[f32]) -> Self {
        Self(values.iter().map(|&v| LossValue::OnHost(v)).collect())
    }
}

/// A batch of examples: inputs `[n, in]`, targets `[n, out]`.
pub type Examples<B> = (Tensor<B, 2>, Tensor<B, 2>);

/// How examples reach the net, and what is recorded beside the running loss.
pub trait Feed<B: Backend> {
    /// The batch of update `step` (from 1).
    fn batch(&mut self, step: usize, rng: &mut ChaCha8Rng, device: &B::Device) -> Examples<B>;

    /// The examples of update `step` as host values (`[n, in]`, `[n, out]`, row-major), for a
    /// feed whose updates run as plain loops on the host on the CPU backends (few examples
    /// per update). Such a feed has no [`Feed::after`] lines.
    fn host_examples(&mut self, _step: usize) -> Option<(Vec<f32>, Vec<f32>)> {
        None
    }

    /// Whether a metrics line is due after `step` besides every `log_every` updates.
    fn ends_window(&self, _step: usize) -> bool {
        false
    }

    /// The metrics line of a window of updates whose mean loss is `loss`.
    fn window_line(&self, step: usize, loss: f64, angles: Option<Vec<f32>>) -> EpisodeMetrics;

    /// Lines that follow update `step`, whose loss was `loss` (an epoch's end).
    fn after(
        &mut self,
        _mlp: &Mlp<B>,
        _device: &B::Device,
        _step: usize,
        _loss: Tensor<B, 1>,
    ) -> MetricsLines {
        Ok(Vec::new())
    }

    /// What the feed carries between updates.
    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }

    fn restore(&mut self, _state: &serde_json::Value) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The net trained on a feed: a local update for the trainer.
pub struct FaLearner<B: Backend, F> {
    pub net: MlpLearner<B>,
    pub feed: F,
    device: B::Device,
    log_every: usize,
    /// Whether updates run on the host where the feed gives host examples (the backend
    /// prefers host kernels).
    on_host: bool,
    /// The losses since the last metrics line.
    window: Losses<B>,
}

impl<B: Backend, F: Feed<B>> FaLearner<B, F> {
    pub fn new(net: MlpLearner<B>, feed: F, log_every: usize, device: &B::Device) -> Self {
        Self {
            net,
            feed,
            device: device.clone(),
            log_every,
            on_host: Kernels::preferred() == Kernels::Host,
            window: Losses::new(),
        }
    }
}

/// What a learner carries between updates: the unfinished window, and the feed's own.
#[derive(Serialize, Deserialize)]
struct LearnerState {
    window: Vec<f32>,
    feed: serde_json::Value,
}

impl<B: Backend, F: Feed<B>> LocalUpdate for FaLearner<B, F> {
    type Backend = B;
    type Network = Mlp<B>;

    fn update(&mut self, step: usize, rng: &mut ChaCha8Rng) -> MetricsLines {
        let last_of_window = step.is_multiple_of(self.log_every) || self.feed.ends_window(step);
        let host_examples = self
            .on_host
            .then(|| self.feed.host_examples(step))
            .flatten();
        let mut lines = Vec::new();
        let mut after = None;
        let angles = if let Some((input, target)) = host_examples {
            let (loss, terms) = self.net.update_on_host(&input, &target, last_of_window);
            self.window.push_on_host(loss as f32);
            terms.map(|terms| terms.into_iter().map(|t| t as f32).collect())
        } else {
            let (input, target) = self.feed.batch(step, rng, &self.device);
            let (loss, angles) = self.net.update(input, target, last_of_window);
            self.window.push_on_device(loss.clone());
            after = Some(loss);
            if last_of_window {
                angles.map(host_values).transpose()?
            } else {
                None
            }
        };
        if last_of_window {
            let mean = self.window.take_mean()?;
            lines.push(self.feed.window_line(step, mean, angles));
        }
        if let Some(loss) = after {
            lines.extend(self.feed.after(&self.net.mlp(), &self.device, step, loss)?);
        }
        Ok(lines)
    }

    fn network(&self) -> Mlp<B> {
        self.net.mlp()
    }

    fn set_network(&mut self, network: Mlp<B>) {
        self.net.set_mlp(network);
    }

    fn device(&self) -> B::Device {
        self.device.clone()
    }

    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::to_value(LearnerState {
            window: self.window.values()?,
            feed: self.feed.state()?,
        })?)
    }

    fn restore_state(&mut self, state: &serde_json::Value) -> anyhow::Result<()> {
        let state: LearnerState = serde_json::from_value(state.clone())?;
        self.window = Losses::from_values(&state.window);
        self.feed.restore(&state.feed)
    }
}

/// The product task, online: sample `step − 1` at update `step`, each sample once.
pub struct ProductFeed {
    pub signal: ProductSignal,
    pub steps: usize,
}

impl<B: Backend> Feed<B> for ProductFeed {
    fn batch(&mut self, step: usize, _rng: &mut ChaCha8Rng, device: &B::Device) -> Examples<B> {
        let (input, target) = self.signal.sample(step - 1);
        (
            Tensor::from_data(TensorData::new(input.to_vec(), [1, 2]), device),
            Tensor::from_data(TensorData::new(vec![target], [1, 1]), device),
        )
    }

    fn host_examples(&mut self, step: usize) -> Option<(Vec<f32>, Vec<f32>)> {
        let (input, target) = self.signal.sample(step - 1);
        Some((input.to_vec(), vec![target]))
    }

    fn ends_window(&self, step: usize) -> bool {
        step == self.steps
    }

    /// The loss is ½(y − t)²: twice its mean is the mean squared error.
    fn window_line(&self, step: usize, loss: f64, angles: Option<Vec<f32>>) -> EpisodeMetrics {
        let mse = 2.0 * loss;
        record(
            step,
            mse,
            angles,
            &[("time", self.signal.time(step)), ("mse", mse)],
        )
    }
}

/// Fashion-MNIST by mini-batches over epochs shuffled by the trainer's generator, the test
/// error measured after every epoch.
pub struct FashionFeed<B: Backend> {
    data: Arc<FashionMnist>,
    batch: usize,
    epoch_losses: Losses<B>,
    /// The order of this epoch's images, and the generator as it was before drawing it.
    order: Vec<usize>,
    epoch_rng: Option<ChaCha8Rng>,
}

impl<B: Backend> FashionFeed<B> {
    pub fn new(data: Arc<FashionMnist>, batch: usize) -> Self {
        Self {
            data,
            batch,
            epoch_losses: Losses::new(),
            order: Vec::new(),
            epoch_rng: None,
        }
    }

    /// Mini-batches per epoch.
    pub fn batches(&self) -> usize {
        self.data.train.len().div_ceil(self.batch)
    }

    fn shuffle(&mut self, rng: &mut ChaCha8Rng) {
        self.epoch_rng = Some(rng.clone());
        let mut indices: Vec<usize> = (0..self.data.train.len()).collect();
        indices.shuffle(rng);
        self.order = indices;
    }
}

/// What a Fashion-MNIST feed carries between updates.
#[derive(Serialize, Deserialize)]
struct FashionState {
    epoch_losses: Vec<f32>,
    epoch_rng: Option<ChaCha8Rng>,
}

impl<B: Backend> Feed<B> for FashionFeed<B> {
    fn batch(&mut self, step: usize, rng: &mut ChaCha8Rng, device: &B::Device) -> Examples<B> {
        let position = (step - 1) % self.batches();
        if position == 0 {
            self.shuffle(rng);
        }
        let end = ((position + 1) * self.batch).min(self.order.len());
        batch_of::<B>(
            &self.data.train,
            &self.order[position * self.batch..end],
            device,
        )
    }

    fn window_line(&self, step: usize, loss: f64, angles: Option<Vec<f32>>) -> EpisodeMetrics {
        record(step, loss, angles, &[])
    }

    fn after(
        &mut self,
        mlp: &Mlp<B>,
        device: &B::Device,
        step: usize,
        loss: Tensor<B, 1>,
    ) -> MetricsLines {
        self.epoch_losses.push_on_device(loss);
        let batches = self.batches();
        if !step.is_multiple_of(batches) {
            return Ok(Vec::new());
        }
        let error = if parameters_are_finite(mlp) {
            test_error(mlp, &self.data.test, device)?
        } else {
            f64::NAN
        };
        let epoch_loss = self.epoch_losses.take_mean()?;
        let epoch = (step / batches) as f64;
        let extra = [("test_error", error), ("epoch", epoch)];
        Ok(vec![record(step, epoch_loss, None, &extra)])
    }

    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::to_value(FashionState {
            epoch_losses: self.epoch_losses.values()?,
            epoch_rng: self.epoch_rng.clone(),
        })?)
    }

    fn restore(&mut self, state: &serde_json::Value) -> anyhow::Result<()> {
        let state: FashionState = serde_json::from_value(state.clone())?;
        self.epoch_losses = Losses::from_values(&state.epoch_losses);
        // The epoch under way is drawn again from where its generator stood.
        if let Some(mut rng) = state.epoch_rng {
            self.shuffle(&mut rng);
        }
        Ok(())
    }
}
