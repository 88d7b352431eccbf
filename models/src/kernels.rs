//! Where a model's step-by-step work runs. The CPU backends gain most from fused loops over
//! host memory (one pass over a matrix per step instead of one tensor operation after
//! another); a GPU backend keeps its tensors on the device. Whoever picks the backend records
//! which suits it ([`Kernels::prefer`]); the models read it ([`Kernels::preferred`]).

use std::sync::atomic::{AtomicU8, Ordering};

use burn::tensor::backend::Backend;
use burn::tensor::{Element, Tensor, TensorData};
use num_traits::Float;
use serde::{Deserialize, Serialize};

pub(crate) use crate::tanh::TanhAll;

/// Where a model's fused work (the plastic step, a reservoir's run) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Kernels {
    /// Fused loops over the rows on the host, across threads: for the CPU backends.
    Host,
    /// Tensor operations of the backend: for backends whose tensors live on a device.
    Tensor,
}

impl Kernels {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Tensor => "tensor",
        }
    }

    /// The kernels the running backend prefers (set by whoever picked the backend).
    pub fn preferred() -> Self {
        match PREFERRED.load(Ordering::Relaxed) {
            1 => Self::Host,
            _ => Self::Tensor,
        }
    }

    /// Records which kernels suit the backend this process runs on.
    pub fn prefer(self) {
        PREFERRED.store(u8::from(self == Self::Host), Ordering::Relaxed);
    }
}

static PREFERRED: AtomicU8 = AtomicU8::new(0);

/// The float types the host kernels run in: the backend's own.
pub(crate) trait Real: Float + Element + Send + Sync + std::iter::Sum + TanhAll {}
impl Real for f32 {}
impl Real for f64 {}

/// A tensor's values on the host, in `T`.
pub(crate) fn host_vec<B: Backend, const D: usize, T: Real>(tensor: Tensor<B, D>) -> Vec<T> {
    // Read through a fresh copy: a tensor that is still shared (a parameter) may be read
    // back element by element, where a fresh one hands over its buffer.
    tensor
        .mul_scalar(1.0)
        .into_data()
        .convert::<T>()
        .into_vec::<T>()
        .expect("converted to T")
}

/// A tensor's values on the host, in `T`, cut into consecutive pieces of `each` (one per
/// network of a batch, say).
pub(crate) fn host_pieces<B: Backend, const D: usize, T: Real>(
    tensor: Tensor<B, D>,
    each: usize,
) -> Vec<Vec<T>> {
    host_vec::<B, D, T>(tensor)
        .chunks(each)
        .map(<[T]>::to_vec)
        .collect()
}

/// A tensor of `shape` from host values, in the backend's float type (a copy-free conversion
/// when `T` is that type already).
pub(crate) fn tensor_from_host<B: Backend, const D: usize, T: Real>(
    values: Vec<T>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(
        TensorData::new(values, shape).convert::<B::FloatElem>(),
        device,
    )
}

/// The nonzero entries of a row-major n × n matrix M, by column: `Σ_i x_i M_ij` for one j
/// reads only column j's entries (a reservoir's or a rate network's sparse recurrent matrix).
pub(crate) struct SparseColumns<T> {
    /// Column j's entries are `offsets[j]..offsets[j + 1]`.
    offsets: Vec<usize>,
    rows: Vec<u32>,
    values: Vec<T>,
}

impl<T: Real> SparseColumns<T> {
    /// The nonzero entries of the dense row-major `dense`.
    pub(crate) fn from_dense(dense: &[T], n: usize) -> Self {
        let mut offsets = Vec::with_capacity(n + 1);
        let (mut rows, mut values) = (Vec::new(), Vec::new());
        offsets.push(0);
        for j in 0..n {
            for i in 0..n {
                let m = dense[i * n + j];
                if m != T::zero() {
                    rows.push(u32::try_from(i).expect("fewer than 2³² units"));
                    values.push(m);
                }
            }
            offsets.push(values.len());
        }
        Self {
            offsets,
            rows,
            values,
        }
    }

    /// How many entries are nonzero.
    pub(crate) fn nonzeros(&self) -> usize {
        self.values.len()
    }

    /// Column j's entries: their rows i, in increasing order, and their values M_ij.
    pub(crate) fn column(&self, j: usize) -> (&[u32], &[T]) {
        let range = self.offsets[j]..self.offsets[j + 1];
        (&self.rows[range.clone()], &self.values[range])
    }

    /// `initial + Σ_i x_i M_ij`, added in increasing i: the order of the dense product, whose
    /// zero entries change nothing.
    pub(crate) fn column_sum(&self, j: usize, x: &[T], initial: T) -> T {
        let range = self.offsets[j]..self.offsets[j + 1];
        self.rows[range.clone()]
            .iter()
            .zip(&self.values[range])
            .fold(initial, |sum, (&i, &m)| sum + x[i as usize] * m)
    }
}
