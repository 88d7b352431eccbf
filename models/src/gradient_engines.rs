//! The plastic RNN's gradient by a hand-written engine, RTRL ([`crate::rtrl`]) or the adjoint
//! ([`crate::adjoint`]), on the kernels asked for and in the float type of the network's
//! parameters.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use crate::kernels::Real;
use crate::plastic_rnn::{PlasticGradients, PlasticRnn};
use crate::{Kernels, Modulation};

/// A gradient engine that runs without autodiff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByHand {
    Rtrl,
    Adjoint,
}

impl<B: Backend> PlasticRnn<B> {
    /// Runs the episodes `inputs` `[batch, steps, neurons]` and returns the gradient of
    /// [`crate::last_step_loss`] against `targets` `[batch, neurons]`, computed forward in
    /// time. Equal to the autodiff (BPTT) gradient up to rounding.
    ///
    /// [`Kernels::Host`] runs the recursion as fused loops on the host (the CPU backends);
    /// [`Kernels::Tensor`] as tensor operations of the backend (any backend).
    ///
    /// # Panics
    /// On a network with neuromodulation: RTRL covers unmodulated traces.
    pub fn rtrl_gradients(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        kernels: Kernels,
    ) -> PlasticGradients<B> {
        self.gradients_by_hand(ByHand::Rtrl, inputs, targets, kernels)
    }

    /// Runs the episodes `inputs` `[batch, steps, neurons]` and returns the gradient of
    /// [`crate::last_step_loss`] against `targets` `[batch, neurons]` by the adjoint method,
    /// in O(N²) memory per episode. Equal to the autodiff (BPTT) gradient up to rounding.
    ///
    /// # Panics
    /// On a network with neuromodulation: the adjoint covers unmodulated traces.
    pub fn adjoint_gradients(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        kernels: Kernels,
    ) -> PlasticGradients<B> {
        self.gradients_by_hand(ByHand::Adjoint, inputs, targets, kernels)
    }

    fn gradients_by_hand(
        &self,
        engine: ByHand,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        kernels: Kernels,
    ) -> PlasticGradients<B> {
        assert_eq!(
            self.config.modulation(),
            Modulation::None,
            "{engine:?} covers unmodulated traces: a modulated network trains by BPTT"
        );
        let double = self.w.val().dtype() == DType::F64;
        match (kernels, engine) {
            (Kernels::Tensor, ByHand::Rtrl) => {
                self.tensor_rtrl(self.tensor_episodes(inputs), targets)
            }
            (Kernels::Tensor, ByHand::Adjoint) => {
                self.tensor_adjoint(self.tensor_episodes(inputs), targets)
            }
            (Kernels::Host, _) if double => self.on_host::<f64>(engine, inputs, targets),
            (Kernels::Host, _) => self.on_host::<f32>(engine, inputs, targets),
        }
    }

    fn on_host<T: Real>(
        &self,
        engine: ByHand,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
    ) -> PlasticGradients<B> {
        let episodes = self.host_episodes::<T>(inputs);
        match engine {
            ByHand::Rtrl => self.host_rtrl(episodes, targets),
            ByHand::Adjoint => self.host_adjoint(episodes, targets),
        }
    }
}
