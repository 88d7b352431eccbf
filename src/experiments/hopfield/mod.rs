//! `hopfield`: Hebbian attractor memory. A classic network stores P random ±1 patterns in
//! N units and is probed with degraded copies of them; swept over the load P/N it shows the
//! capacity cliff near 0.138 (Amit, Gutfreund and Sompolinsky 1985), beside the one-step
//! theory and beside dense associative memories (Krotov and Hopfield 2016) that hold far
//! more. Each step of a run is one (memory, N, load) cell.

mod capacity;
mod cells;
mod flags;
mod seeds;

use anyhow::{ensure, Context};
use burn::tensor::backend::{AutodiffBackend, Backend};
use plastic_models::hopfield::{DenseMemory, Hopfield, Interaction};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use capacity::{critical_load, one_step_theory};
pub use cells::CellResult;
pub use flags::{HopfieldEvalFlags, HopfieldFlags};

use cells::{probe_classic, probe_dense, probe_network, stored_patterns, stream, Cell, Tally};

use crate::checkpoint::{Checkpoint, RunState};
use crate::config::{check_ranges, Range};
use crate::experiment::{saved_network, Experiment, Finished, Report};
use crate::memory::floats;
use crate::metrics::{EpisodeMetrics, MetricsLines};
use crate::trainer::{LocalSteps, LocalUpdate, Schedule, Trainer};

/// Classic and dense Hopfield memories, probed from degraded cues.
pub struct HopfieldExperiment;

/// Which memory a cell probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Memory {
    /// W = (1/N)·Σ ξξᵀ, zero diagonal.
    Classic,
    /// Dense memory, F(x) = x³.
    Cubic,
    /// Dense memory, F(x) = x⁴.
    Quartic,
    /// Dense memory, F(x) = eˣ.
    Exponential,
}

impl Memory {
    pub fn name(self) -> &'static str {
        match self {
            Memory::Classic => "classic",
            Memory::Cubic => "cubic",
            Memory::Quartic => "quartic",
            Memory::Exponential => "exponential",
        }
    }

    fn interaction(self) -> Option<Interaction> {
        match self {
            Memory::Classic => None,
            Memory::Cubic => Some(Interaction::Polynomial(3)),
            Memory::Quartic => Some(Interaction::Polynomial(4)),
            Memory::Exponential => Some(Interaction::Exponential),
        }
    }
}

/// How the classic network's units update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Update {
    /// One unit at a time, in a fresh random order each sweep.
    Asynchronous,
    /// Every unit at once.
    Synchronous,
}

/// One `hopfield` run: the sizes and loads of the classic network, the dense memories, and
/// how cues are made and recall is judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HopfieldRun {
    /// Sizes N of the classic network.
    pub neurons: Vec<usize>,
    /// Loads P/N at which each size is probed.
    pub loads: Vec<f64>,
    pub update: Update,
    /// Dense memories probed beside the classic network, at `dense_neurons` units.
    pub dense: Vec<Memory>,
    pub dense_neurons: usize,
    pub dense_loads: Vec<f64>,
    /// Each unit of a cue is flipped with this probability.
    pub cue_flip: f64,
    /// A probe is recalled when its final overlap with its pattern is at least this.
    pub recall_overlap: f64,
    /// Sweeps (synchronous: steps) before a probe's state is judged as it stands.
    pub max_sweeps: usize,
    /// Each cell builds networks until at least this many stored patterns are probed.
    pub min_probes: usize,
    /// Cells between two checkpoints.
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl HopfieldRun {
    /// Every cell, classic sizes first (each over its loads), then the dense memories.
    pub fn cells(&self) -> Vec<Cell> {
        let classic = self.neurons.iter().flat_map(|&neurons| {
            self.loads.iter().map(move |&load| Cell {
                memory: Memory::Classic,
                neurons,
                load,
            })
        });
        let dense = self.dense.iter().flat_map(|&memory| {
            self.dense_loads.iter().map(move |&load| Cell {
                memory,
                neurons: self.dense_neurons,
                load,
            })
        });
        classic.chain(dense).collect()
    }
}

/// `eval` options: the seed of the fresh cues.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalOptions {
    #[serde(default)]
    pub seed: u64,
}

/// The learner's record: every cell measured so far, and which cell's last network the
/// checkpoint holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SweepState {
    pub results: Vec<CellResult>,
    pub saved_cell: Option<usize>,
}

struct Sweep<B: Backend> {
    run: HopfieldRun,
    cells: Vec<Cell>,
    /// The last classic network built: what a checkpoint holds.
    network: Hopfield<B>,
    state: SweepState,
    device: B::Device,
}

