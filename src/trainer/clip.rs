//! Gradient clipping by the global norm: every parameter's gradient is scaled by the same
//! factor, so the direction of the whole update is kept (clipping each tensor on its own
//! would turn it).

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};

/// The L2 norm of `gradients` over every float parameter of `model`.
pub fn global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    gradients: &GradientsParams,
) -> f64 {
    struct SquaredSum<'a> {
        gradients: &'a GradientsParams,
        total: f64,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredSum<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            if let Some(gradient) = self.gradients.get::<B::InnerBackend, D>(param.id) {
                self.total += gradient.square().sum().into_scalar().elem::<f64>();
            }
        }
    }
    let mut sum = SquaredSum {
        gradients,
        total: 0.0,
    };
    model.visit(&mut sum);
    sum.total.sqrt()
}

/// Scales `gradients` so that their global norm is at most `max_norm`. Returns the norm
/// they had before.
pub fn clip_global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    gradients: &mut GradientsParams,
    max_norm: f64,
) -> f64 {
    struct Scale<'a> {
        gradients: &'a mut GradientsParams,
        factor: f64,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            if let Some(gradient) = self.gradients.remove::<B::InnerBackend, D>(param.id) {
                self.gradients
                    .register(param.id, gradient.mul_scalar(self.factor));
            }
        }
    }
    let norm = global_norm::<B, M>(model, gradients);
    if norm > max_norm {
        model.visit(&mut Scale {
            gradients,
            factor: max_norm / norm,
        });
    }
    norm
}
