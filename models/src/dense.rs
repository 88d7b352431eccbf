//! Dense products on the host, across threads, for the hand-written backward passes of the
//! CPU backends. Every operand is row-major and read where it lies: a product with a
//! transposed matrix reads the matrix as stored instead of copying it transposed, and the
//! matrix is read once per product however many rows the other operand has (a batch of one
//! is a matrix–vector product, bound by reading the matrix).

use rayon::prelude::*;

use crate::kernels::Real;

/// Partial sums kept apart so that the row loops vectorise.
pub(crate) const LANES: usize = 8;

/// `Σ a_j b_j`.
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::zero(); LANES];
    let (a_blocks, a_tail) = a.as_chunks::<LANES>();
    let (b_blocks, b_tail) = b[..a.len()].as_chunks::<LANES>();
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        for k in 0..LANES {
            lanes[k] = lanes[k] + x[k] * y[k];
        }
    }
    let tail: T = a_tail.iter().zip(b_tail).map(|(&x, &y)| x * y).sum();
    lanes.into_iter().sum::<T>() + tail
}

/// `out += scale · x`.
#[inline(always)]
fn add_scaled<T: Real>(out: &mut [T], scale: T, x: &[T]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = *o + scale * v;
    }
}

/// How many of `count` rows or columns one task takes: a few tasks per thread, so that
/// threads that finish early take more.
fn per_task(count: usize) -> usize {
    let tasks = 4 * rayon::current_num_threads().max(1);
    count.div_ceil(tasks).max(1)
}

/// Below this many rows of `x`, [`product`] splits `w` by rows: each task reads a contiguous
/// stretch of it (what the hardware prefetcher streams fastest) into partial sums of the
/// whole output, added up afterwards in a fixed order. From this many rows on, the product is
/// more arithmetic than reading, and each task takes a band of `w`'s columns instead, writing
/// its own piece of the output.
const FEW_ROWS: usize = 8;

/// Rows of `w` per task when splitting it by rows: fixed by the shape alone, so that the sums
/// come out the same on any number of threads.
fn row_chunk(inner: usize) -> usize {
    inner.div_ceil(32).max(64)
}

/// `x · w` for `x` `[rows, inner]` and `w` `[inner, cols]`: `[rows, cols]`.
pub(crate) fn product<T: Real>(x: &[T], w: &[T], inner: usize, cols: usize) -> Vec<T> {
    let rows = x.len().checked_div(inner).unwrap_or(0);
    if rows == 0 || cols == 0 {
        return vec![T::zero(); rows * cols];
    }
    if rows < FEW_ROWS {
        product_by_rows(x, w, inner, cols)
    } else {
        product_by_columns(x, w, inner, cols)
    }
}

fn product_by_rows<T: Real>(x: &[T], w: &[T], inner: usize, cols: usize) -> Vec<T> {
    let rows = x.len() / inner;
    let chunk = row_chunk(inner);
    let partials: Vec<Vec<T>> = w
        .par_chunks(chunk * cols)
        .enumerate()
        .map(|(task, w_rows)| {
            let mut partial = vec![T::zero(); rows * cols];
            for (r, w_row) in w_rows.chunks_exact(cols).enumerate() {
                let k = task * chunk + r;
                for (b, out_row) in partial.chunks_exact_mut(cols).enumerate() {
                    add_scaled(out_row, x[b * inner + k], w_row);
                }
            }
            partial
        })
        .collect();
    let mut parts = partials.into_iter();
    let mut out = parts.next().expect("w has at least one row");
    for part in parts {
        for (o, p) in out.iter_mut().zip(part) {
            *o = *o + p;
        }
    }
    out
}

fn product_by_columns<T: Real>(x: &[T], w: &[T], inner: usize, cols: usize) -> Vec<T> {
    let rows = x.len() / inner;
    let mut out = vec![T::zero(); rows * cols];
    // Bands a multiple of 16 wide, so that each row's piece starts on a cache line as often
    // as the width allows.
    let width = per_task(cols).next_multiple_of(16).min(cols);
    let bands: Vec<(usize, Vec<T>)> = (0..cols)
        .step_by(width)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| {
            let end = (start + width).min(cols);
            let band = end - start;
            let mut part = vec![T::zero(); rows * band];
            for (k, w_row) in w.chunks_exact(cols).enumerate() {
                let w_band = &w_row[start..end];
                for (r, part_row) in part.chunks_exact_mut(band).enumerate() {
                    add_scaled(part_row, x[r * inner + k], w_band);
                }
            }
            (start, part)
        })
        .collect();
    for (start, part) in bands {
        let band = part.len() / rows;
        for (r, piece) in part.chunks_exact(band).enumerate() {
            out[r * cols + start..r * cols + start + band].copy_from_slice(piece);
        }
    }
    out
}

