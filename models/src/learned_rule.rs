//! A synaptic learning rule that is itself a small network, shared by every synapse of a
//! [`FeedForward`] net: an LSTM (each synapse carries its own hidden and cell state) or a
//! memoryless MLP. It reads each synapse's presynaptic activity, postsynaptic activity,
//! current weight and optionally a global error and a global reward, and writes the
//! synapse's weight change.
//! All synapses of all replications go through the rule network as one batch.
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use burn::optim::{AdamConfig, GradientsParams, Optimizer};
//! use burn::tensor::{ElementConversion, Tensor, TensorData};
//! use plastic_models::{FeedForwardConfig, LearnedRuleConfig, OutputActivation, RuleNetKind};
//! use rand::{Rng, SeedableRng};
//!
//! // Meta-learning a rule, small: an MLP rule reading each synapse's pre- and postsynaptic
//! // activity, its weight and the example's error trains 8 fresh linear nets online, 10
//! // updates each, to fit y = 0.8·x₀ − 0.5·x₁; the meta-gradient flows back through the 10
//! // updates into the rule.
//! type B = Autodiff<NdArray>;
//! let device = Default::default();
//! let mut rule = LearnedRuleConfig::new(RuleNetKind::Mlp).init::<B>(&device);
//! let nets = FeedForwardConfig {
//!     inputs: 2,
//!     hidden: vec![],
//!     outputs: 1,
//!     output_activation: OutputActivation::Linear,
//! };
//! let target = |x: &[f32]| 0.8 * x[0] - 0.5 * x[1];
//! let probes = [[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 1.0]];
//! let probe_inputs: Vec<f32> = probes.concat().repeat(8);
//! let probe_targets: Vec<f32> = probes.iter().map(|p| target(p)).collect::<Vec<_>>().repeat(8);
//! let mut optimizer = AdamConfig::new().init();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut losses = Vec::new();
//! for _ in 0..80 {
//!     let network = nets.init::<B>(8, &mut rng, &device).unwrap();
//!     let draw = || {
//!         let inputs: Vec<f32> = (0..16).map(|_| rng.random_range(-1.0..1.0)).collect();
//!         let targets: Vec<f32> = inputs.chunks(2).map(target).collect();
//!         (
//!             Tensor::from_data(TensorData::new(inputs, [8, 1, 2]), &device),
//!             Tensor::from_data(TensorData::new(targets, [8, 1, 1]), &device),
//!         )
//!     };
//!     let trained = rule.train_online(network, 10, None, 5.0, draw, |_| {});
//!     let outputs = trained.forward(Tensor::from_data(
//!         TensorData::new(probe_inputs.clone(), [8, 4, 2]),
//!         &device,
//!     ));
//!     let wanted = Tensor::from_data(TensorData::new(probe_targets.clone(), [8, 4, 1]), &device);
//!     let loss = (outputs - wanted).powi_scalar(2).mean();
//!     losses.push(loss.clone().into_scalar().elem::<f64>());
//!     let gradients = GradientsParams::from_grads(loss.backward(), &rule);
//!     rule = optimizer.step(0.03, rule, gradients);
//! }
//! // The untrained rule (a zero readout) changes nothing; after 80 meta-steps the nets it
//! // trains fit the map, the probes' mean squared error down from about 0.9 to about 0.01.
//! let (first, last) = (losses[..5].iter().sum::<f64>(), losses[75..].iter().sum::<f64>());
//! assert!(last < 0.1 * first, "the meta-loss falls from {first} to {last} (sums of 5)");
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::hebbian_ff::FeedForward;
use crate::pattern_net::truncation_cut;

/// The architecture of a learned rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum RuleNetKind {
    /// An LSTM cell per synapse (shared weights, private state): the rule can remember.
    Lstm,
    /// A two-layer perceptron: Δw is a fixed function of the current inputs.
    Mlp,
}

impl RuleNetKind {
    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lstm => "lstm",
            Self::Mlp => "mlp",
        }
    }
}

