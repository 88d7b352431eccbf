//! A model added the way the README's "Adding a model" describes, here in a test file: an
//! [`Experiment`] implementation and nothing else. It trains through the one trainer, writes
//! verified checkpoints, is evaluated from them and resumes bit-identically, with none of
//! that written for it.
#![cfg(feature = "ndarray")]

use std::collections::BTreeMap;
use std::fs;

use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use plastic_zoo::backend::BackendChoice;
use plastic_zoo::checkpoint::{Checkpoint, RunDir, MODEL_FILE};
use plastic_zoo::experiment::launch::{self, TrainRequest};
use plastic_zoo::experiment::{Experiment, Report};
use plastic_zoo::metrics::EpisodeMetrics;
use plastic_zoo::trainer::{LocalSteps, LocalUpdate, Schedule, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use serde_json::json;

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

#[derive(Debug, Default, Serialize, Deserialize)]
struct NoOptions {}

struct RunningMean;

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
        let estimate =
            checkpoint.load_module::<B::InnerBackend, _>(MODEL_FILE, fresh(device), device)?;
        let error = error(&estimate, run.mean);
        Ok(Report::new(Self::NAME, "mean")
            .metric("error", error)
            .text(format!("error {error}")))
    }
}

#[test]
fn a_model_added_as_an_experiment_trains_saves_evaluates_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let request = |flags: serde_json::Value| TrainRequest {
        flags,
        out: tmp.path().to_path_buf(),
        ..Default::default()
    };
    let trained =
        launch::train::<RunningMean>(request(json!({"steps": 200})), BackendChoice::Ndarray)
            .unwrap();
    let error = trained.reports[0].metrics["error"];
    assert!(
        error < 0.5,
        "the estimate should be near the mean: error {error}"
    );

    let run = tmp.path().join("running-mean/mean-seed0");
    let metrics = fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 200);
    let (_, checkpoint) = RunDir::open(&run).unwrap();
    assert_eq!(checkpoint.step(), 200);
    let evaluated =
        launch::eval::<RunningMean>(&checkpoint, json!({}), BackendChoice::Ndarray).unwrap();
    assert_eq!(evaluated.metrics["error"], error);

    // Resumed from the checkpoint before the last: the same metrics, to the byte.
    let earlier = run.join("checkpoint-000000180");
    let resumed = TrainRequest {
        resume: Some(earlier),
        ..request(json!({}))
    };
    launch::train::<RunningMean>(resumed, BackendChoice::Ndarray).unwrap();
    assert_eq!(
        fs::read_to_string(run.join("metrics.jsonl")).unwrap(),
        metrics
    );

    // Its configuration is validated like any other model's.
    let refused = launch::train::<RunningMean>(
        request(json!({"learning_rate": 2.0})),
        BackendChoice::Ndarray,
    );
    assert!(refused.is_err());
}
