//! The learning net as plain loops on the host, for the CPU backends when it learns from a
//! few examples at a time (the product task learns from one): a tensor operation costs more
//! to launch than such a small product costs to compute, and an update of a 2-100-1 net is a
//! dozen of them. The same forward pass, loss, backward pass (BP, FA or DFA), alignment terms
//! and SGD step as the tensor version in `mod.rs`, held equal to it by the tests.

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::{Activation, Feedback, Loss, Method, Mlp};
use crate::kernels::{host_vec, Real};

/// `[rows, inner] · [inner, cols]`, all row-major.
fn product<T: Real>(a: &[T], b: &[T], rows: usize, inner: usize, cols: usize) -> Vec<T> {
    let mut out = vec![T::zero(); rows * cols];
    for (out_row, a_row) in out.chunks_mut(cols).zip(a.chunks(inner)) {
        for (&a_k, b_row) in a_row.iter().zip(b.chunks(cols)) {
            for (o, &b_kj) in out_row.iter_mut().zip(b_row) {
                *o = *o + a_k * b_kj;
            }
        }
    }
    out
}

/// `[rows, inner] · [cols, inner]ᵀ`, all row-major.
fn product_transposed<T: Real>(a: &[T], b: &[T], inner: usize, cols: usize) -> Vec<T> {
    a.chunks(inner)
        .flat_map(|a_row| {
            b.chunks(inner).take(cols).map(move |b_row| {
                a_row
                    .iter()
                    .zip(b_row)
                    .fold(T::zero(), |sum, (&x, &y)| sum + x * y)
            })
        })
        .collect()
}

/// `aᵀ · b` for `a` `[rows, a_cols]` and `b` `[rows, b_cols]`: `[a_cols, b_cols]`.
fn transposed_product<T: Real>(a: &[T], b: &[T], a_cols: usize, b_cols: usize) -> Vec<T> {
    let mut out = vec![T::zero(); a_cols * b_cols];
    for (a_row, b_row) in a.chunks(a_cols).zip(b.chunks(b_cols)) {
        for (out_row, &a_i) in out.chunks_mut(b_cols).zip(a_row) {
            for (o, &b_j) in out_row.iter_mut().zip(b_row) {
                *o = *o + a_i * b_j;
            }
        }
    }
    out
}

/// The net, its feedback path and its step size, on the host.
pub(crate) struct HostMlp<T> {
    /// Every layer's width, input first.
    sizes: Vec<usize>,
    /// Per layer, `[in, out]` row-major, as `Linear`'s weight.
    weights: Vec<Vec<T>>,
    biases: Vec<Vec<T>>,
    /// As [`Feedback::matrices`], row-major.
    feedback: Vec<Vec<T>>,
    method: Method,
    activation: Activation,
    loss: Loss,
    learning_rate: T,
}

impl<T: Real> HostMlp<T> {
    /// The host copy of `mlp` and `feedback`.
    pub fn new<B: Backend>(
        mlp: &Mlp<B>,
        feedback: Option<&Feedback<B>>,
        learning_rate: f64,
        loss: Loss,
    ) -> Self {
        let mut sizes = vec![mlp.layers[0].weight.dims()[0]];
        sizes.extend(mlp.layers.iter().map(|layer| layer.weight.dims()[1]));
        let bias = |layer: &burn::nn::Linear<B>| match &layer.bias {
            Some(bias) => host_vec(bias.val()),
            None => vec![T::zero(); layer.weight.dims()[1]],
        };
        Self {
            sizes,
            weights: mlp
                .layers
                .iter()
                .map(|l| host_vec(l.weight.val()))
                .collect(),
            biases: mlp.layers.iter().map(bias).collect(),
            feedback: feedback.map_or(Vec::new(), |f| {
                f.matrices.iter().map(|m| host_vec(m.clone())).collect()
            }),
            method: feedback.map_or(Method::Bp, |f| f.method),
            activation: mlp.activation,
            loss,
            learning_rate: T::from(learning_rate).expect("a float"),
        }
    }

    /// `mlp` with this copy's weights and biases (the parameters keep their ids).
    pub fn write_into<B: Backend>(&self, mlp: Mlp<B>) -> Mlp<B> {
        let device = mlp.layers[0].weight.device();
        let data = |values: &[T], shape: Vec<usize>| TensorData::new(values.to_vec(), shape);
        let layers = mlp
            .layers
            .into_iter()
            .enumerate()
            .map(|(l, mut layer)| {
                let (rows, cols) = (self.sizes[l], self.sizes[l + 1]);
                let weight = data(&self.weights[l], vec![rows, cols]);
                let bias = data(&self.biases[l], vec![cols]);
                layer.weight = layer.weight.map(|_| Tensor::from_data(weight, &device));
                layer.bias = layer
                    .bias
                    .map(|b: Param<Tensor<B, 1>>| b.map(|_| Tensor::from_data(bias, &device)));
                layer
            })
            .collect();
        Mlp {
            layers,
            activation: mlp.activation,
        }
    }

    fn activate(&self, drive: &mut [T]) {
        for value in drive {
            *value = match self.activation {
                Activation::Tanh => value.tanh(),
                Activation::Relu => value.max(T::zero()),
                Activation::Sigmoid => T::one() / (T::one() + (-*value).exp()),
            };
        }
    }

    fn slope(&self, activity: T) -> T {
        match self.activation {
            Activation::Tanh => T::one() - activity * activity,
            Activation::Relu if activity > T::zero() => T::one(),
            Activation::Relu => T::zero(),
            Activation::Sigmoid => activity * (T::one() - activity),
        }
    }

