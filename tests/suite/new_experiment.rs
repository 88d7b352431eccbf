//! A model added the way the README's "Adding a model" describes, here in a test file: an
//! [`Experiment`] implementation, its flags, and one entry beside the zoo's own. Through the
//! real command line (`list`, `train <model> --help`, `train`, `eval`, `--resume`) it trains
//! through the one trainer, writes verified checkpoints, is evaluated from them and resumes
//! bit-identically, with none of that written for it.
#![cfg(feature = "ndarray")]

use std::collections::BTreeMap;
use std::fs;

use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use plastic_zoo::checkpoint::{Checkpoint, RunDir, RunState};
use plastic_zoo::cli;
use plastic_zoo::experiment::{saved_network, Experiment, NoOptions, Report};
use plastic_zoo::experiments;
use plastic_zoo::flags::{entry, overlay_of, CommandLine, Entry, NoEvalFlags, TrainFlags};
use plastic_zoo::metrics::EpisodeMetrics;
use plastic_zoo::trainer::{LocalSteps, LocalUpdate, Schedule, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// One synapse that tracks the mean of noisy samples: `w ← w + η (x − w)`.
#[derive(Module, Debug)]
struct Estimate<B: Backend> {
    w: Param<Tensor<B, 1>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MeanRun {
    mean: f64,
    learning_rate: f64,
    steps: usize,
    seed: u64,
    checkpoint_every: usize,
}

struct RunningMean;

/// `train running-mean`'s flags: each serialises to its field of the run.
#[derive(Debug, clap::Args, Serialize)]
struct MeanFlags {
    /// Samples to learn from
    #[arg(long)]
    steps: Option<usize>,
    /// η of w ← w + η (x − w)
    #[arg(long)]
    learning_rate: Option<f64>,
}

impl TrainFlags for MeanFlags {
    fn overlay(&self) -> anyhow::Result<serde_json::Value> {
        overlay_of(self)
    }
}

impl CommandLine for RunningMean {
    type Flags = MeanFlags;
    type EvalFlags = NoEvalFlags;
}

struct Tracker<B: Backend> {
    estimate: Estimate<B>,
    run: MeanRun,
    device: B::Device,
}

impl<B: Backend> LocalUpdate for Tracker<B> {
    type Backend = B;
    type Network = Estimate<B>;

    fn update(&mut self, step: usize, rng: &mut ChaCha8Rng) -> anyhow::Result<Vec<EpisodeMetrics>> {
        let noise: f64 = StandardNormal.sample(rng);
        let w = self.estimate.w.val();
        let moved = w.clone()
            + (w.neg().add_scalar(self.run.mean + noise)).mul_scalar(self.run.learning_rate);
        self.estimate.w = Param::from_tensor(moved);
        let error = error(&self.estimate, self.run.mean);
        Ok(vec![EpisodeMetrics {
            episode: step,
            loss: error * error,
            values: BTreeMap::from([("error".to_string(), error)]),
        }])
    }

    fn network(&self) -> Estimate<B> {
        self.estimate.clone()
    }

    fn set_network(&mut self, network: Estimate<B>) {
        self.estimate = network;
    }

    fn device(&self) -> B::Device {
        self.device.clone()
    }
}

fn error<B: Backend>(estimate: &Estimate<B>, mean: f64) -> f64 {
    (estimate.w.val().into_scalar().elem::<f64>() - mean).abs()
}

fn fresh<B: Backend>(device: &B::Device) -> Estimate<B> {
    Estimate {
        w: Param::from_tensor(Tensor::zeros([1], device)),
    }
}

impl Experiment for RunningMean {
    const NAME: &'static str = "running-mean";
    const ABOUT: &'static str = "one synapse tracking the mean of noisy samples";
    const HEADLINE: &'static [&'static str] = &["error"];
    const RESUMABLE: &'static [(&'static str, &'static str)] = &[("/steps", "--steps")];
    const MEMORY_HINT: &'static str = "there is nothing to lower";

    type Run = MeanRun;
    type EvalOptions = NoOptions;
    type Network<B: Backend> = Estimate<B>;

    fn presets() -> Vec<(&'static str, String)> {
        vec![("default", "mean 3, η 0.05".into())]
    }

    fn preset(_name: &str) -> anyhow::Result<MeanRun> {
        Ok(MeanRun {
            mean: 3.0,
            learning_rate: 0.05,
            steps: 200,
            seed: 0,
            checkpoint_every: 30,
        })
    }

    fn validate(run: &MeanRun) -> anyhow::Result<()> {
        anyhow::ensure!(
            run.learning_rate > 0.0 && run.learning_rate <= 1.0,
            "the learning rate must lie in (0, 1]"
        );
        Ok(())
    }

    fn run_name(run: &MeanRun) -> String {
        format!("mean-seed{}", run.seed)
    }

    fn schedule(run: &MeanRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.steps,
            checkpoint_every: run.checkpoint_every,
        })
    }

    fn memory_needed(_run: &MeanRun) -> u64 {
        4
    }

    fn network<B: Backend>(
        _run: &MeanRun,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Estimate<B>> {
        Ok(fresh(device))
    }

    fn train<B: AutodiffBackend>(
        run: &MeanRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let mut learner = LocalSteps(Tracker::<B::InnerBackend> {
            estimate: fresh(device),
            run: run.clone(),
            device: device.clone(),
        });
        trainer.fit(&mut learner, ChaCha8Rng::seed_from_u64(run.seed))?;
        let error = error(&learner.0.estimate, run.mean);
        Ok(Report::new(Self::NAME, "mean")
            .metric("error", error)
            .text(format!("error {error}")))
    }

    fn eval<B: AutodiffBackend>(
        run: &MeanRun,
        checkpoint: &Checkpoint,
        _options: &NoOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let estimate = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let error = error(&estimate, run.mean);
        Ok(Report::new(Self::NAME, "mean")
            .metric("error", error)
            .text(format!("error {error}")))
    }
}

