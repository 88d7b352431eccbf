//! Cue–reward association (Backpropamine, Miconi et al. 2019): each episode draws a few
//! random binary cues and secretly makes one of them the target. The episode is a run of
//! trials; each trial shows half the cues, one at a time among blank steps, then a "go"
//! signal, at which the agent answers *respond* or *wait*. Answering *respond* exactly when
//! the target was among the trial's cues earns `+reward`, anything else `−reward`, felt as
//! an input on the next step. Since every trial shows several cues, the target can only be
//! found by integrating rewards over trials: the agent must learn within the episode.
//!
//! Timeline of one trial of length L = cues/2 + 3 + U{0, …, cues−1}:
//! `blank, [cues/2 cues and L−3−cues/2 blanks in random order], go, blank`.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::TaskError;

/// The agent's two answers at a go step.
pub const CUE_REWARD_ACTIONS: usize = 2;
/// The answer "the target was shown in this trial".
pub const RESPOND: usize = 1;

/// Everything that defines a cue–reward episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueRewardConfig {
    /// Distinct cues per episode, one of them the target (even, at least 2).
    pub cues: usize,
    /// ±1 bits per cue.
    pub cue_bits: usize,
    /// Steps per episode; the trial running at the end is cut.
    pub steps: usize,
    /// Reward for a right answer (a wrong one costs as much).
    pub reward: f64,
}

impl Default for CueRewardConfig {
    /// Backpropamine's setting: 4 cues of 20 bits, 120-step episodes, reward ±1.
    fn default() -> Self {
        Self {
            cues: 4,
            cue_bits: 20,
            steps: 120,
            reward: 1.0,
        }
    }
}

impl CueRewardConfig {
    /// Input channels: the cue bits, go, a constant 1, the episode's elapsed fraction, the
    /// last reward, and the last answer (one-hot).
    pub fn inputs(&self) -> usize {
        self.cue_bits + 4 + CUE_REWARD_ACTIONS
    }

    /// Rejects configurations that cannot produce an episode.
    pub fn validate(&self) -> Result<(), TaskError> {
        let bad = |msg: String| Err(TaskError::InvalidConfig(msg));
        if self.cues < 2 || !self.cues.is_multiple_of(2) {
            return bad(format!(
                "cues must be even and at least 2 (half are shown per trial), got {}",
                self.cues
            ));
        }
        if self.cue_bits == 0 {
            return bad("cue_bits must be at least 1".into());
        }
        if self.cue_bits > MAX_CUE_BITS {
            return bad(format!(
                "cue_bits must be at most {MAX_CUE_BITS}, got {}",
                self.cue_bits
            ));
        }
        // Distinct cues need 2^bits ≥ cues.
        if self.cue_bits < 64 && (1u64 << self.cue_bits) < self.cues as u64 {
            return bad(format!(
                "{} cues cannot be distinct with {} bits",
                self.cues, self.cue_bits
            ));
        }
        if self.steps == 0 {
            return bad("steps must be at least 1".into());
        }
        if !(self.reward.is_finite() && self.reward > 0.0) {
            return bad(format!("reward must be positive, got {}", self.reward));
        }
        Ok(())
    }
}

/// The most bits a cue may have: far beyond any useful cue, and small enough that the
/// network's sizes computed from it cannot overflow.
pub const MAX_CUE_BITS: usize = 1 << 20;

/// What one step of an episode shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// No cue.
    Blank,
    /// Cue number `k`.
    Cue(usize),
    /// The go signal: the answer given now is scored; `target_shown` says whether the
    /// trial showed the target.
    Go {
        /// Whether the target cue was among this trial's cues.
        target_shown: bool,
    },
}

/// A batch of cue–reward episodes in progress.
#[derive(Debug, Clone)]
pub struct CueRewardEpisodes {
    config: CueRewardConfig,
    /// Per episode: its cues, `cues × cue_bits` values ±1.
    cue_patterns: Vec<Vec<f32>>,
    /// Per episode: the index of its target cue.
    targets: Vec<usize>,
    /// Per episode: what each step shows.
    schedules: Vec<Vec<Slot>>,
    last_rewards: Vec<f32>,
    last_actions: Vec<Option<usize>>,
    step: usize,
}

impl CueRewardEpisodes {
    /// Draws `batch` new episodes: cues, targets and every trial's timeline.
    pub fn new<R: Rng>(
        config: &CueRewardConfig,
        batch: usize,
        rng: &mut R,
    ) -> Result<Self, TaskError> {
        config.validate()?;
        let mut cue_patterns = Vec::with_capacity(batch);
        let mut targets = Vec::with_capacity(batch);
        let mut schedules = Vec::with_capacity(batch);
        for _ in 0..batch {
            cue_patterns.push(distinct_cues(config, rng));
            let target = rng.random_range(0..config.cues);
            targets.push(target);
            schedules.push(schedule(config, target, rng));
        }
        Ok(Self {
            config: config.clone(),
            cue_patterns,
            targets,
            schedules,
            last_rewards: vec![0.0; batch],
            last_actions: vec![None; batch],
            step: 0,
        })
    }

