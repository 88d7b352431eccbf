//! The command line, as clap derive structs; their doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use plastic_models::HebbRule;

use crate::backend::BackendChoice;
use crate::config::{GradientEngine, PlasticRnnOverrides};

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
    /// Plastic RNN: BPTT and RTRL gradients side by side (difference, time, memory)
    Compare(CompareArgs),
}

#[derive(Debug, Subcommand)]
pub enum TrainModel {
    /// Recurrent net with Hebbian plastic connections, trained by BPTT
    PlasticRnn(PlasticRnnArgs),
    /// Feed-forward net trained by a local Hebbian rule, many seeded replications at once
    HebbianFf(HebbianFfArgs),
    /// A learning rule that is itself a network (LSTM or MLP), meta-trained end to end
    LearnedRule(LearnedRuleArgs),
    /// An MLP trained by backprop, feedback alignment or direct feedback alignment
    FeedbackAlignment(FeedbackAlignmentArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FaTaskArg {
    /// Online regression of x0·x1, x0 = sin(2πt/s), x1 = sin(2π·0.7t/s), one update per sample
    Product,
    /// Fashion-MNIST classification, mini-batch SGD
    FashionMnist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Backpropagation
    Bp,
    /// Feedback alignment: a fixed random matrix per layer in place of Wᵀ
    Fa,
    /// Direct feedback alignment: the output error to every hidden layer
    Dfa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    Tanh,
    Relu,
    Sigmoid,
}

#[derive(Debug, Args)]
pub struct FeedbackAlignmentArgs {
    /// Task
    #[arg(long, value_enum, default_value = "product")]
    pub task: FaTaskArg,
    /// Learning methods, comma-separated; several are trained one after another, each into
    /// its own run directory, and compared in one plot
    #[arg(long, value_enum, value_delimiter = ',', default_value = "bp,fa,dfa")]
    pub method: Vec<MethodArg>,
    /// Hidden layer sizes, comma-separated [default: 100 for product, 1000 for fashion-mnist]
    #[arg(long, value_name = "SIZES", value_parser = parse_layer_sizes)]
    pub hidden: Option<LayerSizes>,
    /// Hidden nonlinearity [default: relu for product (as the seed), tanh for fashion-mnist]
    #[arg(long, value_enum)]
    pub activation: Option<ActivationArg>,
    /// SGD learning rate [default: 0.02 for product, 0.05 for fashion-mnist]
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// fashion-mnist: passes over the training set
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// fashion-mnist: images per update
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// fashion-mnist: train on only the first N training images
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// fashion-mnist: folder of the four .gz IDX files
    #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
    pub data_dir: PathBuf,
    /// product: samples, one update each [default: 3000 simulated seconds]
    #[arg(long)]
    pub steps: Option<usize>,
    /// product: simulated seconds between samples
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub dt: f64,
    /// product: period s of the first sinusoid, in simulated seconds
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    pub period: f64,
    /// Updates between two records of the loss and the alignment angles [default: 1
    /// simulated second for product, 100 for fashion-mnist]
    #[arg(long, value_name = "K")]
    pub log_every: Option<usize>,
    /// Seed of the initial weights, feedback matrices and example order
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Root of the run directories
    #[arg(long, default_value = "checkpoints")]
    pub out: PathBuf,
    /// Name of the run directory of a lone method; with several, each run is <name>-<method>
    /// [default: <task>-seed<seed>, each run <task>-seed<seed>-<method>]
    #[arg(long)]
    pub run_name: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RuleNetArg {
    /// One LSTM cell per synapse (shared weights, private state)
    Lstm,
    /// A memoryless two-layer perceptron
    Mlp,
}

#[derive(Debug, Args)]
pub struct LearnedRuleArgs {
    /// Architecture of the rule
    #[arg(long, value_enum, default_value = "lstm")]
    pub rule_net: RuleNetArg,
    /// Hidden units of the rule network
    #[arg(long, default_value_t = 10)]
    pub rule_hidden: usize,
    /// Feed each synapse the global error target − output (true/false)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub error_signal: bool,
    /// Feed each synapse the global reward −(target − output)² as well
    #[arg(long)]
    pub reward_signal: bool,
    /// Δw = step-scale × the rule network's output
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub step_scale: f64,
    /// Hidden layer sizes of the nets the rule trains
    #[arg(long, value_name = "SIZES", value_parser = parse_layer_sizes, default_value = "20")]
    pub hidden: LayerSizes,
    /// Updates of the inner loop (one random example per net each)
    #[arg(long, default_value_t = 40)]
    pub inner_steps: usize,
    /// Backpropagate through only the last K inner updates
    #[arg(long, value_name = "K")]
    pub truncation: Option<usize>,
    /// Meta-loss averaged over every inner update instead of taken after the last one
    #[arg(long)]
    pub loss_during: bool,
    /// Meta-steps (Adam steps on the rule)
    #[arg(long, default_value_t = 1000)]
    pub meta_steps: usize,
    /// Nets (tasks drawn from the training family) per meta-step
    #[arg(long, default_value_t = 32)]
    pub meta_batch: usize,
    /// Adam learning rate of the meta-training
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    pub lr: f64,
    /// Largest global norm of a meta-gradient
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub grad_clip: f64,
    /// Weights of the trained nets are clamped to [-w_max, w_max]
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub w_max: f64,
    /// Task family: boolean (the 16 two-input functions) or linear (12 maps
    /// x ↦ 0.5·(cos θ·x0 + sin θ·x1), θ = 0, 30, …, 330, named linear-θ)
    #[arg(long, default_value = "boolean")]
    pub family: String,
    /// Tasks of the family held out of meta-training, comma-separated [default: xor,xnor;
    /// linear-60,linear-240]
    #[arg(long, value_delimiter = ',')]
    pub held_out: Option<Vec<String>>,
    /// Seed of the rule's initial weights and of the meta-training tasks
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write a checkpoint every K meta-steps (and at the end)
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub checkpoint_every: usize,
    /// Root of the run directories
    #[arg(long, default_value = "checkpoints")]
    pub out: PathBuf,
    /// Name of the run directory (default: <rule-net>-seed<seed>, or
    /// <rule-net>-<family>-seed<seed> for a family other than boolean)
    #[arg(long)]
    pub run_name: Option<String>,
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GradArg {
    /// Backpropagation through time (autodiff)
    Bptt,
    /// Real-time recurrent learning: forward sensitivities, O(N⁴) memory
    Rtrl,
}

impl From<GradArg> for GradientEngine {
    fn from(grad: GradArg) -> Self {
        match grad {
            GradArg::Bptt => GradientEngine::Bptt,
            GradArg::Rtrl => GradientEngine::Rtrl,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlasticRnnArgs {
    /// Preset: bohp, dp-simple or dp-50bit
    #[arg(long, default_value = crate::config::DEFAULT_PRESET)]
    pub preset: String,
    #[command(flatten)]
    pub run: RunArgs,
    /// Gradient engine: bptt (default) or rtrl
    #[arg(long, value_enum)]
    pub grad: Option<GradArg>,
    /// Largest RTRL sensitivity storage to allocate, e.g. 512M, 4G (bytes without a suffix)
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MAX_MEMORY, value_parser = parse_size)]
    pub max_memory: u64,
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
            gradient: self.grad.map(Into::into),
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
pub struct HebbianFfArgs {
    /// Task: a two-input boolean function (and, or, xor, xnor, nand, … all 16 by name), a
    /// linear map linear-θ (θ = 0, 30, …, 330) or pca (one linear neuron on correlated
    /// Gaussian data) [default: xor]
    #[arg(long)]
    pub task: Option<String>,
    /// Learning rule: supervised, bounded, unsupervised, reward, oja or delta [default:
    /// supervised; oja for pca]
    #[arg(long)]
    pub rule: Option<String>,
    /// Hidden layer sizes, comma-separated, e.g. 100 or 10,10 [default: 100]
    #[arg(long, value_name = "SIZES", value_parser = parse_layer_sizes)]
    pub hidden: Option<LayerSizes>,
    /// Independent networks trained side by side, each from its own initial weights
    #[arg(long, default_value_t = 100)]
    pub replications: usize,
    /// Updates, each on one random example per replication [default: 400]
    #[arg(long)]
    pub updates: Option<usize>,
    /// Learning rate of the rule
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub lr: f64,
    /// Weights are clamped to [-w_max, w_max] after every update
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub w_max: f64,
    /// Seed of the initial weights and the examples
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Supervised rule: let the first layer learn too (the seed network's first layer keeps
    /// its random weights)
    #[arg(long)]
    pub first_layer_learns: bool,
    /// Covariance of the pca task's data, rows separated by ';', e.g. "3,1;1,2"
    #[arg(long, value_name = "ROWS")]
    pub covariance: Option<String>,
    /// Score every replication every K updates (metrics.jsonl and the plot) [default:
    /// updates/100]
    #[arg(long, value_name = "K")]
    pub score_every: Option<usize>,
    /// Run the seed's table (and, xor × hidden [10], [100], [10,10]) for every rule, or
    /// for --rule, and print it beside the seed's figures
    #[arg(long)]
    pub sweep: bool,
    /// Root of the run directories
    #[arg(long, default_value = "checkpoints")]
    pub out: PathBuf,
    /// Name of the run directory (default: <task>-<rule>-h<sizes>-seed<seed>)
    #[arg(long)]
    pub run_name: Option<String>,
}

/// Hidden layer sizes, input side first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSizes(pub Vec<usize>);

/// Parses `--hidden`: positive layer sizes separated by commas.
pub fn parse_layer_sizes(text: &str) -> Result<LayerSizes, String> {
    if text.trim().is_empty() {
        return Err("the hidden layer list is empty: give sizes such as 100 or 10,10".into());
    }
    text.split(',')
        .map(|size| match size.trim().parse::<usize>() {
            Ok(0) => Err("every hidden layer needs at least 1 neuron".to_string()),
            Ok(size) => Ok(size),
            Err(_) => Err(format!(
                "'{size}' is not a layer size: give sizes such as 100 or 10,10"
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(LayerSizes)
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory holding a checkpoint
    pub dir: PathBuf,
    /// Evaluation episodes (plastic-rnn)
    #[arg(long, default_value_t = 100)]
    pub episodes: usize,
    /// learned-rule: tasks of the run's family to score, comma-separated (default: the
    /// held-out ones)
    #[arg(long, value_delimiter = ',')]
    pub task: Option<Vec<String>>,
    /// learned-rule: fresh nets trained per task, by the learned rule and by each
    /// hand-written rule
    #[arg(long, default_value_t = 100)]
    pub replications: usize,
    /// feedback-alignment: folder of the Fashion-MNIST files (default: the one trained on)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
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

/// Default of `--max-memory`.
pub const DEFAULT_MAX_MEMORY: &str = "4G";

/// Parses a byte count with an optional K, M, G or T suffix (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (digits, unit) = match trimmed
        .char_indices()
        .find(|(_, c)| c.is_ascii_alphabetic())
    {
        Some((at, _)) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let shift = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("unknown size unit in '{text}' (use K, M, G or T)")),
    };
    let value: f64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a size such as 512M or 4G"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("size must be positive, got '{text}'"));
    }
    Ok((value * (1u64 << shift) as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("4X").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("G").is_err());
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
    /// Largest RTRL sensitivity storage to allocate, e.g. 512M, 4G
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MAX_MEMORY, value_parser = parse_size)]
    pub max_memory: u64,
    /// Compute one part of the first case in this process and print it as JSON
    #[arg(long, hide = true, value_enum)]
    pub in_process: Option<ComparePart>,
}

/// The parts of a `compare` case, each run in a process of its own: the f64 check and the
/// timing must not share ndarray's device, whose float type is set by its first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ComparePart {
    /// Both gradients in f64 on ndarray, and their largest relative difference.
    Difference,
    /// Time and peak memory of each engine on the chosen backend.
    Timing,
}
