//! The net as it learns: the perceptron, its fixed feedback path and plain SGD on the updates
//! of the explicit backward pass, one batch at a time, with the angle between each hidden
//! layer's update and the true gradient measured on request. Batches come as tensors
//! ([`MlpLearner::update`]) or, for plain loops on the host, as host values
//! ([`MlpLearner::update_on_host`]).

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use rand::Rng;

use super::host::HostMlp;
use super::{alignment_terms, Feedback, Loss, Method, Mlp, MlpConfig};

/// A perceptron learning by BP, FA or DFA with a fixed step size.
pub struct MlpLearner<B: Backend> {
    /// The net as of the last tensor update (the host copy is newer while there is one).
    mlp: Mlp<B>,
    /// The net, its feedback path and step size on the host, once a host update has run.
    host: Option<OnHost>,
    /// FA's or DFA's fixed matrices; none for BP.
    pub feedback: Option<Feedback<B>>,
    /// The SGD step size.
    pub learning_rate: f64,
    /// What the output error is the derivative of.
    pub loss: Loss,
}

/// The host copy, in the float type of the backend's tensors.
enum OnHost {
    Single(HostMlp<f32>),
    Double(HostMlp<f64>),
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
            host: None,
            feedback,
            learning_rate,
            loss,
        }
    }

    /// The net as it stands.
    pub fn mlp(&self) -> Mlp<B> {
        match &self.host {
            None => self.mlp.clone(),
            Some(OnHost::Single(host)) => host.write_into(self.mlp.clone()),
            Some(OnHost::Double(host)) => host.write_into(self.mlp.clone()),
        }
    }

    /// Replaces the net (the feedback path stays).
    pub fn set_mlp(&mut self, mlp: Mlp<B>) {
        self.mlp = mlp;
        self.host = None;
    }

    /// Brings the tensors up to date with the host copy and drops it.
    fn leave_host(&mut self) {
        if self.host.is_some() {
            self.mlp = self.mlp();
            self.host = None;
        }
    }

    /// [`MlpLearner::update`] as plain loops on the host, for a batch given as host values
    /// (`input` `[n, inputs]`, `target` `[n, outputs]`, row-major): the loss and the
    /// alignment terms as host values. The weights stay on the host between such updates; a
    /// tensor update or [`MlpLearner::mlp`] brings them back.
    pub fn update_on_host(
        &mut self,
        input: &[f32],
        target: &[f32],
        measure: bool,
    ) -> (f64, Option<Vec<f64>>) {
        let double = self.mlp.layers[0].weight.val().dtype() == DType::F64;
        let (feedback, rate, loss) = (self.feedback.as_ref(), self.learning_rate, self.loss);
        let host = self.host.get_or_insert_with(|| match double {
            true => OnHost::Double(HostMlp::new(&self.mlp, feedback, rate, loss)),
            false => OnHost::Single(HostMlp::new(&self.mlp, feedback, rate, loss)),
        });
        match host {
            OnHost::Single(host) => {
                let (loss, terms) = host.update(input, target, measure);
                let terms = terms.map(|t| t.into_iter().map(f64::from).collect());
                (f64::from(loss), terms)
            }
            OnHost::Double(host) => {
                let widen =
                    |values: &[f32]| values.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
                host.update(&widen(input), &widen(target), measure)
            }
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
        self.leave_host();
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
