//! Adam as Burn's `Adam` computes it, with the step of the CPU backends fused into one pass.
//!
//! Burn's Adam is a dozen tensor operations, each a pass over the parameter and its moments;
//! for the LSTM baseline's 16 M recurrent weights that is 45 ms an episode, a third of it.
//! On the host kernels ([`Kernels::Host`]) the same arithmetic, in the same order and
//! precision, runs as one pass over parameter, gradient and moments, split across threads.
//! Its state is Burn's [`AdamState`], so checkpoints are Burn's Adam records either way.

use burn::optim::{Adam, AdamState, AdaptiveMomentumState, LearningRate, SimpleOptimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Element, Tensor, TensorData};
use num_traits::{Float, NumCast};
use plastic_models::Kernels;
use rayon::prelude::*;

use crate::config::AdamSettings;

/// Adam on the tensor operations of the backend, or fused on the host.
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// Where the step runs.
    kernels: Kernels,
    /// Burn's own, for backends whose tensors live on a device.
    tensor: Adam,
}

impl FusedAdam {
    /// Adam with `settings`, on the kernels the running backend prefers.
    pub fn new(settings: &AdamSettings) -> Self {
        Self::on(settings, Kernels::preferred())
    }

    /// Adam with `settings`, its steps on `kernels`.
    pub fn on(settings: &AdamSettings, kernels: Kernels) -> Self {
        Self {
            beta_1: settings.beta_1,
            beta_2: settings.beta_2,
            epsilon: settings.epsilon,
            kernels,
            tensor: settings.config().build(),
        }
    }
}

/// Elements per task of the fused pass.
const CHUNK: usize = 1 << 16;

/// The scalars of one step, converted as Burn converts them (computed in f32, then to the
/// tensor's float type).
struct StepScalars<T> {
    beta_1: T,
    beta_2: T,
    one_minus_beta_1: T,
    one_minus_beta_2: T,
    /// √(1 − β2ᵗ) / (1 − β1ᵗ).
    combined: T,
    /// ε·√(1 − β2ᵗ).
    epsilon: T,
    learning_rate: T,
}

fn cast<T: NumCast>(value: impl num_traits::ToPrimitive) -> T {
    T::from(value).expect("a float converts to the backend's float type")
}

impl FusedAdam {
    fn scalars<T: Float>(&self, time: usize, learning_rate: LearningRate) -> StepScalars<T> {
        let time = time as i32;
        let correction_2 = (1.0 - self.beta_2.powi(time)).sqrt();
        StepScalars {
            beta_1: cast(self.beta_1),
            beta_2: cast(self.beta_2),
            one_minus_beta_1: cast(1.0 - self.beta_1),
            one_minus_beta_2: cast(1.0 - self.beta_2),
            combined: cast(correction_2 / (1.0 - self.beta_1.powi(time))),
            epsilon: cast(self.epsilon * correction_2),
            learning_rate: cast(learning_rate),
        }
    }

    fn host_step<B: Backend, const D: usize, T: Float + Element + Send + Sync>(
        &self,
        learning_rate: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<AdamState<B, D>>,
    ) -> (Tensor<B, D>, Option<AdamState<B, D>>) {
        let (device, shape) = (tensor.device(), tensor.shape());
        let values = |t: Tensor<B, D>| t.into_data().into_vec::<T>().expect("the tensor's type");
        let (mut weights, gradient) = (values(tensor), values(grad));
        // A first step starts the moments at zero: β·0 + (1 − β)·g is (1 − β)·g exactly, as
        // Burn's first step computes them.
        let (time, mut first, mut second) = match state {
            Some(state) => {
                let m = state.momentum;
                (m.time + 1, values(m.moment_1), values(m.moment_2))
            }
            None => (
                1,
                vec![T::zero(); weights.len()],
                vec![T::zero(); weights.len()],
            ),
        };
        let s = self.scalars::<T>(time, learning_rate);
        weights
            .par_chunks_mut(CHUNK)
            .zip(gradient.par_chunks(CHUNK))
            .zip(first.par_chunks_mut(CHUNK))
            .zip(second.par_chunks_mut(CHUNK))
            .for_each(|(((w, g), m), v)| {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                    *m = *m * s.beta_1 + g * s.one_minus_beta_1;
                    *v = *v * s.beta_2 + g * g * s.one_minus_beta_2;
                    let step = *m * s.combined / (v.sqrt() + s.epsilon);
                    *w = *w - step * s.learning_rate;
                }
            });
        let tensor_of =
            |values: Vec<T>| Tensor::from_data(TensorData::new(values, shape.clone()), &device);
        let momentum = AdaptiveMomentumState::new(time, tensor_of(first), tensor_of(second));
        (tensor_of(weights), Some(AdamState::new(momentum)))
    }
}

impl<B: Backend> SimpleOptimizer<B> for FusedAdam {
    type State<const D: usize> = AdamState<B, D>;

    fn step<const D: usize>(
        &self,
        learning_rate: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let amsgrad = state
            .as_ref()
            .is_some_and(|s| s.momentum.max_moment_2.is_some());
        match (self.kernels, tensor.dtype()) {
            (Kernels::Host, DType::F32) if !amsgrad => {
                self.host_step::<B, D, f32>(learning_rate, tensor, grad, state)
            }
            (Kernels::Host, DType::F64) if !amsgrad => {
                self.host_step::<B, D, f64>(learning_rate, tensor, grad, state)
            }
            _ => self.tensor.step(learning_rate, tensor, grad, state),
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        <Adam as SimpleOptimizer<B>>::to_device(state, device)
    }
}
