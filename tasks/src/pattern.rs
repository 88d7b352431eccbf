//! Pattern completion: the network sees a few ±1 patterns, then a degraded copy of one of
//! them (some bits zeroed), and must output the full pattern on the last step.
//!
//! Timeline of one episode, for `cycles` = 2 and patterns A, B:
//! `A×presentation, 0×zero, B×presentation, 0×zero, B…, 0…, A…, 0…, cue×cue_steps`, the
//! patterns' order drawn anew in every cycle (as the original scripts do) unless
//! `shuffle_cycles` is off.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::TaskError;

/// Everything that defines a pattern-completion episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternTaskConfig {
    /// Bits per pattern (one input channel per pattern neuron).
    pub neurons: usize,
    /// Patterns shown per episode.
    pub patterns: usize,
    /// How many times the whole sequence of patterns is shown.
    pub cycles: usize,
    /// Steps each pattern is held on the input.
    pub presentation_steps: usize,
    /// Zero-input steps after each presentation.
    pub zero_steps: usize,
    /// Steps the degraded cue is held at the end.
    pub cue_steps: usize,
    /// Fraction of the cue's bits set to zero (rounded to the nearest whole bit count).
    pub degraded_fraction: f64,
    /// Every input value is multiplied by this.
    pub input_scale: f64,
    /// Each pattern has exactly as many +1 as -1 bits (needs an even bit count).
    pub zero_sum: bool,
    /// The patterns of one episode are mutually orthogonal.
    pub orthogonal: bool,
    /// The order of the patterns is drawn anew in every presentation cycle (as in the
    /// original scripts); off, every cycle shows them in the same order. Configurations
    /// saved before this field existed showed them in the same order.
    #[serde(default)]
    pub shuffle_cycles: bool,
}

impl PatternTaskConfig {
    /// Steps in one episode (`usize::MAX` where they cannot be counted: [`Self::validate`]
    /// refuses such a task).
    pub fn steps(&self) -> usize {
        self.counted_steps().unwrap_or(usize::MAX)
    }

    fn counted_steps(&self) -> Option<usize> {
        self.cycles
            .checked_mul(self.patterns)?
            .checked_mul(self.presentation_steps.checked_add(self.zero_steps)?)?
            .checked_add(self.cue_steps)
    }

    /// Number of cue bits that are zeroed.
    pub fn degraded_bits(&self) -> usize {
        (self.degraded_fraction * self.neurons as f64).round() as usize
    }

    /// Rejects configurations that cannot produce an episode.
    pub fn validate(&self) -> Result<(), TaskError> {
        let bad = |msg: String| Err(TaskError::InvalidConfig(msg));
        if self.neurons == 0 {
            return bad("neurons must be at least 1".into());
        }
        if self.patterns == 0 {
            return bad("patterns must be at least 1".into());
        }
        if self.presentation_steps == 0 {
            return bad(
                "presentation steps must be at least 1 (a pattern shown for no step is not shown)"
                    .into(),
            );
        }
        if self.cue_steps == 0 {
            return bad(
                "cue steps must be at least 1 (the loss is read on the cue's last step)".into(),
            );
        }
        if self.counted_steps().is_none() {
            return bad(format!(
                "{} cycles of {} patterns, each shown {} steps with {} zero steps after, make an episode too long to count",
                self.cycles, self.patterns, self.presentation_steps, self.zero_steps
            ));
        }
        if !(0.0..=1.0).contains(&self.degraded_fraction) {
            return bad(format!(
                "degraded fraction must lie in [0, 1], got {}",
                self.degraded_fraction
            ));
        }
        if !self.input_scale.is_finite() {
            return bad(format!(
                "input scale must be finite, got {}",
                self.input_scale
            ));
        }
        if self.zero_sum && !self.neurons.is_multiple_of(2) {
            return bad(format!(
                "zero-sum patterns need an even number of neurons, got {}",
                self.neurons
            ));
        }
        if self.orthogonal && self.patterns > 1 {
            // ±1 vectors that are pairwise orthogonal (and orthogonal to the all-ones vector
            // when zero-sum) exist for more than two of them only when the length is a
            // multiple of 4; beyond that the sampler would search forever.
            let needed = if self.zero_sum {
                self.patterns + 1
            } else {
                self.patterns
            };
            if needed > 2 && !self.neurons.is_multiple_of(4) {
                return bad(format!(
                    "{} mutually orthogonal{} ±1 patterns need a multiple of 4 neurons, got {}",
                    self.patterns,
                    if self.zero_sum { " zero-sum" } else { "" },
                    self.neurons
                ));
            }
            if needed > self.neurons {
                return bad(format!(
                    "at most {} orthogonal patterns fit in {} neurons",
                    self.neurons - usize::from(self.zero_sum),
                    self.neurons
                ));
            }
        }
        Ok(())
    }
}

/// A batch of episodes, row-major, ready to become tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternBatch {
    /// Episodes in the batch.
    pub batch: usize,
    /// Steps per episode.
    pub steps: usize,
    /// Input channels (bits per pattern).
    pub neurons: usize,
    /// Scaled inputs, `[batch, steps, neurons]`.
    pub inputs: Vec<f32>,
    /// The full pattern each episode must output, `[batch, neurons]`, in ±1.
    pub targets: Vec<f32>,
    /// The unscaled patterns shown, `[batch, patterns, neurons]`.
    pub patterns: Vec<f32>,
    /// Which pattern was degraded into the cue, one per episode.
    pub cue_pattern: Vec<usize>,
    /// 1 where the cue's bit was zeroed, else 0, `[batch, neurons]`.
    pub degraded: Vec<f32>,
}

