//! Advantage actor-critic (A2C) for a [`PlasticAgent`](super::PlasticAgent): the discounted
//! returns of a batch of episodes, the loss that trains the policy and the value head from
//! them, and the draw of an action from the policy. Playing the episodes (the environment)
//! is the caller's.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Advantage actor-critic: the loss of an episode is
/// `Σ_t [−log π(a_t)·(R_t − V_t) + value_weight·(R_t − V_t)² − entropy_weight·H(π_t)]`,
/// averaged over steps and episodes, with `R_t = r_t + discount·R_{t+1}` and the advantage
/// held constant in the policy term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2cSettings {
    /// `discount`, in [0, 1].
    pub discount: f64,
    /// Weight of the value loss.
    pub value_weight: f64,
    /// Weight of the entropy bonus.
    pub entropy_weight: f64,
}

/// What a batch of episodes did, step by step: what [`a2c_loss`] trains on.
pub struct Rollout<B: Backend> {
    /// `log π(a_t)` of the actions taken, `[steps, batch]`.
    pub log_probs: Tensor<B, 2>,
    /// The policy's entropy, `[steps, batch]`.
    pub entropies: Tensor<B, 2>,
    /// `V_t`, `[steps, batch]`.
    pub values: Tensor<B, 2>,
    /// `r_t`, per step then episode.
    pub rewards: Vec<Vec<f32>>,
}

/// The actor-critic loss of `played`, `[1]`, on the graph of its tensors.
pub fn a2c_loss<B: Backend>(played: &Rollout<B>, settings: &A2cSettings) -> Tensor<B, 1> {
    let steps = played.rewards.len();
    let batch = played.rewards.first().map_or(0, Vec::len);
    let device = played.values.device();
    let targets = Tensor::<B, 2>::from_data(
        TensorData::new(returns(&played.rewards, settings.discount), [steps, batch]),
        &device,
    );
    let advantage = targets - played.values.clone();
    let policy_loss = (played.log_probs.clone() * advantage.clone().detach()).neg();
    let value_loss = advantage.powi_scalar(2).mul_scalar(settings.value_weight);
    let entropy_bonus = played.entropies.clone().mul_scalar(settings.entropy_weight);
    (policy_loss + value_loss - entropy_bonus).mean()
}

/// Discounted returns `R_t = r_t + discount·R_{t+1}`, `[steps × batch]` row-major.
pub fn returns(rewards: &[Vec<f32>], discount: f64) -> Vec<f32> {
    let batch = rewards.first().map_or(0, Vec::len);
    let mut out = vec![0.0f32; rewards.len() * batch];
    let mut running = vec![0.0f64; batch];
    for (t, step) in rewards.iter().enumerate().rev() {
        for (e, &r) in step.iter().enumerate() {
            running[e] = f64::from(r) + discount * running[e];
            out[t * batch + e] = running[e] as f32;
        }
    }
    out
}

/// Mean total reward per episode.
pub fn mean_episode_reward(rewards: &[Vec<f32>]) -> f64 {
    let batch = rewards.first().map_or(1, Vec::len).max(1);
    let total: f64 = rewards.iter().flatten().map(|&r| f64::from(r)).sum();
    total / batch as f64
}

/// The index drawn from probabilities `p` by a uniform number `u` in [0, 1).
pub fn sample_action(p: &[f32], u: f32) -> usize {
    let mut cumulative = 0.0;
    for (i, &pi) in p.iter().enumerate() {
        cumulative += pi;
        if u < cumulative {
            return i;
        }
    }
    p.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_discount_later_rewards() {
        let rewards = vec![vec![0.0, 1.0], vec![0.0, 0.0], vec![1.0, -1.0]];
        let r = returns(&rewards, 0.5);
        // Episode 0: 0.25, 0.5, 1; episode 1: 1 − 0.25, −0.5, −1.
        let expected = [0.25, 0.75, 0.5, -0.5, 1.0, -1.0];
        for (got, want) in r.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{r:?}");
        }
    }

    #[test]
    fn sampling_follows_the_cumulative_probabilities() {
        assert_eq!(sample_action(&[0.3, 0.7], 0.0), 0);
        assert_eq!(sample_action(&[0.3, 0.7], 0.29), 0);
        assert_eq!(sample_action(&[0.3, 0.7], 0.31), 1);
        assert_eq!(sample_action(&[0.3, 0.7], 0.9999), 1);
    }
}
