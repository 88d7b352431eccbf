//! The spectral radius of a reservoir's recurrent matrix: its largest |eigenvalue|, found as
//! ARPACK finds it for reservoirpy (`scipy.sparse.linalg.eigs(W, k=1, which="LM")`), by a
//! restarted Arnoldi iteration on products with the matrix's nonzero entries, rather than by
//! the full eigendecomposition (O(n³): about 1.2 s at 1000 units). The restart is
//! Krylov–Schur (Stewart 2001): the Arnoldi relation's small matrix is brought to complex Schur
//! form, the Ritz values of largest modulus are moved to its top, and the basis is cut to
//! them. Matrices too small for it to pay, and any run that does not converge, go to the
//! dense decomposition.

use nalgebra::{Complex, DMatrix};

type C = Complex<f64>;

/// Below this size the dense decomposition is cheap enough.
const DENSE_BELOW: usize = 100;
/// Arnoldi vectors kept between restarts and built up to.
const KEPT: usize = 12;
const BASIS: usize = 30;
/// The Ritz pair counts as converged when its residual is below this share of |λ|.
const TOLERANCE: f64 = 1e-13;
const MOST_RESTARTS: usize = 2000;

/// The largest |eigenvalue| of a row-major n × n matrix.
pub fn spectral_radius(n: usize, values: &[f64]) -> f64 {
    if n >= DENSE_BELOW {
        if let Some(radius) = arnoldi_radius(n, values) {
            return radius;
        }
    }
    dense_radius(n, values)
}

/// By the full eigendecomposition.
pub(crate) fn dense_radius(n: usize, values: &[f64]) -> f64 {
    DMatrix::from_row_slice(n, n, values)
        .complex_eigenvalues()
        .iter()
        .map(|eigenvalue| eigenvalue.norm())
        .fold(0.0, f64::max)
}

/// The matrix's nonzero entries by row.
struct SparseRows {
    starts: Vec<usize>,
    columns: Vec<usize>,
    values: Vec<f64>,
}

impl SparseRows {
    fn new(n: usize, dense: &[f64]) -> Self {
        let mut rows = Self {
            starts: vec![0],
            columns: Vec::new(),
            values: Vec::new(),
        };
        for row in dense.chunks(n) {
            for (j, &value) in row.iter().enumerate() {
                if value != 0.0 {
                    rows.columns.push(j);
                    rows.values.push(value);
                }
            }
            rows.starts.push(rows.columns.len());
        }
        rows
    }

    /// `A x` for a complex `x` (A is real).
    fn times(&self, x: &[C]) -> Vec<C> {
        self.starts
            .windows(2)
            .map(|range| {
                let entries = range[0]..range[1];
                self.columns[entries.clone()]
                    .iter()
                    .zip(&self.values[entries])
                    .fold(C::new(0.0, 0.0), |sum, (&j, &a)| sum + x[j] * a)
            })
            .collect()
    }
}

fn dot(a: &[C], b: &[C]) -> C {
    a.iter()
        .zip(b)
        .fold(C::new(0.0, 0.0), |sum, (x, y)| sum + x.conj() * y)
}

fn norm(a: &[C]) -> f64 {
    a.iter().map(|x| x.norm_sqr()).sum::<f64>().sqrt()
}

/// Swaps the adjacent diagonal entries k and k + 1 of the upper triangular `t`, updating the
/// Schur vectors `q` (ZTREXC's rotation).
fn swap_down(t: &mut DMatrix<C>, q: &mut DMatrix<C>, k: usize) {
    let (a, b, c) = (t[(k, k)], t[(k + 1, k + 1)], t[(k, k + 1)]);
    // The eigenvector of the 2 × 2 block for b: (c, b − a).
    let (x1, x2) = (c, b - a);
    let length = (x1.norm_sqr() + x2.norm_sqr()).sqrt();
    if length == 0.0 {
        return;
    }
    let (g1, g2) = (x1 / length, x2 / length);
    let size = t.nrows();
    // G = [[g1, −ḡ2], [g2, ḡ1]]: rows by Gᴴ, columns by G.
    for j in 0..size {
        let (r1, r2) = (t[(k, j)], t[(k + 1, j)]);
        t[(k, j)] = g1.conj() * r1 + g2.conj() * r2;
        t[(k + 1, j)] = -g2 * r1 + g1 * r2;
    }
    for i in 0..size {
        let (c1, c2) = (t[(i, k)], t[(i, k + 1)]);
        t[(i, k)] = c1 * g1 + c2 * g2;
        t[(i, k + 1)] = -c1 * g2.conj() + c2 * g1.conj();
    }
    for i in 0..q.nrows() {
        let (c1, c2) = (q[(i, k)], q[(i, k + 1)]);
        q[(i, k)] = c1 * g1 + c2 * g2;
        q[(i, k + 1)] = -c1 * g2.conj() + c2 * g1.conj();
    }
    t[(k + 1, k)] = C::new(0.0, 0.0);
}