/// Retries allowed to draw one orthogonal pattern before giving up.
const MAX_ORTHOGONAL_TRIES: usize = 100_000;

/// Draws a batch of episodes from `rng`; the same RNG state gives the same batch.
pub fn generate_batch<R: Rng>(
    config: &PatternTaskConfig,
    batch: usize,
    rng: &mut R,
) -> Result<PatternBatch, TaskError> {
    config.validate()?;
    let (n, p, steps) = (config.neurons, config.patterns, config.steps());
    let scale = config.input_scale as f32;
    let mut out = PatternBatch {
        batch,
        steps,
        neurons: n,
        inputs: vec![0.0; batch * steps * n],
        targets: vec![0.0; batch * n],
        patterns: Vec::with_capacity(batch * p * n),
        cue_pattern: Vec::with_capacity(batch),
        degraded: vec![0.0; batch * n],
    };
    for episode in 0..batch {
        let patterns = draw_patterns(config, rng)?;
        let episode_inputs = &mut out.inputs[episode * steps * n..(episode + 1) * steps * n];
        let mut step = 0;
        let mut order: Vec<usize> = (0..p).collect();
        for _ in 0..config.cycles {
            if config.shuffle_cycles {
                order.shuffle(rng);
            }
            for pattern in order.iter().map(|&k| &patterns[k]) {
                for _ in 0..config.presentation_steps {
                    let row = &mut episode_inputs[step * n..(step + 1) * n];
                    for (x, &bit) in row.iter_mut().zip(pattern) {
                        *x = bit * scale;
                    }
                    step += 1;
                }
                step += config.zero_steps;
            }
        }
        let chosen = rng.random_range(0..p);
        let mut cue = patterns[chosen].clone();
        let mut bits: Vec<usize> = (0..n).collect();
        bits.shuffle(rng);
        for &bit in &bits[..config.degraded_bits()] {
            cue[bit] = 0.0;
            out.degraded[episode * n + bit] = 1.0;
        }
        for _ in 0..config.cue_steps {
            let row = &mut episode_inputs[step * n..(step + 1) * n];
            for (x, &bit) in row.iter_mut().zip(&cue) {
                *x = bit * scale;
            }
            step += 1;
        }
        out.targets[episode * n..(episode + 1) * n].copy_from_slice(&patterns[chosen]);
        out.cue_pattern.push(chosen);
        out.patterns.extend(patterns.into_iter().flatten());
    }
    Ok(out)
}

fn draw_patterns<R: Rng>(
    config: &PatternTaskConfig,
    rng: &mut R,
) -> Result<Vec<Vec<f32>>, TaskError> {
    let mut patterns: Vec<Vec<f32>> = Vec::with_capacity(config.patterns);
    for _ in 0..config.patterns {
        let mut tries = 0;
        let pattern = loop {
            let candidate = draw_pattern(config, rng);
            let orthogonal_to_all =
                !config.orthogonal || patterns.iter().all(|other| dot(other, &candidate) == 0.0);
            if orthogonal_to_all {
                break candidate;
            }
            tries += 1;
            if tries >= MAX_ORTHOGONAL_TRIES {
                return Err(TaskError::InvalidConfig(format!(
                    "no orthogonal pattern found in {MAX_ORTHOGONAL_TRIES} draws for {} patterns of {} bits",
                    config.patterns, config.neurons
                )));
            }
        };
        patterns.push(pattern);
    }
    Ok(patterns)
}

fn draw_pattern<R: Rng>(config: &PatternTaskConfig, rng: &mut R) -> Vec<f32> {
    let n = config.neurons;
    if config.zero_sum {
        let mut bits: Vec<f32> = (0..n).map(|i| if i < n / 2 { 1.0 } else { -1.0 }).collect();
        bits.shuffle(rng);
        bits
    } else {
        (0..n)
            .map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 })
            .collect()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Σ|output − target| per episode, averaged over the batch (the BOHP metric).
pub fn sum_abs_error(outputs: &[f32], targets: &[f32], neurons: usize) -> f64 {
    let batch = targets.len() / neurons;
    let total: f64 = outputs
        .iter()
        .zip(targets)
        .map(|(y, t)| (y - t).abs() as f64)
        .sum();
    total / batch as f64
}

/// Whether an output bit has another sign than its target (an output of 0 has none).
fn wrong_sign(y: f32, t: f32) -> bool {
    y.signum() != t.signum() || y == 0.0
}

/// Fraction of output bits whose sign differs from the target. Copying the cue already gets
/// the bits it shows right: with half the bits zeroed and those guessed at random, 0.25.
pub fn sign_error(outputs: &[f32], targets: &[f32]) -> f64 {
    let wrong = outputs
        .iter()
        .zip(targets)
        .filter(|(y, t)| wrong_sign(**y, **t))
        .count();
    wrong as f64 / targets.len() as f64
}

/// Fraction of the cue's zeroed bits (`degraded` 1) whose output sign differs from the
/// target: the bits only memory can restore (chance is 0.5). `NaN` when no bit was zeroed.
pub fn degraded_sign_error(outputs: &[f32], targets: &[f32], degraded: &[f32]) -> f64 {
    let (mut wrong, mut count) = (0usize, 0usize);
    for ((y, t), d) in outputs.iter().zip(targets).zip(degraded) {
        if *d > 0.0 {
            count += 1;
            wrong += usize::from(wrong_sign(*y, *t));
        }
    }
    wrong as f64 / count as f64
}
