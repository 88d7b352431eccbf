//! The episode loop every model trains through: draw an episode, forward, backward, Adam
//! step, log, checkpoint. Models supply only "run one episode and give me its loss".

pub mod feedback_alignment;
pub mod hebbian_ff;
pub mod learned_rule;
pub mod plastic_rnn;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::bail;
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{RunDir, RunState, METRICS_FILE};
use crate::config::TrainConfig;
use crate::metrics::{EpisodeMetrics, MetricsLog};

/// The optimizer every model trains with.
pub type AdamOptimizer<M, B> = OptimizerAdaptor<Adam, M, B>;

pub fn adam<B: AutodiffBackend, M: AutodiffModule<B>>() -> AdamOptimizer<M, B> {
    AdamConfig::new().init()
}

/// The loss of one episode and the figures worth logging beside it.
pub struct EpisodeOutcome<B: AutodiffBackend> {
    /// Scalar loss, `[1]`: attached to the graph unless `gradients` is given.
    pub loss: Tensor<B, 1>,
    /// Gradients the model computed itself (e.g. forward in time); `None`: backpropagate
    /// `loss`.
    pub gradients: Option<GradientsParams>,
    /// Model-specific metrics (errors, learned constants).
    pub values: BTreeMap<String, f64>,
}

/// Training diverged: the loss or a parameter is no longer a finite number.
#[derive(Debug, thiserror::Error)]
#[error("training diverged at episode {episode} ({what} is not finite); the last good checkpoint (episode {kept}) is kept in {dir}")]
pub struct Diverged {
    pub episode: usize,
    pub what: &'static str,
    pub kept: usize,
    pub dir: String,
}

/// One Adam step: on `gradients` when the model computed them itself, else on the
/// gradients of `loss` by backpropagation.
pub fn optimizer_step<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: M,
    optim: &mut AdamOptimizer<M, B>,
    learning_rate: f64,
    loss: Tensor<B, 1>,
    gradients: Option<GradientsParams>,
) -> M {
    let gradients =
        gradients.unwrap_or_else(|| GradientsParams::from_grads(loss.backward(), &model));
    optim.step(learning_rate, model, gradients)
}

/// Runs episodes until `train.episodes`, starting from `state`, checkpointing as it goes.
/// A fresh run (episode 0) is checkpointed before its first step, so a divergence always
/// leaves a loadable checkpoint behind.
pub fn train_loop<B, M, F>(
    run: &RunDir,
    mut model: M,
    mut optim: AdamOptimizer<M, B>,
    mut state: RunState,
    train: &TrainConfig,
    mut episode: F,
) -> anyhow::Result<(M, RunState)>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    F: FnMut(&M, &mut ChaCha8Rng) -> anyhow::Result<EpisodeOutcome<B>>,
{
    let log = MetricsLog::new(run.file(METRICS_FILE));
    log.truncate_after(state.episode)?;
    let mut last_saved = state.episode;
    if state.episode == 0 {
        run.save_checkpoint(&model, &optim, &state)?;
    }
    let bar = progress_bar(train.episodes as u64, state.episode as u64);
    let diverged = |episode, what, kept| Diverged {
        episode,
        what,
        kept,
        dir: run.path.display().to_string(),
    };
    while state.episode < train.episodes {
        let EpisodeOutcome {
            loss,
            gradients,
            values,
        } = episode(&model, &mut state.rng)?;
        let loss_value = loss.clone().into_scalar().elem::<f64>();
        let number = state.episode + 1;
        if !loss_value.is_finite() {
            bar.abandon();
            return Err(diverged(number, "the loss", last_saved).into());
        }
        model = optimizer_step(model, &mut optim, train.learning_rate, loss, gradients);
        state.episode = number;
        let metrics = EpisodeMetrics {
            episode: number,
            loss: loss_value,
            values,
        };
        log.append(&metrics)?;
        bar.set_position(number as u64);
        bar.set_message(summary(&metrics));
        state.last_metrics = Some(metrics);
        if number % train.checkpoint_every == 0 || number == train.episodes {
            if !parameters_are_finite(&model) {
                bar.abandon();
                return Err(diverged(number, "a parameter", last_saved).into());
            }
            run.save_checkpoint(&model, &optim, &state)?;
            last_saved = number;
        }
    }
    bar.finish();
    Ok((model, state))
}

/// `loss 0.123 sign_error 0.045 …`, for the progress bar and summaries.
pub fn summary(metrics: &EpisodeMetrics) -> String {
    let mut text = format!("loss {:.4}", metrics.loss);
    for (name, value) in &metrics.values {
        text.push_str(&format!(" {name} {value:.4}"));
    }
    text
}

/// The progress bar of every long job: elapsed, bar, count, time left, a message.
pub fn progress_bar(total: u64, position: u64) -> ProgressBar {
    let bar = ProgressBar::new(total).with_position(position);
    let style =
        ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} eta {eta} {msg}")
            .expect("the progress template is valid")
            .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

struct FiniteCheck {
    finite: bool,
}

impl<B: burn::tensor::backend::Backend> ModuleVisitor<B> for FiniteCheck {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        // A sum is finite only if every term is: one reduction instead of a host copy.
        let total = param.val().sum().into_scalar().elem::<f64>();
        self.finite &= total.is_finite();
    }
}

/// Whether every float parameter of `model` is a finite number.
pub fn parameters_are_finite<B: burn::tensor::backend::Backend, M: Module<B>>(model: &M) -> bool {
    let mut check = FiniteCheck { finite: true };
    model.visit(&mut check);
    check.finite
}

/// A tensor's values on the host, as `f32`.
pub fn host_values<B: burn::tensor::backend::Backend, const D: usize>(
    tensor: Tensor<B, D>,
) -> anyhow::Result<Vec<f32>> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("cannot read a tensor back from the device: {e:?}"))
}

/// Refuses to start a run whose episodes are already done.
pub fn ensure_work_left(state: &RunState, train: &TrainConfig) -> anyhow::Result<()> {
    if state.episode >= train.episodes {
        bail!(
            "the run has already completed {} of {} episodes: pass a larger --episodes to continue it",
            state.episode,
            train.episodes
        );
    }
    Ok(())
}
