//! `feedback-alignment`: an MLP trained by backprop, feedback alignment or direct feedback
//! alignment, with plain SGD on the updates of an explicit backward pass: online on the
//! product task, or by mini-batches on Fashion-MNIST.

mod config;
mod data;
mod flags;
mod learner;
mod plots;
mod product;
mod summary;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_tasks::product::TARGET_VARIANCE;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use config::{FaTask, FeedbackAlignmentRun};
pub use flags::{FeedbackAlignmentEvalFlags, FeedbackAlignmentFlags};
pub use learner::angle_name;
pub use plots::{ALIGNMENT_PLOT, LEARNING_CURVE_PLOT};
pub use product::PRODUCT_TRACE_PLOT;

use crate::checkpoint::{Checkpoint, RunState, METRICS_FILE};
use crate::experiment::{saved_network, Experiment, Finished, Report};
use crate::memory::floats;
use crate::metrics::MetricsLog;
use crate::plot;
use crate::trainer::{LocalSteps, Schedule, Trainer};
use data::{fashion_data, test_error};
use learner::{FaLearner, FashionFeed, ProductFeed};
use product::product_score;

/// An MLP trained by BP, FA or DFA.
pub struct FeedbackAlignmentExperiment;

/// Options of `eval` on a feedback-alignment checkpoint.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackAlignmentEval {
    /// The folder of the Fashion-MNIST files (`None`: the one trained on).
    pub data_dir: Option<PathBuf>,
}

