//! An actor-critic agent with a recurrent core, for tasks that reward actions (Backpropamine,
//! Miconi et al. 2019): observations enter through an input layer, the core is either a
//! [`PlasticRnn`] (plain, simply or retroactively modulated plasticity) or a non-plastic
//! recurrent layer, and two heads read the core out: action scores and a value estimate.
//!
//! ```text
//! y(t)      = tanh( x(t)·W_in + b_in + y(t−1)·(W + α⊙Hebb(t−1)) )   (plastic core)
//! y(t)      = tanh( x(t)·W_in + b_in + y(t−1)·W )                    (non-plastic core)
//! scores(t) = y(t)·W_π + b_π,   value(t) = y(t)·w_v + b_v
//! ```
//!
//! Trained across episodes by advantage actor-critic ([`a2c_loss`]); here a plastic agent
//! plays the cue–reward task of `plastic-tasks`, and its critic learns to predict the reward
//! of each step (discount 0):
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use burn::optim::{AdamConfig, GradientsParams, Optimizer};
//! use burn::tensor::activation::{log_softmax, softmax};
//! use burn::tensor::{ElementConversion, Tensor, TensorData};
//! use plastic_models::plastic_agent::{a2c_loss, returns, sample_action, A2cSettings, Rollout};
//! use plastic_models::{PlasticAgent, PlasticAgentConfig, PlasticRnnConfig};
//! use plastic_tasks::{CueRewardConfig, CueRewardEpisodes, CUE_REWARD_ACTIONS};
//! use rand::{Rng, SeedableRng};
//! use rand_chacha::ChaCha8Rng;
//!
//! type B = Autodiff<NdArray>;
//! let task = CueRewardConfig { cues: 2, cue_bits: 1, steps: 20, reward: 1.0 };
//! let config = PlasticAgentConfig::new(task.inputs(), CUE_REWARD_ACTIONS, 8)
//!     .with_plastic(Some(PlasticRnnConfig::new(8)));
//! let mut agent: PlasticAgent<B> = config.init(0, &Default::default());
//!
//! // Plays 16 episodes to the end, each action drawn from the policy.
//! let play = |agent: &PlasticAgent<B>, rng: &mut ChaCha8Rng| -> Rollout<B> {
//!     let device = agent.input_weights.device();
//!     let mut episodes = CueRewardEpisodes::new(&task, 16, rng).unwrap();
//!     let (batch, width, actions) = (episodes.batch(), agent.config.inputs, agent.config.actions);
//!     let mut state = agent.initial_state(batch);
//!     let (mut log_probs, mut entropies, mut values, mut rewards) = (vec![], vec![], vec![], vec![]);
//!     while !episodes.finished() {
//!         let seen = TensorData::new(episodes.observation(), [batch, width]);
//!         let step = agent.step(state, Tensor::from_data(seen, &device));
//!         state = step.state;
//!         let log_policy = log_softmax(step.scores.clone(), 1);
//!         let policy = softmax(step.scores, 1);
//!         let p: Vec<f32> = policy.clone().into_data().to_vec().unwrap();
//!         let chosen: Vec<usize> = p.chunks(actions).map(|p| sample_action(p, rng.random())).collect();
//!         let mut one_hot = vec![0.0f32; batch * actions];
//!         for (e, &a) in chosen.iter().enumerate() {
//!             one_hot[e * actions + a] = 1.0;
//!         }
//!         let one_hot = Tensor::<B, 2>::from_data(TensorData::new(one_hot, [batch, actions]), &device);
//!         log_probs.push((log_policy.clone() * one_hot).sum_dim(1).squeeze_dim::<1>(1));
//!         entropies.push((policy * log_policy).sum_dim(1).squeeze_dim::<1>(1).neg());
//!         values.push(step.value);
//!         rewards.push(episodes.act(&chosen));
//!     }
//!     let stack = |rows: Vec<Tensor<B, 1>>| Tensor::stack(rows, 0);
//!     Rollout { log_probs: stack(log_probs), entropies: stack(entropies), values: stack(values), rewards }
//! };
//! // How far the critic's values are from the returns, on 16 episodes of a fixed draw.
//! let critic_error = |agent: &PlasticAgent<B>| -> f64 {
//!     let played = play(agent, &mut ChaCha8Rng::seed_from_u64(99));
//!     let values: Vec<f32> = played.values.into_data().to_vec().unwrap();
//!     let targets = returns(&played.rewards, 0.0);
//!     let n = values.len() as f64;
//!     values.iter().zip(&targets).map(|(v, r)| f64::from(v - r).powi(2)).sum::<f64>() / n
//! };
//! let before = critic_error(&agent);
//!
//! let settings = A2cSettings { discount: 0.0, value_weight: 1.0, entropy_weight: 0.03 };
//! let mut optimizer = AdamConfig::new().init();
//! let mut rng = ChaCha8Rng::seed_from_u64(1);
//! for _ in 0..40 {
//!     let loss = a2c_loss(&play(&agent, &mut rng), &settings);
//!     let gradients = GradientsParams::from_grads(loss.backward(), &agent);
//!     agent = optimizer.step(0.05, agent, gradients);
//! }
//! let after = critic_error(&agent);
//! assert!(after < 0.8 * before, "40 updates bring the values towards the returns: {before} → {after}");
//! ```

