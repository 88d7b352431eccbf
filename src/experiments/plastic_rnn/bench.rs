//! `bench`: median wall time of a training episode (forward + backward + Adam) and peak
//! resident memory. Each case runs in a child process so that its peak is its own.

use std::time::Instant;

use anyhow::{bail, Context};
use burn::tensor::backend::AutodiffBackend;
use plastic_models::{GradientEngine, PlasticRnn as Network};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::episode::run_episode;
use super::PlasticRnnExperiment;
use crate::backend::{BackendChoice, BackendJob};
use crate::experiment::launch::resolve;
use crate::experiment::Experiment;
use crate::experiments::shared::episode_rng;
use crate::stats::median;
use crate::trainer::{GradientSteps, Learner};

/// What `bench plastic-rnn` times.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Network sizes (pattern neurons).
    pub sizes: Vec<usize>,
    /// Episodes per optimizer step; each value is a case of its own.
    pub batch: Vec<usize>,
    /// Gradient engines; each value is a case of its own.
    pub grad: Vec<GradientEngine>,
    /// Preset whose episode timeline is timed.
    pub preset: String,
    /// Timed episodes per case (the median is reported).
    pub episodes: usize,
    /// Untimed episodes before timing.
    pub warmup: usize,
    /// Run the one case in this process instead of one child process per case.
    pub in_process: bool,
}

/// One timed case, printed as one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct BenchResult {
    model: String,
    backend: String,
    neurons: usize,
    batch: usize,
    grad: GradientEngine,
    steps: usize,
    episodes: usize,
    median_s_per_episode: f64,
    min_s_per_episode: f64,
    peak_rss_mb: Option<f64>,
}

/// Spawns one child per (size, batch), prints each child's JSON line and returns the
/// results together as one JSON object.
pub fn bench_plastic_rnn(
    args: &BenchOptions,
    backend: BackendChoice,
) -> anyhow::Result<serde_json::Value> {
    if args.episodes == 0 {
        bail!("bench needs at least 1 timed episode");
    }
    if args.grad.is_empty() {
        bail!("bench needs at least one gradient engine (--grad)");
    }
    if args.sizes.is_empty() || args.sizes.contains(&0) || args.batch.contains(&0) {
        bail!("sizes and batches must be positive");
    }
    if args.episodes.checked_add(args.warmup).is_none() {
        bail!("--episodes and --warmup add up to more episodes than can be counted");
    }
    // Every case is checked as a training run would be, before any is timed.
    for &size in &args.sizes {
        for &batch in &args.batch {
            for &grad in &args.grad {
                let config = case_config(&args.preset, size, batch, grad)?;
                PlasticRnnExperiment::validate(&config)?;
                crate::memory::check(
                    PlasticRnnExperiment::memory_needed(&config),
                    None,
                    PlasticRnnExperiment::MEMORY_HINT,
                )?;
            }
        }
    }
    if args.in_process {
        let job = BenchJob { args, backend };
        let result = crate::backend::run_on(backend, job)??;
        println!("{}", serde_json::to_string(&result)?);
        return Ok(serde_json::to_value(result)?);
    }
    let mut cases = Vec::new();
    for &size in &args.sizes {
        for (&batch, grad) in args
            .batch
            .iter()
            .flat_map(|batch| args.grad.iter().map(move |grad| (batch, grad)))
        {
            let child_args: Vec<String> = [
                "--backend",
                backend.name(),
                "bench",
                "plastic-rnn",
                "--in-process",
                "--sizes",
                &size.to_string(),
                "--batch",
                &batch.to_string(),
                "--grad",
                grad.name(),
                "--preset",
                &args.preset,
                "--episodes",
                &args.episodes.to_string(),
                "--warmup",
                &args.warmup.to_string(),
            ]
            .map(String::from)
            .to_vec();
            let what = format!(
                "benchmark of {size} neurons, batch {batch}, gradient {}",
                grad.name()
            );
            let line = crate::backend::run_self(&child_args, &what)?;
            print!("{line}");
            let case: BenchResult = serde_json::from_str(line.trim())
                .with_context(|| format!("{what}: unreadable output"))?;
            cases.push(case);
        }
    }
    Ok(json!({ "model": PlasticRnnExperiment::NAME, "backend": backend.name(), "cases": cases }))
}

/// The run one case times: `preset` at `neurons` and `batch`, with gradients by `grad`.
fn case_config(
    preset: &str,
    neurons: usize,
    batch: usize,
    grad: GradientEngine,
) -> anyhow::Result<super::PlasticRnnRun> {
    // Zero-sum patterns need an even bit count; timing does not depend on it.
    let flags = json!({
        "gradient": grad,
        "model": {"neurons": neurons},
        "task": {"neurons": neurons, "zero_sum": neurons.is_multiple_of(2)},
        "train": {"batch": batch},
    });
    resolve::<PlasticRnnExperiment>(Some(preset), None, &flags)
}

struct BenchJob<'a> {
    args: &'a BenchOptions,
    backend: BackendChoice,
}

impl BackendJob for BenchJob<'_> {
    type Output = anyhow::Result<BenchResult>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<BenchResult> {
        let (neurons, batch, grad) = (self.args.sizes[0], self.args.batch[0], self.args.grad[0]);
        let config = case_config(&self.args.preset, neurons, batch, grad)?;
        let task = config.task.clone();
        let model = config.model.init::<B>(config.train.seed, &device);
        let mut learner = GradientSteps::new(
            model,
            &config.train.optimizer,
            |model: &Network<B>, rng: &mut _| run_episode(model, grad, None, &task, batch, rng),
            &device,
        );
        let mut rng = episode_rng(config.train.seed);
        let mut times = Vec::new();
        for i in 0..self.args.warmup + self.args.episodes {
            let started = Instant::now();
            learner.step(i + 1, &mut rng)?;
            // Reading a parameter back waits for the device to finish the step.
            let _ = learner.model().eta.val().into_data();
            if i >= self.args.warmup {
                times.push(started.elapsed().as_secs_f64());
            }
        }
        times.sort_by(f64::total_cmp);
        Ok(BenchResult {
            model: PlasticRnnExperiment::NAME.to_string(),
            backend: self.backend.to_string(),
            neurons,
            batch,
            grad,
            steps: config.task.steps(),
            episodes: times.len(),
            median_s_per_episode: median(&times),
            min_s_per_episode: times[0],
            peak_rss_mb: peak_rss_mb(),
        })
    }
}

/// Peak resident set size of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
