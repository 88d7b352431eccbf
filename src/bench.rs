//! `bench`: median wall time of a training episode (forward + backward + Adam) and peak
//! resident memory. Each case runs in a child process so that its peak is its own.

use std::time::Instant;

use anyhow::bail;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::backend::{BackendChoice, BackendJob};
use crate::cli::BenchArgs;
use crate::config::{plastic_rnn_preset, GradientEngine, PlasticRnnOverrides};
use crate::train::plastic_rnn::{episode_rng, run_episode};
use crate::train::{adam, optimizer_step};

#[derive(Debug, Serialize)]
struct BenchResult {
    model: &'static str,
    backend: String,
    neurons: usize,
    batch: usize,
    steps: usize,
    episodes: usize,
    median_s_per_episode: f64,
    min_s_per_episode: f64,
    peak_rss_mb: Option<f64>,
}

/// Spawns one child per (size, batch) and prints each child's JSON line.
pub fn bench_plastic_rnn(args: &BenchArgs, backend: BackendChoice) -> anyhow::Result<()> {
    if args.episodes == 0 {
        bail!("bench needs at least 1 timed episode");
    }
    if args.sizes.is_empty() || args.sizes.contains(&0) || args.batch.contains(&0) {
        bail!("sizes and batches must be positive");
    }
    plastic_rnn_preset(&args.preset)?;
    if args.in_process {
        let job = BenchJob { args, backend };
        return crate::backend::run_on(backend, job)?;
    }
    for &size in &args.sizes {
        for &batch in &args.batch {
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
                "--preset",
                &args.preset,
                "--episodes",
                &args.episodes.to_string(),
                "--warmup",
                &args.warmup.to_string(),
            ]
            .map(String::from)
            .to_vec();
            let what = format!("benchmark of {size} neurons, batch {batch}");
            print!("{}", crate::backend::run_self(&child_args, &what)?);
        }
    }
    Ok(())
}

struct BenchJob<'a> {
    args: &'a BenchArgs,
    backend: BackendChoice,
}

impl BackendJob for BenchJob<'_> {
    type Output = anyhow::Result<()>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<()> {
        let (neurons, batch) = (self.args.sizes[0], self.args.batch[0]);
        let flags = PlasticRnnOverrides {
            neurons: Some(neurons),
            batch: Some(batch),
            // Zero-sum patterns need an even bit count; timing does not depend on it.
            zero_sum: Some(neurons % 2 == 0),
            ..Default::default()
        };
        let config = crate::config::resolve_plastic_rnn(&self.args.preset, None, &flags)?;
        let mut model = config.model.init::<B>(config.train.seed, &device);
        let mut optim = adam();
        let mut rng = episode_rng(config.train.seed);
        let mut times = Vec::new();
        for i in 0..self.args.warmup + self.args.episodes {
            let started = Instant::now();
            let outcome = run_episode(&model, GradientEngine::Bptt, &config.task, batch, &mut rng)?;
            model = optimizer_step(
                model,
                &mut optim,
                config.train.learning_rate,
                outcome.loss,
                outcome.gradients,
            );
            // Reading a parameter back waits for the device to finish the step.
            let _ = model.eta.val().into_data();
            if i >= self.args.warmup {
                times.push(started.elapsed().as_secs_f64());
            }
        }
        times.sort_by(f64::total_cmp);
        let result = BenchResult {
            model: "plastic-rnn",
            backend: self.backend.to_string(),
            neurons,
            batch,
            steps: config.task.steps(),
            episodes: times.len(),
            median_s_per_episode: median(&times),
            min_s_per_episode: times[0],
            peak_rss_mb: peak_rss_mb(),
        };
        println!("{}", serde_json::to_string(&result)?);
        Ok(())
    }
}

/// Median of sorted values.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Peak resident set size of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