mod a2c;

pub use a2c::{a2c_loss, mean_episode_reward, returns, sample_action, A2cSettings, Rollout};

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::baselines::drawn;
use crate::plastic_rnn::{PlasticRnn, PlasticRnnConfig, PlasticState};

/// Shape of a [`PlasticAgent`].
#[derive(Config, Debug, PartialEq)]
pub struct PlasticAgentConfig {
    /// Observation channels.
    pub inputs: usize,
    /// Actions the policy chooses among.
    pub actions: usize,
    /// Recurrent units.
    pub hidden: usize,
    /// The plastic core (its `neurons` equal `hidden`); absent: a non-plastic recurrent layer.
    pub plastic: Option<PlasticRnnConfig>,
    /// The non-plastic core's initial weights are `scale · U(0, 1)`.
    #[config(default = 0.001)]
    pub recurrent_init_scale: f64,
}

impl PlasticAgentConfig {
    /// Learned numbers in the agent.
    pub fn parameter_count(&self) -> usize {
        let (n, inputs, actions) = (self.hidden, self.inputs, self.actions);
        let heads = (n + 1) * actions + (n + 1);
        let core = match &self.plastic {
            None => n * n,
            Some(plastic) => {
                let [a, b] = plastic.alpha_shape();
                let modulated = plastic.modulation() != crate::Modulation::None;
                let retroactive = plastic.modulation() == crate::Modulation::Retroactive;
                n * n
                    + a * b
                    + usize::from(plastic.learn_eta && !modulated)
                    + if modulated { n } else { 0 }
                    + usize::from(retroactive)
            }
        };
        (inputs + 1) * n + core + heads
    }

    /// Builds the agent with parameters drawn from `seed` (the same on every backend).
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> PlasticAgent<B> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(2);
        let n = self.hidden;
        // PyTorch's linear-layer initialisation: U(±1/√fan_in), biases alike.
        let mut layer = |rows: usize, cols: usize| {
            let bound = 1.0 / (rows as f64).sqrt();
            let mut uniform = || rng.random_range(-bound..bound);
            let weights = drawn([rows, cols], &mut uniform, device);
            let bias = drawn([cols], &mut uniform, device);
            (weights, bias)
        };
        let (input_weights, input_bias) = layer(self.inputs, n);
        let (policy_weights, policy_bias) = layer(n, self.actions);
        let (value_weights, value_bias) = layer(n, 1);
        let scale = self.recurrent_init_scale;
        let recurrent = self
            .plastic
            .is_none()
            .then(|| drawn([n, n], || scale * rng.random::<f64>(), device));
        PlasticAgent {
            input_weights,
            input_bias,
            core: self.plastic.as_ref().map(|c| c.init(seed, device)),
            recurrent,
            policy_weights,
            policy_bias,
            value_weights,
            value_bias,
            config: self.clone(),
        }
    }
}

