//! BPTT by hand on the host for the CPU backends. The autodiff graph of a recurrent net of
//! 2051 units costs more than its arithmetic: every step's input gradient multiplies by a
//! transposed view of the recurrent matrix, which burn-ndarray copies element by element
//! before its product, and the weight gradient is summed one outer product per step. Here
//! each step reads the matrix once forward and once backward, as stored, and the weight
//! gradient is one product over every step's activity and delta. The same loss and
//! gradient as the autodiff graph, held equal to it by the tests.

use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use super::{Clamp, LstmNet, RnnNet};
use crate::dense::{product, product_transposed, transposed_product};
use crate::kernels::{host_vec, tensor_from_host, Real};
use crate::pattern_net::{truncation_cut, HandBptt, HandGradients, PatternNet};
use crate::Kernels;

/// A batch of episodes and its targets on the host.
struct Episodes<T> {
    /// `[batch, steps, neurons]`.
    inputs: Vec<T>,
    /// `[batch, neurons]`.
    targets: Vec<T>,
    batch: usize,
    steps: usize,
    neurons: usize,
}

impl<T: Real> Episodes<T> {
    fn of<B: Backend>(inputs: Tensor<B, 3>, targets: Option<Tensor<B, 2>>) -> Self {
        let [batch, steps, neurons] = inputs.dims();
        Self {
            inputs: host_vec(inputs),
            targets: targets.map(host_vec).unwrap_or_default(),
            batch,
            steps,
            neurons,
        }
    }

    /// Step `t`'s input of episode `b`.
    fn input(&self, b: usize, t: usize) -> &[T] {
        let start = (b * self.steps + t) * self.neurons;
        &self.inputs[start..start + self.neurons]
    }

    /// The first `neurons` entries of each of the batch's rows of `width` in `state`.
    fn outputs(&self, state: &[T], width: usize) -> Vec<T> {
        state
            .chunks_exact(width)
            .flat_map(|row| row[..self.neurons].iter().copied())
            .collect()
    }

    /// The last-step loss `Σ (y − target)² / batch` of `outputs` `[batch, neurons]`, and its
    /// gradient spread over rows of `width` (zero beyond the pattern neurons).
    fn loss(&self, outputs: &[T], width: usize) -> (T, Vec<T>) {
        let scale = T::one() / T::from(self.batch).expect("a batch size is a float");
        let mut sum = T::zero();
        let mut gradient = vec![T::zero(); self.batch * width];
        for (b, row) in gradient.chunks_exact_mut(width).enumerate() {
            for j in 0..self.neurons {
                let error = outputs[b * self.neurons + j] - self.targets[b * self.neurons + j];
                sum = sum + error * error;
                row[j] = (error + error) * scale;
            }
        }
        (sum * scale, gradient)
    }

    /// The steps the gradient flows through, and the first of them.
    fn kept_steps(&self, truncate: Option<usize>) -> usize {
        truncation_cut(self.steps, truncate).unwrap_or(0)
    }

    fn hand_gradients<B: Backend>(
        &self,
        loss: T,
        outputs: Vec<T>,
        gradients: GradientsParams,
        device: &B::Device,
    ) -> HandGradients<B> {
        HandGradients {
            loss: tensor_from_host(vec![loss], [1], device),
            outputs: tensor_from_host(outputs, [self.batch, self.neurons], device),
            gradients,
        }
    }
}

/// `Σ_{rows}` of `[rows, cols]`, per column.
fn column_sums<T: Real>(values: &[T], cols: usize) -> Vec<T> {
    let mut sums = vec![T::zero(); cols];
    for row in values.chunks_exact(cols) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s = *s + v;
        }
    }
    sums
}

/// Burn's sigmoid, `exp(−ln(1 + exp(−x)))` in f32 whatever the backend's float type, so
/// that the host kernels compute what the tensor ones do.
fn sigmoid<T: Real>(x: T) -> T {
    let x = num_traits::ToPrimitive::to_f32(&x).expect("a float converts to f32");
    <T as num_traits::NumCast>::from((-((-x).exp() + 1.0).ln()).exp()).expect("an f32 is a float")
}

