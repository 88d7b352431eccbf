//! `compare`: the BPTT and RTRL gradients of the plastic RNN side by side, on the same
//! parameters and the same episodes: how far apart they are (in f64), how long each takes
//! and how much memory each needs, against the network size N and the episode length T.

mod report;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use plastic_models::{
    last_step_loss, rtrl_sensitivity_bytes, Kernels, PlasticRnn, PlasticRnnConfig,
};
use plastic_tasks::generate_batch;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::config::preset;
use crate::backend::{BackendChoice, BackendJob};
use crate::memory::peak_during;
use crate::stats::median;
use report::{markdown_row, summary, write_outputs, TABLE_HEAD};

/// What `compare` runs.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Network sizes N, total neurons (bias neuron included).
    pub sizes: Vec<usize>,
    /// Episode lengths T.
    pub steps: Vec<usize>,
    /// Timed gradient computations per case and engine (the median is reported).
    pub episodes: usize,
    /// Episodes per gradient.
    pub batch: usize,
    /// Seed of the parameters and episodes.
    pub seed: u64,
    /// Directory for compare.csv, compare.md and compare.png.
    pub out: PathBuf,
    /// Largest RTRL sensitivity storage to allocate (`None`: the memory available).
    pub max_memory: Option<u64>,
    /// Compute one part of the first case in this process and print it as JSON.
    pub in_process: Option<ComparePart>,
}

/// The parts of a `compare` case, each run in a process of its own: the f64 check and the
/// timing must not share ndarray's device, whose float type is set by its first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparePart {
    /// Both gradients in f64 on ndarray, and their largest relative difference.
    Difference,
    /// Time and peak memory of each engine on the chosen backend.
    Timing,
}

impl ComparePart {
    pub const NAMES: [&'static str; 2] = ["difference", "timing"];

    pub fn named(name: &str) -> Option<Self> {
        match name {
            "difference" => Some(Self::Difference),
            "timing" => Some(Self::Timing),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Difference => "difference",
            Self::Timing => "timing",
        }
    }
}

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
    /// The relative difference between the two gradients of W, of α and of η, each against
    /// its own scale, in f64.
    pub w_difference: f64,
    pub alpha_difference: f64,
    pub eta_difference: f64,
    pub bptt_seconds: f64,
    pub rtrl_seconds: f64,
    /// Peak heap bytes of one gradient computation, above what was in use before it.
    pub bptt_peak_bytes: usize,
    pub rtrl_peak_bytes: usize,
}

/// The BOHP network at `neurons` total neurons (bias included), with η learned so that all
/// three parameter gradients are compared.
fn network(neurons: usize) -> anyhow::Result<PlasticRnnConfig> {
    let mut model = preset("bohp")?.model;
    model.neurons = neurons - 1;
    model.learn_eta = true;
    model.w_init_std = 1.1 / (neurons as f64).sqrt();
    Ok(model)
}

/// Episodes of the task itself for a case: bohp's timeline (3 random ±1 patterns shown ×20
/// in shuffled cycles, then the cue with half its bits zeroed), with as many cycles as
/// fill `steps`; the last `steps` steps are kept, so that every episode ends on the cue.
fn episodes(
    config: &PlasticRnnConfig,
    batch: usize,
    steps: usize,
    seed: u64,
) -> anyhow::Result<(TensorData, TensorData)> {
    let mut task = preset("bohp")?.task;
    task.neurons = config.neurons;
    // Any neuron count: patterns need be neither orthogonal nor zero-sum here.
    task.orthogonal = false;
    task.zero_sum = false;
    let cycle = task.patterns * (task.presentation_steps + task.zero_steps);
    task.cycles = steps.saturating_sub(task.cue_steps).div_ceil(cycle).max(1);
    let generated = generate_batch(&task, batch, &mut ChaCha8Rng::seed_from_u64(seed))?;
    let (n, all) = (config.neurons, generated.steps);
    let skip = all.saturating_sub(steps);
    let inputs: Vec<f32> = generated
        .inputs
        .chunks(all * n)
        .flat_map(|episode| episode[skip * n..].to_vec())
        .collect();
    let kept = all - skip;
    Ok((
        TensorData::new(inputs, [batch, kept, n]),
        TensorData::new(generated.targets, [batch, n]),
    ))
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

/// One engine's gradient on the host, per parameter group.
#[derive(Debug, Default)]
struct Gradient {
    w: Vec<f64>,
    alpha: Vec<f64>,
    eta: Vec<f64>,
}

/// Both engines' gradients: BPTT's, then RTRL's.
type GradientPair = (Gradient, Gradient);

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
) -> Gradient {
    let grads = last_step_loss(model.forward(inputs), targets).backward();
    Gradient {
        w: model.w.grad(&grads).map(host).unwrap_or_default(),
        alpha: model.alpha.grad(&grads).map(host).unwrap_or_default(),
        eta: model.eta.grad(&grads).map(host).unwrap_or_default(),
    }
}

