//! `hebbian-ff`: feed-forward nets trained by local rules only, many seeded replications
//! side by side, scored by how many learn the task; the seed's table by the plan `plans/hebbian-ff-table.json`.

mod config;
mod flags;
mod sweep;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::SavedNetwork;
use plastic_tasks::TwoInputTask;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use config::HebbianFfRun;
pub use flags::HebbianFfFlags;

use crate::checkpoint::{Checkpoint, RunState, METRICS_FILE};
use crate::experiment::{saved_network, Experiment, Finished, NoOptions, Report};
use crate::experiments::shared::local_rules::{probe_outputs, FfTask, Replicas, Score};
use crate::memory::floats;
use crate::metrics::MetricsLog;
use crate::plot;
use crate::trainer::{LocalSteps, Schedule, Trainer};
use crate::util::host_values;

/// Feed-forward nets trained by a hand-written local rule.
pub struct HebbianFfExperiment;

impl Experiment for HebbianFfExperiment {
    const NAME: &'static str = "hebbian-ff";
    const ABOUT: &'static str = "feed-forward net trained by local rules: supervised, bounded, unsupervised, reward-modulated Hebbian, Oja, delta";
    const HEADLINE: &'static [&'static str] = &["success_rate"];
    const RESUMABLE: &'static [(&'static str, &'static str)] = &[
        ("/updates", "--updates"),
        ("/checkpoint_every", "--checkpoint-every"),
    ];
    const MEMORY_HINT: &'static str = "lower --replications or --hidden";

    type Run = HebbianFfRun;
    type EvalOptions = NoOptions;
    type Network<B: Backend> = SavedNetwork<B>;

    fn presets() -> Vec<(&'static str, String)> {
        vec![
            (
                "xor",
                "2-[100]-1 nets, supervised Hebbian, XOR (any two-input --task)".into(),
            ),
            (
                "pca",
                "one linear neuron, Oja's rule, correlated Gaussian data".into(),
            ),
        ]
    }

    fn preset(name: &str) -> anyhow::Result<HebbianFfRun> {
        config::preset(name)
    }

    fn implied_preset(flags: &serde_json::Value) -> Option<&'static str> {
        (flags["task"] == FfTask::PCA).then_some("pca")
    }

    fn validate(run: &HebbianFfRun) -> anyhow::Result<()> {
        run.validate()
    }

    fn run_name(run: &HebbianFfRun) -> String {
        let hidden: Vec<String> = run.hidden.iter().map(usize::to_string).collect();
        let hidden = if hidden.is_empty() {
            String::new()
        } else {
            format!("-h{}", hidden.join("x"))
        };
        format!(
            "{}-{}{hidden}-seed{}",
            run.task.name(),
            run.rule.name(),
            run.seed
        )
    }

    fn schedule(run: &HebbianFfRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.updates,
            checkpoint_every: run.checkpoint_every,
        })
    }

    /// Weights with their update and clamp temporaries, and every layer's activity at the
    /// probe inputs (25 for the linear maps).
    fn memory_needed(run: &HebbianFfRun) -> u64 {
        let shapes = run.network().layer_shapes();
        let weights: u128 = shapes.iter().map(|[o, i]| (o * i) as u128).sum();
        let units: u128 = shapes.iter().map(|[o, _]| *o as u128).sum::<u128>() + 2;
        floats(run.replications as u128 * (6 * weights + 30 * units))
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        Ok(SavedNetwork::empty(
            &run.network(),
            run.replications,
            device,
        ))
    }

    fn train<B: AutodiffBackend>(
        run: &HebbianFfRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        // Initial weights and examples come from one stream: a seed fixes the whole run.
        let mut rng = ChaCha8Rng::seed_from_u64(run.seed);
        let nets = Replicas::<B::InnerBackend>::new(
            &run.network(),
            run.replications,
            run.rule()?,
            run.data()?,
            run.score_every(),
            run.updates,
            &mut rng,
            device,
        )?;
        let mut learner = LocalSteps(nets);
        trainer.fit(&mut learner, rng)?;
        let seconds = started.elapsed().as_secs_f64();
        let nets = learner.0;
        let score = nets.score()?;
        let dir = trainer.run_dir();
        let curve = MetricsLog::new(dir.file(METRICS_FILE)).read()?;
        let (plot_name, panels): (&str, &[&str]) = match run.task {
            FfTask::TwoInput(_) => ("success_rate.png", &["success_rate", "loss"]),
            FfTask::Pca => ("cosine.png", &["mean_cosine", "min_cosine"]),
        };
        plot::learning_curve(&curve, panels, "update", &dir.file(plot_name))?;
        let text = format!(
            "{} {} on {}, hidden {}, {} replications × {} updates, lr {}: {score} ({seconds:.1} s)\ncheckpoint: {}; plot: {}",
            Self::NAME,
            run.rule_label(),
            run.task.name(),
            run.hidden_label(),
            run.replications,
            run.updates,
            run.learning_rate,
            dir.path.display(),
            dir.file(plot_name).display()
        );
        let initial = nets.initial.as_ref().map_or(f64::NAN, Score::rate);
        Ok(report(run, &score)
            .metric("initial_success_rate", initial)
            .text(text)
            .seconds(seconds))
    }

    fn eval<B: AutodiffBackend>(
        run: &HebbianFfRun,
        checkpoint: &Checkpoint,
        _options: &NoOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let config = run.network();
        let saved = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let network = saved.to_network(config.output_activation);
        let score = run.data()?.score(&network)?;
        let mut text = format!(
            "{} checkpoint ({} rule, {}, hidden {}, {} replications): {score}",
            Self::NAME,
            run.rule_label(),
            run.task.name(),
            run.hidden_label(),
            run.replications
        );
        if let FfTask::TwoInput(task @ TwoInputTask::Boolean(_)) = run.task {
            let last = run.replications - 1;
            let outputs = host_values(probe_outputs(&network.replication(last), &[task]))?;
            write!(text, "; replication {last}:")?;
            let probes = task.family().probe_inputs();
            for ((output, [a, b]), target) in outputs.iter().zip(probes).zip(task.probe_targets()) {
                write!(text, " ({a:+},{b:+})→{output:+.3} (target {target:+})")?;
            }
        }
        Ok(report(run, &score).text(text))
    }

    fn summarise(runs: &[Finished<Self>], dir: &Path) -> anyhow::Result<Option<String>> {
        sweep::summarise(runs, dir).map(Some)
    }
}

fn report(run: &HebbianFfRun, score: &Score) -> Report {
    let mut report = Report::new(HebbianFfExperiment::NAME, run.task.name())
        .metric("success_rate", score.rate())
        .metric("successes", score.successes as f64)
        .metric("replications", score.replications as f64);
    if let Some((min, mean)) = score.cosine {
        report = report.metric("min_cosine", min).metric("mean_cosine", mean);
    }
    report
}
