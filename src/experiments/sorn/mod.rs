//! `sorn`: the self-organising recurrent network on the counting task (Lazar, Pipa and
//! Triesch 2009). Networks with STDP, synaptic normalisation and intrinsic plasticity, with
//! intrinsic plasticity only, and with none run side by side on words of every length for
//! the plastic phase; then, plasticity off, a linear readout learns to predict the next letter
//! from the excitatory state and is tested on fresh steps. Each (length, variant, replicate)
//! is one network of the batch; the replicates of a length share their initial network and
//! input stream across variants, so that the comparison is paired.

mod flags;
mod learner;
mod readout;

use anyhow::{ensure, Context};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use plastic_models::sorn::{Plasticity, Sorn, SornConfig};
use plastic_tasks::CountingTask;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use flags::{SornEvalFlags, SornFlags};
pub use readout::Accuracy;

use learner::{restore, Counting, PhaseState};

use crate::checkpoint::{Checkpoint, RunState};
use crate::config::{check_ranges, Range};
use crate::experiment::{saved_network, Experiment, Report};
use crate::memory::floats;
use crate::trainer::{LocalSteps, Schedule, Trainer};

/// SORN against static reservoirs on the counting task.
pub struct SornExperiment;

/// Which plasticity a network has during the plastic phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// STDP, synaptic normalisation and intrinsic plasticity.
    Sorn,
    /// Intrinsic plasticity only: a static reservoir whose thresholds adapt.
    IpOnly,
    /// No plasticity: the random reservoir as initialised.
    Static,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Sorn => "sorn",
            Variant::IpOnly => "ip-only",
            Variant::Static => "static",
        }
    }

    /// The key of its metrics, e.g. `ip_only`.
    pub fn key(self) -> String {
        self.name().replace('-', "_")
    }
}

/// How the readout maps a state to the next letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ReadoutKind {
    /// Multinomial logistic regression (SORN_V2's readout): learns rare letters, such as the
    /// word ends, wherever the states separate them.
    Logistic,
    /// Ridge regression on one-hot letters, in closed form: weighs each letter by its
    /// frequency, so it seldom picks a rare one.
    Ridge,
}

impl ReadoutKind {
    fn ridge() -> Self {
        ReadoutKind::Ridge
    }
}

/// scikit-learn's `LogisticRegression()` default, C = 1, over 5 000 training steps.
fn default_l2() -> f64 {
    2e-4
}

/// One `sorn` run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SornRun {
    /// Repeats n of each word's middle letter; one network per n, variant and replicate.
    pub repeats: Vec<usize>,
    pub variants: Vec<Variant>,
    /// Independent networks (and input streams) per word length and variant.
    pub replicates: usize,
    pub excitatory: usize,
    pub inhibitory: usize,
    /// λ: E→E synapses each excitatory neuron receives.
    pub synapses_per_neuron: usize,
    /// Excitatory neurons each letter drives.
    pub input_pool: usize,
    pub excitatory_threshold_max: f64,
    pub inhibitory_threshold_max: f64,
    pub stdp_rate: f64,
    pub ip_rate: f64,
    /// H_IP: the firing rate intrinsic plasticity aims at.
    pub target_rate: f64,
    pub plastic_steps: usize,
    /// Whether E→E synapses that STDP drives to 0 are removed for good; runs saved before
    /// pruning let them grow again.
    #[serde(default)]
    pub prune: bool,
    /// Steps with plasticity off on which the readout is fitted, then tested.
    pub readout_train: usize,
    pub readout_test: usize,
    /// How the readout is fitted; runs saved before the logistic readout used ridge.
    #[serde(default = "ReadoutKind::ridge")]
    pub readout: ReadoutKind,
    /// Ridge of the ridge readout's regression.
    pub ridge: f64,
    /// λ of the logistic readout's penalty: mean cross-entropy + λ/2·‖W‖².
    #[serde(default = "default_l2")]
    pub l2: f64,
    /// Plastic steps per step of the progress bar and of checkpoints.
    pub steps_per_update: usize,
    /// Updates between two checkpoints.
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl SornRun {
    fn config(&self) -> SornConfig {
        SornConfig {
            excitatory: self.excitatory,
            inhibitory: self.inhibitory,
            synapses_per_neuron: self.synapses_per_neuron,
            symbols: plastic_tasks::COUNTING_ALPHABET.len(),
            input_pool: self.input_pool,
            excitatory_threshold_max: self.excitatory_threshold_max,
            inhibitory_threshold_max: self.inhibitory_threshold_max,
        }
    }

    /// Every network of the batch: (repeats, variant, replicate), length-major.
    pub fn networks(&self) -> Vec<(usize, Variant, usize)> {
        let mut networks = Vec::new();
        for &n in &self.repeats {
            for &variant in &self.variants {
                for replicate in 0..self.replicates {
                    networks.push((n, variant, replicate));
                }
            }
        }
        networks
    }

    /// How many networks the batch holds, without listing them.
    fn network_count(&self) -> u128 {
        self.repeats.len() as u128 * self.variants.len() as u128 * self.replicates as u128
    }

    fn plastic_updates(&self) -> usize {
        self.plastic_steps.div_ceil(self.steps_per_update)
    }

    /// The networks as initialised: replicate r of every length and variant starts from the
    /// same network.
    fn init<B: Backend>(&self, device: &B::Device) -> anyhow::Result<Sorn<B>> {
        let mut rngs: Vec<ChaCha8Rng> = self
            .networks()
            .iter()
            .map(|&(_, _, replicate)| stream(self.seed, replicate, 0))
            .collect();
        Ok(self.config().init(&mut rngs, device)?)
    }

    /// Every network's letters: the plastic phase, then the readout's training and test steps
    /// (from stream `offset`: 0 in training, another for `eval`'s fresh steps).
    fn letters(&self, offset: u64) -> anyhow::Result<Vec<Vec<u8>>> {
        let steps = self.plastic_steps + self.readout_train + self.readout_test + 1;
        self.networks()
            .iter()
            .map(|&(n, _, replicate)| {
                let task = CountingTask::new(n)?;
                let mut rng = stream(self.seed, replicate, 1 + offset + n as u64);
                Ok(task.generate(steps, &mut rng))
            })
            .collect()
    }

    fn plasticity<B: Backend>(&self, device: &B::Device) -> Plasticity<B> {
        let rates = |on: fn(Variant) -> bool, rate: f64| -> Tensor<B, 1> {
            let values: Vec<f32> = self
                .networks()
                .iter()
                .map(|&(_, v, _)| if on(v) { rate as f32 } else { 0.0 })
                .collect();
            let count = values.len();
            Tensor::from_data(TensorData::new(values, [count]), device)
        };
        Plasticity {
            stdp_rate: rates(|v| v == Variant::Sorn, self.stdp_rate),
            ip_rate: rates(|v| v != Variant::Static, self.ip_rate),
            target_rate: self.target_rate,
            prune: self.prune,
        }
    }
}

