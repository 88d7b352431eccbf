//! The net as it learns: the perceptron, its fixed feedback path and plain SGD on the updates
//! of the explicit backward pass, one batch at a time, with the angle between each hidden
//! layer's update and the true gradient measured on request.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::Rng;

use super::{alignment_terms, Loss, Method, Mlp, MlpConfig};

/// A perceptron learning by BP, FA or DFA with a fixed step size.
pub struct MlpLearner<B: Backend> {
    /// The net.
    pub mlp: Mlp<B>,
    /// FA's or DFA's fixed matrices; none for BP.
    pub feedback: Option<super::Feedback<B>>,
    /// The SGD step size.
    pub learning_rate: f64,
    /// What the output error is the derivative of.
    pub loss: Loss,
}

impl<B: Backend> MlpLearner<B> {
    /// The net of `config` and, for FA and DFA, its feedback path, both drawn from `rng`
    /// (the weights first).
    pub fn new(
        config: &MlpConfig,
        method: Method,
        learning_rate: f64,
        loss: Loss,
        rng: &mut impl Rng,
        device: &B::Device,
    ) -> Self {
        let mlp = config.init::<B>(rng, device);
        let feedback = (method != Method::Bp).then(|| config.feedback(method, rng, device));
        Self {
            mlp,
            feedback,
            learning_rate,
            loss,
        }
    }

    /// One update on a batch (inputs `[n, in]`, targets `[n, out]`); returns the batch's loss
    /// `[1]` and, when `measure` and the method is not BP, the [`alignment_terms`] of every
    /// hidden layer's update against the true gradient, concatenated (`[3 × hidden layers]`).
    pub fn update(
        &mut self,
        input: Tensor<B, 2>,
        target: Tensor<B, 2>,
        measure: bool,
    ) -> (Tensor<B, 1>, Option<Tensor<B, 1>>) {
        let pass = self.mlp.forward_pass(input);
        let (loss, error) = Mlp::loss_and_error(&pass, target, self.loss);
        let updates = self
            .mlp
            .updates(&pass, error.clone(), self.feedback.as_ref());
        let angles = (measure && self.feedback.is_some()).then(|| {
            let gradient = self.mlp.updates(&pass, error, None);
            let hidden = updates.weights.len() - 1;
            Tensor::cat(
                (0..hidden)
                    .map(|l| {
                        alignment_terms(updates.weights[l].clone(), gradient.weights[l].clone())
                    })
                    .collect(),
                0,
            )
        });
        self.mlp.step(&updates, self.learning_rate);
        (loss, angles)
    }
}
