//! What a bayesian-synapse run shows: median test MSE per setting at every tested trial with
//! a bootstrap interval at the last, the best rate of each rule (per gain), `mse.png`,
//! `tracking.png` and `summary.md`.

use std::fmt::Write as _;
use std::path::Path;

use plastic_models::rate_network::DeltaRule;

use super::{label, BayesianSynapseExperiment, BayesianSynapseRun, TestPoint};
use crate::experiment::{Experiment, Report};
use crate::plot::{self, Series};
use crate::stats::median_with_interval;
use crate::util::write_atomically;

/// One setting's figures.
struct Setting {
    label: String,
    gain: f64,
    rule: DeltaRule,
    /// Index into the run's rates.
    rate: usize,
    /// (trial, median test MSE) at every test.
    medians: Vec<(usize, f64)>,
    /// The last test's median and 95 % interval.
    last: (f64, f64, f64),
    diverged: usize,
    runs: usize,
}

pub struct Summary {
    settings: Vec<Setting>,
    last_trial: usize,
}

impl Summary {
    pub fn new(run: &BayesianSynapseRun, tests: &[TestPoint]) -> Self {
        let gains = run.network.gains.len();
        let runs = run.runs();
        let settings = run
            .settings()
            .into_iter()
            .enumerate()
            .map(|(index, setting)| {
                let of_setting = |mse: &[f64]| -> Vec<f64> {
                    mse.iter()
                        .enumerate()
                        .filter(|(i, _)| run.setting_of(i / runs, i % runs) == index)
                        .map(|(_, &m)| m)
                        .collect()
                };
                let medians = tests
                    .iter()
                    .map(|test| {
                        let mut values = of_setting(&test.mse);
                        values.sort_by(f64::total_cmp);
                        (test.trial, crate::stats::median(&values))
                    })
                    .collect();
                let last_values = tests.last().map(|t| of_setting(&t.mse)).unwrap_or_default();
                Setting {
                    label: label(gains, setting),
                    gain: setting.0,
                    rule: setting.1.rule,
                    rate: index % run.rates.len(),
                    medians,
                    last: median_with_interval(&last_values, 1000, run.seed),
                    diverged: last_values.iter().filter(|m| m.is_infinite()).count(),
                    runs: last_values.len(),
                }
            })
            .collect();
        Self {
            settings,
            last_trial: tests.last().map_or(0, |t| t.trial),
        }
    }

    /// The setting of `rule` with the lowest median at the last test, at `gain`.
    fn best(&self, rule: DeltaRule, gain: f64) -> Option<&Setting> {
        self.settings
            .iter()
            .filter(|s| s.rule == rule && s.gain == gain)
            .min_by(|a, b| a.last.0.total_cmp(&b.last.0))
    }

    fn gains(&self) -> Vec<f64> {
        let mut gains: Vec<f64> = Vec::new();
        for s in &self.settings {
            if !gains.contains(&s.gain) {
                gains.push(s.gain);
            }
        }
        gains
    }

    /// The headline figures: every setting's median at the last test, and with both rules,
    /// the best of each and their ratio (at the first gain).
    pub fn report(&self, run: &BayesianSynapseRun) -> Report {
        let mut report = Report::new(BayesianSynapseExperiment::NAME, "periodic-gp");
        let first = &self.settings[0];
        report = report
            .metric("median_mse", first.last.0)
            .metric("trial", self.last_trial as f64)
            .metric(
                "diverged",
                self.settings.iter().map(|s| s.diverged).sum::<usize>() as f64,
            );
        if self.settings.len() > 1 {
            for s in &self.settings {
                report = report.metric(&format!("median_mse/{}", s.label), s.last.0);
            }
        }
        let gain = first.gain;
        if let (Some(classical), Some(bayesian)) = (
            self.best(DeltaRule::Classical, gain),
            self.best(DeltaRule::Bayesian, gain),
        ) {
            report = report
                .metric("best_classical_mse", classical.last.0)
                .metric("best_bayesian_mse", bayesian.last.0)
                .metric(
                    "classical_over_bayesian",
                    classical.last.0 / bayesian.last.0,
                );
        }
        let text = self.table(run);
        report.text(text)
    }

