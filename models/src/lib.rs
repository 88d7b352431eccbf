//! Burn modules of networks that learn the way synapses do, and their learning rules.
//! Models are generic over the backend; they know nothing of tasks, files or the CLI.

pub mod hebbian_ff;
pub mod learned_rule;
pub mod plastic_rnn;
pub mod rtrl;

pub use hebbian_ff::{
    AnyRule, FeedForward, FeedForwardConfig, HebbianError, LocalRule, OutputActivation, RuleStep,
    SavedNetwork,
};
pub use learned_rule::{LearnedRule, LearnedRuleConfig, RuleMemory, RuleNetKind};
pub use plastic_rnn::{
    last_step_loss, AlphaInit, HebbRule, PlasticRnn, PlasticRnnConfig, PlasticState,
};
pub use rtrl::{rtrl_sensitivity_bytes, RtrlGradients};
