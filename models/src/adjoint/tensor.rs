//! The adjoint in tensor operations, for backends whose tensors live on a device: the same
//! recursion as the host kernels, batched over episodes.

use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor};

use super::anchor_interval;
use crate::plastic_rnn::traces::{Stored, TraceSource};
use crate::plastic_rnn::{
    input_at, last_step_loss, HebbRule, PlasticGradients, PlasticRnn, TensorEpisodes,
};

impl<B: Backend> PlasticRnn<B> {
    /// [`PlasticRnn::adjoint_gradients`] on the tensor kernels.
    pub(crate) fn tensor_adjoint(
        &self,
        episodes: TensorEpisodes<B>,
        targets: Tensor<B, 2>,
    ) -> PlasticGradients<B> {
        let TensorEpisodes {
            batch,
            steps,
            n,
            inputs,
            params,
        } = episodes;
        let device = self.w.device();
        let eta = self.eta.val().into_scalar().elem::<f64>();
        let anchor_every = anchor_interval(eta);
        let oja = self.config.rule == HebbRule::Oja;
        let clamp = self.config.clamp_trace;

        let mut stored = Stored::default();
        let mut state = self.initial_state(batch);
        let mut activity = vec![state.y.clone()];
        for t in 1..=steps {
            let next = self.advance(&params, state.clone(), input_at(&inputs, t - 1));
            let cut = clamp
                && next
                    .hebb_trace
                    .clone()
                    .abs()
                    .max()
                    .into_scalar()
                    .elem::<f64>()
                    >= 1.0;
            if cut {
                stored.insert(t - 1, state.hebb_trace);
            }
            if t < steps && t % anchor_every == 0 {
                stored.insert(t, next.hebb_trace.clone());
            }
            activity.push(next.y.clone());
            state = next;
        }

        let outputs = self.readout(state.y.clone());
        let loss = last_step_loss(outputs.clone(), targets.clone());
        let bias_keep = params.bias.as_ref().map(|(keep, _)| keep.clone());
        let through_tanh = |adjoint: Tensor<B, 2>, y: &Tensor<B, 2>| {
            let adjoint = adjoint * (y.clone().powi_scalar(2).neg() + 1.0);
            match &bias_keep {
                Some(keep) => adjoint * keep.clone(),
                None => adjoint,
            }
        };
        let dl_dy = self.pad_bias(
            (outputs.clone() - targets)
                .mul_scalar(2.0 / batch as f64)
                .unsqueeze_dim::<3>(1),
        );
        let mut drive_adjoint = through_tanh(dl_dy.squeeze_dim(1), &activity[steps]);
        // Per entry j of a row: the retention r_j of a step whose new activity is `post`.
        let retention = |post: &Tensor<B, 2>| -> Tensor<B, 3> {
            let post = post.clone().unsqueeze_dim::<3>(1);
            if oja {
                (post.powi_scalar(2) * eta).neg() + 1.0
            } else {
                post.zeros_like() + (1.0 - eta)
            }
        };
        let outer = |a: &Tensor<B, 2>, b: &Tensor<B, 2>| {
            a.clone()
                .unsqueeze_dim::<3>(2)
                .matmul(b.clone().unsqueeze_dim(1))
        };
        let unclamped = |trace: &Tensor<B, 3>| trace.clone().abs().lower_elem(1.0).float();
        // H(t−1) from H(t), given outer(y(t−1), y(t)) and r(t).
        let rebuild = |source: TraceSource<&Tensor<B, 3>>,
                       next: &Tensor<B, 3>,
                       coactivity: &Tensor<B, 3>,
                       keep: &Tensor<B, 3>| match source {
            TraceSource::Zero => next.zeros_like(),
            TraceSource::Stored(trace) => trace.clone(),
            TraceSource::Rebuild => (next.clone() - coactivity.clone() * eta) / keep.clone(),
        };

        let mut trace = state.hebb_trace;
        let mut trace_adjoint = trace.zeros_like();
        let mut w_gradient = Tensor::<B, 2>::zeros([n, n], &device);
        let mut alpha_gradient = Tensor::<B, 2>::zeros([n, n], &device);
        let mut eta_gradient = Tensor::<B, 1>::zeros([1], &device);
        let w = params.w.clone();
        let alpha = params.alpha.clone();
        for s in (1..=steps).rev() {
            let (pre, post) = (&activity[s - 1], &activity[s]);
            let (coactivity, keep) = (outer(pre, post), retention(post));
            let previous = rebuild(stored.source(s - 1), &trace, &coactivity, &keep);
            let gated = if clamp {
                trace_adjoint * unclamped(&trace)
            } else {
                trace_adjoint
            };
            if self.config.learn_eta {
                let decay = if oja {
                    previous.clone() * post.clone().powi_scalar(2).unsqueeze_dim(1)
                } else {
                    previous.clone()
                };
                eta_gradient = eta_gradient + (gated.clone() * (coactivity - decay)).sum();
            }
            let connection = outer(pre, &drive_adjoint);
            w_gradient = w_gradient + pre.clone().transpose().matmul(drive_adjoint.clone());
            alpha_gradient = alpha_gradient
                + (connection.clone() * previous.clone())
                    .sum_dim(0)
                    .squeeze_dim(0);
            let effective = w.clone() + alpha.clone() * previous.clone();
            let mut activity_adjoint = (effective.matmul(drive_adjoint.clone().unsqueeze_dim(2))
                + gated.clone().matmul(post.clone().unsqueeze_dim(2)) * eta)
                .squeeze_dim::<2>(2);
            trace_adjoint = gated * keep + alpha.clone() * connection;
            if s >= 2 {
                let earlier = &activity[s - 2];
                let gated = if clamp {
                    trace_adjoint.clone() * unclamped(&previous)
                } else {
                    trace_adjoint.clone()
                };
                activity_adjoint = activity_adjoint
                    + earlier
                        .clone()
                        .unsqueeze_dim::<3>(1)
                        .matmul(gated.clone())
                        .squeeze_dim::<2>(1)
                        * eta;
                if oja {
                    let older = rebuild(
                        stored.source(s - 2),
                        &previous,
                        &outer(earlier, pre),
                        &retention(pre),
                    );
                    let pulled = (gated * older).sum_dim(1).squeeze_dim::<2>(1);
                    activity_adjoint = activity_adjoint - pre.clone() * pulled * (2.0 * eta);
                }
            }
            trace = previous;
            drive_adjoint = through_tanh(activity_adjoint, pre);
        }
        PlasticGradients {
            w: w_gradient,
            alpha: self.alpha_gradient(alpha_gradient),
            eta: self.config.learn_eta.then_some(eta_gradient),
            loss,
            outputs,
        }
    }
}
