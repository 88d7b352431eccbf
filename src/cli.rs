//! The command line, as clap derive structs; their doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use plastic_models::HebbRule;

use crate::backend::BackendChoice;
use crate::config::PlasticRnnOverrides;

#[derive(Debug, Parser)]
#[command(
    name = "plastic-zoo",
    version,
    about = "Networks that learn the way synapses do"
)]
pub struct Cli {
    /// Backend to run on: ndarray, wgpu or flex (default: the first compiled in)
    #[arg(long, global = true, value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<BackendChoice>()))]
    pub backend: Option<BackendChoice>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List models and presets, one per line
    List,
    /// Train a model
    #[command(subcommand)]
    Train(TrainModel),
    /// Evaluate a checkpoint on fresh episodes from a fixed evaluation seed
    Eval(EvalArgs),
    /// Time training episodes and print JSON lines (median seconds per episode, peak memory)
    #[command(subcommand)]
    Bench(BenchModel),
}

#[derive(Debug, Subcommand)]
pub enum TrainModel {
    /// Recurrent net with Hebbian plastic connections, trained by BPTT
    PlasticRnn(PlasticRnnArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchModel {
    /// Training episodes of the plastic RNN at several sizes
    PlasticRnn(BenchArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RuleArg {
    Hebb,
    Oja,
}

impl From<RuleArg> for HebbRule {
    fn from(rule: RuleArg) -> Self {
        match rule {
            RuleArg::Hebb => HebbRule::Hebb,
            RuleArg::Oja => HebbRule::Oja,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Name of the run directory (default: <preset>-seed<seed>)
    #[arg(long)]
    pub run_name: Option<String>,
    /// Root of the run directories
    #[arg(long, default_value = "checkpoints")]
    pub out: PathBuf,
    /// Continue the run in this directory from its last checkpoint
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// JSON file overriding any part of the preset (flags override it in turn)
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// Evaluation episodes scored at the end of training
    #[arg(long, default_value_t = 100)]
    pub eval_episodes: usize,
}

#[derive(Debug, Args)]
pub struct PlasticRnnArgs {
    /// Preset: bohp, dp-simple or dp-50bit
    #[arg(long, default_value = crate::config::DEFAULT_PRESET)]
    pub preset: String,
    #[command(flatten)]
    pub run: RunArgs,
    /// Total episodes of the run
    #[arg(long)]
    pub episodes: Option<usize>,
    /// Episodes per optimizer step
    #[arg(long)]
    pub batch: Option<usize>,
    /// Adam learning rate
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Seed of the parameters and the training episodes
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write a checkpoint every K episodes (and at the end)
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
    /// Hebbian rule of the trace
    #[arg(long, value_enum)]
    pub rule: Option<RuleArg>,
    /// Pattern neurons (and bits per pattern)
    #[arg(long)]
    pub neurons: Option<usize>,
    /// Patterns per episode
    #[arg(long)]
    pub patterns: Option<usize>,
    /// Presentation cycles
    #[arg(long)]
    pub cycles: Option<usize>,
    /// Steps each pattern is shown
    #[arg(long)]
    pub presentation_steps: Option<usize>,
    /// Zero-input steps after each presentation
    #[arg(long)]
    pub zero_steps: Option<usize>,
    /// Steps the degraded cue is shown
    #[arg(long)]
    pub cue_steps: Option<usize>,
    /// Fraction of the cue's bits zeroed
    #[arg(long, allow_negative_numbers = true)]
    pub degraded_fraction: Option<f64>,
    /// Input multiplier
    #[arg(long, allow_negative_numbers = true)]
    pub input_scale: Option<f64>,
    /// Zero-sum patterns (true/false)
    #[arg(long, value_name = "BOOL")]
    pub zero_sum: Option<bool>,
    /// Mutually orthogonal patterns (true/false)
    #[arg(long, value_name = "BOOL")]
    pub orthogonal: Option<bool>,
    /// Add a bias neuron held at 1 (true/false)
    #[arg(long, value_name = "BOOL")]
    pub bias_neuron: Option<bool>,
    /// Clamp the trace to [-1, 1] (true/false)
    #[arg(long, value_name = "BOOL")]
    pub clamp_trace: Option<bool>,
    /// Learn η (true) or hold it fixed (false)
    #[arg(long, value_name = "BOOL")]
    pub learn_eta: Option<bool>,
    /// Initial (or fixed) η
    #[arg(long, allow_negative_numbers = true)]
    pub eta: Option<f64>,
    /// One α shared by all connections (true/false)
    #[arg(long, value_name = "BOOL")]
    pub shared_alpha: Option<bool>,
    /// Hold α's diagonal at zero (true/false)
    #[arg(long, value_name = "BOOL")]
    pub zero_alpha_diagonal: Option<bool>,
}

impl PlasticRnnArgs {
    pub fn overrides(&self) -> PlasticRnnOverrides {
        PlasticRnnOverrides {
            episodes: self.episodes,
            batch: self.batch,
            learning_rate: self.lr,
            seed: self.seed,
            checkpoint_every: self.checkpoint_every,
            rule: self.rule.map(Into::into),
            neurons: self.neurons,
            patterns: self.patterns,
            cycles: self.cycles,
            presentation_steps: self.presentation_steps,
            zero_steps: self.zero_steps,
            cue_steps: self.cue_steps,
            degraded_fraction: self.degraded_fraction,
            input_scale: self.input_scale,
            zero_sum: self.zero_sum,
            orthogonal: self.orthogonal,
            bias_neuron: self.bias_neuron,
            clamp_trace: self.clamp_trace,
            learn_eta: self.learn_eta,
            eta: self.eta,
            shared_alpha: self.shared_alpha,
            zero_alpha_diagonal: self.zero_alpha_diagonal,
        }
    }
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory holding a checkpoint
    pub dir: PathBuf,
    /// Evaluation episodes
    #[arg(long, default_value_t = 100)]
    pub episodes: usize,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Network sizes (pattern neurons), comma-separated
    #[arg(long, value_delimiter = ',', default_value = "29,100,300,1000")]
    pub sizes: Vec<usize>,
    /// Episodes per optimizer step; several values give several cases
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub batch: Vec<usize>,
    /// Preset whose episode timeline is timed (dp-simple: 106 steps)
    #[arg(long, default_value = "dp-simple")]
    pub preset: String,
    /// Timed episodes per case (the median is reported)
    #[arg(long, default_value_t = 5)]
    pub episodes: usize,
    /// Untimed episodes before timing
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Run one case in this process instead of one child process per case
    #[arg(long, hide = true)]
    pub in_process: bool,
}