    /// Episodes in the batch.
    pub fn batch(&self) -> usize {
        self.targets.len()
    }

    /// The step about to be shown (0-based).
    pub fn step(&self) -> usize {
        self.step
    }

    /// Whether every step has been played.
    pub fn finished(&self) -> bool {
        self.step >= self.config.steps
    }

    /// Per episode, what each step shows.
    pub fn schedules(&self) -> &[Vec<Slot>] {
        &self.schedules
    }

    /// Per episode, the target cue.
    pub fn targets(&self) -> &[usize] {
        &self.targets
    }

    /// The current step's inputs, `[batch, inputs]` row-major.
    pub fn observation(&self) -> Vec<f32> {
        let bits = self.config.cue_bits;
        let width = self.config.inputs();
        let mut out = vec![0.0f32; self.batch() * width];
        for (e, row) in out.chunks_mut(width).enumerate() {
            match self.schedules[e][self.step] {
                Slot::Blank => {}
                Slot::Cue(k) => {
                    row[..bits].copy_from_slice(&self.cue_patterns[e][k * bits..(k + 1) * bits])
                }
                Slot::Go { .. } => row[bits] = 1.0,
            }
            row[bits + 1] = 1.0;
            row[bits + 2] = self.step as f32 / self.config.steps as f32;
            row[bits + 3] = self.last_rewards[e];
            if let Some(action) = self.last_actions[e] {
                row[bits + 4 + action] = 1.0;
            }
        }
        out
    }

    /// Plays one step: `actions[e]` is episode e's answer (0 wait, 1 respond); returns each
    /// episode's reward for it (zero except on go steps).
    pub fn act(&mut self, actions: &[usize]) -> Vec<f32> {
        assert_eq!(actions.len(), self.batch(), "one action per episode");
        assert!(!self.finished(), "the episode is over");
        let reward = self.config.reward as f32;
        let rewards: Vec<f32> = actions
            .iter()
            .zip(&self.schedules)
            .map(|(&action, schedule)| match schedule[self.step] {
                Slot::Go { target_shown } if target_shown == (action == RESPOND) => reward,
                Slot::Go { .. } => -reward,
                _ => 0.0,
            })
            .collect();
        self.last_rewards.clone_from(&rewards);
        self.last_actions = actions.iter().map(|&a| Some(a)).collect();
        self.step += 1;
        rewards
    }
}

/// `cues` different ±1 patterns.
fn distinct_cues<R: Rng>(config: &CueRewardConfig, rng: &mut R) -> Vec<f32> {
    let bits = config.cue_bits;
    let mut patterns: Vec<f32> = Vec::with_capacity(config.cues * bits);
    while patterns.len() < config.cues * bits {
        let candidate: Vec<f32> = (0..bits)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        if !patterns.chunks(bits).any(|p| p == candidate.as_slice()) {
            patterns.extend(candidate);
        }
    }
    patterns
}

