//! The readout phase: plasticity off, the networks run on, a linear readout per network
//! (logistic or ridge) learns to predict the next letter from the excitatory state and is
//! tested on the steps after; and what the scores show, per word length and variant
//! (`counting.png`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use burn::tensor::backend::Backend;
use plastic_models::kernels::Kernels;
use plastic_models::sorn::{one_hot_inputs, predict_next_symbol, Sorn, SornState, SymbolReadout};
use plastic_tasks::{CountingTask, COUNTING_ALPHABET};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ReadoutKind, SornExperiment, SornRun, Variant};
use crate::experiment::{Experiment, Report};
use crate::plot::{self, Series};
use crate::stats::mean_sd;
use crate::util::write_atomically;

/// One network's readout on its test steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accuracy {
    pub repeats: usize,
    pub variant: Variant,
    pub replicate: usize,
    /// Letters predicted right, over the test steps whose letter does not begin a word.
    pub predictable: f64,
    /// Letters predicted right over every test step (a word's first letter is a coin flip).
    pub all: f64,
    /// Word ends (C or F) predicted right: the letters only a count of the repeats
    /// predicts, which always guessing the middle letter never does.
    pub word_end: f64,
    /// Mean excitatory firing rate over the readout phase.
    pub rate: f64,
    /// Word ends predicted right by the best lookup from the state ([`StateLookup`]): where
    /// it falls short of 1, the states themselves have lost the count. Absent from runs saved
    /// before it was measured, as is `recurring`.
    #[serde(default)]
    pub word_end_lookup: Option<f64>,
    /// Test steps whose state also comes at another test step: near 0, nearly every state is
    /// new, and a lookup fitted on these same steps is right by construction.
    #[serde(default)]
    pub recurring: Option<f64>,
}

/// Runs the readout phase from `state` on the letters after the plastic phase and scores a
/// readout per network.
pub fn score<B: Backend>(
    run: &SornRun,
    network: &mut Sorn<B>,
    state: SornState<B>,
    letters: &[Vec<u8>],
) -> anyhow::Result<Vec<Accuracy>> {
    let device = network.recurrent.device();
    let units = network.excitatory();
    let steps = run.readout_train + run.readout_test;
    let start = run.plastic_steps;
    let symbols = COUNTING_ALPHABET.len();
    let inputs = one_hot_inputs(letters, start..start + steps, symbols, &device);
    let (_, record) = network.record(state, &inputs, Kernels::preferred());
    // Each network's readout is fitted on its own; the fits run side by side.
    run.networks()
        .par_iter()
        .zip(&record)
        .zip(letters)
        .map(|((&(repeats, variant, replicate), states), stream)| {
            // The state after letter t predicts letter t + 1.
            let next = &stream[start + 1..start + 1 + steps];
            let (predictable, all, word_end) = fit_and_test(run, states, next, units)?;
            let tested = run.readout_train..steps;
            let lookup = StateLookup::new(
                &states[tested.start * units..tested.end * units],
                &next[tested],
                units,
            );
            let rate = states.iter().map(|&s| f64::from(s)).sum::<f64>() / states.len() as f64;
            Ok(Accuracy {
                repeats,
                variant,
                replicate,
                predictable,
                all,
                word_end,
                rate,
                word_end_lookup: Some(lookup.word_end),
                recurring: Some(lookup.recurring),
            })
        })
        .collect()
}

/// Fits the readout on the first `readout_train` states and scores it on the rest: the
/// fraction right on letters that do not begin a word, on all, and on word ends.
fn fit_and_test(
    run: &SornRun,
    states: &[u8],
    next: &[u8],
    units: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let readout = match run.readout {
        ReadoutKind::Logistic => SymbolReadout::Logistic { l2: run.l2 },
        ReadoutKind::Ridge => SymbolReadout::Ridge { ridge: run.ridge },
    };
    let train = run.readout_train;
    let guesses =
        predict_next_symbol(states, next, units, COUNTING_ALPHABET.len(), train, readout)?;
    let (mut right, mut right_predictable, mut predictable) = (0usize, 0usize, 0usize);
    let (mut right_ends, mut ends) = (0usize, 0usize);
    for (guess, &letter) in guesses.into_iter().zip(&next[train..]) {
        let hit = guess == letter as usize;
        right += usize::from(hit);
        if !CountingTask::begins_word(letter) {
            predictable += 1;
            right_predictable += usize::from(hit);
        }
        if CountingTask::ends_word(letter) {
            ends += 1;
            right_ends += usize::from(hit);
        }
    }
    let tested = next.len() - train;
    Ok((
        right_predictable as f64 / predictable.max(1) as f64,
        right as f64 / tested as f64,
        right_ends as f64 / ends.max(1) as f64,
    ))
}