/// See [`PlasticAgentConfig`].
#[derive(Module, Debug)]
pub struct PlasticAgent<B: Backend> {
    /// `W_in`, `[inputs, hidden]`.
    pub input_weights: Param<Tensor<B, 2>>,
    /// `b_in`, `[hidden]`.
    pub input_bias: Param<Tensor<B, 1>>,
    /// The plastic core, when plastic.
    pub core: Option<PlasticRnn<B>>,
    /// The non-plastic core's `W`, `[hidden, hidden]`, when not plastic.
    pub recurrent: Option<Param<Tensor<B, 2>>>,
    /// `W_π`, `[hidden, actions]`.
    pub policy_weights: Param<Tensor<B, 2>>,
    /// `b_π`, `[actions]`.
    pub policy_bias: Param<Tensor<B, 1>>,
    /// `w_v`, `[hidden, 1]`.
    pub value_weights: Param<Tensor<B, 2>>,
    /// `b_v`, `[1]`.
    pub value_bias: Param<Tensor<B, 1>>,
    /// The shape the agent was built from.
    #[module(skip)]
    pub config: PlasticAgentConfig,
}

/// What an agent carries from step to step.
#[derive(Debug, Clone)]
pub enum AgentState<B: Backend> {
    /// Activities, traces (and eligibility traces) of a plastic core.
    Plastic(PlasticState<B>),
    /// Activities `[batch, hidden]` of a non-plastic core.
    Fixed(Tensor<B, 2>),
}

impl<B: Backend> AgentState<B> {
    /// The core's activities, `[batch, hidden]`.
    pub fn activity(&self) -> &Tensor<B, 2> {
        match self {
            Self::Plastic(state) => &state.y,
            Self::Fixed(y) => y,
        }
    }
}

/// One step's result.
pub struct AgentStep<B: Backend> {
    /// What the agent carries to the next step.
    pub state: AgentState<B>,
    /// Unnormalised action scores, `[batch, actions]`.
    pub scores: Tensor<B, 2>,
    /// Value estimates, `[batch]`.
    pub value: Tensor<B, 1>,
}

impl<B: Backend> PlasticAgent<B> {
    /// The state at the start of an episode: silent units, empty traces.
    pub fn initial_state(&self, batch: usize) -> AgentState<B> {
        match &self.core {
            Some(core) => AgentState::Plastic(core.initial_state(batch)),
            None => AgentState::Fixed(Tensor::zeros(
                [batch, self.config.hidden],
                &self.input_weights.device(),
            )),
        }
    }

    /// One step on `observation`, `[batch, inputs]`.
    pub fn step(&self, state: AgentState<B>, observation: Tensor<B, 2>) -> AgentStep<B> {
        let drive =
            observation.matmul(self.input_weights.val()) + self.input_bias.val().unsqueeze_dim(0);
        let state = match (state, &self.core, &self.recurrent) {
            (AgentState::Plastic(state), Some(core), _) => {
                AgentState::Plastic(core.step(state, drive))
            }
            (AgentState::Fixed(y), None, Some(w)) => {
                AgentState::Fixed((y.matmul(w.val()) + drive).tanh())
            }
            _ => panic!("the state belongs to another kind of core"),
        };
        let y = state.activity().clone();
        let scores =
            y.clone().matmul(self.policy_weights.val()) + self.policy_bias.val().unsqueeze_dim(0);
        let value = (y.matmul(self.value_weights.val()) + self.value_bias.val().unsqueeze_dim(0))
            .squeeze_dim::<1>(1);
        AgentStep {
            state,
            scores,
            value,
        }
    }
}
