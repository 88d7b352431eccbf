//! `train learned-rule` and `eval` flags; each serialises to its place in the run's JSON.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use plastic_models::{ReadoutInit, RuleNetKind};
use plastic_tasks::{TaskFamily, TwoInputTask};
use serde::Serialize;
use serde_json::Value;

use super::LearnedRuleExperiment;
use crate::flags::{
    overlay_of, parse_layer_sizes, CommandLine, LayerSizes, SeedAndAdamFlags, TrainFlags,
};

impl CommandLine for LearnedRuleExperiment {
    type Flags = LearnedRuleFlags;
    type EvalFlags = LearnedRuleEvalFlags;
}

/// Parses the name of a two-input task.
pub fn task_parser() -> impl TypedValueParser<Value = String> {
    let names: Vec<&'static str> = TwoInputTask::all().iter().map(|t| t.name()).collect();
    PossibleValuesParser::new(names)
}

#[derive(Debug, Args, Serialize)]
pub struct LearnedRuleFlags {
    #[command(flatten)]
    pub rule: RuleNetFlags,
    /// Hidden layer sizes of the nets the rule trains [default: 20]
    #[arg(long, value_name = "SIZES", value_parser = parse_layer_sizes)]
    pub hidden: Option<LayerSizes>,
    /// Task family (implies the preset of the same name) [default: boolean]
    #[arg(long, value_enum)]
    pub family: Option<TaskFamily>,
    /// Tasks of the family held out of meta-training, comma-separated [default: xor,xnor;
    /// linear-60,linear-240]
    #[arg(long, value_delimiter = ',', value_parser = task_parser(), hide_possible_values = true)]
    pub held_out: Option<Vec<String>>,
    /// Tasks of the family kept for validation (the hand-written rules' learning rates are
    /// chosen on them), comma-separated [default: and,or,nand,nor; linear-30,linear-90,
    /// linear-210,linear-270]
    #[arg(long, value_delimiter = ',', value_parser = task_parser(), hide_possible_values = true)]
    pub validation: Option<Vec<String>>,
    /// Updates of the inner loop (one random example per net each) [default: 40]
    #[arg(long)]
    pub inner_steps: Option<usize>,
    /// Backpropagate through only the last K inner updates
    #[arg(long = "truncate", visible_alias = "truncation", value_name = "K")]
    pub truncation: Option<usize>,
    /// Meta-loss averaged over every inner update instead of taken after the last one
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub loss_during: Option<bool>,
    /// Meta-loss: the mean of the nets' errors after each of these numbers of updates,
    /// comma-separated (e.g. 5,10,20,40) [default: after the last update]
    #[arg(long, value_delimiter = ',', value_name = "K,...")]
    pub loss_at: Option<Vec<usize>>,
    /// Weights of the trained nets are clamped to [-w_max, w_max] [default: 1] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub w_max: Option<f64>,
    #[command(flatten)]
    pub train: MetaTrainingFlags,
}

#[derive(Debug, Args, Serialize)]
pub struct RuleNetFlags {
    /// Architecture of the rule [default: lstm]
    #[arg(long = "rule-net", value_enum)]
    pub kind: Option<RuleNetKind>,
    /// Hidden units of the rule network [default: 10]
    #[arg(id = "rule_hidden", long = "rule-hidden")]
    pub hidden: Option<usize>,
    /// Feed each synapse the global error target − output (true/false) [default: true]
    #[arg(long, value_name = "BOOL")]
    pub error_signal: Option<bool>,
    /// Feed each synapse the global reward −(target − output)² as well
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub reward_signal: Option<bool>,
    /// Feed each synapse whether it is in the output layer (1) or a hidden one (0)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub layer_signal: Option<bool>,
    /// Δw = step-scale × the rule network's output [default: 0.1] [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub step_scale: Option<f64>,
    /// How the rule's readout starts: zero (no change at first) or random (Burn's default) [default: zero]
    #[arg(long, value_enum)]
    pub readout_init: Option<ReadoutInit>,
}

#[derive(Debug, Args, Serialize)]
pub struct MetaTrainingFlags {
    /// Meta-steps (Adam steps on the rule) [default: 1000]
    #[arg(long = "meta-steps")]
    pub episodes: Option<usize>,
    /// Nets (tasks drawn from the training tasks) per meta-step [default: 32]
    #[arg(long = "meta-batch")]
    pub batch: Option<usize>,
    #[command(flatten)]
    #[serde(flatten)]
    pub rest: SeedAndAdamFlags,
}

impl TrainFlags for LearnedRuleFlags {
    fn overlay(&self) -> anyhow::Result<Value> {
        overlay_of(self)
    }
}

#[derive(Debug, Args, Serialize)]
pub struct LearnedRuleEvalFlags {
    /// learned-rule: tasks of the run's family to score, comma-separated [default: the
    /// held-out ones]
    #[arg(long = "task", value_delimiter = ',', value_parser = task_parser(), hide_possible_values = true)]
    pub tasks: Option<Vec<String>>,
    /// learned-rule: fresh nets trained per task, by the learned rule and by each
    /// hand-written rule [default: 100]
    #[arg(long)]
    pub replications: Option<usize>,
    /// learned-rule: numbers of inner updates to compare the rules after, comma-separated;
    /// each hand-written rule gets its best learning rate for each budget on the validation
    /// tasks [default: the budgets the rule was meta-trained for]
    #[arg(long = "budget", value_delimiter = ',', value_name = "K,...")]
    pub budgets: Option<Vec<usize>>,
}
