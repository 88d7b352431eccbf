//! `compare`: the BPTT and RTRL gradients of the plastic RNN side by side.

/// `max_k |a_k − b_k| / max_k |b_k|`: the largest difference relative to the size of the
/// reference gradient `b` (elementwise ratios blow up on entries that are zero up to rounding).
pub fn relative_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "gradients of different sizes");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let largest = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    if scale == 0.0 {
        largest
    } else {
        largest / scale
    }
}
