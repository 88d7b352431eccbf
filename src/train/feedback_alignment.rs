//! An MLP trained by backprop, feedback alignment or direct feedback alignment, with plain
//! SGD on updates from an explicit backward pass: online on the product task (one sample per
//! update, each seen once) or by mini-batches on Fashion-MNIST.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use plastic_models::feedback_alignment::{alignment_terms, angle_degrees};
use plastic_models::{Activation, Feedback, Loss, Method, Mlp, MlpConfig};
use plastic_tasks::fashion_mnist::{self, FashionMnist, Split};
use plastic_tasks::product::TARGET_VARIANCE;
use plastic_tasks::ProductSignal;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backend::{self, BackendChoice, BackendJob};
use crate::checkpoint::{RunDir, RunState, CONFIG_FILE, METRICS_FILE};
use crate::cli::{ActivationArg, FaTaskArg, FeedbackAlignmentArgs, MethodArg};
use crate::metrics::{EpisodeMetrics, MetricsLog};
use crate::plot::{self, Series};
use crate::train::{host_values, parameters_are_finite, progress_bar};

/// Name of the model on the command line and in checkpoints.
pub const MODEL_NAME: &str = "feedback-alignment";

/// The product task's inputs repeat after 10 periods of the first one (0.7 = 7/10): the
/// stretch of time a frozen net is scored on.
pub const PRODUCT_CYCLE_PERIODS: f64 = 10.0;

/// What the net learns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FaTask {
    /// Online regression of `x₀·x₁`: `steps` samples, one update each.
    Product { signal: ProductSignal, steps: usize },
    /// Classification of 28 × 28 images by mini-batch SGD over shuffled epochs.
    FashionMnist {
        data_dir: PathBuf,
        epochs: usize,
        batch: usize,
        /// Train on only the first this many training images (quick runs, tests).
        train_limit: Option<usize>,
    },
}

impl FaTask {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Product { .. } => "product",
            Self::FashionMnist { .. } => "fashion-mnist",
        }
    }
}

/// Everything a `train feedback-alignment` run needs; saved as its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackAlignmentRun {
    pub task: FaTask,
    pub network: MlpConfig,
    pub method: Method,
    pub learning_rate: f64,
    /// Seeds the initial weights, the feedback matrices and the order of the examples.
    pub seed: u64,
    /// Updates between two records of the loss and the alignment angles.
    pub log_every: usize,
}

impl FeedbackAlignmentRun {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            bail!("--lr must be a positive number, got {}", self.learning_rate);
        }
        if self.network.hidden.is_empty() || self.network.hidden.contains(&0) {
            bail!(
                "--hidden needs at least one layer of at least 1 neuron, got {:?}",
                self.network.hidden
            );
        }
        if self.log_every == 0 {
            bail!("--log-every must be at least 1");
        }
        match &self.task {
            FaTask::Product { signal, steps } => {
                signal.validate()?;
                if *steps == 0 {
                    bail!("--steps must be at least 1");
                }
            }
            FaTask::FashionMnist {
                epochs,
                batch,
                train_limit,
                ..
            } => {
                if *epochs == 0 || *batch == 0 {
                    bail!("--epochs and --batch must be at least 1");
                }
                if *train_limit == Some(0) {
                    bail!("--train-limit must be at least 1 image");
                }
            }
        }
        Ok(())
    }

    fn loss(&self) -> Loss {
        match self.task {
            FaTask::Product { .. } => Loss::SquaredError,
            FaTask::FashionMnist { .. } => Loss::CrossEntropy,
        }
    }
}

/// The net, its feedback path and the step size: one update at a time.
struct Learner<B: Backend> {
    mlp: Mlp<B>,
    feedback: Option<Feedback<B>>,
    learning_rate: f64,
    loss: Loss,
}

impl<B: Backend> Learner<B> {
    fn new(run: &FeedbackAlignmentRun, device: &B::Device) -> Self {
        // Drawn on the host: every backend starts from the same weights and feedback.
        let mut rng = ChaCha8Rng::seed_from_u64(run.seed);
        let mlp = run.network.init::<B>(&mut rng, device);
        let feedback =
            (run.method != Method::Bp).then(|| run.network.feedback(run.method, &mut rng, device));
        Self {
            mlp,
            feedback,
            learning_rate: run.learning_rate,
            loss: run.loss(),
        }
    }

