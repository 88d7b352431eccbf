//! `cue-reward`: Backpropamine's cue–reward association task, played by an actor-critic
//! agent whose recurrent core is plastic (plain, simply or retroactively modulated) or a
//! non-plastic RNN, meta-trained across episodes by advantage actor-critic (A2C); all
//! learning within an episode is the core's own.

pub mod config;
pub mod episode;
mod flags;
mod summary;

use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::PlasticAgent;
use serde::{Deserialize, Serialize};

pub use config::{AgentNetwork, CueRewardRun, CUE_REWARD_PRESETS};
pub use flags::CueRewardFlags;

use crate::checkpoint::{Checkpoint, RunState};
use crate::experiment::{saved_network, Experiment, Finished, Report};
use crate::experiments::shared::pattern::PATTERN_RESUMABLE;
use crate::experiments::shared::{episode_rng, write_curve_of};
use crate::memory::floats;
use crate::trainer::{summary, GradientSteps, Schedule, Trainer};
use episode::{a2c_episode, evaluate, RewardScore};

/// The cue–reward task with a plastic or non-plastic agent.
pub struct CueRewardExperiment;

/// Options of `eval` on a cue-reward checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueRewardEval {
    /// Evaluation episodes, drawn from a fixed seed [default: the run's].
    pub episodes: Option<usize>,
}

impl Experiment for CueRewardExperiment {
    const NAME: &'static str = "cue-reward";
    const ABOUT: &'static str =
        "cue-reward association (Backpropamine): plastic or modulated RNN agent trained by A2C";
    const HEADLINE: &'static [&'static str] = &["reward", "right_answers"];
    const RESUMABLE: &'static [(&'static str, &'static str)] = PATTERN_RESUMABLE;
    const MEMORY_HINT: &'static str = "lower --hidden, --batch or --steps";

    type Run = CueRewardRun;
    type EvalOptions = CueRewardEval;
    type Network<B: Backend> = PlasticAgent<B>;

    fn presets() -> Vec<(&'static str, String)> {
        CUE_REWARD_PRESETS
            .iter()
            .map(|&name| {
                let run = config::preset(name).expect("listed presets exist");
                let about = format!(
                    "{}; {} cues, {}-step episodes",
                    run.network.describe(&run.task),
                    run.task.cues,
                    run.task.steps
                );
                (name, about)
            })
            .collect()
    }

    fn preset(name: &str) -> anyhow::Result<CueRewardRun> {
        config::preset(name)
    }

    fn validate(run: &CueRewardRun) -> anyhow::Result<()> {
        config::validate(run)
    }

    fn run_name(run: &CueRewardRun) -> String {
        format!("{}-seed{}", run.network.name(), run.train.seed)
    }

    fn schedule(run: &CueRewardRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.train.episodes,
            checkpoint_every: run.train.checkpoint_every,
        })
    }

    /// BPTT keeps a few `[batch, hidden, hidden]` tensors per step (trace, eligibility
    /// trace, the effective weights) and the activities; parameters carry a gradient and
    /// two Adam moments.
    fn memory_needed(run: &CueRewardRun) -> u64 {
        let n = run.network.units(&run.task) as u128;
        let batch = run.train.batch as u128;
        let steps = run.task.steps as u128;
        let per_step = match run.network.core {
            config::Core::Plastic => 4 * batch * n * n,
            config::Core::Rnn => 0,
        } + 8 * batch * n;
        let parameters = run.network.agent_config(&run.task).parameter_count() as u128;
        floats(steps * per_step + 4 * parameters)
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        Ok(run
            .network
            .agent_config(&run.task)
            .init::<B>(run.train.seed, device))
    }

    fn train<B: AutodiffBackend>(
        run: &CueRewardRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        let start = trainer.start_step();
        let agent = run
            .network
            .agent_config(&run.task)
            .init::<B>(run.train.seed, device);
        let (task, a2c, batch) = (&run.task, &run.a2c, run.train.batch);
        let mut learner = GradientSteps::new(
            agent,
            &run.train.optimizer,
            |agent: &PlasticAgent<B>, rng: &mut _| a2c_episode(agent, task, a2c, batch, rng),
            device,
        );
        let state = trainer.fit(&mut learner, episode_rng(run.train.seed))?;
        let seconds = started.elapsed().as_secs_f64();
        let agent = learner.into_model().valid();
        let dir = trainer.run_dir();
        write_curve_of(
            dir,
            &["reward", "right_answers"],
            "update (one batch of episodes)",
        )?;
        let score = evaluate(&agent, &run.task, run.eval_episodes)?;
        let last = state.last_metrics.as_ref().map(summary).unwrap_or_default();
        let text = format!(
            "{} ({}, {}): episodes {start}..{} in {seconds:.1} s; last batch: {last}\ncheckpoint: {}\n{score}",
            Self::NAME,
            run.preset,
            run.network.describe(&run.task),
            state.step,
            dir.path.display()
        );
        Ok(report(run, &score).text(text).seconds(seconds))
    }

    fn summarise(runs: &[Finished<Self>], dir: &Path) -> anyhow::Result<Option<String>> {
        let path = dir.join("comparison.png");
        summary::write_comparison(runs, &path)?;
        let table = summary::table(runs);
        crate::util::write_atomically(&dir.join("summary.md"), table.as_bytes())?;
        Ok(Some(format!("{table}learning curves: {}", path.display())))
    }

    fn eval<B: AutodiffBackend>(
        run: &CueRewardRun,
        checkpoint: &Checkpoint,
        options: &CueRewardEval,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let episodes = options.episodes.unwrap_or(run.eval_episodes);
        if episodes == 0 {
            bail!("eval needs at least 1 episode");
        }
        let agent = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let score = evaluate(&agent, &run.task, episodes)?;
        Ok(report(run, &score).text(score.to_string()))
    }
}

fn report(run: &CueRewardRun, score: &RewardScore) -> Report {
    Report::new(CueRewardExperiment::NAME, &run.preset)
        .metric("eval_episodes", score.episodes as f64)
        .metric("reward", score.reward)
        .metric("right_answers", score.right_answers)
        .metric(
            "parameters",
            run.network.agent_config(&run.task).parameter_count() as f64,
        )
}