/// By Krylov–Schur; `None` when it does not converge.
fn arnoldi_radius(n: usize, dense: &[f64]) -> Option<f64> {
    let a = SparseRows::new(n, dense);
    let m = BASIS.min(n - 1);
    // A fixed start, so that a reservoir's radius is the same on every run.
    let start: Vec<C> = (0..n)
        .map(|i| C::new(1.0 + ((i * 7919) % 1009) as f64 / 1009.0, 0.0))
        .collect();
    let length = norm(&start);
    let mut basis: Vec<Vec<C>> = vec![start.iter().map(|x| x / length).collect()];
    // h: (m + 1) × m; the Arnoldi relation A V_m = V_{m+1} h.
    let mut h = DMatrix::<C>::zeros(m + 1, m);
    let mut kept = 0;
    for _ in 0..MOST_RESTARTS {
        for j in kept..m {
            let mut w = a.times(&basis[j]);
            // Classical Gram–Schmidt, twice.
            for _ in 0..2 {
                for (i, v) in basis.iter().enumerate() {
                    let coefficient = dot(v, &w);
                    h[(i, j)] += coefficient;
                    for (w, v) in w.iter_mut().zip(v) {
                        *w -= coefficient * v;
                    }
                }
            }
            let size = norm(&w);
            if size == 0.0 || !size.is_finite() {
                return None;
            }
            h[(j + 1, j)] = C::new(size, 0.0);
            basis.push(w.iter().map(|x| x / size).collect());
        }
        let (mut q, mut t) = h.rows(0, m).into_owned().schur().unpack();
        // The Ritz values of largest modulus to the top, in order.
        for target in 0..KEPT.min(m) {
            let best = (target..m)
                .max_by(|&x, &y| t[(x, x)].norm().total_cmp(&t[(y, y)].norm()))
                .expect("a Ritz value");
            for k in (target..best).rev() {
                swap_down(&mut t, &mut q, k);
            }
        }
        let residual_row = h.row(m).into_owned() * &q;
        let top = t[(0, 0)];
        if residual_row[0].norm() <= TOLERANCE * top.norm() {
            return Some(top.norm());
        }
        // Restart: the kept Ritz vectors, then the last Arnoldi vector.
        kept = KEPT.min(m - 1);
        let mut restarted: Vec<Vec<C>> = (0..kept)
            .map(|column| {
                let mut v = vec![C::new(0.0, 0.0); n];
                for (i, b) in basis.iter().take(m).enumerate() {
                    let weight = q[(i, column)];
                    for (v, b) in v.iter_mut().zip(b) {
                        *v += weight * b;
                    }
                }
                v
            })
            .collect();
        restarted.push(basis[m].clone());
        basis = restarted;
        h.fill(C::new(0.0, 0.0));
        for i in 0..kept {
            for j in i..kept {
                h[(i, j)] = t[(i, j)];
            }
            h[(kept, i)] = residual_row[i];
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    use super::{arnoldi_radius, dense_radius};

    /// A reservoir's matrix before scaling: N(0, 1) entries where a connection exists.
    fn reservoir(n: usize, connectivity: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n * n)
            .map(|_| {
                if rng.random_bool(connectivity) {
                    StandardNormal.sample(&mut rng)
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn the_arnoldi_radius_is_the_dense_decomposition_s() {
        for (n, connectivity, seed) in [
            (100, 0.1, 0),
            (150, 0.1, 1),
            (200, 0.05, 2),
            (300, 0.1, 3),
            (300, 1.0, 4),
            (400, 0.02, 5),
        ] {
            let matrix = reservoir(n, connectivity, seed);
            let dense = dense_radius(n, &matrix);
            let fast = arnoldi_radius(n, &matrix).expect("converges");
            assert!(
                (fast - dense).abs() <= 1e-11 * dense,
                "n = {n}, p = {connectivity}: {fast} against {dense}"
            );
        }
    }
}