fn rtrl_gradients<B: Backend>(
    model: &PlasticRnn<B>,
    inputs: Tensor<B, 3>,
    targets: Tensor<B, 2>,
) -> Gradient {
    let gradients = model.rtrl_gradients(inputs, targets, Kernels::preferred());
    Gradient {
        w: host(gradients.w),
        alpha: host(gradients.alpha),
        eta: gradients.eta.map(host).unwrap_or_default(),
    }
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

/// The relative difference of the two gradients of one case, per parameter group, in f64.
#[derive(Debug, Serialize, Deserialize)]
struct Difference {
    w: f64,
    alpha: f64,
    eta: f64,
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
    let mut times = Vec::new();
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
    (median(&times), peak)
}

/// Runs the whole comparison, prints the table, writes CSV, markdown and PNG, and returns the
/// rows as one JSON object.
pub fn compare(args: &CompareOptions, backend: BackendChoice) -> anyhow::Result<serde_json::Value> {
    if args.sizes.is_empty() || args.sizes.iter().any(|&n| n < 2) {
        bail!("sizes are total neurons (bias included) and must be at least 2");
    }
    if args.steps.is_empty() || args.steps.iter().any(|&t| t < 2) {
        bail!("--steps must be at least 2: over a single step the Hebbian trace is still empty, so α and η have no gradient to compare");
    }
    if args.episodes == 0 || args.batch == 0 {
        bail!("episodes and batch must be at least 1");
    }
    let longest = args.steps.iter().copied().max().unwrap_or(0) as u128;
    for &size in &args.sizes {
        let rtrl = rtrl_sensitivity_bytes(&network(size)?, args.batch, size_of::<f32>());
        // BPTT keeps the activities and the trace of every step of the episodes.
        let square = (size as u128).saturating_mul(size as u128);
        let bptt = longest
            .saturating_mul(args.batch as u128)
            .saturating_mul(square)
            .saturating_mul(2 * size_of::<f32>() as u128);
        crate::memory::check(
            u64::try_from(rtrl.max(bptt)).unwrap_or(u64::MAX),
            args.max_memory,
            "lower --sizes, --steps or --batch",
        )?;
    }
    if let Some(part) = args.in_process {
        compare_part(args, backend, part)?;
        return Ok(serde_json::Value::Null);
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    eprintln!(
        "comparing BPTT and RTRL on {backend}: sizes {:?}, steps {:?}, batch {}, median of {}",
        args.sizes, args.steps, args.batch, args.episodes
    );
    println!("{TABLE_HEAD}");
    let mut rows = Vec::new();
    for &size in &args.sizes {
        for &steps in &args.steps {
            let difference: Difference =
                part_in_child(args, backend, ComparePart::Difference, size, steps)?;
            let timing: Timing = part_in_child(args, backend, ComparePart::Timing, size, steps)?;
            let row = CompareRow {
                neurons: size,
                steps,
                w_difference: difference.w,
                alpha_difference: difference.alpha,
                eta_difference: difference.eta,
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
    Ok(serde_json::json!({ "model": "plastic-rnn", "backend": backend.name(), "cases": rows }))
}

/// The parameters and episodes of the case (`size`, `steps`): the same in every process.
fn case(args: &CompareOptions, size: usize, steps: usize) -> anyhow::Result<Case> {
    let config = network(size)?;
    let seed = args.seed ^ ((size as u64) << 32) ^ steps as u64;
    let (inputs, targets) = episodes(&config, args.batch, steps, seed)?;
    Ok(Case {
        config,
        seed: args.seed,
        inputs,
        targets,
    })
}

/// Computes `part` of the first case here and prints it as one JSON line.
fn compare_part(
    args: &CompareOptions,
    backend: BackendChoice,
    part: ComparePart,
) -> anyhow::Result<()> {
    let case = case(args, args.sizes[0], args.steps[0])?;
    let line = match part {
        ComparePart::Difference => {
            let (bptt, rtrl) = crate::backend::run_f64(GradientJob(&case))?;
            serde_json::to_string(&Difference {
                w: relative_difference(&rtrl.w, &bptt.w),
                alpha: relative_difference(&rtrl.alpha, &bptt.alpha),
                eta: relative_difference(&rtrl.eta, &bptt.eta),
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
    args: &CompareOptions,
    backend: BackendChoice,
    part: ComparePart,
    size: usize,
    steps: usize,
) -> anyhow::Result<T> {
    let part_name = part.name();
    let mut child_args: Vec<String> = [
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
    ]
    .map(String::from)
    .to_vec();
    if let Some(limit) = args.max_memory {
        child_args.extend(["--max-memory".to_string(), limit.to_string()]);
    }
    let what = format!("the {part_name} of N = {size}, T = {steps}");
    let output = crate::backend::run_self(&child_args, &what)?;
    serde_json::from_str(output.trim()).with_context(|| format!("{what}: unreadable output"))
}
