//! The plastic RNN on the pattern-completion task: episodes, evaluation, plots.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use plastic_models::{last_step_loss, rtrl_sensitivity_bytes, PlasticRnn, PlasticRnnConfig};
use plastic_tasks::pattern::{sign_error, sum_abs_error};
use plastic_tasks::{generate_batch, PatternBatch, PatternTaskConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::backend::BackendJob;
use crate::checkpoint::{RunDir, RunState, CONFIG_FILE, METRICS_FILE};
use crate::config::{GradientEngine, PlasticRnnRun};
use crate::metrics::MetricsLog;
use crate::plot;
use crate::train::{adam, ensure_work_left, host_values, train_loop, EpisodeOutcome};

/// Name of the model on the command line and in checkpoints.
pub const MODEL_NAME: &str = "plastic-rnn";

/// Evaluation episodes come from this seed, never from the training stream.
pub const EVAL_SEED: u64 = 0xE7A1_5EED;

/// Episodes per forward pass during evaluation.
const EVAL_CHUNK: usize = 16;

/// The episode generator of a run: the same seed as the parameters, another ChaCha stream.
pub fn episode_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    rng
}

/// A batch of episodes as tensors: inputs `[batch, steps, neurons]`, targets `[batch, neurons]`.
pub fn batch_tensors<B: Backend>(
    batch: &PatternBatch,
    device: &B::Device,
) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let inputs = TensorData::new(
        batch.inputs.clone(),
        [batch.batch, batch.steps, batch.neurons],
    );
    let targets = TensorData::new(batch.targets.clone(), [batch.batch, batch.neurons]);
    (
        Tensor::from_data(inputs, device),
        Tensor::from_data(targets, device),
    )
}

/// Runs one training batch: the loss and its gradient (BPTT: the loss attached to the
/// graph; RTRL: the gradients, computed forward in time) and metrics.
pub fn run_episode<B: AutodiffBackend>(
    model: &PlasticRnn<B>,
    gradient: GradientEngine,
    task: &PatternTaskConfig,
    batch_size: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<EpisodeOutcome<B>> {
    let batch = generate_batch(task, batch_size, rng)?;
    let device = model.w.device();
    let (loss, outputs, gradients) = match gradient {
        GradientEngine::Bptt => {
            let (inputs, targets) = batch_tensors::<B>(&batch, &device);
            let outputs = model.forward(inputs);
            let loss = last_step_loss(outputs.clone(), targets);
            (loss, host_values(outputs)?, None)
        }
        GradientEngine::Rtrl => {
            let (inputs, targets) = batch_tensors::<B::InnerBackend>(&batch, &device);
            let rtrl = model.valid().rtrl_gradients(inputs, targets);
            let mut gradients = GradientsParams::new();
            gradients.register(model.w.id, rtrl.w);
            gradients.register(model.alpha.id, rtrl.alpha);
            if let Some(eta) = rtrl.eta {
                gradients.register(model.eta.id, eta);
            }
            let loss = Tensor::from_inner(rtrl.loss);
            (loss, host_values(rtrl.outputs)?, Some(gradients))
        }
    };
    let mut values = BTreeMap::new();
    values.insert(
        "sum_abs_error".to_string(),
        sum_abs_error(&outputs, &batch.targets, task.neurons),
    );
    values.insert(
        "sign_error".to_string(),
        sign_error(&outputs, &batch.targets),
    );
    values.insert(
        "eta".to_string(),
        model.eta.val().into_scalar().elem::<f64>(),
    );
    Ok(EpisodeOutcome {
        loss,
        gradients,
        values,
    })
}

/// Refuses an RTRL run whose forward sensitivities (f32) would exceed `limit` bytes,
/// before anything is allocated.
pub fn check_rtrl_memory(model: &PlasticRnnConfig, batch: usize, limit: u64) -> anyhow::Result<()> {
    let needed = rtrl_sensitivity_bytes(model, batch, std::mem::size_of::<f32>());
    if needed > u128::from(limit) {
        bail!(
            "RTRL with {} neurons (bias included) and batch {batch} needs {} for its forward sensitivities, more than --max-memory {}: raise --max-memory, lower --neurons or --batch, or use --grad bptt",
            model.total_neurons(),
            human_bytes(needed),
            human_bytes(u128::from(limit))
        );
    }
    Ok(())
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for name in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = name;
    }
    format!("{value:.1} {unit}")
}

/// Averages over fresh evaluation episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub episodes: usize,
    pub loss: f64,
    pub sum_abs_error: f64,
    pub sign_error: f64,
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "eval over {} episodes (seed {EVAL_SEED:#x}): loss {:.6} sum_abs_error {:.6} sign_error {:.6}",
            self.episodes, self.loss, self.sum_abs_error, self.sign_error
        )
    }
}

/// Scores `model` on `episodes` episodes drawn from [`EVAL_SEED`]; no gradients.
pub fn evaluate<B: Backend>(
    model: &PlasticRnn<B>,
    task: &PatternTaskConfig,
    episodes: usize,
) -> anyhow::Result<EvalReport> {
    let mut rng = ChaCha8Rng::seed_from_u64(EVAL_SEED);
    let (mut loss, mut abs_error, mut wrong) = (0.0, 0.0, 0.0);
    let mut done = 0;
    while done < episodes {
        let size = EVAL_CHUNK.min(episodes - done);
        let batch = generate_batch(task, size, &mut rng)?;
        let (inputs, targets) = batch_tensors::<B>(&batch, &model.w.device());
        let outputs = model.forward(inputs);
        loss += last_step_loss(outputs.clone(), targets)
            .into_scalar()
            .elem::<f64>()
            * size as f64;
        let outputs = host_values(outputs)?;
        abs_error += sum_abs_error(&outputs, &batch.targets, task.neurons) * size as f64;
        wrong += sign_error(&outputs, &batch.targets) * size as f64;
        done += size;
    }
    let n = episodes as f64;
    Ok(EvalReport {
        episodes,
        loss: loss / n,
        sum_abs_error: abs_error / n,
        sign_error: wrong / n,
    })
}

