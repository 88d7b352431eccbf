//! The statistics the reports use: medians, means and deviations, and the intervals around
//! them (a bootstrap for medians, Wilson's for success rates).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Median of sorted values (NaN for none).
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Population standard deviation (divided by n, not n − 1): the scale NRMSE divides by.
pub fn population_sd(values: &[f64]) -> f64 {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

/// The median of `values` with a 95 % bootstrap interval (percentiles of the medians of
/// `resamples` resamples drawn from `seed`). Infinite values (diverged runs) count as
/// larger than any other.
pub fn median_with_interval(values: &[f64], resamples: usize, seed: u64) -> (f64, f64, f64) {
    let sorted_median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        median(&v)
    };
    let centre = sorted_median(values.to_vec());
    if values.is_empty() {
        return (centre, centre, centre);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut medians: Vec<f64> = (0..resamples)
        .map(|_| {
            sorted_median(
                (0..values.len())
                    .map(|_| values[rng.random_range(0..values.len())])
                    .collect(),
            )
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    let at = |q: f64| medians[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    (centre, at(0.025), at(0.975))
}

/// Wilson's 95 % score interval of a success rate, `successes` out of `trials`.
pub fn wilson_interval(successes: usize, trials: usize) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = trials as f64;
    let rate = successes as f64 / n;
    let centre = (rate + Z * Z / (2.0 * n)) / (1.0 + Z * Z / n);
    let half = Z / (1.0 + Z * Z / n) * (rate * (1.0 - rate) / n + Z * Z / (4.0 * n * n)).sqrt();
    // At 0 or n successes the bound is exactly 0 or 1; rounding must not move it.
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if successes == trials {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (low, high)
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom: the factor of a two-sided
/// 95 % interval of a mean. Tabulated to df = 30, then the Cornish–Fisher expansion
/// z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²) (within 0.0002 of the exact value beyond 30).
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    const Z: f64 = 1.959_963_984_540_054;
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            let nu = df as f64;
            Z + (Z.powi(3) + Z) / (4.0 * nu)
                + (5.0 * Z.powi(5) + 16.0 * Z.powi(3) + 3.0 * Z) / (96.0 * nu * nu)
        }
    }
}

/// Mean, sample standard deviation and the 95 % t interval of the mean (NaN bounds for one
/// value).
pub fn mean_interval(values: &[f64]) -> (f64, f64, f64, f64) {
    let (mean, sd) = mean_sd(values);
    let half = t_975(values.len().saturating_sub(1)) * sd / (values.len() as f64).sqrt();
    (mean, sd, mean - half, mean + half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn deviations_divide_by_n_minus_one_and_by_n() {
        let (mean, sd) = mean_sd(&[1.0, 3.0]);
        assert_eq!(mean, 2.0);
        assert!((sd - 2f64.sqrt()).abs() < 1e-15);
        assert_eq!(population_sd(&[1.0, 3.0]), 1.0);
    }

    #[test]
    fn bootstrap_interval_brackets_the_median() {
        let values: Vec<f64> = (1..=21).map(f64::from).collect();
        let (centre, low, high) = median_with_interval(&values, 500, 0);
        assert_eq!(centre, 11.0);
        assert!(low < centre && centre < high && low >= 1.0 && high <= 21.0);
        let (centre, _, high) = median_with_interval(&[1.0, f64::INFINITY, f64::INFINITY], 50, 0);
        assert!(centre.is_infinite() && high.is_infinite());
    }
    #[test]
    fn wilson_intervals_match_published_values() {
        // 73/100 and 0/100: the textbook values are [0.636, 0.807] and [0, 0.037].
        let (lo, hi) = wilson_interval(73, 100);
        assert!(
            (lo - 0.636).abs() < 1e-3 && (hi - 0.807).abs() < 1e-3,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson_interval(0, 100);
        assert!(lo == 0.0 && (hi - 0.037).abs() < 1e-3, "{lo} {hi}");
    }

    #[test]
    fn t_intervals_widen_for_few_values() {
        assert_eq!(t_975(1), 12.706);
        // Exact values: t(0.975; 31) = 2.0395, t(0.975; 60) = 2.0003.
        assert!((t_975(31) - 2.0395).abs() < 2e-4, "{}", t_975(31));
        assert!((t_975(60) - 2.0003).abs() < 2e-4, "{}", t_975(60));
        let (mean, sd, low, high) = mean_interval(&[1.0, 2.0, 3.0]);
        assert_eq!((mean, sd), (2.0, 1.0));
        assert!(
            (high - 2.0 - 4.303 / 3f64.sqrt()).abs() < 1e-12
                && (mean - low - (high - mean)).abs() < 1e-12
        );
        assert!(mean_interval(&[1.0]).2.is_nan());
    }
}
