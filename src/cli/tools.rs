//! `bench` and `compare` flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use plastic_models::GradientEngine;

use crate::experiments::plastic_rnn::bench::BenchOptions;
use crate::experiments::plastic_rnn::compare::{CompareOptions, ComparePart};
use crate::flags::parse_size;

#[derive(Debug, Subcommand)]
pub enum BenchModel {
    /// Training episodes of the plastic RNN at several sizes
    PlasticRnn(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Network sizes (pattern neurons), comma-separated
    #[arg(long, value_delimiter = ',', default_value = "29,100,300,1000")]
    pub sizes: Vec<usize>,
    /// Episodes per optimizer step; several values give several cases
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub batch: Vec<usize>,
    /// Gradient engines; several values give several cases
    #[arg(long, value_delimiter = ',', default_value = "adjoint,bptt")]
    pub grad: Vec<GradientEngine>,
    /// Preset whose episode timeline is timed (dp-simple: 106 steps)
    #[arg(long, default_value = "dp-simple")]
    pub preset: String,
    /// Timed episodes per case (the median is reported)
    #[arg(long, default_value_t = 5)]
    pub episodes: usize,
    /// Untimed episodes before timing
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Time only the first case, in this process (what each child process of a bench runs)
    #[arg(long)]
    pub in_process: bool,
}

impl BenchArgs {
    pub fn options(self) -> BenchOptions {
        BenchOptions {
            sizes: self.sizes,
            batch: self.batch,
            grad: self.grad,
            preset: self.preset,
            episodes: self.episodes,
            warmup: self.warmup,
            in_process: self.in_process,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Network sizes N, total neurons (bias neuron included), comma-separated
    #[arg(long, value_delimiter = ',', default_value = "8,16,29,48,64")]
    pub sizes: Vec<usize>,
    /// Episode lengths T, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "66")]
    pub steps: Vec<usize>,
    /// Timed gradient computations per case and engine (the median is reported)
    #[arg(long, default_value_t = 3)]
    pub episodes: usize,
    /// Episodes per gradient
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Seed of the parameters and episodes
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory for compare.csv, compare.md and compare.png
    #[arg(long, default_value = "checkpoints/compare")]
    pub out: PathBuf,
    /// Largest RTRL sensitivity storage to allocate, e.g. 512M, 4G [default: the memory
    /// available]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Compute one part of the first case in this process and print it as JSON
    #[arg(long, hide = true, value_parser = ComparePart::NAMES)]
    pub in_process: Option<String>,
}

impl CompareArgs {
    pub fn options(self) -> CompareOptions {
        CompareOptions {
            sizes: self.sizes,
            steps: self.steps,
            episodes: self.episodes,
            batch: self.batch,
            seed: self.seed,
            out: self.out,
            max_memory: self.max_memory,
            in_process: self.in_process.as_deref().and_then(ComparePart::named),
        }
    }
}
