//! Fashion-MNIST for the feedback-alignment runs: read once per process, cut to the run's
//! training limit, served as mini-batches.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::bail;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use plastic_models::Mlp;
use plastic_tasks::fashion_mnist::{self, FashionMnist, Split};

use super::config::FaTask;

/// A data set's folder and training limit.
type DataKey = (PathBuf, Option<usize>);

/// The data sets read so far in this process: the methods of one command share one read.
static LOADED: Mutex<Vec<(DataKey, Arc<FashionMnist>)>> = Mutex::new(Vec::new());

/// The data set of a Fashion-MNIST task, with the training split cut to its limit.
pub fn fashion_data(task: &FaTask) -> anyhow::Result<Arc<FashionMnist>> {
    let FaTask::FashionMnist {
        data_dir,
        train_limit,
        ..
    } = task
    else {
        bail!("not a Fashion-MNIST task");
    };
    let key = (data_dir.clone(), *train_limit);
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, data)) = loaded.iter().find(|(k, _)| *k == key) {
        return Ok(data.clone());
    }
    let mut data = fashion_mnist::load(data_dir)?;
    if let Some(limit) = *train_limit {
        let kept = limit.min(data.train.len());
        data.train.labels.truncate(kept);
        data.train.images.truncate(kept * data.train.features);
    }
    let data = Arc::new(data);
    loaded.push((key, data.clone()));
    Ok(data)
}

/// Images `indices` of `split` as `[n, features]` and their one-hot classes `[n, 10]`.
pub fn batch_of<B: Backend>(
    split: &Split,
    indices: &[usize],
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let features = split.features;
    let mut pixels = Vec::with_capacity(indices.len() * features);
    let mut one_hot = vec![0.0f32; indices.len() * fashion_mnist::CLASSES.len()];
    for (row, &i) in indices.iter().enumerate() {
        pixels.extend_from_slice(&split.images[i * features..(i + 1) * features]);
        one_hot[row * fashion_mnist::CLASSES.len() + usize::from(split.labels[i])] = 1.0;
    }
    (
        Tensor::from_data(TensorData::new(pixels, [indices.len(), features]), device),
        Tensor::from_data(
            TensorData::new(one_hot, [indices.len(), fashion_mnist::CLASSES.len()]),
            device,
        ),
    )
}

/// Fraction of `split` that `mlp` classifies wrongly.
pub fn test_error<B: Backend>(
    mlp: &Mlp<B>,
    split: &Split,
    device: &B::Device,
) -> anyhow::Result<f64> {
    let mut wrong = 0usize;
    let indices: Vec<usize> = (0..split.len()).collect();
    for chunk in indices.chunks(1000) {
        let (input, _) = batch_of::<B>(split, chunk, device);
        let predicted: Tensor<B, 2, Int> = mlp.forward(input).argmax(1);
        let labels: Vec<i64> = chunk.iter().map(|&i| i64::from(split.labels[i])).collect();
        let labels =
            Tensor::<B, 2, Int>::from_data(TensorData::new(labels, [chunk.len(), 1]), device);
        let right = predicted
            .equal(labels)
            .int()
            .sum()
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .map_err(|e| anyhow::anyhow!("cannot read the accuracy back: {e:?}"))?[0];
        wrong += chunk.len() - right as usize;
    }
    Ok(wrong as f64 / split.len().max(1) as f64)
}
