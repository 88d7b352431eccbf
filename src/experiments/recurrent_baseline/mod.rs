//! `rnn` and `lstm`: non-plastic recurrent baselines on the pattern tasks of `plastic-rnn`,
//! trained by BPTT on the same episodes, loss and metrics.

pub mod config;
mod flags;

use std::marker::PhantomData;
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::{HandBptt, LstmNet, LstmNetConfig, PatternNet, RnnNet, RnnNetConfig};
use plastic_tasks::PATTERN_PRESETS;

pub use config::{BaselineRun, NetworkConfig};
pub use flags::{LstmFlags, RnnFlags};

use crate::checkpoint::{Checkpoint, RunState};
use crate::experiment::{saved_network, Experiment, Report};
use crate::experiments::shared::episode_rng;
use crate::experiments::shared::pattern::{
    bptt_episode, evaluate, trained_text, write_learning_curve, EvalScore, PatternEval,
    PATTERN_HEADLINE, PATTERN_RESUMABLE,
};
use crate::memory::floats;
use crate::trainer::{GradientSteps, Schedule, Trainer};

/// One kind of baseline network.
pub trait Baseline: 'static {
    const NAME: &'static str;
    const ABOUT: &'static str;
    type Config: NetworkConfig + Send + Sync;
    /// The network a checkpoint holds.
    type Network<B: Backend>: Module<B> + HandBptt<B>;

    /// A fresh network of `run`.
    fn network<B: Backend>(run: &BaselineRun<Self::Config>, device: &B::Device)
        -> Self::Network<B>;

    /// Trains `run` (see [`train_network`]).
    fn train_on<B: AutodiffBackend>(
        run: &BaselineRun<Self::Config>,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report>;
}

/// The recurrent net of tanh units without plasticity.
pub struct Rnn;

/// The LSTM.
pub struct Lstm;

/// Implements [`Baseline`] for `$kind`, whose network `$network<B>` its `$config` builds.
/// A macro rather than a generic impl: the bounds `train_network` needs of the network
/// (`AutodiffModule<B>` whose inner module is a `PatternNet`) hold for each concrete network
/// but cannot be stated once for the associated type of every backend.
macro_rules! baseline {
    ($kind:ty, $name:literal, $about:literal, $config:ty, $network:ident) => {
        impl Baseline for $kind {
            const NAME: &'static str = $name;
            const ABOUT: &'static str = $about;
            type Config = $config;
            type Network<B: Backend> = $network<B>;

            fn network<B: Backend>(run: &BaselineRun<$config>, device: &B::Device) -> $network<B> {
                run.model.init(run.train.seed, device)
            }

            fn train_on<B: AutodiffBackend>(
                run: &BaselineRun<$config>,
                trainer: Trainer,
                device: &B::Device,
            ) -> anyhow::Result<Report> {
                let fresh = Self::network::<B>(run, device);
                train_network::<B, _, Self>(run, fresh, trainer, device)
            }
        }
    };
}

baseline!(
    Rnn,
    "rnn",
    "non-plastic recurrent net (tanh units) on the pattern tasks, trained by BPTT",
    RnnNetConfig,
    RnnNet
);
baseline!(
    Lstm,
    "lstm",
    "LSTM (optionally with input-clamped units) on the pattern tasks, trained by BPTT",
    LstmNetConfig,
    LstmNet
);

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
        let episodes = options.checked_episodes()?;
        let net = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let score = evaluate(&net, &run.task, episodes, device)?;
        Ok(report::<K>(run, &score).text(score.to_string()))
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
    N::InnerModule: HandBptt<B::InnerBackend>,
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
    let title = format!("{} ({})", K::NAME, run.preset);
    let text = trained_text(&title, start, &state, seconds, "", dir, &score);
    Ok(report::<K>(run, &score).text(text).seconds(seconds))
}

fn report<K: Baseline>(run: &BaselineRun<K::Config>, score: &EvalScore) -> Report {
    score.add_to(Report::new(K::NAME, &run.preset))
}
