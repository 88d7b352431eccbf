//! Time series for reservoir models: Mackey–Glass and NARMA, as reservoirpy defines them, so
//! that a run here and a run there see the same kind of data.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::TaskError;

/// A one-step-ahead prediction task for a reservoir: an input series and the target series
/// it should predict, aligned step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum SeriesTask {
    /// Mackey–Glass (τ = 17): predict x(t+1) from x(t)
    MackeyGlass,
    /// NARMA-10: predict y(t+1) from the input u(t)
    Narma10,
    /// NARMA-30 (reservoirpy's coefficients): predict y(t+1) from u(t)
    Narma30,
}

impl SeriesTask {
    /// Every series, in the order `list` shows them.
    pub const ALL: [SeriesTask; 3] = [Self::MackeyGlass, Self::Narma10, Self::Narma30];

    /// The series' name (`mackey-glass`, `narma10`, `narma30`).
    pub fn name(self) -> &'static str {
        match self {
            Self::MackeyGlass => "mackey-glass",
            Self::Narma10 => "narma10",
            Self::Narma30 => "narma30",
        }
    }

    /// `samples` (input, target) pairs drawn from `seed`: the target is the next value of
    /// the series the input drives.
    pub fn generate(self, samples: usize, seed: u64) -> Result<(Vec<f64>, Vec<f64>), TaskError> {
        match self {
            Self::MackeyGlass => {
                let series = MackeyGlass::default().generate(samples + 1, seed)?;
                Ok((series[..samples].to_vec(), series[1..].to_vec()))
            }
            Self::Narma10 | Self::Narma30 => {
                let narma = if self == Self::Narma10 {
                    Narma::order_10()
                } else {
                    Narma::order_30()
                };
                let (u, y) = narma.generate(samples + 1, seed)?;
                Ok((u[..samples].to_vec(), y[1..].to_vec()))
            }
        }
    }
}

/// The Mackey–Glass delay equation dx/dt = a·x(t−τ) / (1 + x(t−τ)ⁿ) − b·x(t), integrated by
/// fourth-order Runge–Kutta with step `h`, the delayed value held fixed within a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MackeyGlass {
    /// τ, the delay.
    pub tau: f64,
    /// a, the delayed term's gain.
    pub a: f64,
    /// b, the decay rate.
    pub b: f64,
    /// n, the delayed term's exponent.
    pub n: f64,
    /// x(0), and the history before it.
    pub x0: f64,
    /// h, the integration step.
    pub h: f64,
}

impl Default for MackeyGlass {
    /// The chaotic regime every benchmark uses: τ = 17, a = 0.2, b = 0.1, n = 10.
    fn default() -> Self {
        Self {
            tau: 17.0,
            a: 0.2,
            b: 0.1,
            n: 10.0,
            x0: 1.2,
            h: 1.0,
        }
    }
}

impl MackeyGlass {
    /// Refuses parameters that cannot be integrated.
    pub fn validate(&self) -> Result<(), TaskError> {
        let invalid = |why: &str| Err(TaskError::InvalidConfig(why.to_string()));
        if !(self.h > 0.0 && self.h.is_finite()) {
            return invalid("the Mackey–Glass step h must be positive");
        }
        if self.tau.is_nan() || self.tau < self.h {
            return invalid("the Mackey–Glass delay τ must be at least one step h");
        }
        if !(self.a.is_finite() && self.b.is_finite() && self.n.is_finite() && self.x0 > 0.0) {
            return invalid("Mackey–Glass a, b and n must be finite and x0 positive");
        }
        Ok(())
    }

    fn derivative(&self, x: f64, delayed: f64) -> f64 {
        self.a * delayed / (1.0 + delayed.powf(self.n)) - self.b * x
    }

    /// `steps` samples, one per step h. The history before t = 0 is x0 plus a small uniform
    /// perturbation (±0.1) drawn from `seed`, so seeds give different trajectories of the
    /// same attractor.
    pub fn generate(&self, steps: usize, seed: u64) -> Result<Vec<f64>, TaskError> {
        self.validate()?;
        let delay = (self.tau / self.h).round() as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // A ring of the last `delay` values: the oldest is x(t − τ).
        let mut history: Vec<f64> = (0..delay)
            .map(|_| self.x0 + 0.2 * (rng.random::<f64>() - 0.5))
            .collect();
        let mut oldest = 0;
        let mut x = self.x0;
        let mut series = Vec::with_capacity(steps);
        for _ in 0..steps {
            series.push(x);
            let delayed = history[oldest];
            let h = self.h;
            let k1 = self.derivative(x, delayed);
            let k2 = self.derivative(x + 0.5 * h * k1, delayed);
            let k3 = self.derivative(x + 0.5 * h * k2, delayed);
            let k4 = self.derivative(x + h * k3, delayed);
            history[oldest] = x;
            oldest = (oldest + 1) % delay;
            x += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        }
        Ok(series)
    }
}