/// The zoo's models and this one, as a program that adds a model would list them.
fn entries() -> Vec<Box<dyn Entry>> {
    let mut entries = experiments::all();
    entries.push(entry::<RunningMean>());
    entries
}

/// Runs `args` through the command line of the zoo with this model added; what `--json`
/// would print.
fn command(args: &[&str]) -> anyhow::Result<Option<serde_json::Value>> {
    let entries = entries();
    let parsed = cli::parse(
        std::iter::once("plastic-zoo").chain(args.iter().copied()),
        &entries,
    )?;
    cli::run_with(parsed, &entries)
}

/// The report a finished run keeps in its `report.json`.
fn report_of(run: &std::path::Path) -> serde_json::Value {
    let finished: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    finished["report"].clone()
}

#[test]
fn a_model_added_as_an_experiment_trains_saves_evaluates_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();

    // It is listed, and its flags are on its own --help.
    assert!(cli::list_lines(&entries())
        .iter()
        .any(|line| line.contains("running-mean") && line.contains("one synapse")));
    command(&["list"]).unwrap();
    let help = cli::parse(
        ["plastic-zoo", "train", "running-mean", "--help"],
        &entries(),
    )
    .unwrap_err();
    assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    let help = help.render().to_string();
    for flag in [
        "--steps",
        "--learning-rate",
        "--resume",
        "--out",
        "--config",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }

    let trained = command(&["train", "running-mean", "--steps", "200", "--out", out])
        .unwrap()
        .unwrap();
    let run = tmp.path().join("running-mean/mean-seed0");
    let error = trained["metrics"]["error"].as_f64().unwrap();
    assert_eq!(report_of(&run)["metrics"]["error"].as_f64(), Some(error));
    assert!(
        error < 0.5,
        "the estimate should be near the mean: error {error}"
    );
    let metrics = fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 200);
    let (_, checkpoint) = RunDir::open(&run).unwrap();
    assert_eq!(checkpoint.step(), 200);

    // eval reads the model from the checkpoint and gives the same figure.
    let evaluated = command(&["eval", run.to_str().unwrap()]).unwrap().unwrap();
    assert_eq!(evaluated["metrics"]["error"].as_f64().unwrap(), error);

    // Resumed from the checkpoint before the last: the same metrics, to the byte.
    let earlier = run.join("checkpoint-000000180");
    command(&[
        "train",
        "running-mean",
        "--resume",
        earlier.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(
        fs::read_to_string(run.join("metrics.jsonl")).unwrap(),
        metrics
    );
    assert_eq!(report_of(&run)["metrics"]["error"].as_f64().unwrap(), error);

    // Its configuration is validated like any other model's, and its flags parsed as any.
    let refused = command(&[
        "train",
        "running-mean",
        "--learning-rate",
        "2",
        "--out",
        out,
    ]);
    assert!(format!("{:#}", refused.unwrap_err()).contains("learning rate"));
    assert!(command(&["train", "running-mean", "--bogus", "--out", out]).is_err());
}
