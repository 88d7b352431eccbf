//! `rnn` and `lstm`: non-plastic recurrent baselines on the pattern tasks of `plastic-rnn`,
//! trained by BPTT on the same episodes, loss and metrics.

pub mod config;
mod flags;

use std::marker::PhantomData;
use std::time::Instant;

use anyhow::bail;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::{LstmNet, LstmNetConfig, PatternNet, RnnNet, RnnNetConfig};
use plastic_tasks::PATTERN_PRESETS;

pub use config::{BaselineRun, NetworkConfig};
pub use flags::{BaselineFlags, LstmFlags, RnnFlags};

use crate::checkpoint::{Checkpoint, RunState, MODEL_FILE};
use crate::experiment::{Experiment, Report};
use crate::experiments::shared::episode_rng;
use crate::experiments::shared::pattern::{
    bptt_episode, evaluate, write_learning_curve, EvalScore, PatternEval, PATTERN_HEADLINE,
    PATTERN_RESUMABLE,
};
use crate::memory::floats;
use crate::trainer::{summary, GradientSteps, Schedule, Trainer};

/// One kind of baseline network.
pub trait Baseline: 'static {
    const NAME: &'static str;
    const ABOUT: &'static str;
    type Config: NetworkConfig + Send + Sync;
    /// The network a checkpoint holds.
    type Network<B: Backend>: Module<B>;

    /// A fresh network of `run`.
    fn network<B: Backend>(run: &BaselineRun<Self::Config>, device: &B::Device)
        -> Self::Network<B>;

    /// Trains `run` (see [`train_network`]).
    fn train_on<B: AutodiffBackend>(
        run: &BaselineRun<Self::Config>,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report>;

    /// Evaluates a checkpoint of `run` (see [`eval_network`]).
    fn eval_on<B: AutodiffBackend>(
        run: &BaselineRun<Self::Config>,
        checkpoint: &Checkpoint,
        episodes: usize,
        device: &B::Device,
    ) -> anyhow::Result<Report>;
}

/// The recurrent net of tanh units without plasticity.
pub struct Rnn;

/// The LSTM.
pub struct Lstm;

impl Baseline for Rnn {
    const NAME: &'static str = "rnn";
    const ABOUT: &'static str =
        "non-plastic recurrent net (tanh units) on the pattern tasks, trained by BPTT";
    type Config = RnnNetConfig;
    type Network<B: Backend> = RnnNet<B>;

    fn network<B: Backend>(run: &BaselineRun<RnnNetConfig>, device: &B::Device) -> RnnNet<B> {
        run.model.init(run.train.seed, device)
    }

    fn train_on<B: AutodiffBackend>(
        run: &BaselineRun<RnnNetConfig>,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        train_network::<B, _, Self>(run, Self::network::<B>(run, device), trainer, device)
    }

    fn eval_on<B: AutodiffBackend>(
        run: &BaselineRun<RnnNetConfig>,
        checkpoint: &Checkpoint,
        episodes: usize,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        eval_network::<B, _, Self>(
            run,
            Self::network::<B>(run, device),
            checkpoint,
            episodes,
            device,
        )
    }
}

impl Baseline for Lstm {
    const NAME: &'static str = "lstm";
    const ABOUT: &'static str =
        "LSTM (optionally with input-clamped units) on the pattern tasks, trained by BPTT";
    type Config = LstmNetConfig;
    type Network<B: Backend> = LstmNet<B>;

    fn network<B: Backend>(run: &BaselineRun<LstmNetConfig>, device: &B::Device) -> LstmNet<B> {
        run.model.init(run.train.seed, device)
    }

    fn train_on<B: AutodiffBackend>(
        run: &BaselineRun<LstmNetConfig>,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        train_network::<B, _, Self>(run, Self::network::<B>(run, device), trainer, device)
    }

    fn eval_on<B: AutodiffBackend>(
        run: &BaselineRun<LstmNetConfig>,
        checkpoint: &Checkpoint,
        episodes: usize,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        eval_network::<B, _, Self>(
            run,
            Self::network::<B>(run, device),
            checkpoint,
            episodes,
            device,
        )
    }
}

/// A baseline as an experiment of the zoo.
pub struct BaselineExperiment<K>(PhantomData<K>);