impl<B: Backend> RnnNet<B> {
    /// The activity `y(t)` `[batch, n]` for t = 0…T (the bias neuron at 1 throughout).
    fn host_states<T: Real>(&self, episodes: &Episodes<T>, w: &[T]) -> Vec<Vec<T>> {
        let n = self.config.total_units();
        let batch = episodes.batch;
        let with_bias = |mut y: Vec<T>| {
            if self.config.bias_neuron {
                for row in y.chunks_exact_mut(n) {
                    row[n - 1] = T::one();
                }
            }
            y
        };
        let mut states = vec![with_bias(vec![T::zero(); batch * n])];
        for t in 0..episodes.steps {
            let mut drive = product(&states[t], w, n, n);
            for (b, row) in drive.chunks_exact_mut(n).enumerate() {
                for (a, &x) in row.iter_mut().zip(episodes.input(b, t)) {
                    *a = *a + x;
                }
                for a in row.iter_mut() {
                    *a = a.tanh();
                }
            }
            states.push(with_bias(drive));
        }
        states
    }
}

impl<B: Backend> HostBaseline<B> for RnnNet<B> {
    fn float_type(&self) -> DType {
        self.w.val().dtype()
    }

    fn host_bptt<T: Real>(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        truncate: Option<usize>,
    ) -> HandGradients<B> {
        let episodes = Episodes::<T>::of(inputs, Some(targets));
        let n = self.config.total_units();
        let w: Vec<T> = host_vec(self.w.val());
        let states = self.host_states(&episodes, &w);
        let steps = episodes.steps;
        let outputs = episodes.outputs(&states[steps], n);
        let (loss, mut activity_gradient) = episodes.loss(&outputs, n);
        // ∂L/∂a(t) for the kept steps, first step first, beside y(t−1): the weight gradient
        // Σ_t y(t−1)ᵀ ∂L/∂a(t) is then one product.
        let first = episodes.kept_steps(truncate);
        let mut deltas = vec![Vec::new(); steps - first];
        for t in (first..steps).rev() {
            let mut delta = activity_gradient;
            for (d, &y) in delta.iter_mut().zip(&states[t + 1]) {
                *d = *d * (T::one() - y * y);
            }
            if self.config.bias_neuron {
                for row in delta.chunks_exact_mut(n) {
                    row[n - 1] = T::zero();
                }
            }
            activity_gradient = if t > first {
                product_transposed(&delta, &w, n)
            } else {
                Vec::new()
            };
            deltas[t - first] = delta;
        }
        let w_gradient = transposed_product(&states[first..steps].concat(), &deltas.concat(), n, n);
        let device = self.w.device();
        let mut gradients = GradientsParams::new();
        gradients.register(
            self.w.id,
            tensor_from_host::<B, 2, T>(w_gradient, [n, n], &device),
        );
        episodes.hand_gradients(loss, outputs, gradients, &device)
    }

    /// The last step's outputs on the host kernels.
    fn host_outputs<T: Real>(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        let episodes = Episodes::<T>::of(inputs, None);
        let w: Vec<T> = host_vec(self.w.val());
        let states = self.host_states(&episodes, &w);
        let outputs = episodes.outputs(&states[episodes.steps], self.config.total_units());
        tensor_from_host(
            outputs,
            [episodes.batch, episodes.neurons],
            &self.w.device(),
        )
    }
}

/// An LSTM's run over a batch of episodes on the host, every step kept for the backward
/// pass.
struct LstmRun<T> {
    /// Per step, the gates after their nonlinearity, `[batch, 4·hidden]` (input, forget,
    /// cell, output).
    gates: Vec<Vec<T>>,
    /// The cell `c(t)` for t = 0…T, `[batch, hidden]`.
    cells: Vec<Vec<T>>,
    /// The hidden state `h(t)` for t = 0…T, `[batch, hidden]`.
    hidden: Vec<Vec<T>>,
}

/// The LSTM's weights on the host, the clamped entries fixed.
struct LstmWeights<T> {
    /// `[neurons, 4·hidden]`.
    input: Vec<T>,
    /// `[hidden, 4·hidden]`.
    recurrent: Vec<T>,
    /// `[4·hidden]`.
    bias: Vec<T>,
    /// The clamp that fixed the input weights' and the bias's entries, when there is one.
    clamp: Option<Clamp>,
}

/// `values ⊙ keep + fixed`: the parameters with the clamped entries fixed, as
/// [`LstmNet`]'s tensor path computes them.
fn clamped<T: Real>(mut values: Vec<T>, keep: &[f32], fixed: &[f32]) -> Vec<T> {
    let float = |x: f32| T::from(x).expect("a mask entry is a float");
    for ((v, &k), &f) in values.iter_mut().zip(keep).zip(fixed) {
        *v = *v * float(k) + float(f);
    }
    values
}

