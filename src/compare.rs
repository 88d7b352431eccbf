//! `compare`: the BPTT and RTRL gradients of the plastic RNN side by side, on the same
//! parameters and the same episodes: how far apart they are (in f64), how long each takes
//! and how much memory each needs, against the network size N and the episode length T.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use plastic_models::{last_step_loss, PlasticRnn, PlasticRnnConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::backend::{BackendChoice, BackendJob};
use crate::cli::{CompareArgs, ComparePart};
use crate::config::plastic_rnn_preset;
use crate::memory::peak_during;
use crate::plot::{log_log, Series};
use crate::train::plastic_rnn::{check_rtrl_memory, human_bytes};

/// `max_k |a_k − b_k| / max_k |b_k|`: the largest difference relative to the size of the
/// reference gradient `b` (elementwise ratios blow up on entries that are zero up to rounding).
pub fn relative_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "gradients of different sizes");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let largest = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    if scale == 0.0 {
        largest
    } else {
        largest / scale
    }
}

/// One (N, T) cell of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    /// Neurons, the bias neuron included.
    pub neurons: usize,
    pub steps: usize,
    /// Largest relative difference between the two gradients over W, α and η, in f64.
    pub max_relative_difference: f64,
    pub bptt_seconds: f64,
    pub rtrl_seconds: f64,
    /// Peak heap bytes of one gradient computation, above what was in use before it.
    pub bptt_peak_bytes: usize,
    pub rtrl_peak_bytes: usize,
}

/// The BOHP network at `neurons` total neurons (bias included), with η learned so that all
/// three parameter gradients are compared.
fn network(neurons: usize) -> anyhow::Result<PlasticRnnConfig> {
    let mut model = plastic_rnn_preset("bohp")?.model;
    model.neurons = neurons - 1;
    model.learn_eta = true;
    model.w_init_std = 1.1 / (neurons as f64).sqrt();
    Ok(model)
}

/// Random episodes for a case: inputs uniform in (−1, 1), targets ±1.
fn episodes(
    config: &PlasticRnnConfig,
    batch: usize,
    steps: usize,
    seed: u64,
) -> (TensorData, TensorData) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let neurons = config.neurons;
    let inputs: Vec<f32> = (0..batch * steps * neurons)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let targets: Vec<f32> = (0..batch * neurons)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect();
    (
        TensorData::new(inputs, [batch, steps, neurons]),
        TensorData::new(targets, [batch, neurons]),
    )
}

/// The parameters and episodes of one case, on any backend.
#[derive(Clone)]
struct Case {
    config: PlasticRnnConfig,
    seed: u64,
    inputs: TensorData,
    targets: TensorData,
}

impl Case {
    fn tensors<B: Backend>(&self, device: &B::Device) -> (Tensor<B, 3>, Tensor<B, 2>) {
        (
            Tensor::from_data(self.inputs.clone().convert::<B::FloatElem>(), device),
            Tensor::from_data(self.targets.clone().convert::<B::FloatElem>(), device),
        )
    }
}

/// Both gradients as host vectors, W then α then η.
type GradientPair = (Vec<f64>, Vec<f64>);

fn host<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .expect("a converted tensor reads back as f64")
}

fn bptt_gradients<B: AutodiffBackend>(
    model: &PlasticRnn<B>,
    inputs: Tensor<B, 3>,
    targets: Tensor<B, 2>,
) -> Vec<f64> {
    let grads = last_step_loss(model.forward(inputs), targets).backward();
    let mut all = Vec::new();
    for gradient in [
        model.w.grad(&grads).map(host),
        model.alpha.grad(&grads).map(host),
        model.eta.grad(&grads).map(host),
    ]
    .into_iter()
    .flatten()
    {
        all.extend(gradient);
    }
    all
}

fn rtrl_gradients<B: Backend>(
    model: &PlasticRnn<B>,
    inputs: Tensor<B, 3>,
    targets: Tensor<B, 2>,
) -> Vec<f64> {
    let gradients = model.rtrl_gradients(inputs, targets);
    let mut all = host(gradients.w);
    all.extend(host(gradients.alpha));
    if let Some(eta) = gradients.eta {
        all.extend(host(eta));
    }
    all
}

/// Computes both gradients of a case: run in f64 for the difference.
struct GradientJob<'a>(&'a Case);

