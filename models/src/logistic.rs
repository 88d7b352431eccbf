//! A linear readout fitted by multinomial logistic regression (softmax cross-entropy with an
//! L2 penalty on the weights, as scikit-learn's `LogisticRegression`), for classifying
//! network states. Least squares on one-hot targets, the ridge readout, weighs every class
//! by its frequency and so seldom picks a rare class even where the states separate it; the
//! cross-entropy's gradient vanishes once a sample is classified with confidence, so rare
//! classes that are linearly separable are learned.
//!
//! The objective is smooth and, with the penalty, strongly convex: Nesterov's accelerated
//! gradient with the step 1/L from a bound on the curvature converges without a line
//! search. States are centred first (the bias, unpenalised, absorbs the means), which
//! conditions the problem better than a column of ones beside raw binary states.

use nalgebra::{DMatrix, DVector};

use crate::reservoir::{Readout, ReservoirError};

/// How a logistic readout is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticFit {
    /// λ in mean cross-entropy + λ/2·‖W‖²; scikit-learn's C is 1/(λ·samples).
    pub l2: f64,
    /// Gradient steps at most.
    pub max_steps: usize,
    /// Stop once the gradient's largest entry falls below this.
    pub tolerance: f64,
}

impl Default for LogisticFit {
    fn default() -> Self {
        Self {
            l2: 1e-4,
            max_steps: 2000,
            tolerance: 1e-6,
        }
    }
}

impl Readout {
    /// Fits y = argmax(x·W + b) to `labels` (one class index per sample) on `states`
    /// (`[samples][units]`, row-major) by multinomial logistic regression.
    pub fn fit_logistic(
        states: &[f64],
        labels: &[usize],
        units: usize,
        classes: usize,
        fit: LogisticFit,
    ) -> Result<Self, ReservoirError> {
        let samples = labels.len();
        if samples == 0 || units == 0 || states.len() != samples * units {
            return Err(ReservoirError::InvalidConfig(format!(
                "{} state values of width {units} against {samples} labels",
                states.len()
            )));
        }
        if let Some(&label) = labels.iter().find(|&&l| l >= classes) {
            return Err(ReservoirError::InvalidConfig(format!(
                "label {label} outside the {classes} classes"
            )));
        }
        if !(fit.l2 > 0.0 && fit.l2.is_finite()) {
            return Err(ReservoirError::InvalidConfig(format!(
                "the L2 penalty must be positive, not {}",
                fit.l2
            )));
        }
        // Identical states (a network's binary states recur) enter the loss as one row with
        // the count of each label: the same objective over far fewer rows.
        let distinct = DistinctRows::of(states, labels, units, classes);
        let rows = distinct.counts.len();
        let x = DMatrix::from_row_slice(rows, units, &distinct.states);
        let weight =
            DVector::from_iterator(rows, distinct.counts.iter().map(|c| c.iter().sum::<f64>()));
        let scale = 1.0 / samples as f64;
        let x_mean = (x.transpose() * &weight).transpose() * scale;
        let xc = DMatrix::from_fn(rows, units, |i, j| x[(i, j)] - x_mean[j]);
        let xt = xc.transpose();
        // The softmax's Hessian is at most ½·I, so the curvature is at most
        // ½·λmax(XcᵀXc/T) for the weights and ½ for the bias, whose column is orthogonal to
        // the centred states.
        let gram = (&xt * DMatrix::from_fn(rows, units, |i, j| weight[i] * xc[(i, j)])) * scale;
        let curvature = 0.5 * largest_eigenvalue(&gram).max(1.0) + fit.l2;
        let step = 1.0 / curvature;
        let momentum = {
            let ratio = (fit.l2 / curvature).sqrt();
            (1.0 - ratio) / (1.0 + ratio)
        };

        let mut weights = DMatrix::<f64>::zeros(units, classes);
        let mut bias = DVector::<f64>::zeros(classes);
        let (mut ahead_w, mut ahead_b) = (weights.clone(), bias.clone());
        for _ in 0..fit.max_steps {
            // The gradient at the look-ahead point.
            // Per row: its samples' softmax minus their labels, n·p − counts.
            let mut residual = &xc * &ahead_w;
            for (i, mut row) in residual.row_iter_mut().enumerate() {
                let top = (0..classes)
                    .map(|k| row[k] + ahead_b[k])
                    .fold(f64::NEG_INFINITY, f64::max);
                let mut total = 0.0;
                for k in 0..classes {
                    row[k] = (row[k] + ahead_b[k] - top).exp();
                    total += row[k];
                }
                for k in 0..classes {
                    row[k] = row[k] / total * weight[i] - distinct.counts[i][k];
                }
            }
            let grad_w = (&xt * &residual) * scale + &ahead_w * fit.l2;
            let grad_b = residual.row_sum().transpose() * scale;
            let largest = grad_w.amax().max(grad_b.amax());
            let next_w = &ahead_w - grad_w * step;
            let next_b = &ahead_b - grad_b * step;
            ahead_w = &next_w + (&next_w - &weights) * momentum;
            ahead_b = &next_b + (&next_b - &bias) * momentum;
            weights = next_w;
            bias = next_b;
            if largest < fit.tolerance {
                break;
            }
        }
        Ok(Self::from_centred(
            &weights,
            bias.as_slice(),
            x_mean.as_slice(),
        ))
    }
}