/// One episode's timeline: trials back to back, cut at `steps`.
fn schedule<R: Rng>(config: &CueRewardConfig, target: usize, rng: &mut R) -> Vec<Slot> {
    let shown = config.cues / 2;
    let mut slots = Vec::with_capacity(config.steps + 2 * config.cues + 3);
    let mut order: Vec<usize> = (0..config.cues).collect();
    while slots.len() < config.steps {
        let length = shown + 3 + rng.random_range(0..config.cues);
        order.shuffle(rng);
        let mut middle: Vec<Slot> = order[..shown].iter().map(|&k| Slot::Cue(k)).collect();
        middle.resize(length - 3, Slot::Blank);
        middle.shuffle(rng);
        let target_shown = order[..shown].contains(&target);
        slots.push(Slot::Blank);
        slots.extend(middle);
        slots.push(Slot::Go { target_shown });
        slots.push(Slot::Blank);
    }
    slots.truncate(config.steps);
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn episodes(config: &CueRewardConfig, batch: usize) -> CueRewardEpisodes {
        CueRewardEpisodes::new(config, batch, &mut ChaCha8Rng::seed_from_u64(3)).unwrap()
    }

    /// The trials of a timeline, each from its leading blank to its trailing blank.
    fn trials(schedule: &[Slot]) -> Vec<&[Slot]> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, slot) in schedule.iter().enumerate() {
            if matches!(slot, Slot::Go { .. }) && i + 1 < schedule.len() {
                out.push(&schedule[start..i + 2]);
                start = i + 2;
            }
        }
        out
    }

    #[test]
    fn every_trial_shows_half_the_cues_then_go() {
        let config = CueRewardConfig {
            steps: 400,
            ..CueRewardConfig::default()
        };
        let batch = episodes(&config, 8);
        for (schedule, &target) in batch.schedules().iter().zip(batch.targets()) {
            assert_eq!(schedule.len(), 400);
            let trials = trials(schedule);
            assert!(trials.len() > 30, "{} trials", trials.len());
            for trial in trials {
                let length = trial.len();
                assert!((5..=8).contains(&length), "trial of {length} steps");
                assert_eq!(trial[0], Slot::Blank);
                assert_eq!(trial[length - 1], Slot::Blank);
                let mut shown: Vec<usize> = trial
                    .iter()
                    .filter_map(|s| match s {
                        Slot::Cue(k) => Some(*k),
                        _ => None,
                    })
                    .collect();
                shown.sort_unstable();
                shown.dedup();
                assert_eq!(shown.len(), 2, "{trial:?}");
                let Slot::Go { target_shown } = trial[length - 2] else {
                    panic!("no go step before the last: {trial:?}");
                };
                assert_eq!(target_shown, shown.contains(&target));
            }
        }
    }

    #[test]
    fn only_go_steps_are_rewarded_and_the_right_answer_earns() {
        let config = CueRewardConfig::default();
        let mut batch = episodes(&config, 4);
        let schedules = batch.schedules().to_vec();
        let mut go_steps = 0;
        while !batch.finished() {
            let t = batch.step();
            // Episodes 0 and 1 answer right, 2 wrong, 3 always respond.
            let actions: Vec<usize> = schedules
                .iter()
                .enumerate()
                .map(|(e, s)| match (e, s[t]) {
                    (3, _) => RESPOND,
                    (0 | 1, Slot::Go { target_shown }) => usize::from(target_shown),
                    (_, Slot::Go { target_shown }) => usize::from(!target_shown),
                    _ => 0,
                })
                .collect();
            let rewards = batch.act(&actions);
            for (e, s) in schedules.iter().enumerate() {
                match s[t] {
                    Slot::Go { target_shown } => {
                        let right = match e {
                            0 | 1 => true,
                            2 => false,
                            _ => target_shown,
                        };
                        assert_eq!(rewards[e], if right { 1.0 } else { -1.0 });
                    }
                    _ => assert_eq!(rewards[e], 0.0),
                }
            }
            go_steps += usize::from(matches!(schedules[0][t], Slot::Go { .. }));
            // The reward and the answer are seen on the next step.
            if !batch.finished() {
                let width = config.inputs();
                let seen = batch.observation();
                for e in 0..4 {
                    let row = &seen[e * width..(e + 1) * width];
                    assert_eq!(row[config.cue_bits + 3], rewards[e]);
                    assert_eq!(row[config.cue_bits + 4 + actions[e]], 1.0);
                    assert_eq!(row[config.cue_bits + 4 + 1 - actions[e]], 0.0);
                }
            }
        }
        assert!(go_steps > 10);
    }

    #[test]
    fn observations_carry_the_cue_go_and_clock() {
        let config = CueRewardConfig::default();
        let mut batch = episodes(&config, 2);
        let bits = config.cue_bits;
        let mut cues_seen: Vec<Vec<f32>> = Vec::new();
        while !batch.finished() {
            let row = batch.observation()[..config.inputs()].to_vec();
            assert_eq!(row[bits + 1], 1.0);
            assert!((row[bits + 2] - batch.step() as f32 / 120.0).abs() < 1e-6);
            match batch.schedules()[0][batch.step()] {
                Slot::Cue(_) => {
                    assert!(row[..bits].iter().all(|&v| v == 1.0 || v == -1.0));
                    assert_eq!(row[bits], 0.0);
                    if !cues_seen.contains(&row[..bits].to_vec()) {
                        cues_seen.push(row[..bits].to_vec());
                    }
                }
                Slot::Go { .. } => {
                    assert!(row[..bits].iter().all(|&v| v == 0.0));
                    assert_eq!(row[bits], 1.0);
                }
                Slot::Blank => assert!(row[..=bits].iter().all(|&v| v == 0.0)),
            }
            batch.act(&[0, 0]);
        }
        // Four distinct cues over a whole episode.
        assert_eq!(cues_seen.len(), 4);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let good = CueRewardConfig::default();
        assert!(good.validate().is_ok());
        for bad in [
            CueRewardConfig {
                cues: 3,
                ..good.clone()
            },
            CueRewardConfig {
                cues: 0,
                ..good.clone()
            },
            CueRewardConfig {
                cue_bits: 0,
                ..good.clone()
            },
            CueRewardConfig {
                cue_bits: 1,
                cues: 4,
                ..good.clone()
            },
            CueRewardConfig {
                steps: 0,
                ..good.clone()
            },
            CueRewardConfig {
                reward: 0.0,
                ..good.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