/// `train plastic-rnn`: a fresh run, or the continuation of one.
pub struct TrainJob {
    pub config: PlasticRnnRun,
    pub run: RunDir,
    pub resume: bool,
    pub eval_episodes: usize,
}

impl BackendJob for TrainJob {
    type Output = anyhow::Result<EvalReport>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<EvalReport> {
        let Self {
            config,
            run,
            resume,
            eval_episodes,
        } = self;
        let started = Instant::now();
        let fresh_model = config.model.init::<B>(config.train.seed, &device);
        let (model, optim, state) = if resume {
            let state = run.read_state(MODEL_NAME)?;
            let model = load_checked(&run, fresh_model, &config, &device)?;
            let optim = run.load_optimizer::<B, PlasticRnn<B>, _>(adam(), &device)?;
            (model, optim, state)
        } else {
            run.write_json(CONFIG_FILE, &config)?;
            let state = RunState {
                model: MODEL_NAME.to_string(),
                crate_version: env!("CARGO_PKG_VERSION").to_string(),
                episode: 0,
                rng: episode_rng(config.train.seed),
                last_metrics: None,
            };
            (fresh_model, adam(), state)
        };
        ensure_work_left(&state, &config.train)?;
        let start_episode = state.episode;
        let (task, batch, gradient) = (config.task.clone(), config.train.batch, config.gradient);
        let (model, state) = train_loop(&run, model, optim, state, &config.train, |model, rng| {
            run_episode(model, gradient, &task, batch, rng)
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let model = model.valid();
        let weights = write_plots(&run, &model)?;
        let report = evaluate(&model, &config.task, eval_episodes)?;
        let last = state
            .last_metrics
            .as_ref()
            .map(crate::train::summary)
            .unwrap_or_default();
        println!(
            "{MODEL_NAME} ({}, {}): episodes {}..{} in {seconds:.1} s; last episode: {last}",
            config.preset,
            config.gradient.name(),
            start_episode,
            state.episode
        );
        println!("{weights}");
        println!("checkpoint: {}", run.path.display());
        Ok(report)
    }
}

/// `eval DIR` for a plastic-RNN checkpoint.
pub struct EvalJob {
    pub run: RunDir,
    pub episodes: usize,
}

impl BackendJob for EvalJob {
    type Output = anyhow::Result<EvalReport>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<EvalReport> {
        let config: PlasticRnnRun = self.run.read_json(CONFIG_FILE)?;
        crate::config::validate(&config).with_context(|| {
            format!("{} holds an invalid configuration", self.run.path.display())
        })?;
        self.run.read_state(MODEL_NAME)?;
        let model = load_checked(
            &self.run,
            config.model.init::<B>(config.train.seed, &device),
            &config,
            &device,
        )?;
        evaluate(&model.valid(), &config.task, self.episodes)
    }
}

/// Loads the saved weights and checks their shapes against the run's configuration.
fn load_checked<B: Backend>(
    run: &RunDir,
    model: PlasticRnn<B>,
    config: &PlasticRnnRun,
    device: &B::Device,
) -> anyhow::Result<PlasticRnn<B>> {
    let model = run.load_model(model, device)?;
    let n = config.model.total_neurons();
    let found = (model.w.dims(), model.alpha.dims(), model.eta.dims());
    let expected = ([n, n], config.model.alpha_shape(), [1]);
    if found != expected {
        bail!(
            "{} holds weights of shape W {:?}, alpha {:?}, but its configuration needs W {:?}, alpha {:?}",
            run.path.display(),
            found.0,
            found.1,
            expected.0,
            expected.1
        );
    }
    Ok(model)
}

/// Draws the learning curve and the weight maps; returns a one-line summary of the weights
/// (BOHP reports positive plastic weights and negative fixed self-connections).
fn write_plots<B: Backend>(run: &RunDir, model: &PlasticRnn<B>) -> anyhow::Result<String> {
    let metrics = MetricsLog::new(run.file(METRICS_FILE)).read()?;
    plot::learning_curve(
        &metrics,
        &["loss", "sum_abs_error", "sign_error"],
        "episode",
        &run.file("learning_curve.png"),
    )?;
    let n = model.config.total_neurons();
    let w = host_values(model.w.val())?;
    let alpha = host_values(model.effective_alpha())?;
    let alpha_side = model.config.alpha_shape()[0];
    plot::heatmaps(
        &[
            ("fixed weights W", &w, n),
            ("plasticity α", &alpha, alpha_side),
        ],
        &run.file("weights.png"),
    )?;
    let (w_diagonal, w_off) = diagonal_means(&w, n);
    let alpha_off = if alpha_side == n {
        diagonal_means(&alpha, n).1
    } else {
        f64::from(alpha[0])
    };
    Ok(format!(
        "weights: mean W_ii {w_diagonal:.4}, mean W_ij (i≠j) {w_off:.4}, mean α_ij (i≠j) {alpha_off:.4}"
    ))
}

/// Means of the diagonal and of the off-diagonal entries of a square matrix.
fn diagonal_means(values: &[f32], side: usize) -> (f64, f64) {
    let (mut diagonal, mut off) = (0.0, 0.0);
    for (k, &v) in values.iter().enumerate() {
        if k / side == k % side {
            diagonal += f64::from(v);
        } else {
            off += f64::from(v);
        }
    }
    let off_count = (side * side - side).max(1);
    (diagonal / side as f64, off / off_count as f64)
}
