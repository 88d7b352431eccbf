//! Neuromodulated plasticity (Backpropamine, Miconi et al. 2019): the network itself decides,
//! step by step, how much its Hebbian trace changes. A learned modulator
//! `M(t) = tanh(y(t)·w_mod)`, one number per episode and step, gates the change:
//!
//! ```text
//! simple:       Hebb(t) = clamp(Hebb(t−1) + M(t)·outer(y(t−1), y(t)), ±2)
//! retroactive:  Hebb(t) = clamp(Hebb(t−1) + M(t)·E(t−1), ±1)
//!               E(t)    = (1 − η_e)·E(t−1) + η_e·outer(y(t−1), y(t))
//! ```
//!
//! Retroactive modulation acts on an eligibility trace `E` (with a learned rate `η_e`) of
//! recent coactivity, so a modulator signal can credit what happened a few steps earlier.
//! The decay rule with η does not apply to a modulated trace.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// How the network modulates its own plasticity.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Modulation {
    /// The trace follows η's decaying average (or Oja's rule).
    #[default]
    None,
    /// `M(t)` gates each step's coactivity.
    Simple,
    /// `M(t)` turns an eligibility trace into plastic change.
    Retroactive,
}

impl Modulation {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Simple => "simple",
            Self::Retroactive => "retroactive",
        }
    }
}

/// The modulated trace update of one step from activities `pre` to `post` (`[batch, n]`),
/// with the modulator's weights `w_mod` (`[n, 1]`) and, under retroactive modulation, the
/// eligibility rate `η_e` (`[1]`): the new trace and, under retroactive modulation, the new
/// eligibility trace.
pub(crate) fn modulated_update<B: Backend>(
    modulation: Modulation,
    weights: Tensor<B, 2>,
    eligibility_rate: Option<Tensor<B, 1>>,
    pre: Tensor<B, 2>,
    post: Tensor<B, 2>,
    hebb_trace: Tensor<B, 3>,
    eligibility: Option<Tensor<B, 3>>,
) -> (Tensor<B, 3>, Option<Tensor<B, 3>>) {
    // [batch, 1, 1]: one modulator per episode.
    let modulator = post.clone().matmul(weights).tanh().unsqueeze_dim::<3>(2);
    let coactivity = pre.unsqueeze_dim::<3>(2).matmul(post.unsqueeze_dim::<3>(1));
    match modulation {
        Modulation::None => unreachable!("only modulated networks call this"),
        Modulation::Simple => ((hebb_trace + coactivity * modulator).clamp(-2.0, 2.0), None),
        Modulation::Retroactive => {
            let eligibility = eligibility.expect("retroactive modulation keeps a trace");
            let rate = eligibility_rate
                .expect("retroactive modulation has a learned rate")
                .reshape([1, 1, 1]);
            let hebb_trace = (hebb_trace + eligibility.clone() * modulator).clamp(-1.0, 1.0);
            let eligibility = eligibility * (rate.clone().neg() + 1.0) + coactivity * rate;
            (hebb_trace, Some(eligibility))
        }
    }
}