/// An independent random stream per replicate and purpose, from the run's seed alone.
fn stream(seed: u64, replicate: usize, purpose: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((replicate as u64) << 32 | purpose);
    rng
}

/// `eval` options: the seed of the readout's fresh input streams.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalOptions {
    #[serde(default)]
    pub seed: Option<u64>,
    /// The readout to fit in place of the run's.
    #[serde(default)]
    pub readout: Option<ReadoutKind>,
}

impl Experiment for SornExperiment {
    const NAME: &'static str = "sorn";
    const ABOUT: &'static str = "self-organising recurrent network (STDP, normalisation, intrinsic plasticity) against static reservoirs on the counting task";
    const HEADLINE: &'static [&'static str] = &["rate.sorn", "sorn_accuracy"];
    const RESUMABLE: &'static [(&'static str, &'static str)] =
        &[("/checkpoint_every", "--checkpoint-every")];
    const MEMORY_HINT: &'static str = "lower --repeats, --replicates or --readout-train";

    type Run = SornRun;
    type EvalOptions = EvalOptions;
    type Network<B: Backend> = Sorn<B>;

    fn presets() -> Vec<(&'static str, String)> {
        vec![(
            "counting",
            "n = 4 … 30, SORN vs IP only vs static, 3 replicates, 50 000 plastic steps".into(),
        )]
    }

    /// Lazar et al.'s network and rates (N_E = 200, N_I = 40, λ = 10, η = 0.001, H_IP = 0.1)
    /// and SORN_V2's phases: 50 000 plastic steps, 5 000 readout training and 5 000 test steps.
    fn preset(name: &str) -> anyhow::Result<SornRun> {
        ensure!(
            name == "counting",
            "unknown preset '{name}' (known: counting)"
        );
        let network = SornConfig::new(6);
        Ok(SornRun {
            repeats: vec![4, 8, 12, 16, 20, 30],
            variants: vec![Variant::Sorn, Variant::IpOnly, Variant::Static],
            replicates: 3,
            excitatory: network.excitatory,
            inhibitory: network.inhibitory,
            synapses_per_neuron: network.synapses_per_neuron,
            input_pool: network.input_pool,
            excitatory_threshold_max: network.excitatory_threshold_max,
            inhibitory_threshold_max: network.inhibitory_threshold_max,
            stdp_rate: 0.001,
            ip_rate: 0.001,
            target_rate: 0.1,
            plastic_steps: 50_000,
            prune: true,
            readout_train: 5_000,
            readout_test: 5_000,
            readout: ReadoutKind::Logistic,
            ridge: 1e-2,
            l2: default_l2(),
            steps_per_update: 1_000,
            checkpoint_every: 10,
            seed: 0,
        })
    }

    fn validate(run: &SornRun) -> anyhow::Result<()> {
        check_ranges(&[
            ("--stdp-rate", run.stdp_rate, Range::POSITIVE),
            ("--ip-rate", run.ip_rate, Range::POSITIVE),
            ("--target-rate", run.target_rate, Range::OPEN_UNIT),
            ("--ridge", run.ridge, Range::POSITIVE),
            ("--l2", run.l2, Range::POSITIVE),
        ])?;
        run.config().validate()?;
        ensure!(
            run.plastic_steps
                .checked_add(run.readout_train)
                .and_then(|steps| steps.checked_add(run.readout_test))
                .and_then(|steps| steps.checked_add(1))
                .is_some(),
            "--plastic-steps, --readout-train and --readout-test add up to more steps than can be counted"
        );
        ensure!(
            !run.repeats.is_empty(),
            "give at least one word length (--repeats)"
        );
        for &n in &run.repeats {
            CountingTask::new(n)?;
        }
        ensure!(
            !run.variants.is_empty(),
            "give at least one variant (--variants)"
        );
        ensure!(run.replicates > 0, "--replicates must be at least 1");
        ensure!(
            run.readout_train > run.excitatory / 10 && run.readout_test > 0,
            "the readout needs more than {} training steps and at least 1 test step",
            run.excitatory / 10
        );
        ensure!(
            run.steps_per_update > 0,
            "--steps-per-update must be at least 1"
        );
        ensure!(
            run.checkpoint_every > 0,
            "--checkpoint-every must be at least 1"
        );
        Ok(())
    }

    fn run_name(run: &SornRun) -> String {
        let lengths: Vec<String> = run.repeats.iter().map(usize::to_string).collect();
        format!("counting-n{}-seed{}", lengths.join("_"), run.seed)
    }

    fn schedule(run: &SornRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.plastic_updates() + 1,
            checkpoint_every: run.checkpoint_every,
        })
    }

    /// Per network: the weights and their STDP temporaries, the letters, and the readout's
    /// record of states (a byte per unit and step) and regression.
    fn memory_needed(run: &SornRun) -> u64 {
        let networks = run.network_count();
        let (ne, ni) = (run.excitatory as u128, run.inhibitory as u128);
        let synapses = ne * run.synapses_per_neuron as u128;
        let steps = run.readout_train as u128 + run.readout_test as u128;
        let record = networks.saturating_mul(steps * ne + run.plastic_steps as u128 + steps);
        floats(networks.saturating_mul(12 * synapses + 3 * ne * ni + 6 * ne))
            .saturating_add(u64::try_from(record).unwrap_or(u64::MAX))
            .saturating_add(floats(2 * (run.readout_train as u128 * ne + 2 * ne * ne)))
    }

    fn network<B: Backend>(
        run: &Self::Run,
        _state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        run.init::<B>(device)
    }

    fn train<B: AutodiffBackend>(
        run: &SornRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let started = std::time::Instant::now();
        let network = run.init::<B::InnerBackend>(device)?;
        let mut learner = LocalSteps(Counting {
            state: network.silent(),
            network,
            letters: run.letters(0)?,
            plasticity: run.plasticity(device),
            run: run.clone(),
            accuracy: Vec::new(),
        });
        let dir = trainer.run_dir().path.clone();
        trainer.fit(&mut learner, rand::SeedableRng::seed_from_u64(run.seed))?;
        let summary = readout::Summary::new(run, &learner.0.accuracy);
        summary.write(&dir)?;
        Ok(summary
            .report()
            .seconds(started.elapsed().as_secs_f64())
            .run(&dir))
    }

    /// Fits and tests a fresh readout on the saved networks (plasticity off), from their
    /// saved state, on fresh letters.
    fn eval<B: AutodiffBackend>(
        run: &SornRun,
        checkpoint: &Checkpoint,
        options: &EvalOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let mut network = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let saved: PhaseState = serde_json::from_value(checkpoint.state.learner.clone())
            .context("the checkpoint's network state is not readable")?;
        let state = restore(&network, saved.excitatory, saved.inhibitory)?;
        let offset = options.seed.map_or(1 << 20, |seed| (1 << 21) + seed);
        let run = &SornRun {
            readout: options.readout.unwrap_or(run.readout),
            ..run.clone()
        };
        let accuracy = readout::score(run, &mut network, state, &run.letters(offset)?)?;
        Ok(readout::Summary::new(run, &accuracy).report())
    }
}
