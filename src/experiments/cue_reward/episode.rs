//! Episodes of the cue-reward task played by an agent: the rollout (actions sampled from
//! the policy, step by step), the actor-critic loss of a training batch, and the evaluation
//! on episodes from a fixed seed.

use std::collections::BTreeMap;

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use plastic_models::plastic_agent::{a2c_loss, mean_episode_reward, sample_action, Rollout};
use plastic_models::PlasticAgent;
use plastic_tasks::{CueRewardConfig, CueRewardEpisodes, Slot};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::A2cSettings;
use crate::trainer::EpisodeOutcome;
use crate::util::host_values;

/// Evaluation episodes come from this seed, never from the training stream.
pub const EVAL_SEED: u64 = 0xC0E_5EED;

/// Episodes per batch during evaluation.
const EVAL_CHUNK: usize = 50;

/// What a batch of episodes did: the rollout A2C trains on, and the go steps answered right
/// out of all go steps.
struct Played<B: Backend> {
    rollout: Rollout<B>,
    right_answers: usize,
    answers: usize,
}

/// Plays `episodes` to the end, each action drawn from the policy with `rng`.
fn rollout<B: Backend>(
    agent: &PlasticAgent<B>,
    mut episodes: CueRewardEpisodes,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Played<B>> {
    let device = agent.input_weights.device();
    let (batch, width) = (episodes.batch(), agent.config.inputs);
    let mut state = agent.initial_state(batch);
    let (mut log_probs, mut entropies, mut values) = (Vec::new(), Vec::new(), Vec::new());
    let mut rewards = Vec::new();
    let (mut right_answers, mut answers) = (0, 0);
    while !episodes.finished() {
        let observation = TensorData::new(episodes.observation(), [batch, width]);
        let step = agent.step(state, Tensor::from_data(observation, &device));
        state = step.state;
        let log_policy = log_softmax(step.scores.clone(), 1);
        let policy = softmax(step.scores, 1);
        let probabilities = host_values(policy.clone())?;
        let actions: Vec<usize> = probabilities
            .chunks(agent.config.actions)
            .map(|p| sample_action(p, rng.random::<f32>()))
            .collect();
        let mut chosen = vec![0.0f32; probabilities.len()];
        for (e, &a) in actions.iter().enumerate() {
            chosen[e * agent.config.actions + a] = 1.0;
        }
        let chosen = Tensor::<B, 2>::from_data(
            TensorData::new(chosen, [batch, agent.config.actions]),
            &device,
        );
        log_probs.push((log_policy.clone() * chosen).sum_dim(1).squeeze_dim::<1>(1));
        entropies.push((policy * log_policy).sum_dim(1).squeeze_dim::<1>(1).neg());
        values.push(step.value);
        let now = episodes.step();
        answers += episodes
            .schedules()
            .iter()
            .filter(|schedule| matches!(schedule[now], Slot::Go { .. }))
            .count();
        let step_rewards = episodes.act(&actions);
        right_answers += step_rewards.iter().filter(|&&r| r > 0.0).count();
        rewards.push(step_rewards);
    }
    Ok(Played {
        rollout: Rollout {
            log_probs: Tensor::stack(log_probs, 0),
            entropies: Tensor::stack(entropies, 0),
            values: Tensor::stack(values, 0),
            rewards,
        },
        right_answers,
        answers,
    })
}

/// Plays one training batch and returns the actor-critic loss on the graph, with the batch's
/// mean reward per episode and fraction of right answers.
pub fn a2c_episode<B: AutodiffBackend>(
    agent: &PlasticAgent<B>,
    task: &CueRewardConfig,
    a2c: &A2cSettings,
    batch: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<EpisodeOutcome<B>> {
    let episodes = CueRewardEpisodes::new(task, batch, rng)?;
    let played = rollout(agent, episodes, rng)?;
    let loss = a2c_loss(&played.rollout, a2c);
    let mut values = BTreeMap::new();
    values.insert(
        "reward".into(),
        mean_episode_reward(&played.rollout.rewards),
    );
    values.insert(
        "right_answers".into(),
        played.right_answers as f64 / played.answers.max(1) as f64,
    );
    let entropy: f64 = host_values(played.rollout.entropies.detach().mean())?[0].into();
    values.insert("entropy".into(), entropy);
    Ok(EpisodeOutcome {
        loss,
        gradients: None,
        values,
    })
}

/// Averages over evaluation episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardScore {
    pub episodes: usize,
    /// Mean total reward per episode.
    pub reward: f64,
    /// Fraction of go steps answered right.
    pub right_answers: f64,
}

impl std::fmt::Display for RewardScore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "eval over {} episodes (seed {EVAL_SEED:#x}): reward {:.3} per episode, right answers {:.4}",
            self.episodes, self.reward, self.right_answers
        )
    }
}

/// Plays `episodes` episodes drawn from [`EVAL_SEED`], actions sampled from the policy.
pub fn evaluate<B: Backend>(
    agent: &PlasticAgent<B>,
    task: &CueRewardConfig,
    episodes: usize,
) -> anyhow::Result<RewardScore> {
    let mut rng = ChaCha8Rng::seed_from_u64(EVAL_SEED);
    let (mut reward, mut right, mut answers, mut done) = (0.0, 0, 0, 0);
    while done < episodes {
        let size = EVAL_CHUNK.min(episodes - done);
        let played = rollout(
            agent,
            CueRewardEpisodes::new(task, size, &mut rng)?,
            &mut rng,
        )?;
        reward += mean_episode_reward(&played.rollout.rewards) * size as f64;
        right += played.right_answers;
        answers += played.answers;
        done += size;
    }
    Ok(RewardScore {
        episodes,
        reward: reward / episodes as f64,
        right_answers: right as f64 / answers.max(1) as f64,
    })
}