impl<B: Backend> Sweep<B> {
    fn measure(&mut self, index: usize) -> anyhow::Result<CellResult> {
        let run = &self.run;
        let cell = self.cells[index];
        let mut tally = Tally::default();
        let networks = cell.networks(run.min_probes);
        for network in 0..networks {
            let patterns = stored_patterns::<B>(run, index, &cell, network, &self.device);
            let mut rng = stream(run.seed, index, network, 1);
            match cell.memory.interaction() {
                None => {
                    let ((flipped, units), probed) =
                        probe_classic(run, patterns.clone(), &mut rng)?;
                    tally.flipped += flipped;
                    tally.units += units;
                    tally.add(probed);
                    // A checkpoint holds the cell's last network.
                    if network + 1 == networks {
                        self.network = Hopfield::storing(patterns)?;
                        self.state.saved_cell = Some(index);
                    }
                }
                Some(interaction) => {
                    let memory = DenseMemory::storing(patterns, interaction)?;
                    tally.add(probe_dense(run, &memory, &mut rng)?);
                }
            }
        }
        Ok(tally.result(&cell, run.recall_overlap))
    }
}

impl<B: Backend> LocalUpdate for Sweep<B> {
    type Backend = B;
    type Network = Hopfield<B>;

    fn update(&mut self, step: usize, _rng: &mut ChaCha8Rng) -> MetricsLines {
        let result = self.measure(step - 1)?;
        let mut values: std::collections::BTreeMap<String, f64> = [
            ("recalled".to_string(), result.recalled),
            ("mean_overlap".to_string(), result.mean_overlap),
            ("load".to_string(), result.load),
            ("neurons".to_string(), result.neurons as f64),
        ]
        .into();
        if let Some(error) = result.one_step_error {
            values.insert("one_step_error".into(), error);
        }
        self.state.results.push(result);
        Ok(vec![EpisodeMetrics {
            episode: step,
            loss: 1.0 - values["recalled"],
            values,
        }])
    }

    fn network(&self) -> Hopfield<B> {
        self.network.clone()
    }

    fn set_network(&mut self, network: Hopfield<B>) {
        self.network = network;
    }

    fn device(&self) -> B::Device {
        self.device.clone()
    }

    fn state(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::to_value(&self.state)?)
    }

    fn restore_state(&mut self, state: &serde_json::Value) -> anyhow::Result<()> {
        self.state = serde_json::from_value(state.clone())
            .context("the checkpoint's record of measured cells is not readable")?;
        Ok(())
    }
}

/// The capacity sweep: 12 loads around the cliff at N = 100, 500 and 1000, and the cubic and
/// exponential memories at N = 100 up to P/N = 8.
fn capacity() -> HopfieldRun {
    HopfieldRun {
        neurons: vec![100, 500, 1000],
        loads: vec![
            0.04, 0.08, 0.10, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.20, 0.24, 0.30,
        ],
        update: Update::Asynchronous,
        dense: vec![Memory::Cubic, Memory::Exponential],
        dense_neurons: 100,
        dense_loads: vec![0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0],
        cue_flip: 0.1,
        recall_overlap: 0.95,
        max_sweeps: 300,
        min_probes: 500,
        checkpoint_every: 10,
        seed: 0,
    }
}

