//! Zero-mean Gaussian data with a chosen covariance, for Oja's rule: one linear neuron
//! trained on it should turn its weights to the covariance's first principal component.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::TaskError;

/// Samples `x = L·z` with `z` standard normal and `L Lᵀ` the covariance.
#[derive(Debug, Clone)]
pub struct CorrelatedGaussian {
    covariance: Vec<Vec<f64>>,
    /// The lower-triangular Cholesky factor `L`.
    factor: Vec<Vec<f64>>,
}

impl CorrelatedGaussian {
    /// Refuses a covariance that is not square, symmetric and positive definite.
    pub fn new(covariance: Vec<Vec<f64>>) -> Result<Self, TaskError> {
        let dim = covariance.len();
        let invalid = |why: &str| Err(TaskError::InvalidConfig(format!("covariance {why}")));
        if dim == 0 || covariance.iter().any(|row| row.len() != dim) {
            return invalid("must be a non-empty square matrix");
        }
        let asymmetric = (0..dim)
            .flat_map(|i| (0..i).map(move |j| (i, j)))
            .any(|(i, j)| (covariance[i][j] - covariance[j][i]).abs() > 1e-12);
        if asymmetric {
            return invalid("must be symmetric");
        }
        // Cholesky–Banachiewicz, row by row.
        let mut factor = vec![vec![0.0; dim]; dim];
        for i in 0..dim {
            for j in 0..=i {
                let dot: f64 = (0..j).map(|k| factor[i][k] * factor[j][k]).sum();
                if i == j {
                    let pivot = covariance[i][i] - dot;
                    if pivot <= 0.0 || !pivot.is_finite() {
                        return invalid("must be positive definite");
                    }
                    factor[i][i] = pivot.sqrt();
                } else {
                    factor[i][j] = (covariance[i][j] - dot) / factor[j][j];
                }
            }
        }
        Ok(Self { covariance, factor })
    }

    /// The dimension of the distribution.
    pub fn dim(&self) -> usize {
        self.factor.len()
    }

    /// One sample.
    pub fn sample(&self, rng: &mut impl Rng) -> Vec<f32> {
        let normal: Vec<f64> = (0..self.dim())
            .map(|_| StandardNormal.sample(&mut *rng))
            .collect();
        self.factor
            .iter()
            .map(|row| row.iter().zip(&normal).map(|(l, z)| l * z).sum::<f64>() as f32)
            .collect()
    }

    /// The unit eigenvector of the largest eigenvalue (sign fixed so that its largest entry
    /// is positive), by power iteration.
    pub fn first_principal_component(&self) -> Vec<f64> {
        let dim = self.dim();
        let mut vector = vec![1.0 / (dim as f64).sqrt(); dim];
        // A start orthogonal to the answer stays there; tilt it off any symmetric direction.
        vector[0] += 0.1;
        for _ in 0..10_000 {
            let next: Vec<f64> = self
                .covariance
                .iter()
                .map(|row| row.iter().zip(&vector).map(|(c, v)| c * v).sum())
                .collect();
            let norm = next.iter().map(|v| v * v).sum::<f64>().sqrt();
            let next: Vec<f64> = next.iter().map(|v| v / norm).collect();
            let change: f64 = next.iter().zip(&vector).map(|(a, b)| (a - b).abs()).sum();
            vector = next;
            if change < 1e-14 {
                break;
            }
        }
        let largest = vector
            .iter()
            .copied()
            .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
        if largest < 0.0 {
            vector.iter_mut().for_each(|v| *v = -*v);
        }
        vector
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn samples_have_the_requested_covariance() {
        let covariance = vec![vec![3.0, 1.2], vec![1.2, 1.0]];
        let data = CorrelatedGaussian::new(covariance.clone()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let count = 40_000;
        let mut sums = [[0.0f64; 2]; 2];
        for _ in 0..count {
            let x = data.sample(&mut rng);
            for i in 0..2 {
                for j in 0..2 {
                    sums[i][j] += f64::from(x[i]) * f64::from(x[j]);
                }
            }
        }
        for i in 0..2 {
            for j in 0..2 {
                let estimate = sums[i][j] / count as f64;
                assert!(
                    (estimate - covariance[i][j]).abs() < 0.05 * 3.0,
                    "entry ({i},{j}): {estimate} against {}",
                    covariance[i][j]
                );
            }
        }
    }

    #[test]
    fn the_principal_component_of_a_known_covariance() {
        // Eigenvalues 4 and 2; the first eigenvector is (1, 1)/√2.
        let data = CorrelatedGaussian::new(vec![vec![3.0, 1.0], vec![1.0, 3.0]]).unwrap();
        let pc = data.first_principal_component();
        let expected = std::f64::consts::FRAC_1_SQRT_2;
        assert!(
            (pc[0] - expected).abs() < 1e-9 && (pc[1] - expected).abs() < 1e-9,
            "{pc:?}"
        );
    }

    #[test]
    fn invalid_covariances_are_refused() {
        for (covariance, why) in [
            (vec![], "square"),
            (vec![vec![1.0, 0.0]], "square"),
            (vec![vec![1.0, 0.5], vec![0.4, 1.0]], "symmetric"),
            (vec![vec![1.0, 2.0], vec![2.0, 1.0]], "positive definite"),
        ] {
            let err = CorrelatedGaussian::new(covariance).unwrap_err();
            assert!(err.to_string().contains(why), "{err}");
        }
    }
}
