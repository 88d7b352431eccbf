//! Burn modules of networks that learn the way synapses do, and their learning rules.
//! Models are generic over the backend; they know nothing of tasks, files or the CLI.
#![warn(missing_docs)]

pub mod adjoint;
pub mod baselines;
mod dense;
pub mod feedback_alignment;
pub mod force;
mod gradient_engines;
pub mod hebbian_ff;
pub mod hopfield;
pub mod kernels;
pub mod learned_rule;
pub mod logistic;
pub mod modulation;
pub mod pattern_net;
pub mod plastic_agent;
pub mod plastic_rnn;
pub mod rate_network;
pub mod reservoir;
pub mod rtrl;
pub mod sorn;
mod tanh;

pub use adjoint::anchor_interval;
pub use baselines::{LstmNet, LstmNetConfig, RnnNet, RnnNetConfig};
pub use feedback_alignment::{
    Activation, Feedback, Loss, Method, Mlp, MlpConfig, MlpLearner, Updates,
};
pub use force::ForceNetworks;
pub use hebbian_ff::{
    AnyRule, FeedForward, FeedForwardConfig, HebbianError, LocalRule, OutputActivation, RuleKind,
    RuleStep, SavedNetwork,
};
pub use hopfield::{AsynchronousMemory, DenseMemory, Hopfield, HopfieldError, Interaction};
pub use kernels::Kernels;
pub use learned_rule::{LearnedRule, LearnedRuleConfig, ReadoutInit, RuleMemory, RuleNetKind};
pub use logistic::LogisticFit;
pub use modulation::Modulation;
pub use pattern_net::{truncation_cut, HandBptt, HandGradients, PatternNet};
pub use plastic_agent::{
    a2c_loss, A2cSettings, AgentState, AgentStep, PlasticAgent, PlasticAgentConfig, Rollout,
};
pub use plastic_rnn::{
    last_step_loss, AlphaInit, GradientEngine, HebbRule, PlasticGradients, PlasticRnn,
    PlasticRnnConfig, PlasticState,
};
pub use rate_network::{
    DeltaRate, DeltaReadout, DeltaRule, NetworkDraw, RateNetwork, RateNetworkConfig, Rls,
};
pub use reservoir::{EchoStateNetwork, Esn, EsnConfig, Readout, ReservoirError};
pub use rtrl::rtrl_sensitivity_bytes;
pub use sorn::{Plasticity, Sorn, SornConfig, SornError, SornState};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// Draws every lazily initialised parameter of `module` now. Burn initialises parameters
/// on first use, and every clone of a lazy parameter draws its own values: a checkpoint
/// saved from a clone would hold other weights than the module that trains.
pub(crate) fn materialise<B: Backend, M: Module<B>>(module: &M) {
    struct Materialise;
    impl<B: Backend> ModuleVisitor<B> for Materialise {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Materialise);
}