    /// One update on a batch; returns the batch's loss `[1]` and, when `measure`, the angle
    /// between this update and the true gradient for every hidden layer, in degrees.
    fn update(
        &mut self,
        input: Tensor<B, 2>,
        target: Tensor<B, 2>,
        measure: bool,
    ) -> (Tensor<B, 1>, Option<Tensor<B, 1>>) {
        let pass = self.mlp.forward_pass(input);
        let (loss, error) = Mlp::loss_and_error(&pass, target, self.loss);
        let updates = self
            .mlp
            .updates(&pass, error.clone(), self.feedback.as_ref());
        let angles = (measure && self.feedback.is_some()).then(|| {
            let gradient = self.mlp.updates(&pass, error, None);
            let hidden = updates.weights.len() - 1;
            Tensor::cat(
                (0..hidden)
                    .map(|l| {
                        alignment_terms(updates.weights[l].clone(), gradient.weights[l].clone())
                    })
                    .collect(),
                0,
            )
        });
        self.mlp.step(&updates, self.learning_rate);
        (loss, angles)
    }
}

/// One metrics record: the mean loss over the window and the angles, named per layer.
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

/// `angle_hidden1`, … : the metric holding hidden layer `layer`'s alignment angle.
pub fn angle_name(layer: usize) -> String {
    format!("angle_hidden{}", layer + 1)
}

/// `train feedback-alignment`: trains, writes metrics, plots and the checkpoint, and
/// returns the summary.
pub struct TrainJob {
    pub config: FeedbackAlignmentRun,
    pub run: RunDir,
    /// The Fashion-MNIST data, loaded once for every method (`None` for the product task).
    pub data: Option<Arc<FashionMnist>>,
}

