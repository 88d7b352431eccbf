//! `train hopfield` flags; each serialises to its field of the run.

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::{HopfieldExperiment, Memory, Update};
use crate::flags::{overlay_of, CommandLine, TrainFlags};

impl CommandLine for HopfieldExperiment {
    type Flags = HopfieldFlags;
    type EvalFlags = HopfieldEvalFlags;
}

#[derive(Debug, Args, Serialize)]
pub struct HopfieldFlags {
    /// Sizes N of the classic network, comma-separated [default: 500; capacity preset:
    /// 100,500,1000]
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub neurons: Option<Vec<usize>>,
    /// Loads P/N, comma-separated [default: 0.02; capacity preset: 12 loads 0.04 … 0.30] [range: (0, ∞)]
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "P/N",
        allow_negative_numbers = true,
        value_parser = crate::flags::finite_f64,
    )]
    pub loads: Option<Vec<f64>>,
    /// How the classic network's units update [default: asynchronous]
    #[arg(long, value_enum)]
    pub update: Option<Update>,
    /// Dense memories probed beside the classic one, comma-separated (cubic, quartic,
    /// exponential) [default: none; capacity preset: cubic,exponential]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub dense: Option<Vec<Memory>>,
    /// Probe the classic network only (with capacity preset: without its dense memories)
    #[arg(long, conflicts_with = "dense")]
    #[serde(skip)]
    pub no_dense: bool,
    /// Units of the dense memories [default: 100]
    #[arg(long, value_name = "N")]
    pub dense_neurons: Option<usize>,
    /// Loads P/N of the dense memories, comma-separated [capacity preset: 0.1 … 8] [range: (0, ∞)]
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "P/N",
        allow_negative_numbers = true,
        value_parser = crate::flags::finite_f64,
    )]
    pub dense_loads: Option<Vec<f64>>,
    /// Probability that each unit of a cue is flipped [default: 0.2; capacity preset: 0.1] [range: [0, 0.5)]
    #[arg(long, value_name = "P", value_parser = crate::flags::finite_f64)]
    pub cue_flip: Option<f64>,
    /// A probe is recalled when its final overlap with its pattern is at least this
    /// [default: 0.95] [range: (0, 1]]
    #[arg(long, value_name = "M", value_parser = crate::flags::finite_f64)]
    pub recall_overlap: Option<f64>,
    /// Sweeps before a probe is judged as it stands (asynchronous updates always settle;
    /// near the capacity, after tens of sweeps) [default: 300]
    #[arg(long)]
    pub max_sweeps: Option<usize>,
    /// Stored patterns probed per load at least (more networks at small P) [default: 500]
    #[arg(long)]
    pub min_probes: Option<usize>,
    /// Write a checkpoint every K cells (and at the end) [default: 10]
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
    /// Seed of the patterns, cues and update orders [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TrainFlags for HopfieldFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        let mut flags = overlay_of(self)?;
        if self.no_dense {
            flags["dense"] = Value::Array(Vec::new());
        }
        Ok(flags)
    }
}

#[derive(Debug, Args, Serialize)]
pub struct HopfieldEvalFlags {
    /// Seed of the fresh cues [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
}