impl<B: Backend> LstmNet<B> {
    fn host_weights<T: Real>(&self) -> LstmWeights<T> {
        let clamp = self.clamp();
        let (mut input, mut bias) = (host_vec(self.w_input.val()), host_vec(self.bias.val()));
        if let Some(c) = &clamp {
            input = clamped(input, &c.keep_w, &c.fixed_w);
            bias = clamped(bias, &c.keep_b, &c.fixed_b);
        }
        LstmWeights {
            input,
            recurrent: host_vec(self.w_recurrent.val()),
            bias,
            clamp,
        }
    }

    fn host_run<T: Real>(&self, episodes: &Episodes<T>, weights: &LstmWeights<T>) -> LstmRun<T> {
        let h = self.config.hidden;
        let (batch, steps, neurons) = (episodes.batch, episodes.steps, episodes.neurons);
        // Every step's input drive at once, `[batch, steps, 4·hidden]`.
        let mut driven = product(&episodes.inputs, &weights.input, neurons, 4 * h);
        for row in driven.chunks_exact_mut(4 * h) {
            for (d, &b) in row.iter_mut().zip(&weights.bias) {
                *d = *d + b;
            }
        }
        let mut run = LstmRun {
            gates: Vec::with_capacity(steps),
            cells: vec![vec![T::zero(); batch * h]],
            hidden: vec![vec![T::zero(); batch * h]],
        };
        for t in 0..steps {
            let mut gates = product(&run.hidden[t], &weights.recurrent, h, 4 * h);
            let mut cell = run.cells[t].clone();
            let mut hidden = vec![T::zero(); batch * h];
            for b in 0..batch {
                let row = &mut gates[b * 4 * h..(b + 1) * 4 * h];
                let drive = &driven[(b * steps + t) * 4 * h..(b * steps + t + 1) * 4 * h];
                for (k, (g, &d)) in row.iter_mut().zip(drive).enumerate() {
                    let a = *g + d;
                    *g = if k / h == 2 { a.tanh() } else { sigmoid(a) };
                }
                let (ifc, o) = row.split_at(3 * h);
                let (i, fc) = ifc.split_at(h);
                let (f, candidate) = fc.split_at(h);
                for u in 0..h {
                    let c = &mut cell[b * h + u];
                    *c = f[u] * *c + i[u] * candidate[u];
                    hidden[b * h + u] = o[u] * c.tanh();
                }
            }
            run.gates.push(gates);
            run.cells.push(cell);
            run.hidden.push(hidden);
        }
        run
    }
}

impl<B: Backend> HostBaseline<B> for LstmNet<B> {
    fn float_type(&self) -> DType {
        self.w_recurrent.val().dtype()
    }