/// `g · wᵀ` for `g` `[rows, cols]` and `w` `[inner, cols]`: `[rows, inner]`, each entry the
/// dot product of a row of `g` with a row of `w` as stored.
pub(crate) fn product_transposed<T: Real>(g: &[T], w: &[T], cols: usize) -> Vec<T> {
    if cols == 0 {
        return Vec::new();
    }
    let (rows, inner) = (g.len() / cols, w.len() / cols);
    let band = per_task(inner);
    // Per task: its band of `w`'s rows against every row of `g`, as `[band, rows]`.
    let parts: Vec<Vec<T>> = w
        .par_chunks(band * cols)
        .map(|w_rows| {
            w_rows
                .chunks_exact(cols)
                .flat_map(|w_row| g.chunks_exact(cols).map(move |g_row| dot(g_row, w_row)))
                .collect()
        })
        .collect();
    let mut out = vec![T::zero(); rows * inner];
    for (i, column) in parts.concat().chunks_exact(rows.max(1)).enumerate() {
        for (r, &v) in column.iter().enumerate() {
            out[r * inner + i] = v;
        }
    }
    out
}

/// `aᵀ · g` for `a` `[rows, a_cols]` and `g` `[rows, cols]`: `[a_cols, cols]`, the sum over
/// rows of outer products (a weight gradient from every step's activity and delta at once).
pub(crate) fn transposed_product<T: Real>(a: &[T], g: &[T], a_cols: usize, cols: usize) -> Vec<T> {
    let mut out = vec![T::zero(); a_cols * cols];
    if a_cols == 0 || cols == 0 {
        return out;
    }
    let band = per_task(a_cols);
    out.par_chunks_mut(band * cols)
        .enumerate()
        .for_each(|(task, out_rows)| {
            for (r, out_row) in out_rows.chunks_exact_mut(cols).enumerate() {
                let i = task * band + r;
                for (a_row, g_row) in a.chunks_exact(a_cols).zip(g.chunks_exact(cols)) {
                    add_scaled(out_row, a_row[i], g_row);
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries that are exact in binary, so that any order of summation gives the same sums.
    fn matrix(rows: usize, cols: usize, salt: usize) -> Vec<f64> {
        (0..rows * cols)
            .map(|k| ((k * 7 + salt * 13) % 17) as f64 - 8.0)
            .collect()
    }

    fn naive(a: &[f64], b: &[f64], rows: usize, inner: usize, cols: usize) -> Vec<f64> {
        let mut out = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                out[r * cols + c] = (0..inner).map(|k| a[r * inner + k] * b[k * cols + c]).sum();
            }
        }
        out
    }

    fn transpose(m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        (0..cols * rows)
            .map(|k| m[(k % rows) * cols + k / rows])
            .collect()
    }

    #[test]
    fn products_agree_with_the_definition_at_every_shape() {
        for (rows, inner, cols) in [
            (1, 1, 1),
            (1, 37, 200),
            (3, 200, 37),
            (11, 64, 129),
            (0, 5, 4),
        ] {
            let x = matrix(rows, inner, 1);
            let w = matrix(inner, cols, 2);
            assert_eq!(
                product(&x, &w, inner, cols),
                naive(&x, &w, rows, inner, cols)
            );
            // g · wᵀ with w stored [inner', cols'] = [cols, inner] here.
            let wt = transpose(&w, inner, cols);
            let g = matrix(rows, inner, 3);
            assert_eq!(
                product_transposed(&g, &wt, inner),
                naive(&g, &w, rows, inner, cols)
            );
            // xᵀ · g' with x [rows, inner] and g' [rows, cols].
            let g = matrix(rows, cols, 4);
            assert_eq!(
                transposed_product(&x, &g, inner, cols),
                naive(&transpose(&x, rows, inner), &g, inner, rows, cols)
            );
        }
    }
}
