//! The online product task of seed 003: two sinusoids of incommensurate frequency,
//! `x₀ = sin(2πt/s)` and `x₁ = sin(2π·0.7·t/s)`, and the target `x₀·x₁`. A learner sees
//! one sample per time step `dt`, each once, in order.

use serde::{Deserialize, Serialize};

use crate::TaskError;

/// The signal's time scale and sampling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProductSignal {
    /// `s`: the first input's period, in simulated seconds (the seed's `scale`, 2).
    pub period: f64,
    /// Simulated seconds between two samples.
    pub dt: f64,
}

impl Default for ProductSignal {
    fn default() -> Self {
        Self {
            period: 2.0,
            dt: 0.01,
        }
    }
}

/// Variance of `x₀·x₁` over a long time: the product is
/// `½·cos(2π·0.3·t/s) − ½·cos(2π·1.7·t/s)`, two unit-free cosines of amplitude ½.
pub const TARGET_VARIANCE: f64 = 0.25;

impl ProductSignal {
    /// Refuses settings that cannot make the task.
    pub fn validate(&self) -> Result<(), TaskError> {
        for (name, value) in [("period", self.period), ("dt", self.dt)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(TaskError::InvalidConfig(format!(
                    "the product task's {name} must be a positive number, got {value}"
                )));
            }
        }
        Ok(())
    }

    /// Simulated time of sample `step`.
    pub fn time(&self, step: usize) -> f64 {
        step as f64 * self.dt
    }

    /// The inputs and the target of sample `step`.
    pub fn sample(&self, step: usize) -> ([f32; 2], f32) {
        let phase = 2.0 * std::f64::consts::PI * self.time(step) / self.period;
        let (x0, x1) = (phase.sin(), (0.7 * phase).sin());
        ([x0 as f32, x1 as f32], (x0 * x1) as f32)
    }

    /// Samples `first..first + count` as input rows `[count, 2]` and targets `[count]`.
    pub fn window(&self, first: usize, count: usize) -> (Vec<f32>, Vec<f32>) {
        let mut inputs = Vec::with_capacity(2 * count);
        let mut targets = Vec::with_capacity(count);
        for step in first..first + count {
            let (x, y) = self.sample(step);
            inputs.extend(x);
            targets.push(y);
        }
        (inputs, targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_the_product_of_the_two_sinusoids() {
        let signal = ProductSignal {
            period: 2.0,
            dt: 0.25,
        };
        // t = 0.5: x0 = sin(π/2) = 1, x1 = sin(0.35π).
        let ([x0, x1], y) = signal.sample(2);
        assert!((x0 - 1.0).abs() < 1e-6);
        assert!((x1 - (0.35 * std::f32::consts::PI).sin()).abs() < 1e-6);
        assert!((y - x0 * x1).abs() < 1e-6);
        let (inputs, targets) = signal.window(1, 3);
        assert_eq!(inputs.len(), 6);
        assert_eq!(targets[1], y);
    }

    #[test]
    fn the_target_variance_over_many_periods_is_a_quarter() {
        let signal = ProductSignal::default();
        let (_, targets) = signal.window(0, 20_000);
        let n = targets.len() as f64;
        let mean = targets.iter().map(|&t| f64::from(t)).sum::<f64>() / n;
        let variance = targets
            .iter()
            .map(|&t| (f64::from(t) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!((variance - TARGET_VARIANCE).abs() < 0.01, "{variance}");
        assert!(ProductSignal { dt: 0.0, ..signal }.validate().is_err());
    }
}