    /// The medians table (and, over several gains, the best of each rule per gain).
    fn table(&self, run: &BayesianSynapseRun) -> String {
        let mut text = format!(
            "bayesian-synapse: {} networks × {} targets per setting, N = {}, free-running test MSE (median over runs)\n\n",
            run.network.networks, run.targets, run.network.neurons
        );
        let trials: Vec<usize> = self.settings[0].medians.iter().map(|(t, _)| *t).collect();
        let _ = write!(text, "| setting |");
        for t in &trials {
            let _ = write!(text, " {t} |");
        }
        let _ = writeln!(text, " 95 % interval at {} | diverged |", self.last_trial);
        let _ = writeln!(text, "|---|{}---|---|", "---|".repeat(trials.len()));
        for s in &self.settings {
            let _ = write!(text, "| {} |", s.label);
            for (_, m) in &s.medians {
                let _ = write!(text, " {} |", figure(*m));
            }
            let _ = writeln!(
                text,
                " {} – {} | {}/{} |",
                figure(s.last.1),
                figure(s.last.2),
                s.diverged,
                s.runs
            );
        }
        let gains = self.gains();
        let both = |gain| {
            self.best(DeltaRule::Classical, gain)
                .zip(self.best(DeltaRule::Bayesian, gain))
        };
        if gains.iter().any(|&g| both(g).is_some()) {
            let _ = writeln!(
                text,
                "\nBest rate of each rule, median test MSE at trial {}:\n\n| g | Bayesian | classical | classical / Bayesian |\n|---|---|---|---|",
                self.last_trial
            );
            for g in gains {
                if let Some((classical, bayesian)) = both(g) {
                    let _ = writeln!(
                        text,
                        "| {g} | {} (η₀ {}) | {} (η {}) | {:.1} |",
                        figure(bayesian.last.0),
                        run.rates[bayesian.rate].eta,
                        figure(classical.last.0),
                        run.rates[classical.rate].eta,
                        classical.last.0 / bayesian.last.0
                    );
                }
            }
        }
        text
    }

    /// `summary.md`, `mse.png` (median test MSE against trials, one panel per rule) and
    /// `tracking.png` (the target and the best setting's output of each rule, network 0,
    /// target 0, at the last test). `outputs` is `[networks][runs][period]`.
    pub fn write(
        &self,
        dir: &Path,
        run: &BayesianSynapseRun,
        samples: &[Vec<f64>],
        outputs: &[f32],
    ) -> anyhow::Result<String> {
        let table = self.table(run);
        write_atomically(&dir.join("summary.md"), table.as_bytes())?;
        let mut panels = Vec::new();
        let titles = [
            (DeltaRule::Bayesian, "Bayesian rule"),
            (DeltaRule::Classical, "classical rule"),
        ];
        for (rule, title) in titles {
            let series: Vec<Series> = self
                .settings
                .iter()
                .filter(|s| s.rule == rule)
                .map(|s| Series {
                    label: s.label.clone(),
                    points: s
                        .medians
                        .iter()
                        .map(|&(t, m)| (t as f64, m))
                        .filter(|(_, m)| m.is_finite())
                        .collect(),
                })
                .collect();
            if !series.is_empty() {
                panels.push((title, "median test MSE", series));
            }
        }
        plot::lines_log_y(&panels, "trial", &dir.join("mse.png"))?;

        let runs = run.runs();
        let period = run.period;
        let step = |t: usize| t as f64;
        let mut tracking = vec![Series {
            label: "target".into(),
            points: samples[0]
                .iter()
                .enumerate()
                .map(|(t, &v)| (step(t), v))
                .collect(),
        }];
        for (rule, _) in titles {
            if let Some(best) = self.best(rule, self.settings[0].gain) {
                let gain_index = self
                    .gains()
                    .iter()
                    .position(|&g| g == best.gain)
                    .unwrap_or(0);
                let network = gain_index * run.network.networks;
                let start = (network * runs + best.rate * run.targets) * period;
                tracking.push(Series {
                    label: best.label.clone(),
                    points: outputs[start..start + period]
                        .iter()
                        .enumerate()
                        .map(|(t, &v)| (step(t), f64::from(v)))
                        .collect(),
                });
            }
        }
        let title = format!("trial {}, readout frozen", self.last_trial);
        plot::lines(
            &[(title.as_str(), "output", tracking)],
            "step",
            &dir.join("tracking.png"),
        )?;
        Ok(table)
    }
}

fn figure(value: f64) -> String {
    if !value.is_finite() {
        "diverged".into()
    } else if value != 0.0 && value.abs() < 1e-3 {
        // Errors fall over decades: small ones keep their digits.
        format!("{value:.2e}")
    } else {
        format!("{value:.4}")
    }
}