impl Experiment for HopfieldExperiment {
    const NAME: &'static str = "hopfield";
    const ABOUT: &'static str =
        "Hopfield networks: Hebbian attractor memory, its capacity, and dense associative memories";
    const HEADLINE: &'static [&'static str] = &["recalled", "load"];
    const RESUMABLE: &'static [(&'static str, &'static str)] =
        &[("/checkpoint_every", "--checkpoint-every")];
    const MEMORY_HINT: &'static str = "lower --neurons, --loads or --min-probes";

    type Run = HopfieldRun;
    type EvalOptions = EvalOptions;
    type Network<B: Backend> = Hopfield<B>;

    fn presets() -> Vec<(&'static str, String)> {
        vec![
            (
                "recall",
                "10 patterns in 500 units, recalled from cues with 20 % of units flipped".into(),
            ),
            (
                "capacity",
                "recall vs load P/N at N = 100, 500, 1000 beside the one-step theory, and dense memories at N = 100"
                    .into(),
            ),
        ]
    }

    fn preset(name: &str) -> anyhow::Result<HopfieldRun> {
        match name {
            "recall" => Ok(HopfieldRun {
                neurons: vec![500],
                loads: vec![0.02],
                dense: Vec::new(),
                cue_flip: 0.2,
                ..capacity()
            }),
            "capacity" => Ok(capacity()),
            _ => anyhow::bail!("unknown preset '{name}' (known: recall, capacity)"),
        }
    }

    fn validate(run: &HopfieldRun) -> anyhow::Result<()> {
        ensure!(
            !run.neurons.is_empty() || !run.dense.is_empty(),
            "nothing to probe: give --neurons or --dense"
        );
        ensure!(
            run.neurons.is_empty() || !run.loads.is_empty(),
            "the classic network needs at least one load (--loads)"
        );
        ensure!(
            run.dense.is_empty() || !run.dense_loads.is_empty(),
            "the dense memories need at least one load (--dense-loads)"
        );
        let sizes = run
            .neurons
            .iter()
            .chain((!run.dense.is_empty()).then_some(&run.dense_neurons));
        for &neurons in sizes {
            ensure!(
                neurons >= 2,
                "a network needs at least 2 neurons, not {neurons}"
            );
        }
        for &load in &run.loads {
            Range::POSITIVE.check("--loads", load)?;
        }
        for &load in &run.dense_loads {
            Range::POSITIVE.check("--dense-loads", load)?;
        }
        check_ranges(&[
            (
                "--cue-flip",
                run.cue_flip,
                Range::new(0.0, true, 0.5, false),
            ),
            ("--recall-overlap", run.recall_overlap, Range::FRACTION),
        ])?;
        ensure!(run.max_sweeps > 0, "--max-sweeps must be at least 1");
        ensure!(run.min_probes > 0, "--min-probes must be at least 1");
        ensure!(
            run.checkpoint_every > 0,
            "--checkpoint-every must be at least 1"
        );
        Ok(())
    }

    fn run_name(run: &HopfieldRun) -> String {
        let sizes: Vec<String> = run.neurons.iter().map(usize::to_string).collect();
        let what = if run.loads.len() > 1 || !run.dense.is_empty() {
            "capacity"
        } else {
            "recall"
        };
        format!("{what}-n{}-seed{}", sizes.join("_"), run.seed)
    }

    fn schedule(run: &HopfieldRun) -> anyhow::Result<Schedule> {
        Ok(Schedule {
            steps: run.cells().len(),
            checkpoint_every: run.checkpoint_every,
        })
    }

    /// The largest cell: its weights (classic) or patterns and overlaps (dense), its probes'
    /// states and a few temporaries of their size.
    fn memory_needed(run: &HopfieldRun) -> u64 {
        run.cells()
            .iter()
            .map(|cell| {
                let (n, p) = (cell.neurons as u128, cell.patterns() as u128);
                match cell.memory {
                    Memory::Classic => floats(3 * n * n + 8 * p * n),
                    _ => floats(8 * p * n + 8 * p * p),
                }
            })
            .max()
            .unwrap_or(0)
    }

    fn network<B: Backend>(
        run: &Self::Run,
        state: &RunState,
        device: &B::Device,
    ) -> anyhow::Result<Self::Network<B>> {
        let neurons = cells::saved_network_neurons(run, &state.learner)?;
        Ok(Hopfield::empty(neurons, device))
    }

    fn train<B: AutodiffBackend>(
        run: &HopfieldRun,
        trainer: Trainer,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let started = std::time::Instant::now();
        let first = cells::first_neurons(run);
        let mut learner = LocalSteps(Sweep::<B::InnerBackend> {
            run: run.clone(),
            cells: run.cells(),
            network: Hopfield::empty(first, device),
            state: SweepState::default(),
            device: device.clone(),
        });
        let dir = trainer.run_dir().path.clone();
        trainer.fit(&mut learner, rand::SeedableRng::seed_from_u64(run.seed))?;
        let results = &learner.0.state.results;
        capacity::write(&dir, run, results)?;
        Ok(capacity::report(run, results)
            .seconds(started.elapsed().as_secs_f64())
            .run(&dir))
    }

    /// Several runs (a sweep's seeds): their critical loads with intervals, and the curves
    /// averaged over them.
    fn summarise(runs: &[Finished<Self>], dir: &std::path::Path) -> anyhow::Result<Option<String>> {
        seeds::summarise(runs, dir)
    }

    /// Probes the saved network with fresh cues of the patterns it stores, and restates the
    /// run's measurements.
    fn eval<B: AutodiffBackend>(
        run: &HopfieldRun,
        checkpoint: &Checkpoint,
        options: &EvalOptions,
        device: &B::Device,
    ) -> anyhow::Result<Report> {
        let state: SweepState = serde_json::from_value(checkpoint.state.learner.clone())
            .context("the checkpoint's record of measured cells is not readable")?;
        let index = state
            .saved_cell
            .context("the run saved no classic network: it probed dense memories only")?;
        let cell = run.cells()[index];
        let network = cell.networks(run.min_probes) - 1;
        let hopfield = saved_network::<Self, B::InnerBackend>(run, checkpoint, device)?;
        let patterns = stored_patterns::<B::InnerBackend>(run, index, &cell, network, device);
        let mut rng = stream(options.seed, index, network, 2);
        let mut tally = Tally::default();
        tally.add(probe_network(run, &hopfield, patterns, &mut rng)?);
        let fresh = tally.result(&cell, run.recall_overlap);
        let measured = capacity::report(run, &state.results);
        Ok(measured
            .clone()
            .metric("saved.recalled", fresh.recalled)
            .metric("saved.load", cell.load)
            .metric("saved.neurons", cell.neurons as f64)
            .text(format!(
                "saved network (N = {}, P = {}): {:.3} of {} fresh cues recalled (mean overlap {:.3})\n{}",
                cell.neurons,
                cell.patterns(),
                fresh.recalled,
                fresh.probes,
                fresh.mean_overlap,
                measured.text
            )))
    }
}