/// The distinct rows of `[samples][units]` states, in order of first appearance, with the
/// count of each label among the samples that share each.
struct DistinctRows {
    states: Vec<f64>,
    counts: Vec<Vec<f64>>,
}

impl DistinctRows {
    fn of(states: &[f64], labels: &[usize], units: usize, classes: usize) -> Self {
        let mut index = std::collections::HashMap::new();
        let mut distinct = Self {
            states: Vec::new(),
            counts: Vec::new(),
        };
        for (row, &label) in states.chunks(units).zip(labels) {
            let key: Vec<u64> = row.iter().map(|v| v.to_bits()).collect();
            let at = *index.entry(key).or_insert_with(|| {
                distinct.states.extend_from_slice(row);
                distinct.counts.push(vec![0.0; classes]);
                distinct.counts.len() - 1
            });
            distinct.counts[at][label] += 1.0;
        }
        distinct
    }
}

/// The largest eigenvalue of a symmetric positive semi-definite matrix, by power iteration,
/// raised a little so that a step of 1/L stays stable.
fn largest_eigenvalue(matrix: &DMatrix<f64>) -> f64 {
    let n = matrix.nrows();
    let mut vector = DVector::from_element(n, 1.0 / (n as f64).sqrt());
    let mut value = 0.0;
    for _ in 0..100 {
        let product = matrix * &vector;
        let norm = product.norm();
        if norm == 0.0 {
            return 0.0;
        }
        let converged = (norm - value).abs() <= 1e-6 * norm;
        value = norm;
        vector = product / norm;
        if converged {
            break;
        }
    }
    value * 1.05
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Argmax of each row of the readout's outputs.
    fn classify(readout: &Readout, states: &[f64]) -> Vec<usize> {
        readout
            .apply(states)
            .chunks(readout.outputs)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(k, _)| k)
            })
            .collect()
    }

    /// A rare class at the far end of one feature: least squares on one-hot targets, pulled
    /// by the common classes, misses it; the logistic readout does not.
    #[test]
    fn samples_that_share_a_state_count_as_that_many_samples() {
        // 200 distinct states, the first 100 of them given a second time, sometimes with
        // another label; against the same samples with the repeats moved by 1e-10, so that no
        // two states are the same: the same objective but for that shift, the same fit.
        let (units, classes) = (4, 3);
        let mut value = 0.3f64;
        let mut next = || {
            value = (value * 3.7 + 0.11).fract();
            value
        };
        let states: Vec<f64> = (0..200 * units).map(|_| next()).collect();
        let labels: Vec<usize> = (0..300).map(|_| (next() * 3.0) as usize).collect();
        let with_repeats = |shift: f64| -> Vec<f64> {
            let repeats = states[..100 * units].iter().map(|&v| v + shift);
            states.iter().copied().chain(repeats).collect()
        };
        let fit = |states: &[f64]| {
            Readout::fit_logistic(states, &labels, units, classes, LogisticFit::default()).unwrap()
        };
        let (shared, apart) = (fit(&with_repeats(0.0)), fit(&with_repeats(1e-10)));
        for (a, b) in shared
            .weights
            .iter()
            .chain(&shared.bias)
            .zip(apart.weights.iter().chain(&apart.bias))
        {
            assert!((a - b).abs() < 1e-6, "{a} against {b}");
        }
        assert!(
            shared.weights.iter().any(|w| w.abs() > 1e-3),
            "nothing was fitted"
        );
    }

    #[test]
    fn learns_a_rare_separable_class_that_least_squares_misses() {
        // Per 40 samples: 20 of class 0 at x = 0, 19 of class 1 at x = 1, 1 of class 2 at x = 2.
        let (mut states, mut labels) = (Vec::new(), Vec::new());
        for i in 0..400 {
            let label = match i % 40 {
                0 => 2,
                k if k % 2 == 1 => 0,
                _ => 1,
            };
            states.push(label as f64);
            labels.push(label);
        }
        let logistic =
            Readout::fit_logistic(&states, &labels, 1, 3, LogisticFit::default()).unwrap();
        assert_eq!(classify(&logistic, &states), labels);

        let one_hot: Vec<f64> = labels
            .iter()
            .flat_map(|&l| (0..3).map(move |k| f64::from(u8::from(k == l))))
            .collect();
        let ridge = Readout::fit(&states, &one_hot, 1, 3, 1e-6).unwrap();
        let rare_right = classify(&ridge, &states)
            .iter()
            .zip(&labels)
            .filter(|(guess, label)| guess == label && **label == 2)
            .count();
        assert_eq!(
            rare_right, 0,
            "least squares was expected to miss the rare class"
        );
    }

    #[test]
    fn refuses_bad_labels_and_penalties() {
        let states = [0.0, 1.0];
        assert!(Readout::fit_logistic(&states, &[0, 3], 1, 2, LogisticFit::default()).is_err());
        let zero = LogisticFit {
            l2: 0.0,
            ..LogisticFit::default()
        };
        assert!(Readout::fit_logistic(&states, &[0, 1], 1, 2, zero).is_err());
    }
}