/// What the states themselves allow, whatever the readout: the lookup that answers each
/// distinct state with the letter that most often follows it on these same steps (ties go to
/// the word end). No readout of the state predicts more of these letters in all, so a word
/// end this lookup misses has a state that, on these steps, precedes another letter at least
/// as often.
pub struct StateLookup {
    /// Word ends the lookup predicts right.
    pub word_end: f64,
    /// Steps whose state also comes at another step.
    pub recurring: f64,
}

impl StateLookup {
    pub fn new(states: &[u8], next: &[u8], units: usize) -> Self {
        let symbols = COUNTING_ALPHABET.len();
        let mut follows: HashMap<&[u8], Vec<usize>> = HashMap::new();
        for (state, &letter) in states.chunks(units).zip(next) {
            follows.entry(state).or_insert_with(|| vec![0; symbols])[usize::from(letter)] += 1;
        }
        let (mut right, mut ends, mut recurring) = (0usize, 0usize, 0usize);
        for (state, &letter) in states.chunks(units).zip(next) {
            let counts = &follows[state];
            recurring += usize::from(counts.iter().sum::<usize>() > 1);
            if CountingTask::ends_word(letter) {
                ends += 1;
                right += usize::from(counts.iter().all(|&c| c <= counts[usize::from(letter)]));
            }
        }
        Self {
            word_end: right as f64 / ends.max(1) as f64,
            recurring: recurring as f64 / next.len().max(1) as f64,
        }
    }
}

/// One way of scoring a readout or the states: its metric suffix, what it measures, and its
/// value.
struct Measure {
    suffix: &'static str,
    title: &'static str,
    /// `None` where a network's run did not measure it.
    value: fn(&Accuracy) -> Option<f64>,
    /// What always guessing the middle letter (no count kept) scores at length n, for the
    /// measures of accuracy.
    middle_letter: Option<fn(f64) -> f64>,
}

/// The measures, headline first: letters that do not begin a word (the middle letters and
/// the word's end; what Lazar et al. score), word ends alone (what needs the count), every
/// letter; then what the states allow: word ends as the best lookup from the state predicts
/// them, and how often a state comes again.
const MEASURES: [Measure; 5] = [
    Measure {
        suffix: "accuracy",
        title: "next-letter accuracy on letters that do not begin a word",
        value: |a| Some(a.predictable),
        middle_letter: Some(|n| n / (n + 1.0)),
    },
    Measure {
        suffix: "word_end",
        title: "next-letter accuracy on word ends (C, F): the letters only a count predicts",
        value: |a| Some(a.word_end),
        middle_letter: Some(|_| 0.0),
    },
    Measure {
        suffix: "accuracy_all",
        title: "next-letter accuracy on every letter (a word's first is a coin flip)",
        value: |a| Some(a.all),
        middle_letter: Some(|n| (n + 0.5) / (n + 2.0)),
    },
    Measure {
        suffix: "word_end_lookup",
        title: "word ends the best lookup from the state predicts (a bound on any readout)",
        value: |a| a.word_end_lookup,
        middle_letter: Some(|_| 0.0),
    },
    Measure {
        suffix: "recurring",
        title: "test steps whose state comes again (near 0: the lookup's bound is empty)",
        value: |a| a.recurring,
        middle_letter: None,
    },
];

/// Scores per word length and variant, over replicates.
pub struct Summary<'a> {
    run: &'a SornRun,
    accuracy: &'a [Accuracy],
}

impl<'a> Summary<'a> {
    pub fn new(run: &'a SornRun, accuracy: &'a [Accuracy]) -> Self {
        Self { run, accuracy }
    }

    /// Mean and standard deviation over replicates of `variant` at length `n`.
    fn at(
        &self,
        variant: Variant,
        n: usize,
        value: fn(&Accuracy) -> Option<f64>,
    ) -> Option<(f64, f64)> {
        let values: Vec<f64> = self
            .accuracy
            .iter()
            .filter(|a| a.variant == variant && a.repeats == n)
            .filter_map(value)
            .collect();
        (!values.is_empty()).then(|| mean_sd(&values))
    }

    /// `variant`'s `value`, averaged over lengths and replicates.
    fn mean_of(&self, variant: Variant, value: fn(&Accuracy) -> Option<f64>) -> Option<f64> {
        let values: Vec<f64> = self
            .run
            .repeats
            .iter()
            .filter_map(|&n| self.at(variant, n, value).map(|(m, _)| m))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// `variant`'s accuracy on letters that do not begin a word, averaged over lengths.
    pub fn mean(&self, variant: Variant) -> Option<f64> {
        self.mean_of(variant, MEASURES[0].value)
    }

    /// Per variant and measure, `<variant>_<measure>.n<n>` and the mean over lengths,
    /// `<variant>_<measure>`.
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let mut metrics = Vec::new();
        for &variant in &self.run.variants {
            let key = variant.key();
            for measure in &MEASURES {
                let name = format!("{key}_{}", measure.suffix);
                for &n in &self.run.repeats {
                    if let Some((mean, _)) = self.at(variant, n, measure.value) {
                        metrics.push((format!("{name}.n{n}"), mean));
                    }
                }
                if let Some(mean) = self.mean_of(variant, measure.value) {
                    metrics.push((name, mean));
                }
            }
        }
        metrics
    }

