//! Periodic targets that a rate network learns to generate: the FORCE paper's sum of four
//! sines, and samples of a periodic Gaussian process (the Bayesian-synapse task).

use nalgebra::{DMatrix, SymmetricEigen};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::TaskError;

/// Sussillo & Abbott's target (period 120 time units):
/// f(t) = (1.3/1.5)·[sin(πt/60) + ½ sin(2πt/60) + ⅙ sin(3πt/60) + ⅓ sin(4πt/60)].
pub fn four_sines(t: f64) -> f64 {
    let phase = std::f64::consts::PI * t / 60.0;
    (1.3 / 1.5)
        * (phase.sin()
            + (2.0 * phase).sin() / 2.0
            + (3.0 * phase).sin() / 6.0
            + (4.0 * phase).sin() / 3.0)
}

/// The period of [`four_sines`], in time units.
pub const FOUR_SINES_PERIOD: f64 = 120.0;

/// One period of a Gaussian process with the periodic kernel
/// k(Δt) = exp(−2 sin²(π|Δt|/period) / length²), sampled at `period` steps; each sample is
/// shifted and scaled to mean 0 and variance 1, so a zero output scores an MSE of 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodicGp {
    /// Steps per period.
    pub period: usize,
    /// The kernel's length scale.
    pub length: f64,
}

impl PeriodicGp {
    /// A process of `period` steps with length scale 1.
    pub fn new(period: usize) -> Self {
        Self {
            period,
            length: 1.0,
        }
    }

    fn validate(&self) -> Result<(), TaskError> {
        if self.period < 2 {
            return Err(TaskError::InvalidConfig(format!(
                "a periodic target needs a period of at least 2 steps, not {}",
                self.period
            )));
        }
        if !(self.length > 0.0 && self.length.is_finite()) {
            return Err(TaskError::InvalidConfig(format!(
                "the kernel's length must be positive, not {}",
                self.length
            )));
        }
        Ok(())
    }

    /// The kernel k(Δt) at lag `lag` steps.
    pub fn kernel(&self, lag: f64) -> f64 {
        let s = (std::f64::consts::PI * lag.abs() / self.period as f64).sin();
        (-2.0 * s * s / (self.length * self.length)).exp()
    }

    /// One sample per seed of `seeds`, each `period` values long.
    pub fn samples(&self, seeds: &[u64]) -> Result<Vec<Vec<f64>>, TaskError> {
        self.validate()?;
        let n = self.period;
        let covariance = DMatrix::from_fn(n, n, |i, j| self.kernel(i as f64 - j as f64));
        // The kernel matrix is numerically low-rank, so Cholesky would need a guessed jitter;
        // the eigen-decomposition samples it exactly, dropping round-off negative eigenvalues.
        let eigen = SymmetricEigen::new(covariance);
        let scales: Vec<f64> = eigen
            .eigenvalues
            .iter()
            .map(|l| l.max(0.0).sqrt())
            .collect();
        Ok(seeds
            .iter()
            .map(|&seed| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let normal: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
                let sample: Vec<f64> = (0..n)
                    .map(|t| {
                        (0..n)
                            .map(|k| eigen.eigenvectors[(t, k)] * scales[k] * normal[k])
                            .sum()
                    })
                    .collect();
                standardise(sample)
            })
            .collect())
    }
}

fn standardise(values: Vec<f64>) -> Vec<f64> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    values.into_iter().map(|v| (v - mean) / sd).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_sines_repeats_every_period() {
        for t in [0.0, 13.7, 59.9] {
            assert!((four_sines(t) - four_sines(t + FOUR_SINES_PERIOD)).abs() < 1e-12);
        }
        assert!(four_sines(0.0).abs() < 1e-12);
    }

    #[test]
    fn gp_samples_are_standardised_smooth_and_seeded() {
        let gp = PeriodicGp::new(160);
        let samples = gp.samples(&[0, 1, 0]).unwrap();
        assert_eq!(samples[0], samples[2]);
        assert_ne!(samples[0], samples[1]);
        for sample in &samples {
            let mean = sample.iter().sum::<f64>() / 160.0;
            let var = sample.iter().map(|v| v * v).sum::<f64>() / 160.0;
            assert!(mean.abs() < 1e-9 && (var - 1.0).abs() < 1e-9);
            // Neighbours are strongly correlated (k(1) ≈ 0.9992), also across the wrap.
            let jumps = (0..160)
                .map(|t| (sample[(t + 1) % 160] - sample[t]).abs())
                .fold(0.0, f64::max);
            assert!(jumps < 0.3, "largest step {jumps}");
        }
        assert!(PeriodicGp::new(1).samples(&[0]).is_err());
    }
}