impl Experiment for FeedbackAlignmentExperiment {
    const NAME: &'static str = "feedback-alignment";
    const ABOUT: &'static str = "MLP trained by backprop, feedback alignment or direct feedback alignment (product task, Fashion-MNIST)";
    const HEADLINE: &'static [&'static str] = &["mse", "test_error"];
    const RESUMABLE: &'static [(&'static str, &'static str)] = &[
        ("/task/steps", "--steps"),
        ("/task/epochs", "--epochs"),
        ("/checkpoint_every", "--checkpoint-every"),
    ];
    const MEMORY_HINT: &'static str = "lower --hidden or --batch";

    type Run = FeedbackAlignmentRun;
    type EvalOptions = FeedbackAlignmentEval;
    type Network<B: Backend> = plastic_models::feedback_alignment::Mlp<B>;

    fn presets() -> Vec<(&'static str, String)> {
        vec![
            (
                "product",
                "online regression of x0·x1 (seed 003), 2-[100]-1 ReLU, 3000 simulated s".into(),
            ),
            (
                "fashion-mnist",
                "784-[1000]-10 tanh, mini-batches of 32, 10 epochs".into(),
            ),
        ]
    }

    fn preset(name: &str) -> anyhow::Result<FeedbackAlignmentRun> {
        config::preset(name)
    }

    fn implied_preset(flags: &serde_json::Value) -> Option<&'static str> {
        (flags["task"]["kind"] == "fashion-mnist").then_some("fashion-mnist")
    }

    fn validate(run: &FeedbackAlignmentRun) -> anyhow::Result<()> {
        run.validate()
    }

    fn run_name(run: &FeedbackAlignmentRun) -> String {
        format!("{}-seed{}", run.task.name(), run.seed)
    }

    fn schedule(run: &FeedbackAlignmentRun) -> anyhow::Result<Schedule> {
        let steps = match &run.task {
            FaTask::Product { signal, steps } => {
                FeedbackAlignmentRun::product_steps(signal, *steps)
            }
            FaTask::FashionMnist { epochs, batch, .. } => {
                epochs * fashion_data(&run.task)?.train.len().div_ceil(*batch)
            }
        };
        Ok(Schedule {
            steps,
            checkpoint_every: run.checkpoint_every,
        })
    }

    /// Weights, feedback, updates and true gradients of every layer; each layer's
    /// activity and error for a batch; Fashion-MNIST's images as floats.
    fn memory_needed(run: &FeedbackAlignmentRun) -> u64 {
        let sizes = run.network.sizes();
        let weights: u128 = sizes.windows(2).map(|p| (p[0] * p[1]) as u128).sum();
        let units: u128 = sizes.iter().map(|&s| s as u128).sum();
        let (batch, data) = match &run.task {
            FaTask::Product { .. } => (1, 0),
            FaTask::FashionMnist { batch, .. } => (*batch as u128, 70_000 * 28 * 28),
        };
        floats(5 * weights + 6 * batch.max(1000) * units + data)
    }

    fn prepare(run: &FeedbackAlignmentRun) -> anyhow::Result<()> {
        if let FaTask::FashionMnist { .. } = run.task {
            let data = fashion_data(&run.task)?;
            if data.train.features != run.network.inputs {
                bail!(
                    "the images have {} pixels, the net {} inputs",
                    data.train.features,
                    run.network.inputs
                );
            }
        }
        Ok(())
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        Ok(run.network.init(&mut ChaCha8Rng::seed_from_u64(0), device))
    }

    fn train<B: AutodiffBackend>(
        run: &FeedbackAlignmentRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        let trainer = trainer.with_divergence_hint("try a smaller --lr");
        let net = run.learner::<B::InnerBackend>(device);
        let log_every = run.log_every();
        let (summary, mut report) = match &run.task {
            FaTask::Product { signal, steps } => {
                let steps = FeedbackAlignmentRun::product_steps(signal, *steps);
                let feed = ProductFeed {
                    signal: *signal,
                    steps,
                };
                let mut learner = LocalSteps(FaLearner::new(net, feed, log_every, device));
                // The product task draws nothing: its samples follow from the step.
                trainer.fit(&mut learner, ChaCha8Rng::seed_from_u64(run.seed))?;
                let mlp = learner.0.net.mlp();
                let (mse, trace) = product_score(&mlp, *signal, steps, device)?;
                plot::lines(
                    &[(
                        "target and output of the trained net, weights frozen, the last cycle of the inputs",
                        "x0·x1",
                        trace,
                    )],
                    "simulated time (s)",
                    &trainer.run_dir().file(PRODUCT_TRACE_PLOT),
                )?;
                (product_summary(mse), product_report(mse))
            }
            FaTask::FashionMnist { batch, .. } => {
                let data = fashion_data(&run.task)?;
                let (train_images, test_images) = (data.train.len(), data.test.len());
                let mut order = ChaCha8Rng::seed_from_u64(run.seed);
                order.set_stream(1);
                let feed = FashionFeed::new(data, *batch);
                let mut learner = LocalSteps(FaLearner::new(net, feed, log_every, device));
                let state = trainer.fit(&mut learner, order)?;
                let error = state
                    .last_metrics
                    .as_ref()
                    .and_then(|m| m.get("test_error"))
                    .unwrap_or(f64::NAN);
                let epochs = state.step / learner.0.feed.batches();
                let summary = format!(
                    "test error {:.2} % ({test_images} test images), after {epochs} epochs of {train_images} training images",
                    100.0 * error
                );
                let report = Report::new(Self::NAME, "fashion-mnist").metric("test_error", error);
                (summary, report)
            }
        };
        let dir = trainer.run_dir();
        let curve = MetricsLog::new(dir.file(METRICS_FILE)).read()?;
        plots::write_curves(run, &curve, dir)?;
        // Each hidden layer's angle, averaged over the last 10 records (one batch each).
        for layer in 0..run.network.hidden.len() {
            let name = angle_name(layer);
            let angles: Vec<f64> = curve.iter().filter_map(|m| m.get(&name)).collect();
            if !angles.is_empty() {
                let last = &angles[angles.len().saturating_sub(10)..];
                let mean = last.iter().sum::<f64>() / last.len() as f64;
                report.metrics.insert(name, mean);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let updates = trainer.schedule().steps;
        report.metrics.insert("updates".into(), updates as f64);
        Ok(report.seconds(seconds).text(format!(
            "{} {} on {}, hidden {:?} {:?}, lr {}: {summary} ({updates} updates, {seconds:.1} s)\ncheckpoint: {}",
            Self::NAME,
            run.method.name(),
            run.task.name(),
            run.network.hidden,
            run.network.activation,
            run.learning_rate,
            dir.path.display()
        )))
    }

    fn eval<B: AutodiffBackend>(
        run: &FeedbackAlignmentRun,
        checkpoint: &Checkpoint,
        options: &FeedbackAlignmentEval,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let mlp = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let label = format!(
            "{} checkpoint ({} on {})",
            Self::NAME,
            run.method.name(),
            run.task.name()
        );
        match &run.task {
            FaTask::Product { signal, steps } => {
                let steps = FeedbackAlignmentRun::product_steps(signal, *steps);
                let (mse, _) = product_score(&mlp, *signal, steps, device)?;
                Ok(product_report(mse).text(format!("{label}: {}", product_summary(mse))))
            }
            FaTask::FashionMnist { .. } => {
                let mut task = run.task.clone();
                if let (Some(dir), FaTask::FashionMnist { data_dir, .. }) =
                    (&options.data_dir, &mut task)
                {
                    *data_dir = dir.clone();
                }
                let data = fashion_data(&task)?;
                let error = test_error(&mlp, &data.test, device)?;
                Ok(Report::new(Self::NAME, "fashion-mnist")
                    .metric("test_error", error)
                    .text(format!(
                        "{label}: test error {:.2} % on {} test images (accuracy {:.2} %)",
                        100.0 * error,
                        data.test.len(),
                        100.0 * (1.0 - error)
                    )))
            }
        }
    }

    fn summarise(runs: &[Finished<Self>], dir: &Path) -> anyhow::Result<Option<String>> {
        let path = dir.join("comparison.png");
        plots::write_comparison(runs, &path)?;
        let table = summary::by_method(runs);
        crate::util::write_atomically(&dir.join("summary.md"), table.as_bytes())?;
        Ok(Some(format!(
            "{table}comparison of the methods: {}",
            path.display()
        )))
    }
}

fn product_summary(mse: f64) -> String {
    format!(
        "frozen net's mean squared error on the training signal (it repeats every 10 periods), last input cycle {mse:.6} = {:.3} % of the target variance",
        100.0 * mse / TARGET_VARIANCE
    )
}

fn product_report(mse: f64) -> Report {
    Report::new(FeedbackAlignmentExperiment::NAME, "product")
        .metric("frozen_mse", mse)
        .metric("frozen_mse_fraction", mse / TARGET_VARIANCE)
}