impl BackendJob for GradientJob<'_> {
    type Output = GradientPair;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> GradientPair {
        let case = self.0;
        let model = case.config.init::<B>(case.seed, &device);
        let (inputs, targets) = case.tensors::<B>(&device);
        let bptt = bptt_gradients(&model, inputs, targets);
        let (inputs, targets) = case.tensors::<B::InnerBackend>(&device);
        let rtrl = rtrl_gradients(&model.valid(), inputs, targets);
        (bptt, rtrl)
    }
}

/// Median seconds and peak bytes of each engine on a case: run on the chosen backend.
struct TimingJob<'a> {
    case: &'a Case,
    repeats: usize,
}

/// Median seconds and peak heap bytes of each engine on one case.
#[derive(Debug, Serialize, Deserialize)]
struct Timing {
    bptt_seconds: f64,
    rtrl_seconds: f64,
    bptt_peak_bytes: usize,
    rtrl_peak_bytes: usize,
}

/// The largest relative difference of the two gradients of one case, in f64.
#[derive(Debug, Serialize, Deserialize)]
struct Difference {
    max_relative_difference: f64,
}

impl BackendJob for TimingJob<'_> {
    type Output = Timing;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Timing {
        let case = self.case;
        let model = case.config.init::<B>(case.seed, &device);
        let inner = model.valid();
        let bptt = || {
            let (inputs, targets) = case.tensors::<B>(&device);
            bptt_gradients(&model, inputs, targets)
        };
        let rtrl = || {
            let (inputs, targets) = case.tensors::<B::InnerBackend>(&device);
            rtrl_gradients(&inner, inputs, targets)
        };
        let (bptt_seconds, bptt_peak_bytes) = measure(bptt, self.repeats);
        let (rtrl_seconds, rtrl_peak_bytes) = measure(rtrl, self.repeats);
        Timing {
            bptt_seconds,
            rtrl_seconds,
            bptt_peak_bytes,
            rtrl_peak_bytes,
        }
    }
}

/// One untimed warm-up, then the median of `repeats` timed runs; the peak heap use of the
/// first timed run.
fn measure<T>(work: impl Fn() -> T, repeats: usize) -> (f64, usize) {
    std::hint::black_box(work());
    let mut peak = 0;
    let mut times = Vec::with_capacity(repeats);
    for i in 0..repeats {
        let started = Instant::now();
        let (out, bytes) = peak_during(&work);
        times.push(started.elapsed().as_secs_f64());
        std::hint::black_box(out);
        if i == 0 {
            peak = bytes;
        }
    }
    times.sort_by(f64::total_cmp);
    (crate::bench::median(&times), peak)
}