    /// Every layer's input and the output for the batch `input` (`[batch, inputs]`).
    fn forward(&self, input: &[T]) -> Vec<Vec<T>> {
        let batch = input.len() / self.sizes[0];
        let layers = self.weights.len();
        let mut activities = vec![input.to_vec()];
        for l in 0..layers {
            let (inner, cols) = (self.sizes[l], self.sizes[l + 1]);
            let mut drive = product(&activities[l], &self.weights[l], batch, inner, cols);
            for row in drive.chunks_mut(cols) {
                for (d, &b) in row.iter_mut().zip(&self.biases[l]) {
                    *d = *d + b;
                }
            }
            if l + 1 < layers {
                self.activate(&mut drive);
            }
            activities.push(drive);
        }
        activities
    }

    /// The batch's loss and its derivative with respect to the output.
    fn loss_and_error(&self, output: &[T], target: &[T]) -> (T, Vec<T>) {
        let outputs = *self.sizes.last().expect("an output layer");
        let scale = T::one() / T::from(output.len() / outputs).expect("a float");
        match self.loss {
            Loss::SquaredError => {
                let miss: Vec<T> = output.iter().zip(target).map(|(&y, &t)| y - t).collect();
                let sum = miss.iter().fold(T::zero(), |s, &m| s + m * m);
                let half = T::from(0.5).expect("a float");
                (
                    sum * half * scale,
                    miss.iter().map(|&m| m * scale).collect(),
                )
            }
            Loss::CrossEntropy => {
                let (mut value, mut error) = (T::zero(), Vec::with_capacity(output.len()));
                for (row, targets) in output.chunks(outputs).zip(target.chunks(outputs)) {
                    let max = row.iter().fold(T::neg_infinity(), |m, &y| m.max(y));
                    let total = row.iter().fold(T::zero(), |s, &y| s + (y - max).exp());
                    for (&y, &t) in row.iter().zip(targets) {
                        let log_p = (y - max) - total.ln();
                        value = value + log_p * t;
                        error.push((log_p.exp() - t) * scale);
                    }
                }
                (-value * scale, error)
            }
        }
    }

    /// The weight and bias updates for `error`, carried down by `method`.
    fn updates(
        &self,
        activities: &[Vec<T>],
        error: &[T],
        method: Method,
    ) -> (Vec<Vec<T>>, Vec<Vec<T>>) {
        let layers = self.weights.len();
        let batch = error.len() / self.sizes[layers];
        let mut deltas: Vec<Vec<T>> = vec![Vec::new(); layers];
        deltas[layers - 1] = error.to_vec();
        for l in (0..layers - 1).rev() {
            let width = self.sizes[l + 1];
            let mut arriving = match method {
                Method::Dfa => product(error, &self.feedback[l], batch, self.sizes[layers], width),
                Method::Fa => product(
                    &deltas[l + 1],
                    &self.feedback[l],
                    batch,
                    self.sizes[l + 2],
                    width,
                ),
                Method::Bp => product_transposed(
                    &deltas[l + 1],
                    &self.weights[l + 1],
                    self.sizes[l + 2],
                    width,
                ),
            };
            for (a, &y) in arriving.iter_mut().zip(&activities[l + 1]) {
                *a = *a * self.slope(y);
            }
            deltas[l] = arriving;
        }
        deltas
            .into_iter()
            .enumerate()
            .map(|(l, delta)| {
                let width = self.sizes[l + 1];
                let weight = transposed_product(&activities[l], &delta, self.sizes[l], width);
                let mut bias = vec![T::zero(); width];
                for row in delta.chunks(width) {
                    for (b, &d) in bias.iter_mut().zip(row) {
                        *b = *b + d;
                    }
                }
                (weight, bias)
            })
            .unzip()
    }

    /// One update on a batch (`input` `[n, inputs]`, `target` `[n, outputs]`, row-major):
    /// the batch's loss and, when `measure` and the method is not BP, every hidden layer's
    /// `a·b`, `a·a`, `b·b` of its update `a` against the true gradient `b`.
    pub fn update(&mut self, input: &[T], target: &[T], measure: bool) -> (T, Option<Vec<T>>) {
        let activities = self.forward(input);
        let output = activities.last().expect("an output");
        let (loss, error) = self.loss_and_error(output, target);
        let (weights, biases) = self.updates(&activities, &error, self.method);
        let terms = (measure && self.method != Method::Bp).then(|| {
            let (gradient, _) = self.updates(&activities, &error, Method::Bp);
            let hidden = weights.len() - 1;
            (0..hidden)
                .flat_map(|l| {
                    let (a, b) = (&weights[l], &gradient[l]);
                    let dot =
                        |x: &[T], y: &[T]| x.iter().zip(y).fold(T::zero(), |s, (&p, &q)| s + p * q);
                    [dot(a, b), dot(a, a), dot(b, b)]
                })
                .collect()
        });
        let rate = self.learning_rate;
        for (params, changes) in self.weights.iter_mut().zip(&weights) {
            for (p, &c) in params.iter_mut().zip(changes) {
                *p = *p - c * rate;
            }
        }
        for (params, changes) in self.biases.iter_mut().zip(&biases) {
            for (p, &c) in params.iter_mut().zip(changes) {
                *p = *p - c * rate;
            }
        }
        (loss, terms)
    }
}