impl<K: Baseline> Experiment for BaselineExperiment<K> {
    const NAME: &'static str = K::NAME;
    const ABOUT: &'static str = K::ABOUT;
    const HEADLINE: &'static [&'static str] = PATTERN_HEADLINE;
    const RESUMABLE: &'static [(&'static str, &'static str)] = PATTERN_RESUMABLE;
    const MEMORY_HINT: &'static str = "lower --hidden or --batch, or set --truncate";

    type Run = BaselineRun<K::Config>;
    type EvalOptions = PatternEval;
    type Network<B: Backend> = K::Network<B>;

    fn presets() -> Vec<(&'static str, String)> {
        PATTERN_PRESETS
            .iter()
            .filter_map(|&name| {
                let run = config::preset::<K::Config>(name).ok()?;
                let about = format!(
                    "{}; {} steps, learning rate {}",
                    run.model.describe(),
                    run.task.steps(),
                    run.train.optimizer.learning_rate
                );
                Some((name, about))
            })
            .collect()
    }

    fn preset(name: &str) -> anyhow::Result<Self::Run> {
        config::preset(name)
    }

    fn validate(run: &Self::Run) -> anyhow::Result<()> {
        config::validate(run)
    }

    fn run_name(run: &Self::Run) -> String {
        format!("{}-seed{}", run.preset, run.train.seed)
    }

    fn schedule(run: &Self::Run) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.train.episodes,
            checkpoint_every: run.train.checkpoint_every,
        })
    }

    fn memory_needed(run: &Self::Run) -> u64 {
        floats(run.model.floats_needed(run.train.batch, run.task.steps()))
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<K::Network<B>> {
        Ok(K::network::<B>(run, device))
    }

    fn train<B: AutodiffBackend>(
        run: &Self::Run,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        K::train_on::<B>(run, trainer, device)
    }

    fn eval<B: AutodiffBackend>(
        run: &Self::Run,
        checkpoint: &Checkpoint,
        options: &PatternEval,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        if options.episodes == 0 {
            bail!("eval needs at least 1 episode");
        }
        K::eval_on::<B>(run, checkpoint, options.episodes, device)
    }
}

/// Trains `net` on the run's episodes by BPTT into Adam, then evaluates it.
fn train_network<B, N, K>(
    run: &BaselineRun<K::Config>,
    net: N,
    trainer: Trainer,
    device: &B::Device,
) -> anyhow::Result<Report>
where
    B: AutodiffBackend,
    N: AutodiffModule<B> + PatternNet<B>,
    N::InnerModule: PatternNet<B::InnerBackend>,
    K: Baseline,
{
    let started = Instant::now();
    let start = trainer.start_step();
    let (task, batch, truncate) = (run.task.clone(), run.train.batch, run.truncate);
    let mut learner = GradientSteps::new(
        net,
        &run.train.optimizer,
        |net: &N, rng: &mut _| bptt_episode(net, truncate, &task, batch, rng, device),
        device,
    );
    let state = trainer.fit(&mut learner, episode_rng(run.train.seed))?;
    let seconds = started.elapsed().as_secs_f64();
    let net = learner.into_model().valid();
    let dir = trainer.run_dir();
    write_learning_curve(dir)?;
    let score = evaluate(&net, &run.task, run.eval_episodes, device)?;
    let last = state.last_metrics.as_ref().map(summary).unwrap_or_default();
    let text = format!(
        "{} ({}): episodes {start}..{} in {seconds:.1} s; last episode: {last}\ncheckpoint: {}\n{score}",
        K::NAME,
        run.preset,
        state.step,
        dir.path.display()
    );
    Ok(report::<K>(run, &score).text(text).seconds(seconds))
}

/// Evaluates the weights of `checkpoint`, loaded into `fresh` (checked against its shapes).
fn eval_network<B, N, K>(
    run: &BaselineRun<K::Config>,
    fresh: N,
    checkpoint: &Checkpoint,
    episodes: usize,
    device: &B::Device,
) -> anyhow::Result<Report>
where
    B: AutodiffBackend,
    N: AutodiffModule<B> + PatternNet<B>,
    N::InnerModule: PatternNet<B::InnerBackend>,
    K: Baseline,
{
    let net = checkpoint.load_module_checked(MODEL_FILE, fresh, device)?;
    let score = evaluate(&net.valid(), &run.task, episodes, device)?;
    Ok(report::<K>(run, &score).text(score.to_string()))
}

fn report<K: Baseline>(run: &BaselineRun<K::Config>, score: &EvalScore) -> Report {
    Report::new(K::NAME, &run.preset)
        .metric("eval_episodes", score.episodes as f64)
        .metric("loss", score.loss)
        .metric("sum_abs_error", score.sum_abs_error)
        .metric("sign_error", score.sign_error)
        .metric("degraded_sign_error", score.degraded_sign_error)
}