    pub fn report(&self) -> Report {
        let mut report = Report::new(SornExperiment::NAME, "counting");
        for (name, value) in self.metrics() {
            report = report.metric(&name, value);
        }
        let tables: Vec<String> = [0, 1, 3, 4]
            .into_iter()
            .map(|m| self.table(&MEASURES[m]))
            .collect();
        report.text(tables.join("\n"))
    }

    /// One measure per length (rows) and variant (columns), beside always guessing the
    /// middle letter where the measure scores letters.
    fn table(&self, measure: &Measure) -> String {
        let mut text = format!(
            "{} (mean ± sd over {} replicates)\n{:>4}",
            measure.title, self.run.replicates, "n"
        );
        for variant in &self.run.variants {
            let _ = write!(text, "  {:>15}", variant.name());
        }
        if measure.middle_letter.is_some() {
            let _ = write!(text, "  {:>13}", "middle letter");
        }
        for &n in &self.run.repeats {
            let _ = write!(text, "\n{n:>4}");
            for &variant in &self.run.variants {
                let cell = self
                    .at(variant, n, measure.value)
                    .map_or("-".into(), |(mean, sd)| format!("{mean:.3} ± {sd:.3}"));
                let _ = write!(text, "  {cell:>15}");
            }
            if let Some(middle_letter) = measure.middle_letter {
                let _ = write!(text, "  {:>13.3}", middle_letter(n as f64));
            }
        }
        text
    }

    /// `accuracy.json` (every network's scores) and `counting.png`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        write_atomically(
            &dir.join("accuracy.json"),
            serde_json::to_string_pretty(self.accuracy)?.as_bytes(),
        )?;
        if self.accuracy.is_empty() {
            return Ok(());
        }
        let titles: Vec<String> = MEASURES
            .iter()
            .map(|m| {
                let mut title = m.title.to_string();
                title[..1].make_ascii_uppercase();
                title
            })
            .collect();
        let panels: Vec<_> = MEASURES
            .iter()
            .zip(&titles)
            .map(|(measure, title)| {
                let axis = if measure.middle_letter.is_some() {
                    "accuracy"
                } else {
                    "fraction"
                };
                (title.as_str(), axis, self.curves(measure))
            })
            .collect();
        plot::lines(
            &panels,
            "repeats n of the middle letter",
            &dir.join("counting.png"),
        )
    }

    /// Each variant's mean over replicates against n, and always guessing the middle letter
    /// where the measure scores letters.
    fn curves(&self, measure: &Measure) -> Vec<Series> {
        let mut curves: Vec<Series> = self
            .run
            .variants
            .iter()
            .map(|&variant| Series {
                label: variant.name().to_string(),
                points: self
                    .run
                    .repeats
                    .iter()
                    .filter_map(|&n| {
                        self.at(variant, n, measure.value)
                            .map(|(m, _)| (n as f64, m))
                    })
                    .collect(),
            })
            .collect();
        if let Some(middle_letter) = measure.middle_letter {
            curves.push(Series {
                label: "always the middle letter".into(),
                points: self
                    .run
                    .repeats
                    .iter()
                    .map(|&n| (n as f64, middle_letter(n as f64)))
                    .collect(),
            });
        }
        curves
    }
}

#[cfg(test)]
mod tests {
    use super::StateLookup;

    #[test]
    fn the_lookup_misses_a_word_end_whose_state_precedes_a_middle_letter_more_often() {
        let states = [
            1, 0, // before B
            1, 0, // before B
            1, 0, // before C: this state precedes B twice, so the lookup answers B
            0, 1, // before C, a state of its own
            0, 0, // before E
            0, 0, // before F: a tie with E, which goes to the word end
        ];
        let next = [1, 1, 2, 2, 4, 5];
        let lookup = StateLookup::new(&states, &next, 2);
        assert_eq!(lookup.word_end, 2.0 / 3.0);
        // Every state but (0, 1) comes again.
        assert_eq!(lookup.recurring, 5.0 / 6.0);
        // With one B fewer after that state, B and C tie there, and ties go to the word end.
        let lookup = StateLookup::new(&states[2..], &next[1..], 2);
        assert_eq!(lookup.word_end, 1.0);
        assert_eq!(lookup.recurring, 4.0 / 5.0);
    }
}