/// A NARMA system of order `order`: inputs u(t) uniform in [0, 0.5] and
/// y(t+1) = a1·y(t) + a2·y(t)·Σ_{i<order} y(t−i) + b·u(t−order+1)·u(t) + c.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Narma {
    /// The order: how many past outputs the sum runs over.
    pub order: usize,
    /// a1.
    pub a1: f64,
    /// a2.
    pub a2: f64,
    /// b.
    pub b: f64,
    /// c.
    pub c: f64,
}

impl Narma {
    /// NARMA-10 with the coefficients of Atiya and Parlos (2000), used throughout the
    /// reservoir literature.
    pub fn order_10() -> Self {
        Self {
            order: 10,
            a1: 0.3,
            a2: 0.05,
            b: 1.5,
            c: 0.1,
        }
    }

    /// NARMA-30 with reservoirpy's coefficients (NARMA-10's would diverge at this order).
    pub fn order_30() -> Self {
        Self {
            order: 30,
            a1: 0.2,
            a2: 0.04,
            b: 1.5,
            c: 0.001,
        }
    }

    /// The inputs u and the outputs y, `steps` of each; y is 0 for the first `order` steps.
    pub fn generate(&self, steps: usize, seed: u64) -> Result<(Vec<f64>, Vec<f64>), TaskError> {
        if self.order == 0 {
            return Err(TaskError::InvalidConfig(
                "the NARMA order must be at least 1".into(),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let inputs: Vec<f64> = (0..steps).map(|_| 0.5 * rng.random::<f64>()).collect();
        let mut outputs = vec![0.0; steps];
        for t in self.order - 1..steps.saturating_sub(1) {
            let window: f64 = outputs[t + 1 - self.order..=t].iter().sum();
            outputs[t + 1] = self.a1 * outputs[t]
                + self.a2 * outputs[t] * window
                + self.b * inputs[t + 1 - self.order] * inputs[t]
                + self.c;
        }
        Ok((inputs, outputs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mackey_glass_stays_on_its_attractor_and_depends_on_the_seed() {
        let system = MackeyGlass::default();
        let series = system.generate(3000, 0).unwrap();
        assert_eq!(series.len(), 3000);
        assert_eq!(series[0], 1.2);
        let settled = &series[500..];
        let (low, high) = settled
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)));
        // The τ = 17 attractor spans roughly 0.4 to 1.35.
        assert!(low > 0.2 && low < 0.6, "minimum {low}");
        assert!(high > 1.1 && high < 1.5, "maximum {high}");
        assert_eq!(series, system.generate(3000, 0).unwrap());
        assert_ne!(series, system.generate(3000, 1).unwrap());
    }

    #[test]
    fn one_mackey_glass_step_is_runge_kutta_with_the_delayed_value_held() {
        // With a = 0 the equation is dx/dt = −b·x, whose RK4 step is a known polynomial.
        let system = MackeyGlass {
            a: 0.0,
            ..MackeyGlass::default()
        };
        let series = system.generate(2, 3).unwrap();
        let z = -system.b * system.h;
        let factor = 1.0 + z + z * z / 2.0 + z * z * z / 6.0 + z * z * z * z / 24.0;
        assert!((series[1] - 1.2 * factor).abs() < 1e-15);
    }

    #[test]
    fn narma_10_follows_its_recurrence() {
        let narma = Narma::order_10();
        let (u, y) = narma.generate(200, 5).unwrap();
        assert!(u.iter().all(|&x| (0.0..=0.5).contains(&x)));
        assert!(y[..10].iter().all(|&x| x == 0.0));
        // y(10) from nine zero outputs: only the input product and c remain.
        assert!((y[10] - (1.5 * u[0] * u[9] + 0.1)).abs() < 1e-15);
        let t = 150;
        let window: f64 = y[t - 9..=t].iter().sum();
        let expected = 0.3 * y[t] + 0.05 * y[t] * window + 1.5 * u[t - 9] * u[t] + 0.1;
        assert!((y[t + 1] - expected).abs() < 1e-15);
        assert!(y.iter().all(|x| x.is_finite() && *x < 1.5));
    }

    #[test]
    fn narma_30_stays_bounded_and_order_0_is_refused() {
        let (_, y) = Narma::order_30().generate(5000, 0).unwrap();
        assert!(y.iter().all(|x| x.is_finite() && *x < 1.0));
        let order_0 = Narma {
            order: 0,
            ..Narma::order_10()
        };
        assert!(order_0.generate(10, 0).is_err());
        let bad_step = MackeyGlass {
            h: 0.0,
            ..MackeyGlass::default()
        };
        assert!(bad_step.generate(10, 0).is_err());
    }
}