/// Shape of a [`LearnedRule`].
#[derive(Config, Debug, PartialEq)]
pub struct LearnedRuleConfig {
    /// An LSTM or an MLP.
    pub kind: RuleNetKind,
    /// Hidden units of the LSTM or of the MLP's hidden layer.
    #[config(default = 10)]
    pub hidden: usize,
    /// Whether every synapse also reads the global error `target − output` (mean over the
    /// outputs) of the example.
    #[config(default = true)]
    pub error_signal: bool,
    /// Whether every synapse also reads the global reward `−(target − output)²` (mean over
    /// the outputs) of the example: how wrong, but not in which direction.
    #[config(default = false)]
    pub reward_signal: bool,
    /// Whether every synapse also reads whether it belongs to the output layer (1) or to a
    /// hidden layer (0): the rule may then treat the two differently, as the delta rule does.
    #[config(default = false)]
    pub layer_signal: bool,
    /// Δw = `step_scale` · the rule network's output.
    #[config(default = 0.1)]
    pub step_scale: f64,
    /// How the readout (hidden units → Δw) starts.
    #[config(default = "ReadoutInit::Zero")]
    pub readout_init: ReadoutInit,
}

/// How a learned rule's readout starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ReadoutInit {
    /// Burn's default initialisation: the untrained rule already changes every weight,
    /// by a drift shared by most synapses.
    Random,
    /// Zero weights and bias: the untrained rule changes nothing, and the first meta-gradient
    /// says directly which Δw would have helped.
    Zero,
}

impl LearnedRuleConfig {
    /// Inputs per synapse: pre, post, weight, then the error, the reward and the layer when
    /// enabled.
    pub fn features(&self) -> usize {
        3 + usize::from(self.error_signal)
            + usize::from(self.reward_signal)
            + usize::from(self.layer_signal)
    }

    /// A rule network of this shape whose readout starts as `readout_init` says, on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LearnedRule<B> {
        let features = self.features();
        let (lstm, mlp) = match self.kind {
            RuleNetKind::Lstm => (
                Some(LstmConfig::new(features, self.hidden, true).init(device)),
                None,
            ),
            RuleNetKind::Mlp => (
                None,
                Some(LinearConfig::new(features, self.hidden).init(device)),
            ),
        };
        let readout = LinearConfig::new(self.hidden, 1);
        let readout = match self.readout_init {
            ReadoutInit::Random => readout,
            ReadoutInit::Zero => readout.with_initializer(Initializer::Zeros),
        };
        let rule = LearnedRule {
            lstm,
            mlp,
            readout: readout.init(device),
            config: self.clone(),
        };
        crate::materialise(&rule);
        rule
    }
}

/// The rule network. Exactly one of `lstm` and `mlp` is present.
#[derive(Module, Debug)]
pub struct LearnedRule<B: Backend> {
    /// The LSTM, for an LSTM rule.
    pub lstm: Option<Lstm<B>>,
    /// The MLP's hidden layer (ReLU).
    pub mlp: Option<Linear<B>>,
    /// Hidden units → the weight change (before `step_scale`).
    pub readout: Linear<B>,
    /// The shape the rule was built from.
    #[module(skip)]
    pub config: LearnedRuleConfig,
}

/// An LSTM rule's cell and hidden state, `[synapses, hidden]` each.
pub type CellState<B> = (Tensor<B, 2>, Tensor<B, 2>);

/// What a learned rule carries from one update to the next: for the LSTM, the cell and
/// hidden state `[synapses, hidden]` of every synapse, per layer (`None` before the first
/// update: zeros).
#[derive(Debug, Clone)]
pub struct RuleMemory<B: Backend> {
    /// Per layer of the trained net, the LSTM's state of each of its synapses.
    pub layers: Vec<Option<CellState<B>>>,
}

impl<B: Backend> RuleMemory<B> {
    /// The memory of a rule that has not acted yet on a net of `layers` layers.
    pub fn fresh(layers: usize) -> Self {
        Self {
            layers: vec![None; layers],
        }
    }
}

