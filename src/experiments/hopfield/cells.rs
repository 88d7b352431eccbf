//! One cell of a capacity sweep: a memory of `N` units at one load P/N, probed with degraded
//! copies of everything it stores.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use plastic_models::hopfield::host::HostHopfield;
use plastic_models::hopfield::{
    degraded, overlaps, random_patterns, AsynchronousMemory, DenseMemory, Hopfield,
};
use plastic_models::kernels::Kernels;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{HopfieldRun, Memory, Update};
use crate::util::host_values;

/// Where a cell sits in the sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    pub memory: Memory,
    pub neurons: usize,
    pub load: f64,
}

impl Cell {
    /// Patterns each network stores: round(load·N), at least 1.
    pub fn patterns(&self) -> usize {
        ((self.load * self.neurons as f64).round() as usize).max(1)
    }

    /// Networks the cell builds so that at least `min_probes` stored patterns are probed.
    pub fn networks(&self, min_probes: usize) -> usize {
        min_probes.div_ceil(self.patterns()).max(1)
    }
}

/// What one cell measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellResult {
    pub memory: Memory,
    pub neurons: usize,
    pub load: f64,
    pub patterns: usize,
    pub probes: usize,
    /// Fraction of probes whose final overlap with their pattern reached the threshold.
    pub recalled: f64,
    pub mean_overlap: f64,
    /// Fraction of units a single synchronous step flips when started on a stored pattern
    /// (the classic network only): what the one-step theory predicts.
    pub one_step_error: Option<f64>,
    pub mean_sweeps: f64,
}

/// The random stream of network `network` of cell `cell`: part `0` draws its patterns, `1`
/// its cues and update orders, `2` the fresh cues of `eval`. Derived from a seed alone, so
/// that a resumed run and `eval` see the same patterns.
pub fn stream(seed: u64, cell: usize, network: usize, part: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((cell as u64) << 32 | network as u64) << 2 | part);
    rng
}

/// The patterns that network `network` of cell `cell` stores.
pub fn stored_patterns<B: Backend>(
    run: &HopfieldRun,
    index: usize,
    cell: &Cell,
    network: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    let mut rng = stream(run.seed, index, network, 0);
    random_patterns(cell.patterns(), cell.neurons, &mut rng, device)
}

/// Per probe: final overlap and sweeps taken; `recalled` applies the run's threshold.
pub struct Probed {
    pub overlaps: Vec<f64>,
    pub sweeps: usize,
}

/// One classic network storing `patterns`: the units one synchronous step from its patterns
/// flips (flipped, units in all), and its degraded cues settled. Asynchronous updates on the
/// CPU backends run on the host ([`HostHopfield`]); the rest on the backend's tensors.
pub fn probe_classic<B: Backend>(
    run: &HopfieldRun,
    patterns: Tensor<B, 2>,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<((f64, f64), Probed)> {
    let [count, units] = patterns.dims();
    let all_units = (count * units) as f64;
    if Kernels::preferred() == Kernels::Host && run.update == Update::Asynchronous {
        let network = HostHopfield::storing(patterns.clone())?;
        let flipped = network.one_step_flips(patterns.clone()) as f64;
        let cues = degraded(patterns.clone(), run.cue_flip, rng);
        let (states, sweeps) = network.settle(cues, run.max_sweeps, rng);
        return Ok(((flipped, all_units), probed(states, patterns, sweeps)?));
    }
    let network = Hopfield::storing(patterns.clone())?;
    let flipped = network.one_step_flips(Kernels::preferred(), patterns.clone()) as f64;
    Ok((
        (flipped, all_units),
        probe_network(run, &network, patterns, rng)?,
    ))
}

/// Degraded cues of `patterns` settled by `network` (built here or saved), on the kernels the
/// backend prefers.
pub fn probe_network<B: Backend>(
    run: &HopfieldRun,
    network: &Hopfield<B>,
    patterns: Tensor<B, 2>,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Probed> {
    let cues = degraded(patterns.clone(), run.cue_flip, rng);
    let (states, sweeps) = match run.update {
        Update::Asynchronous => network.settle_on(Kernels::preferred(), cues, run.max_sweeps, rng),
        Update::Synchronous => network.settle_synchronously(cues, run.max_sweeps),
    };
    probed(states, patterns, sweeps)
}

/// Degraded cues of the dense memory's patterns, settled by it.
pub fn probe_dense<B: Backend>(
    run: &HopfieldRun,
    memory: &DenseMemory<B>,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Probed> {
    let cues = degraded(memory.patterns.clone(), run.cue_flip, rng);
    let (states, sweeps) = memory.settle(cues, run.max_sweeps, rng);
    probed(states, memory.patterns.clone(), sweeps)
}

fn probed<B: Backend>(
    states: Tensor<B, 2>,
    patterns: Tensor<B, 2>,
    sweeps: usize,
) -> anyhow::Result<Probed> {
    Ok(Probed {
        overlaps: host_values(overlaps(states, patterns))?
            .into_iter()
            .map(f64::from)
            .collect(),
        sweeps,
    })
}

/// Sums what the networks of a cell measured.
#[derive(Default)]
pub struct Tally {
    pub overlaps: Vec<f64>,
    pub sweeps: usize,
    pub networks: usize,
    pub flipped: f64,
    pub units: f64,
}

impl Tally {
    pub fn add(&mut self, probed: Probed) {
        self.overlaps.extend(probed.overlaps);
        self.sweeps += probed.sweeps;
        self.networks += 1;
    }

    pub fn result(&self, cell: &Cell, recall_overlap: f64) -> CellResult {
        let probes = self.overlaps.len();
        let recalled = self
            .overlaps
            .iter()
            .filter(|&&m| m >= recall_overlap - 1e-9)
            .count();
        CellResult {
            memory: cell.memory,
            neurons: cell.neurons,
            load: cell.load,
            patterns: cell.patterns(),
            probes,
            recalled: recalled as f64 / probes.max(1) as f64,
            mean_overlap: self.overlaps.iter().sum::<f64>() / probes.max(1) as f64,
            one_step_error: (self.units > 0.0).then(|| self.flipped / self.units),
            mean_sweeps: self.sweeps as f64 / self.networks.max(1) as f64,
        }
    }
}

/// The units of the network a sweep starts with.
pub(super) fn first_neurons(run: &HopfieldRun) -> usize {
    run.neurons.first().copied().unwrap_or(run.dense_neurons)
}

/// The units of the classic network a checkpoint holds (its learner state `learner`): the
/// last cell saved, or the first network before any.
pub(super) fn saved_network_neurons(
    run: &HopfieldRun,
    learner: &serde_json::Value,
) -> anyhow::Result<usize> {
    use anyhow::Context;
    let sweep: super::SweepState = if learner.is_null() {
        super::SweepState::default()
    } else {
        serde_json::from_value(learner.clone())
            .context("the checkpoint's record of measured cells is not readable")?
    };
    match sweep.saved_cell {
        Some(index) => run
            .cells()
            .get(index)
            .map(|cell| cell.neurons)
            .with_context(|| {
                format!("the checkpoint names cell {index}, which the run does not have")
            }),
        None => Ok(first_neurons(run)),
    }
}