impl BackendJob for TrainJob {
    type Output = anyhow::Result<String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<String> {
        let Self { config, run, data } = self;
        config.validate()?;
        run.write_json(CONFIG_FILE, &config)?;
        let started = Instant::now();
        let log = MetricsLog::new(run.file(METRICS_FILE));
        log.truncate_after(0)?;
        let (learner, curve, summary, updates) = match &config.task {
            FaTask::Product { signal, steps } => {
                train_product::<B::InnerBackend>(&config, *signal, *steps, &log, &run, &device)?
            }
            FaTask::FashionMnist { .. } => {
                let data = match data {
                    Some(data) => data,
                    None => Arc::new(fashion_data(&config.task)?),
                };
                train_fashion::<B::InnerBackend>(&config, &data, &log, &device)?
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let state = RunState {
            model: MODEL_NAME.to_string(),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            episode: updates,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            last_metrics: curve.last().cloned(),
        };
        run.save_model::<B::InnerBackend, _>(&learner.mlp, &state)?;
        write_curves(&config, &curve, &run)?;
        Ok(format!(
            "{MODEL_NAME} {} on {}, hidden {:?} {:?}, lr {}: {summary} ({updates} updates, {seconds:.1} s)\ncheckpoint: {}",
            config.method.name(),
            config.task.name(),
            config.network.hidden,
            config.network.activation,
            config.learning_rate,
            run.path.display()
        ))
    }
}

/// The product task, online: every sample once, in order, one update each.
fn train_product<B: Backend>(
    run: &FeedbackAlignmentRun,
    signal: ProductSignal,
    steps: usize,
    log: &MetricsLog,
    dir: &RunDir,
    device: &B::Device,
) -> anyhow::Result<(Learner<B>, Vec<EpisodeMetrics>, String, usize)> {
    let mut learner = Learner::<B>::new(run, device);
    let bar = progress_bar(steps as u64, 0);
    let mut curve = Vec::new();
    let mut window: Vec<Tensor<B, 1>> = Vec::with_capacity(run.log_every);
    for step in 0..steps {
        let (input, target) = signal.sample(step);
        let input = Tensor::from_data(TensorData::new(input.to_vec(), [1, 2]), device);
        let target = Tensor::from_data(TensorData::new(vec![target], [1, 1]), device);
        let last_of_window = (step + 1) % run.log_every == 0 || step + 1 == steps;
        let (loss, angles) = learner.update(input, target, last_of_window);
        window.push(loss);
        if last_of_window {
            // The loss is ½(y − t)²: twice its mean is the mean squared error.
            let mse = 2.0 * mean_of(std::mem::take(&mut window))?;
            if !mse.is_finite() {
                bail!("training diverged at step {}: try a smaller --lr", step + 1);
            }
            let angles = angles.map(host_values).transpose()?;
            let metrics = record(
                step + 1,
                mse,
                angles,
                &[("time", signal.time(step + 1)), ("mse", mse)],
            );
            log.append(&metrics)?;
            bar.set_position(step as u64 + 1);
            bar.set_message(format!("mse {mse:.5}"));
            curve.push(metrics);
        }
    }
    bar.finish_and_clear();
    let (mse, trace) = product_score(&learner.mlp, signal, steps, device)?;
    plot::lines(
        &[(
            "target and output of the trained net, weights frozen, the last cycle of the inputs",
            "x0·x1",
            trace,
        )],
        "simulated time (s)",
        &dir.file(PRODUCT_TRACE_PLOT),
    )?;
    let summary = format!(
        "frozen-net mean squared error over the last input cycle {mse:.6} = {:.3} % of the target variance",
        100.0 * mse / TARGET_VARIANCE
    );
    Ok((learner, curve, summary, steps))
}

/// The product task's plot of target and output against time.
pub const PRODUCT_TRACE_PLOT: &str = "output.png";

/// The frozen net on the last full cycle of the inputs before `steps`: its mean squared
/// error and the target and output traces.
fn product_score<B: Backend>(
    mlp: &Mlp<B>,
    signal: ProductSignal,
    steps: usize,
    device: &B::Device,
) -> anyhow::Result<(f64, Vec<Series>)> {
    let cycle = ((PRODUCT_CYCLE_PERIODS * signal.period / signal.dt).round() as usize).max(1);
    let first = steps.saturating_sub(cycle);
    let count = steps - first;
    let (inputs, targets) = signal.window(first, count);
    let input = Tensor::from_data(TensorData::new(inputs, [count, 2]), device);
    let outputs = host_values(mlp.forward(input))?;
    let mse = outputs
        .iter()
        .zip(&targets)
        .map(|(&y, &t)| f64::from(y - t).powi(2))
        .sum::<f64>()
        / count as f64;
    // At most ~2000 points per line keeps the PNG readable.
    let stride = (count / 2000).max(1);
    let trace = |label: &str, values: &[f32]| Series {
        label: label.to_string(),
        points: (0..count)
            .step_by(stride)
            .map(|k| (signal.time(first + k), f64::from(values[k])))
            .collect(),
    };
    Ok((
        mse,
        vec![trace("target", &targets), trace("output", &outputs)],
    ))
}

/// Mean of scalar losses `[1]` each, read back in one transfer.
fn mean_of<B: Backend>(losses: Vec<Tensor<B, 1>>) -> anyhow::Result<f64> {
    let count = losses.len() as f64;
    let total = host_values(Tensor::cat(losses, 0).sum())?;
    Ok(f64::from(total[0]) / count)
}

/// The data set of a Fashion-MNIST run, with the training split cut to `train_limit`.
pub fn fashion_data(task: &FaTask) -> anyhow::Result<FashionMnist> {
    let FaTask::FashionMnist {
        data_dir,
        train_limit,
        ..
    } = task
    else {
        bail!("not a Fashion-MNIST task");
    };
    let mut data = fashion_mnist::load(data_dir)?;
    if let Some(limit) = *train_limit {
        let kept = limit.min(data.train.len());
        data.train.labels.truncate(kept);
        data.train.images.truncate(kept * data.train.features);
    }
    Ok(data)
}

/// Images `indices` of `split` as `[n, features]` and their one-hot classes `[n, 10]`.
fn batch_of<B: Backend>(
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

/// Fashion-MNIST by mini-batches, the test error measured after every epoch.
fn train_fashion<B: Backend>(
    run: &FeedbackAlignmentRun,
    data: &FashionMnist,
    log: &MetricsLog,
    device: &B::Device,
) -> anyhow::Result<(Learner<B>, Vec<EpisodeMetrics>, String, usize)> {
    let FaTask::FashionMnist { epochs, batch, .. } = run.task else {
        bail!("not a Fashion-MNIST task");
    };
    if data.train.features != run.network.inputs {
        bail!(
            "the images have {} pixels, the net {} inputs",
            data.train.features,
            run.network.inputs
        );
    }
    let mut learner = Learner::<B>::new(run, device);
    let mut order = ChaCha8Rng::seed_from_u64(run.seed);
    order.set_stream(1);
    let batches = data.train.len().div_ceil(batch);
    let bar = progress_bar((epochs * batches) as u64, 0);
    let mut curve = Vec::new();
    let mut window: Vec<Tensor<B, 1>> = Vec::with_capacity(run.log_every);
    let mut update = 0;
    let mut error = f64::NAN;
    for epoch in 1..=epochs {
        let mut epoch_losses = Vec::with_capacity(batches);
        let mut indices: Vec<usize> = (0..data.train.len()).collect();
        indices.shuffle(&mut order);
        for chunk in indices.chunks(batch) {
            let (input, target) = batch_of::<B>(&data.train, chunk, device);
            update += 1;
            let last_of_window = update % run.log_every == 0;
            let (loss, angles) = learner.update(input, target, last_of_window);
            window.push(loss.clone());
            epoch_losses.push(loss);
            if last_of_window {
                let loss = mean_of(std::mem::take(&mut window))?;
                if !loss.is_finite() {
                    bail!("training diverged at update {update}: try a smaller --lr");
                }
                let metrics = record(update, loss, angles.map(host_values).transpose()?, &[]);
                log.append(&metrics)?;
                bar.set_message(format!(
                    "epoch {epoch} loss {loss:.4} test error {error:.4}"
                ));
                curve.push(metrics);
            }
            bar.set_position(update as u64);
        }
        if !parameters_are_finite(&learner.mlp) {
            bail!("training diverged in epoch {epoch}: try a smaller --lr");
        }
        error = test_error(&learner.mlp, &data.test, device)?;
        let epoch_loss = mean_of(epoch_losses)?;
        let metrics = record(
            update,
            epoch_loss,
            None,
            &[("test_error", error), ("epoch", epoch as f64)],
        );
        log.append(&metrics)?;
        curve.push(metrics);
    }
    bar.finish_and_clear();
    let summary = format!(
        "test error {:.2} % ({} test images), after {epochs} epochs of {} training images",
        100.0 * error,
        data.test.len(),
        data.train.len()
    );
    Ok((learner, curve, summary, update))
}

/// `learning_curve.png` (loss, and the test error or the MSE against simulated time) and,
/// for FA and DFA, `alignment.png` (each hidden layer's angle against updates).
fn write_curves(
    run: &FeedbackAlignmentRun,
    curve: &[EpisodeMetrics],
    dir: &RunDir,
) -> anyhow::Result<()> {
    let series = |name: &str, x: &dyn Fn(&EpisodeMetrics) -> f64| Series {
        label: name.to_string(),
        points: curve
            .iter()
            .filter_map(|m| m.get(name).map(|v| (x(m), v)))
            .filter(|(_, v)| v.is_finite())
            .collect(),
    };
    let updates = |m: &EpisodeMetrics| m.episode as f64;
    match run.task {
        FaTask::Product { .. } => plot::lines_log_y(
            &[(
                "online mean squared error",
                "mse",
                vec![series("mse", &|m| m.get("time").unwrap_or(0.0))],
            )],
            "simulated time (s)",
            &dir.file(LEARNING_CURVE_PLOT),
        )?,
        FaTask::FashionMnist { .. } => plot::lines(
            &[
                (
                    "training loss (cross-entropy)",
                    "loss",
                    vec![series("loss", &updates)],
                ),
                ("test error", "error", vec![series("test_error", &updates)]),
            ],
            "update",
            &dir.file(LEARNING_CURVE_PLOT),
        )?,
    }
    if run.method != Method::Bp {
        let angles: Vec<Series> = (0..run.network.hidden.len())
            .map(|layer| series(&angle_name(layer), &updates))
            .collect();
        plot::lines(
            &[(
                "angle between the update and the true gradient, per hidden layer",
                "degrees",
                angles,
            )],
            "update",
            &dir.file(ALIGNMENT_PLOT),
        )?;
    }
    Ok(())
}

pub const LEARNING_CURVE_PLOT: &str = "learning_curve.png";
pub const ALIGNMENT_PLOT: &str = "alignment.png";

/// `eval DIR` for a feedback-alignment checkpoint: the test error (Fashion-MNIST) or the
/// frozen net's error over the last input cycle (product).
pub struct EvalJob {
    pub run: RunDir,
    /// Overrides the data folder saved in the run (Fashion-MNIST).
    pub data_dir: Option<PathBuf>,
}

impl BackendJob for EvalJob {
    type Output = anyhow::Result<String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<String> {
        let mut config: FeedbackAlignmentRun = self.run.read_json(CONFIG_FILE)?;
        config.validate().with_context(|| {
            format!("{} holds an invalid configuration", self.run.path.display())
        })?;
        self.run.read_state(MODEL_NAME)?;
        let mlp = self.run.load_model::<B::InnerBackend, _>(
            config
                .network
                .init(&mut ChaCha8Rng::seed_from_u64(0), &device),
            &device,
        )?;
        let label = format!(
            "{MODEL_NAME} checkpoint ({} on {})",
            config.method.name(),
            config.task.name()
        );
        match &mut config.task {
            FaTask::Product { signal, steps } => {
                let (mse, _) = product_score(&mlp, *signal, *steps, &device)?;
                Ok(format!(
                    "{label}: frozen-net mean squared error over the last input cycle {mse:.6} = {:.3} % of the target variance",
                    100.0 * mse / TARGET_VARIANCE
                ))
            }
            FaTask::FashionMnist { data_dir, .. } => {
                if let Some(dir) = self.data_dir {
                    *data_dir = dir;
                }
                let data = fashion_data(&config.task)?;
                let error = test_error(&mlp, &data.test, &device)?;
                Ok(format!(
                    "{label}: test error {:.2} % on {} test images (accuracy {:.2} %)",
                    100.0 * error,
                    data.test.len(),
                    100.0 * (1.0 - error)
                ))
            }
        }
    }
}

/// The net a task gets unless `--hidden`/`--activation` say otherwise.
pub fn default_network(
    task: &str,
    hidden: Option<Vec<usize>>,
    activation: Activation,
) -> MlpConfig {
    let (inputs, outputs, default_hidden) = match task {
        "product" => (2, 1, vec![100]),
        _ => (28 * 28, fashion_mnist::CLASSES.len(), vec![1000]),
    };
    MlpConfig::new(
        inputs,
        hidden.unwrap_or(default_hidden),
        outputs,
        activation,
    )
}

/// The default data folder, as a path.
pub fn default_data_dir() -> &'static Path {
    Path::new(fashion_mnist::DEFAULT_DIR)
}

/// The runs a `train feedback-alignment` command line describes, one per method.
pub fn resolve(args: &FeedbackAlignmentArgs) -> anyhow::Result<Vec<FeedbackAlignmentRun>> {
    let product = args.task == FaTaskArg::Product;
    let activation = match args.activation {
        Some(ActivationArg::Tanh) => Activation::Tanh,
        Some(ActivationArg::Relu) => Activation::Relu,
        Some(ActivationArg::Sigmoid) => Activation::Sigmoid,
        None if product => Activation::Relu,
        None => Activation::Tanh,
    };
    let task = if product {
        let signal = ProductSignal {
            period: args.period,
            dt: args.dt,
        };
        signal.validate()?;
        FaTask::Product {
            signal,
            steps: args
                .steps
                .unwrap_or((PRODUCT_DEFAULT_SECONDS / args.dt).round() as usize),
        }
    } else {
        if args.steps.is_some() {
            bail!("--steps applies to the product task; fashion-mnist runs --epochs");
        }
        FaTask::FashionMnist {
            data_dir: args.data_dir.clone(),
            epochs: args.epochs,
            batch: args.batch,
            train_limit: args.train_limit,
        }
    };
    let network = default_network(
        task.name(),
        args.hidden.as_ref().map(|h| h.0.clone()),
        activation,
    );
    let log_every = args.log_every.unwrap_or(if product {
        ((1.0 / args.dt).round() as usize).max(1)
    } else {
        100
    });
    let mut methods: Vec<Method> = Vec::new();
    for method in &args.method {
        let method = match method {
            MethodArg::Bp => Method::Bp,
            MethodArg::Fa => Method::Fa,
            MethodArg::Dfa => Method::Dfa,
        };
        if methods.contains(&method) {
            bail!("--method names {} twice", method.name());
        }
        methods.push(method);
    }
    methods
        .into_iter()
        .map(|method| {
            let run = FeedbackAlignmentRun {
                task: task.clone(),
                network: network.clone(),
                method,
                learning_rate: args.lr.unwrap_or(if product { 0.02 } else { 0.05 }),
                seed: args.seed,
                log_every,
            };
            run.validate()?;
            Ok(run)
        })
        .collect()
}

/// Simulated seconds of a product run unless `--steps` says otherwise.
pub const PRODUCT_DEFAULT_SECONDS: f64 = 3000.0;

/// `train feedback-alignment`: every method in turn, then (with several) one plot of their
/// learning curves, `<out>/feedback-alignment/<name>-comparison.png`.
pub fn train_methods(args: &FeedbackAlignmentArgs, backend: BackendChoice) -> anyhow::Result<()> {
    let runs = resolve(args)?;
    // Loaded once, before any run directory is made: a missing or broken data set fails first.
    let data = match runs[0].task {
        FaTask::FashionMnist { .. } => Some(Arc::new(fashion_data(&runs[0].task)?)),
        FaTask::Product { .. } => None,
    };
    let several = runs.len() > 1;
    // `--run-name` names a lone run as given; otherwise every run is `<base>-<method>`.
    let base = args
        .run_name
        .clone()
        .unwrap_or_else(|| format!("{}-seed{}", runs[0].task.name(), args.seed));
    let mut dirs = Vec::new();
    for config in runs.iter().cloned() {
        let name = match &args.run_name {
            Some(name) if !several => name.clone(),
            _ => format!("{base}-{}", config.method.name()),
        };
        let run = RunDir::create(&args.out, MODEL_NAME, &name, false)?;
        eprintln!(
            "training {} on {} with {} on {backend} into {}",
            config.task.name(),
            config.method.name(),
            format_hidden(&config.network),
            run.path.display()
        );
        dirs.push((config.method, run.clone()));
        let job = TrainJob {
            config,
            run,
            data: data.clone(),
        };
        println!("{}", backend::run_on(backend, job)??);
    }
    if several {
        let path = args
            .out
            .join(MODEL_NAME)
            .join(format!("{base}-comparison.png"));
        write_comparison(&runs[0], &dirs, &path)?;
        println!("comparison of the methods: {}", path.display());
    }
    Ok(())
}

fn format_hidden(network: &MlpConfig) -> String {
    format!(
        "hidden {:?} {}",
        network.hidden,
        format!("{:?}", network.activation).to_lowercase()
    )
}

/// The learning curves of several runs of one task in one plot: the product task's MSE
/// against simulated time, or Fashion-MNIST's test error against epochs; and the last
/// hidden layer's alignment angle.
fn write_comparison(
    config: &FeedbackAlignmentRun,
    runs: &[(Method, RunDir)],
    path: &Path,
) -> anyhow::Result<()> {
    let task = &config.task;
    let last_hidden = config.network.hidden.len() - 1;
    let angle = angle_name(last_hidden);
    let (metric, x_name, title, y_label, x_label) = match task {
        FaTask::Product { .. } => (
            "mse",
            "time",
            "online mean squared error, averaged over each input cycle",
            "mse",
            "simulated time (s)",
        ),
        FaTask::FashionMnist { .. } => ("test_error", "epoch", "test error", "error", "epoch"),
    };
    let mut errors = Vec::new();
    let mut angles = Vec::new();
    for (method, run) in runs {
        let curve = MetricsLog::new(run.file(METRICS_FILE)).read()?;
        let points: Vec<(f64, f64)> = curve
            .iter()
            .filter_map(|m| Some((m.get(x_name)?, m.get(metric)?)))
            .collect();
        let points = match task {
            // One point per input cycle: the per-second errors swing with the signal.
            FaTask::Product { signal, .. } if points.len() > 1 => {
                let spacing = points[1].0 - points[0].0;
                let cycle = PRODUCT_CYCLE_PERIODS * signal.period;
                cycle_means(&points, (cycle / spacing).round().max(1.0) as usize)
            }
            _ => points,
        };
        errors.push(Series {
            label: method.name().to_string(),
            points,
        });
        if *method != Method::Bp {
            angles.push(Series {
                label: format!("{} (hidden layer {})", method.name(), last_hidden + 1),
                points: curve
                    .iter()
                    .filter_map(|m| Some((m.episode as f64, m.get(&angle)?)))
                    .collect(),
            });
        }
    }
    let panels = vec![(title, y_label, errors)];
    if !angles.is_empty() {
        // Angles are logged against updates, which the other panel's x axis is not.
        plot::lines(
            &[(
                "angle between the update and the true gradient, last hidden layer",
                "degrees",
                angles,
            )],
            "update",
            &path.with_file_name(
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .map(|s| format!("{s}-alignment.png"))
                    .unwrap_or_else(|| "alignment.png".into()),
            ),
        )?;
    }
    match task {
        FaTask::Product { .. } => plot::lines_log_y(&panels, x_label, path),
        FaTask::FashionMnist { .. } => plot::lines(&panels, x_label, path),
    }
}

/// Means of consecutive groups of `size` points, each placed at its group's last x.
fn cycle_means(points: &[(f64, f64)], size: usize) -> Vec<(f64, f64)> {
    points
        .chunks(size)
        .map(|group| {
            let mean = group.iter().map(|p| p.1).sum::<f64>() / group.len() as f64;
            (group[group.len() - 1].0, mean)
        })
        .collect()
}