/// Runs the whole comparison, prints the table and writes CSV, markdown and PNG.
pub fn compare(args: &CompareArgs, backend: BackendChoice) -> anyhow::Result<()> {
    if args.sizes.is_empty() || args.sizes.iter().any(|&n| n < 2) {
        bail!("sizes are total neurons (bias included) and must be at least 2");
    }
    if args.steps.is_empty() || args.steps.contains(&0) {
        bail!("steps must be positive");
    }
    if args.episodes == 0 || args.batch == 0 {
        bail!("episodes and batch must be at least 1");
    }
    for &size in &args.sizes {
        check_rtrl_memory(&network(size)?, args.batch, args.max_memory)?;
    }
    if let Some(part) = args.in_process {
        return compare_part(args, backend, part);
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    eprintln!(
        "comparing BPTT and RTRL on {backend}: sizes {:?}, steps {:?}, batch {}, median of {}",
        args.sizes, args.steps, args.batch, args.episodes
    );
    let header = "| N | steps | max rel. gradient difference (f64) | BPTT s/episode | RTRL s/episode | BPTT peak | RTRL peak |";
    println!("{header}");
    println!("|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for &size in &args.sizes {
        for &steps in &args.steps {
            let difference: Difference =
                part_in_child(args, backend, ComparePart::Difference, size, steps)?;
            let timing: Timing = part_in_child(args, backend, ComparePart::Timing, size, steps)?;
            let row = CompareRow {
                neurons: size,
                steps,
                max_relative_difference: difference.max_relative_difference,
                bptt_seconds: timing.bptt_seconds,
                rtrl_seconds: timing.rtrl_seconds,
                bptt_peak_bytes: timing.bptt_peak_bytes,
                rtrl_peak_bytes: timing.rtrl_peak_bytes,
            };
            println!("{}", markdown_row(&row));
            rows.push(row);
        }
    }
    let summary = summary(&rows, &args.sizes, &args.steps);
    print!("{summary}");
    write_outputs(&rows, &summary, &args.out, backend)?;
    println!(
        "wrote compare.csv, compare.md and compare.png to {}",
        args.out.display()
    );
    Ok(())
}

/// The parameters and episodes of the case (`size`, `steps`): the same in every process.
fn case(args: &CompareArgs, size: usize, steps: usize) -> anyhow::Result<Case> {
    let config = network(size)?;
    let seed = args.seed ^ ((size as u64) << 32) ^ steps as u64;
    let (inputs, targets) = episodes(&config, args.batch, steps, seed);
    Ok(Case {
        config,
        seed: args.seed,
        inputs,
        targets,
    })
}

/// Computes `part` of the first case here and prints it as one JSON line.
fn compare_part(
    args: &CompareArgs,
    backend: BackendChoice,
    part: ComparePart,
) -> anyhow::Result<()> {
    let case = case(args, args.sizes[0], args.steps[0])?;
    let line = match part {
        ComparePart::Difference => {
            let (bptt, rtrl) = crate::backend::run_f64(GradientJob(&case))?;
            serde_json::to_string(&Difference {
                max_relative_difference: relative_difference(&rtrl, &bptt),
            })?
        }
        ComparePart::Timing => {
            let job = TimingJob {
                case: &case,
                repeats: args.episodes,
            };
            serde_json::to_string(&crate::backend::run_on(backend, job)?)?
        }
    };
    println!("{line}");
    Ok(())
}

/// Runs `part` of the case (`size`, `steps`) in a child process and reads its JSON line.
fn part_in_child<T: DeserializeOwned>(
    args: &CompareArgs,
    backend: BackendChoice,
    part: ComparePart,
    size: usize,
    steps: usize,
) -> anyhow::Result<T> {
    let part_name = match part {
        ComparePart::Difference => "difference",
        ComparePart::Timing => "timing",
    };
    let child_args: Vec<String> = [
        "--backend",
        backend.name(),
        "compare",
        "--in-process",
        part_name,
        "--sizes",
        &size.to_string(),
        "--steps",
        &steps.to_string(),
        "--episodes",
        &args.episodes.to_string(),
        "--batch",
        &args.batch.to_string(),
        "--seed",
        &args.seed.to_string(),
        "--max-memory",
        &args.max_memory.to_string(),
    ]
    .map(String::from)
    .to_vec();
    let what = format!("the {part_name} of N = {size}, T = {steps}");
    let output = crate::backend::run_self(&child_args, &what)?;
    serde_json::from_str(output.trim()).with_context(|| format!("{what}: unreadable output"))
}

fn markdown_row(row: &CompareRow) -> String {
    format!(
        "| {} | {} | {:.1e} | {:.4} | {:.4} | {} | {} |",
        row.neurons,
        row.steps,
        row.max_relative_difference,
        row.bptt_seconds,
        row.rtrl_seconds,
        human_bytes(row.bptt_peak_bytes as u128),
        human_bytes(row.rtrl_peak_bytes as u128),
    )
}

/// Least-squares slope and intercept of `y` against `x`.
fn linear_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let count = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / count;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / count;
    let spread: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if spread == 0.0 {
        return None;
    }
    let slope = points
        .iter()
        .map(|p| (p.0 - mean_x) * (p.1 - mean_y))
        .sum::<f64>()
        / spread;
    Some((slope, mean_y - slope * mean_x))
}

/// The exponent `k` of `y ∝ N^k`, fitted on log-log axes.
fn exponent(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    linear_fit(&logs).map(|(slope, _)| slope)
}

/// Which quantity of a row a series plots.
#[derive(Clone, Copy)]
enum Quantity {
    Seconds,
    Bytes,
}

fn series_points(
    rows: &[CompareRow],
    steps: usize,
    rtrl: bool,
    quantity: Quantity,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.steps == steps)
        .map(|r| {
            let value = match (quantity, rtrl) {
                (Quantity::Seconds, false) => r.bptt_seconds,
                (Quantity::Seconds, true) => r.rtrl_seconds,
                (Quantity::Bytes, false) => r.bptt_peak_bytes as f64,
                (Quantity::Bytes, true) => r.rtrl_peak_bytes as f64,
            };
            (r.neurons as f64, value)
        })
        .collect()
}

