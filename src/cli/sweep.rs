//! `sweep` and `collect` flags.

use std::path::PathBuf;

use clap::Args;

use crate::flags::parse_size;
use crate::sweep::collect::PlotRequest;
use crate::sweep::emit::Scheduler;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The plan: a JSON file naming the model, preset, flags, grid and out (docs/sweeps.md)
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// Print the cells (index, directory name, memory) and stop
    #[arg(long, conflicts_with_all = ["cell", "emit", "collect"])]
    pub list: bool,
    /// Run one cell in this process: its index, or `env` for the scheduler's task index
    /// (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, PARALLEL_SEQ)
    #[arg(long, value_name = "I|env", conflicts_with_all = ["emit", "collect", "jobs"])]
    pub cell: Option<String>,
    /// Cells at once on this machine [default: what the CPUs and memory allow together]
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print a job for a cluster's scheduler on standard output instead of running
    #[arg(long, value_enum, value_name = "SCHEDULER", conflicts_with = "collect")]
    pub emit: Option<Scheduler>,
    /// Collect the finished cells into one table instead of running (as `collect OUT`)
    #[arg(long)]
    pub collect: bool,
    /// Refuse a cell whose estimated memory exceeds this, e.g. 512M or 4G [default: the
    /// memory available, within this process's cgroup]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// --emit: CPUs per cell
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub cpus: usize,
    /// --emit slurm: wall-time limit per cell, as sbatch takes it
    #[arg(long, default_value = "1:00:00")]
    pub time: String,
    /// --emit: cells running at once on the cluster [default: no limit]
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// --emit slurm: the partition
    #[arg(long)]
    pub partition: Option<String>,
    /// --emit k8s: the container image that holds plastic-zoo
    #[arg(long, default_value = "plastic-zoo:latest")]
    pub image: String,
    /// --emit k8s: the persistent volume claim mounted as the working directory
    #[arg(long, default_value = "plastic-zoo-work")]
    pub claim: String,
    #[command(flatten)]
    pub plot: PlotArgs,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The sweep's directory (the plan's "out")
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub plot: PlotArgs,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Also plot this metric (mean over seeds) against a grid field, one line per group
    #[arg(long, value_name = "METRIC")]
    pub plot: Option<String>,
    /// The grid field on the plot's x axis [default: the first that is not a seed]
    #[arg(long, value_name = "FIELD", requires = "plot")]
    pub against: Option<String>,
}

impl PlotArgs {
    pub fn request(&self) -> Option<PlotRequest> {
        self.plot.as_ref().map(|metric| PlotRequest {
            metric: metric.clone(),
            against: self.against.clone(),
        })
    }
}
