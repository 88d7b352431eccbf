//! tanh over a whole slice, for the host loops. The C library's float32 `tanhf` is a call per
//! element that the compiler cannot vectorise: 45 % of the Bayesian synapse's period and 18 % of
//! a reservoir's run. In float32 this module computes tanh with plain arithmetic and selects
//! (no branches, no calls), which the compiler vectorises, within 1 ulp of the exact value
//! (checked against the float64 tanh in the tests below). Float64 keeps the C library's `tanh`,
//! so that the float64 tests keep holding the host loops to the tensor ones to 1e-10.

/// Below this |x|, the Taylor series; from it on, `1 − 2/(e^{2|x|} + 1)`, which has lost no
/// more than a bit to cancellation there (its value is above ½).
const SERIES_BELOW: f32 = 0.55;

/// tanh(x) rounds to ±1 in float32 beyond this |x|: it keeps `e^{2|x|}` finite.
const SATURATED: f32 = 10.0;

/// tanh's Taylor coefficients of x³, x⁵, …, x¹⁷: 2²ᵏ(2²ᵏ − 1)B₂ₖ/(2k)! for the Bernoulli
/// numbers B₂ₖ. Truncated after x¹⁷, the series is off by 5e-9 (relative) at x = 0.55.
const SERIES: [f32; 8] = [
    -1.0 / 3.0,
    2.0 / 15.0,
    -17.0 / 315.0,
    62.0 / 2835.0,
    -1382.0 / 155925.0,
    21844.0 / 6081075.0,
    -929569.0 / 638512875.0,
    6404582.0 / 10854718875.0,
];

/// ln 2 in two parts (Cody and Waite): `k·LN2_HIGH` is exact for the k ≤ 29 that occur.
const LN2_HIGH: f32 = 0.693_145_75;
const LN2_LOW: f32 = 1.428_606_8e-6;

/// `e^y` for 0 ≤ y ≤ 20: y = k·ln 2 + r with |r| ≤ ln 2 / 2, `e^r` by its Taylor polynomial to
/// r⁷ (off by 5e-9 relative), times 2ᵏ set in the exponent bits.
#[inline(always)]
fn exp_small(y: f32) -> f32 {
    // Adding and taking away 1.5·2²³ rounds to the nearest integer, without a call.
    const ROUND: f32 = 12_582_912.0;
    let k = (y * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (y - k * LN2_HIGH) - k * LN2_LOW;
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    let scale = f32::from_bits(((k as i32 + 127) as u32) << 23);
    p * scale
}

/// tanh(x) in float32, NaN for NaN.
#[inline(always)]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    let magnitude = x.abs();
    let square = x * x;
    let mut series = SERIES[7];
    for &c in SERIES[..7].iter().rev() {
        series = series * square + c;
    }
    let near_zero = magnitude + magnitude * (square * series);
    let clipped = if magnitude < SATURATED {
        magnitude
    } else {
        SATURATED
    };
    let far = 1.0 - 2.0 / (exp_small(clipped + clipped) + 1.0);
    let value = if magnitude < SERIES_BELOW {
        near_zero
    } else {
        far
    };
    if x.is_nan() {
        x
    } else {
        value.copysign(x)
    }
}

/// Replaces every value by its tanh.
pub(crate) trait TanhAll: Sized {
    fn tanh_all(values: &mut [Self]);
}

impl TanhAll for f32 {
    fn tanh_all(values: &mut [f32]) {
        for v in values.iter_mut() {
            *v = tanh_f32(*v);
        }
    }
}

impl TanhAll for f64 {
    fn tanh_all(values: &mut [f64]) {
        for v in values.iter_mut() {
            *v = v.tanh();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The distance between `got` and the float32 nearest to `exact`, in units of the last place.
    fn ulps(got: f32, exact: f64) -> i64 {
        let want = exact as f32;
        (i64::from(got.to_bits() as i32) - i64::from(want.to_bits() as i32)).abs()
    }

    #[test]
    fn tanh_is_within_one_ulp_everywhere() {
        // Every float32 from 2⁻²⁰ to 10, by a stride that visits each binade thousands of times,
        // on both sides of zero; and the edges between the two formulas and saturation.
        let mut worst = (0, 0.0f32);
        let mut check = |x: f32| {
            let error = ulps(tanh_f32(x), f64::from(x).tanh());
            if error > worst.0 {
                worst = (error, x);
            }
        };
        let mut bits = (2.0f32).powi(-20).to_bits();
        while f32::from_bits(bits) < 10.0 {
            check(f32::from_bits(bits));
            check(-f32::from_bits(bits));
            bits += 97;
        }
        for x in [SERIES_BELOW, SATURATED, 0.549_999_9, 9.999_999] {
            check(x);
        }
        assert!(worst.0 <= 1, "{} ulp at x = {}", worst.0, worst.1);
    }

    #[test]
    fn tanh_keeps_the_edge_cases() {
        assert_eq!(tanh_f32(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_f32(1e-30), 1e-30);
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh_f32(100.0), 1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        let mut values = [0.3f32, -2.0, f32::NAN];
        f32::tanh_all(&mut values);
        assert_eq!(values[..2], [tanh_f32(0.3), tanh_f32(-2.0)]);
        assert!(values[2].is_nan());
    }
}