/// Fitted exponents in N, and for each N the episode length beyond which RTRL needs less
/// memory than BPTT.
fn summary(rows: &[CompareRow], sizes: &[usize], steps: &[usize]) -> String {
    let mut text = String::new();
    for &t in steps {
        for (name, rtrl) in [("BPTT", false), ("RTRL", true)] {
            let time = exponent(&series_points(rows, t, rtrl, Quantity::Seconds));
            let memory = exponent(&series_points(rows, t, rtrl, Quantity::Bytes));
            if let (Some(time), Some(memory)) = (time, memory) {
                let _ = writeln!(
                    text,
                    "{name}, T = {t}: time ∝ N^{time:.2}, peak memory ∝ N^{memory:.2}"
                );
            }
        }
    }
    for &n in sizes {
        let cells: Vec<&CompareRow> = rows.iter().filter(|r| r.neurons == n).collect();
        let measured = cells
            .iter()
            .find(|r| r.rtrl_peak_bytes < r.bptt_peak_bytes)
            .map(|r| r.steps);
        let bptt: Vec<(f64, f64)> = cells
            .iter()
            .map(|r| (r.steps as f64, r.bptt_peak_bytes as f64))
            .collect();
        let rtrl_mean =
            cells.iter().map(|r| r.rtrl_peak_bytes as f64).sum::<f64>() / cells.len() as f64;
        let fitted = linear_fit(&bptt)
            .filter(|(slope, _)| *slope > 0.0)
            .map(|(slope, intercept)| ((rtrl_mean - intercept) / slope).max(0.0));
        let measured_text = match measured {
            Some(t) => format!("first measured at T = {t}"),
            None => format!(
                "not reached up to T = {}",
                steps.iter().max().copied().unwrap_or(0)
            ),
        };
        let fitted_text = fitted
            .map(|t| format!("; BPTT memory grows linearly in T and passes RTRL's at T ≈ {t:.0}"))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "N = {n}: RTRL needs less memory than BPTT: {measured_text}{fitted_text}"
        );
    }
    text
}

fn write_outputs(
    rows: &[CompareRow],
    summary: &str,
    out: &Path,
    backend: BackendChoice,
) -> anyhow::Result<()> {
    let mut csv = String::from(
        "neurons,steps,max_relative_difference,bptt_seconds,rtrl_seconds,bptt_peak_bytes,rtrl_peak_bytes\n",
    );
    let mut markdown = format!(
        "Backend {backend}; times are medians per episode; peak = heap bytes of one gradient computation.\n\n| N | steps | max rel. gradient difference (f64) | BPTT s/episode | RTRL s/episode | BPTT peak | RTRL peak |\n|---|---|---|---|---|---|---|\n"
    );
    for row in rows {
        let _ = writeln!(
            csv,
            "{},{},{:e},{},{},{},{}",
            row.neurons,
            row.steps,
            row.max_relative_difference,
            row.bptt_seconds,
            row.rtrl_seconds,
            row.bptt_peak_bytes,
            row.rtrl_peak_bytes
        );
        let _ = writeln!(markdown, "{}", markdown_row(row));
    }
    markdown.push('\n');
    for line in summary.lines() {
        let _ = writeln!(markdown, "- {line}");
    }
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write("compare.csv", &csv)?;
    write("compare.md", &markdown)?;
    let mut steps: Vec<usize> = rows.iter().map(|r| r.steps).collect();
    steps.dedup();
    steps.sort_unstable();
    steps.dedup();
    let panel = |quantity: Quantity| -> Vec<Series> {
        let mut series = Vec::new();
        for &t in &steps {
            for (name, rtrl) in [("BPTT", false), ("RTRL", true)] {
                let points = series_points(rows, t, rtrl, quantity);
                let fit = exponent(&points)
                    .map(|k| format!(" ∝ N^{k:.2}"))
                    .unwrap_or_default();
                series.push(Series {
                    label: format!("{name}, T = {t}{fit}"),
                    points,
                });
            }
        }
        series
    };
    log_log(
        &[
            ("time per episode", "seconds", panel(Quantity::Seconds)),
            ("peak memory", "bytes", panel(Quantity::Bytes)),
        ],
        "N (neurons)",
        &out.join("compare.png"),
    )
}
