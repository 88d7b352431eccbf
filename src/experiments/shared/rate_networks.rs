//! What `force` and `bayesian-synapse` share: a batch of chaotic rate networks with a
//! fed-back readout, one per gain and network seed, and their command-line flags.

use anyhow::ensure;
use clap::Args;
use plastic_models::rate_network::{NetworkDraw, RateNetworkConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::{check_ranges, Range};

/// The networks of a run: `networks` seeds at each gain of `gains`, gain-major, so network
/// `n` has the same connections (scaled) at every gain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateNetworks {
    pub neurons: usize,
    /// Probability p that a recurrent connection exists.
    pub connectivity: f64,
    pub dt: f64,
    pub tau: f64,
    /// Feed the readout back into the network.
    pub feedback: bool,
    /// g: one batch of networks per gain.
    pub gains: Vec<f64>,
    /// Networks per gain, each from its own seed.
    pub networks: usize,
}

impl RateNetworks {
    pub fn shape(&self) -> RateNetworkConfig {
        RateNetworkConfig {
            neurons: self.neurons,
            connectivity: self.connectivity,
            dt: self.dt,
            tau: self.tau,
            feedback: self.feedback,
        }
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        check_ranges(&[
            ("--connectivity", self.connectivity, Range::FRACTION),
            ("--dt", self.dt, Range::POSITIVE),
            ("--tau", self.tau, Range::POSITIVE),
        ])?;
        ensure!(!self.gains.is_empty(), "the list of gains g is empty");
        for &g in &self.gains {
            Range::NON_NEGATIVE.check("--g", g)?;
        }
        self.shape().validate()?;
        ensure!(
            self.networks > 0,
            "the number of networks must be at least 1"
        );
        Ok(())
    }

    /// Every network's seed and gain, gain-major.
    pub fn draws(&self, seed: u64) -> Vec<NetworkDraw> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let seeds: Vec<u64> = (0..self.networks).map(|_| rng.random()).collect();
        self.gains
            .iter()
            .flat_map(|&gain| seeds.iter().map(move |&seed| NetworkDraw { seed, gain }))
            .collect()
    }

    pub fn count(&self) -> usize {
        self.gains.len() * self.networks
    }
}

/// The rate-network flags of `train force` and `train bayesian-synapse`; each sets its
/// field of the run's `network`.
#[derive(Debug, Args, Serialize)]
pub struct RateNetworkFlags {
    /// Neurons per network [default: 1000 force, 500 bayesian-synapse]
    #[arg(long)]
    pub neurons: Option<usize>,
    /// Probability p that a recurrent connection exists [default: 0.1] [range: (0, 1]]
    #[arg(long, value_name = "P", value_parser = crate::flags::finite_f64)]
    pub connectivity: Option<f64>,
    /// Gain g of the recurrent weights (variance g²/(pN)); a comma-separated list trains
    /// networks at every gain side by side [default: 1.5] [range: [0, ∞)]
    #[arg(
        long = "g",
        value_name = "G",
        value_delimiter = ',',
        num_args = 1..,
        allow_negative_numbers = true,
        value_parser = crate::flags::finite_f64,
    )]
    pub gains: Option<Vec<f64>>,
    /// Euler time step [default: 0.1 force, 1 bayesian-synapse] [range: (0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub dt: Option<f64>,
    /// Membrane time constant τ [default: 1 force, 10 bayesian-synapse] [range: (0, ∞)]
    #[arg(long, value_parser = crate::flags::finite_f64)]
    pub tau: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_share_seeds_across_gains() {
        let networks = RateNetworks {
            neurons: 10,
            connectivity: 0.1,
            dt: 1.0,
            tau: 10.0,
            feedback: true,
            gains: vec![1.0, 1.5],
            networks: 3,
        };
        let draws = networks.draws(7);
        assert_eq!(draws.len(), 6);
        assert_eq!(draws[1].seed, draws[4].seed);
        assert_ne!(draws[0].seed, draws[1].seed);
        assert_eq!((draws[0].gain, draws[5].gain), (1.0, 1.5));
    }
}
