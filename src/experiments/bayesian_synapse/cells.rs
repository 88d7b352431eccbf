//! What several runs show together (the cells of a sweep, e.g. one per gain or per seed):
//! each rule's best rate at each gain, by the median test MSE at the last test averaged over
//! the runs that measured it, flagged where the best rate is the edge of the rates tried, and
//! the classical/Bayesian ratio per gain (`rates-by-gain.md`).

use std::fmt::Write as _;
use std::path::Path;

use plastic_models::rate_network::DeltaRule;

use super::{label, short, BayesianSynapseExperiment};
use crate::experiment::Finished;
use crate::util::write_atomically;

/// One rule at one rate and gain, measured by one run.
struct Measured {
    gain: f64,
    rule: DeltaRule,
    eta: f64,
    mse: f64,
}

/// Every setting's median test MSE that a run reports.
fn measured(run: &Finished<BayesianSynapseExperiment>) -> Vec<Measured> {
    let gains = &run.run.network.gains;
    let single = gains.len() * run.run.rates.len() == 1;
    let mut out = Vec::new();
    for &gain in gains {
        for &rate in &run.run.rates {
            let key = if single {
                "median_mse".to_string()
            } else {
                format!("median_mse/{}", label(gains.len(), (gain, rate)))
            };
            if let Some(&mse) = run.report.metrics.get(&key) {
                out.push(Measured {
                    gain,
                    rule: rate.rule,
                    eta: rate.eta,
                    mse,
                });
            }
        }
    }
    out
}

/// The summary of several runs, or `None` for one run (its own report says it all).
pub fn summarise(
    runs: &[Finished<BayesianSynapseExperiment>],
    dir: &Path,
) -> anyhow::Result<Option<String>> {
    if runs.len() < 2 {
        return Ok(None);
    }
    let all: Vec<Measured> = runs.iter().flat_map(measured).collect();
    let mut gains: Vec<f64> = all.iter().map(|m| m.gain).collect();
    gains.sort_by(f64::total_cmp);
    gains.dedup();
    let mut text = format!(
        "Each rule's best rate per gain over {} runs: median test MSE at the last test, averaged over the runs that measured it\n\n\
         | g | rule | best rate | median MSE | rates tried | edge of the grid | runs |\n|---|---|---|---|---|---|---|\n",
        runs.len()
    );
    let mut ratios = String::new();
    for &gain in &gains {
        let mut best_of = Vec::new();
        for rule in [DeltaRule::Bayesian, DeltaRule::Classical] {
            let mut etas: Vec<f64> = all
                .iter()
                .filter(|m| m.gain == gain && m.rule == rule)
                .map(|m| m.eta)
                .collect();
            etas.sort_by(f64::total_cmp);
            etas.dedup();
            let averaged: Vec<(f64, f64, usize)> = etas
                .iter()
                .map(|&eta| {
                    let values: Vec<f64> = all
                        .iter()
                        .filter(|m| m.gain == gain && m.rule == rule && m.eta == eta)
                        .map(|m| m.mse)
                        .collect();
                    let mean = values.iter().sum::<f64>() / values.len() as f64;
                    (eta, mean, values.len())
                })
                .collect();
            let Some(&(eta, mse, n)) = averaged
                .iter()
                .filter(|(_, mse, _)| mse.is_finite())
                .min_by(|a, b| a.1.total_cmp(&b.1))
            else {
                continue;
            };
            let edge = if etas.len() < 2 {
                "one rate"
            } else if eta == etas[0] {
                "lowest"
            } else if eta == etas[etas.len() - 1] {
                "highest"
            } else {
                "inside"
            };
            let _ = writeln!(
                text,
                "| {gain} | {} | {} | {mse:.4} | {} | {edge} | {n} |",
                rule.name(),
                short(eta),
                etas.len()
            );
            best_of.push((rule, mse));
        }
        if let [(DeltaRule::Bayesian, bayesian), (DeltaRule::Classical, classical)] = best_of[..] {
            let _ = writeln!(
                ratios,
                "g = {gain}: best classical / best Bayesian = {:.2}",
                classical / bayesian
            );
        }
    }
    if !ratios.is_empty() {
        text.push('\n');
        text.push_str(&ratios);
    }
    let path = dir.join("rates-by-gain.md");
    write_atomically(&path, text.as_bytes())?;
    Ok(Some(format!("{text}table: {}", path.display())))
}