impl<B: Backend> LearnedRule<B> {
    /// Weight changes for synapse features `[S, features]`: `[S]`, and the new state.
    pub fn changes(
        &self,
        features: Tensor<B, 2>,
        state: Option<CellState<B>>,
    ) -> (Tensor<B, 1>, Option<CellState<B>>) {
        let (hidden, state) = match (&self.lstm, &self.mlp) {
            (Some(lstm), _) => {
                let state = state.map(|(cell, hidden)| LstmState::new(cell, hidden));
                let (_, state) = lstm.forward(features.unsqueeze_dim(1), state);
                (state.hidden.clone(), Some((state.cell, state.hidden)))
            }
            (None, Some(mlp)) => (burn::tensor::activation::relu(mlp.forward(features)), None),
            (None, None) => unreachable!("a learned rule is built with an LSTM or an MLP"),
        };
        let change = self.readout.forward(hidden).squeeze_dim::<1>(1);
        (change.mul_scalar(self.config.step_scale), state)
    }

    /// One update of every layer of `network` on one example per replication (`input`
    /// `[R, 1, in]`, `target` `[R, 1, out]`). Every synapse reads the activities of the
    /// network before the update. Returns the new network and the rule's new memory.
    pub fn update(
        &self,
        network: &FeedForward<B>,
        input: Tensor<B, 3>,
        target: Tensor<B, 3>,
        memory: RuleMemory<B>,
        w_max: f64,
    ) -> (FeedForward<B>, RuleMemory<B>) {
        let activities = network.activations(input);
        let output = activities
            .last()
            .expect("activities hold the output")
            .clone();
        let miss = target - output;
        let error = miss.clone().mean_dim(2);
        let reward = miss.powi_scalar(2).mean_dim(2).neg();
        let mut states = memory.layers.into_iter();
        let mut next = Vec::with_capacity(network.weights.len());
        let output_layer = network.weights.len() - 1;
        let updated = network.updated(&activities, w_max, |layer, post, pre, weights| {
            let [replications, outs, ins] = weights.dims();
            let shape = [replications, outs, ins];
            // Every synapse's inputs, side by side: `[R, out, in, features]`.
            let mut columns = vec![
                pre.expand(shape),
                post.swap_dims(1, 2).expand(shape),
                weights.clone(),
            ];
            if self.config.error_signal {
                columns.push(error.clone().expand(shape));
            }
            if self.config.reward_signal {
                columns.push(reward.clone().expand(shape));
            }
            if self.config.layer_signal {
                let is_output = if layer == output_layer { 1.0 } else { 0.0 };
                columns.push(weights.zeros_like().add_scalar(is_output));
            }
            let synapses = replications * outs * ins;
            let features =
                Tensor::stack::<4>(columns, 3).reshape([synapses, self.config.features()]);
            let (change, state) = self.changes(features, states.next().flatten());
            next.push(state);
            Some(change.reshape(shape))
        });
        (updated, RuleMemory { layers: next })
    }
}

impl<B: Backend> LearnedRule<B> {
    /// The inner loop: `network` trained online by this rule for `updates` updates, the rule's
    /// memory starting fresh; each update on the examples `draw` gives (`[R, 1, in]` inputs,
    /// `[R, 1, out]` targets), weights clamped to `[−w_max, w_max]`, `after_update` called
    /// with the net after each. With `truncation`, the weights and the memory are cut from
    /// the graph before the last `truncation` updates (the meta-gradient then flows through
    /// those only).
    pub fn train_online(
        &self,
        mut network: FeedForward<B>,
        updates: usize,
        truncation: Option<usize>,
        w_max: f64,
        mut draw: impl FnMut() -> (Tensor<B, 3>, Tensor<B, 3>),
        mut after_update: impl FnMut(&FeedForward<B>),
    ) -> FeedForward<B> {
        let mut memory = RuleMemory::fresh(network.weights.len());
        let cut_before = truncation_cut(updates, truncation);
        for step in 0..updates {
            if cut_before == Some(step) {
                network.weights = network.weights.into_iter().map(|w| w.detach()).collect();
                memory.layers = memory
                    .layers
                    .into_iter()
                    .map(|state| state.map(|(cell, hidden)| (cell.detach(), hidden.detach())))
                    .collect();
            }
            let (input, target) = draw();
            (network, memory) = self.update(&network, input, target, memory, w_max);
            after_update(&network);
        }
        network
    }
}
