//! What several models share, one floor below their folders: nets trained by hand-written
//! local rules and their scoring (hebbian-ff, learned-rule), the batch of fed-back rate
//! networks (force, bayesian-synapse), the pattern tasks' episodes, flags and evaluation
//! (plastic-rnn, rnn, lstm; cue-reward takes its generator and resumable fields). A model's
//! folder imports from here and from the floors below, never from another model's folder.

pub mod local_rules;
pub mod pattern;
pub mod rate_networks;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{RunDir, METRICS_FILE};
use crate::metrics::MetricsLog;
use crate::plot;

/// The episode generator of a run: the same seed as the parameters, another ChaCha stream.
pub fn episode_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    rng
}

/// Draws `learning_curve.png` of a run from its `metrics.jsonl`: one panel per metric.
pub fn write_curve_of(run: &RunDir, metrics: &[&str], x_label: &str) -> anyhow::Result<()> {
    let logged = MetricsLog::new(run.file(METRICS_FILE)).read()?;
    plot::learning_curve(&logged, metrics, x_label, &run.file("learning_curve.png"))
}