    fn host_bptt<T: Real>(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        truncate: Option<usize>,
    ) -> HandGradients<B> {
        let episodes = Episodes::<T>::of(inputs, Some(targets));
        let (h, neurons) = (self.config.hidden, episodes.neurons);
        let (batch, steps) = (episodes.batch, episodes.steps);
        let weights = self.host_weights::<T>();
        let run = self.host_run(&episodes, &weights);
        let outputs = episodes.outputs(&run.hidden[steps], h);
        let (loss, mut hidden_gradient) = episodes.loss(&outputs, h);
        let mut cell_gradient = vec![T::zero(); batch * h];
        let first = episodes.kept_steps(truncate);
        // ∂L/∂(gate pre-activations) for the kept steps, first step first.
        let mut deltas = vec![Vec::new(); steps - first];
        for t in (first..steps).rev() {
            let gates = &run.gates[t];
            let mut delta = vec![T::zero(); batch * 4 * h];
            for b in 0..batch {
                let row = &gates[b * 4 * h..(b + 1) * 4 * h];
                let (i, f, candidate, o) =
                    (&row[..h], &row[h..2 * h], &row[2 * h..3 * h], &row[3 * h..]);
                let d = &mut delta[b * 4 * h..(b + 1) * 4 * h];
                for u in 0..h {
                    let k = b * h + u;
                    let squashed = run.cells[t + 1][k].tanh();
                    let dh = hidden_gradient[k];
                    let dc = cell_gradient[k] + dh * o[u] * (T::one() - squashed * squashed);
                    d[u] = dc * candidate[u] * i[u] * (T::one() - i[u]);
                    d[h + u] = dc * run.cells[t][k] * f[u] * (T::one() - f[u]);
                    d[2 * h + u] = dc * i[u] * (T::one() - candidate[u] * candidate[u]);
                    d[3 * h + u] = dh * squashed * o[u] * (T::one() - o[u]);
                    cell_gradient[k] = dc * f[u];
                }
            }
            if t > first {
                hidden_gradient = product_transposed(&delta, &weights.recurrent, 4 * h);
            }
            deltas[t - first] = delta;
        }
        // The kept steps' inputs, rows in the deltas' order (step, then episode).
        let mut kept_inputs = Vec::with_capacity((steps - first) * batch * neurons);
        let mut kept_deltas = Vec::with_capacity((steps - first) * batch * 4 * h);
        let mut kept_hidden = Vec::with_capacity((steps - first) * batch * h);
        for t in first..steps {
            for b in 0..batch {
                kept_inputs.extend_from_slice(episodes.input(b, t));
            }
            kept_deltas.extend_from_slice(&deltas[t - first]);
            kept_hidden.extend_from_slice(&run.hidden[t]);
        }
        let recurrent_gradient = transposed_product(&kept_hidden, &kept_deltas, h, 4 * h);
        let mut input_gradient = transposed_product(&kept_inputs, &kept_deltas, neurons, 4 * h);
        let mut bias_gradient = column_sums(&kept_deltas, 4 * h);
        // The clamped entries are constants: no gradient reaches their parameters.
        if let Some(clamp) = &weights.clamp {
            for (g, &keep) in input_gradient.iter_mut().zip(&clamp.keep_w) {
                *g = *g * T::from(keep).expect("a mask entry is a float");
            }
            for (g, &keep) in bias_gradient.iter_mut().zip(&clamp.keep_b) {
                *g = *g * T::from(keep).expect("a mask entry is a float");
            }
        }
        let device = self.w_recurrent.device();
        let mut gradients = GradientsParams::new();
        gradients.register(
            self.w_recurrent.id,
            tensor_from_host::<B, 2, T>(recurrent_gradient, [h, 4 * h], &device),
        );
        gradients.register(
            self.w_input.id,
            tensor_from_host::<B, 2, T>(input_gradient, [neurons, 4 * h], &device),
        );
        gradients.register(
            self.bias.id,
            tensor_from_host::<B, 1, T>(bias_gradient, [4 * h], &device),
        );
        episodes.hand_gradients(loss, outputs, gradients, &device)
    }

    /// The last step's outputs on the host kernels.
    fn host_outputs<T: Real>(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        let episodes = Episodes::<T>::of(inputs, None);
        let run = self.host_run(&episodes, &self.host_weights::<T>());
        let outputs = episodes.outputs(&run.hidden[episodes.steps], self.config.hidden);
        tensor_from_host(
            outputs,
            [episodes.batch, episodes.neurons],
            &self.w_recurrent.device(),
        )
    }
}

/// A baseline with host kernels in either float type; the choice of type is made once, here.
pub(super) trait HostBaseline<B: Backend>: PatternNet<B> {
    /// The float type of the network's parameters.
    fn float_type(&self) -> DType;

    fn host_bptt<T: Real>(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        truncate: Option<usize>,
    ) -> HandGradients<B>;

    fn host_outputs<T: Real>(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2>;
}

impl<B: Backend, N: HostBaseline<B>> HandBptt<B> for N {
    fn hand_bptt(
        &self,
        inputs: Tensor<B, 3>,
        targets: Tensor<B, 2>,
        truncate: Option<usize>,
    ) -> HandGradients<B> {
        match self.float_type() {
            DType::F64 => self.host_bptt::<f64>(inputs, targets, truncate),
            _ => self.host_bptt::<f32>(inputs, targets, truncate),
        }
    }
}

/// The last step's outputs of `net` on `kernels`, in the backend's float type.
pub(super) fn outputs_on<B: Backend, N: HostBaseline<B>>(
    net: &N,
    inputs: Tensor<B, 3>,
    kernels: Kernels,
) -> Tensor<B, 2> {
    match (kernels, net.float_type()) {
        (Kernels::Tensor, _) => net.last_outputs(inputs, None),
        (Kernels::Host, DType::F64) => net.host_outputs::<f64>(inputs),
        (Kernels::Host, _) => net.host_outputs::<f32>(inputs),
    }
}
