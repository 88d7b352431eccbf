//! Pieces of run configurations that several models share, and how a configuration is
//! assembled: defaults or a preset, overlaid by a JSON file, overlaid by flags.

use std::path::Path;

use anyhow::{bail, Context};
use burn::optim::AdamConfig;
use plastic_tasks::PatternTaskConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The values a float setting may take, as its flag's help states them: `[range: (0, ∞)]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    low: f64,
    low_closed: bool,
    high: f64,
    high_closed: bool,
}

impl Range {
    /// (0, ∞)
    pub const POSITIVE: Self = Self::new(0.0, false, f64::INFINITY, false);
    /// [0, ∞)
    pub const NON_NEGATIVE: Self = Self::new(0.0, true, f64::INFINITY, false);
    /// [0, 1]
    pub const UNIT: Self = Self::new(0.0, true, 1.0, true);
    /// (0, 1]: a probability that may not be 0, a fraction of a whole.
    pub const FRACTION: Self = Self::new(0.0, false, 1.0, true);
    /// [0, 1): Adam's β.
    pub const DECAY: Self = Self::new(0.0, true, 1.0, false);
    /// (0, 1)
    pub const OPEN_UNIT: Self = Self::new(0.0, false, 1.0, false);
    /// Any finite number.
    pub const ANY: Self = Self::new(f64::NEG_INFINITY, false, f64::INFINITY, false);

    /// From `low` to `high`, each bound included when `closed`.
    pub const fn new(low: f64, low_closed: bool, high: f64, high_closed: bool) -> Self {
        Self {
            low,
            low_closed,
            high,
            high_closed,
        }
    }

    pub fn contains(&self, value: f64) -> bool {
        let above = if self.low_closed {
            value >= self.low
        } else {
            value > self.low
        };
        let below = if self.high_closed {
            value <= self.high
        } else {
            value < self.high
        };
        value.is_finite() && above && below
    }

    /// Refuses `value` of the setting `flag` outside the range, naming both.
    pub fn check(&self, flag: &str, value: f64) -> anyhow::Result<()> {
        if !self.contains(value) {
            bail!("{flag} must lie in {self}, got {value}");
        }
        Ok(())
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bound = |value: f64| {
            if value == f64::INFINITY {
                "∞".to_string()
            } else if value == f64::NEG_INFINITY {
                "-∞".to_string()
            } else {
                value.to_string()
            }
        };
        write!(
            f,
            "{}{}, {}{}",
            if self.low_closed { '[' } else { '(' },
            bound(self.low),
            bound(self.high),
            if self.high_closed { ']' } else { ')' }
        )
    }
}

/// Checks each `(flag, value, range)`.
pub fn check_ranges(settings: &[(&str, f64, Range)]) -> anyhow::Result<()> {
    for (flag, value, range) in settings {
        range.check(flag, *value)?;
    }
    Ok(())
}

/// Adam's settings, saved with every run that trains by gradient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamSettings {
    pub learning_rate: f64,
    #[serde(default = "default_beta_1")]
    pub beta_1: f32,
    #[serde(default = "default_beta_2")]
    pub beta_2: f32,
    /// Added to the root of the second moment.
    #[serde(default = "default_epsilon")]
    pub epsilon: f32,
    /// Largest global norm of a gradient, over all parameters together (`None`: not
    /// clipped); applied before Adam by the trainer.
    #[serde(default)]
    pub grad_clip: Option<f64>,
}

fn default_beta_1() -> f32 {
    0.9
}

fn default_beta_2() -> f32 {
    0.999
}

/// PyTorch's default ε, which the original scripts use (Burn's is 1e-5).
fn default_epsilon() -> f32 {
    1e-8
}

impl Default for AdamSettings {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            beta_1: default_beta_1(),
            beta_2: default_beta_2(),
            epsilon: default_epsilon(),
            grad_clip: None,
        }
    }
}

impl AdamSettings {
    pub fn with_learning_rate(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            ..Self::default()
        }
    }

    /// Burn's configuration of this optimizer (the rate is given at every step; clipping is
    /// the trainer's, see `trainer::clip`).
    pub fn config(&self) -> AdamConfig {
        AdamConfig::new()
            .with_beta_1(self.beta_1)
            .with_beta_2(self.beta_2)
            .with_epsilon(self.epsilon)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        check_ranges(&[
            ("--lr", self.learning_rate, Range::POSITIVE),
            ("--adam-beta1", self.beta_1.into(), Range::DECAY),
            ("--adam-beta2", self.beta_2.into(), Range::DECAY),
            ("--adam-eps", self.epsilon.into(), Range::POSITIVE),
        ])?;
        if let Some(norm) = self.grad_clip {
            Range::POSITIVE.check("--grad-clip", norm)?;
        }
        Ok(())
    }
}

/// The optimisation side of a run trained by gradient steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimizer steps in the whole run.
    pub episodes: usize,
    /// Episodes (or tasks) per optimizer step.
    pub batch: usize,
    /// Seeds the parameters and the training episodes.
    pub seed: u64,
    /// Writes a checkpoint every this many steps (and always at the end).
    pub checkpoint_every: usize,
    pub optimizer: AdamSettings,
}

impl TrainConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.episodes == 0 {
            bail!("episodes must be at least 1");
        }
        if self.batch == 0 {
            bail!("batch must be at least 1");
        }
        if self.checkpoint_every == 0 {
            bail!("checkpoint-every must be at least 1");
        }
        self.optimizer.validate()
    }
}

/// Overlays `overlay` onto `base`, object by object; other values, `null` included,
/// replace. (The flags not given never reach here: [`crate::flags::overlay_of`] leaves them
/// out, so a `null` is one a configuration file gives, e.g. an optional setting turned off.)
pub fn merge_json(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(slot) => merge_json(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The value a JSON file holds.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is unreadable", path.display()))
}

/// `base` with a JSON file (any subset of its fields) laid over it.
pub fn overlay_file<T: Serialize + DeserializeOwned>(base: &T, path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let overlay: Value = serde_json::from_str(&text)
        .with_context(|| format!("config file {} is not valid JSON", path.display()))?;
    overlay_value(base, overlay).with_context(|| {
        format!(
            "config file {} does not fit this model's run",
            path.display()
        )
    })
}

/// `base` with `overlay` laid over it. A value of the wrong type names its field; a field
/// the run does not have is refused, at any depth (a value given is a value used).
pub fn overlay_value<T: Serialize + DeserializeOwned>(
    base: &T,
    overlay: Value,
) -> anyhow::Result<T> {
    let mut merged = serde_json::to_value(base)?;
    merge_json(&mut merged, overlay);
    let value: T = serde_path_to_error::deserialize(merged.clone()).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        if at == "." {
            anyhow::anyhow!("{inner}")
        } else {
            anyhow::anyhow!("{at}: {inner}")
        }
    })?;
    let unknown = unknown_fields(&merged, &serde_json::to_value(&value)?);
    if !unknown.is_empty() {
        bail!(
            "unknown field{} {}: no such setting in this model's run",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", ")
        );
    }
    Ok(value)
}

/// The fields of `given` (dotted paths, `model.bogus`) that `read` lacks: those the type
/// read from `given` did not take up.
fn unknown_fields(given: &Value, read: &Value) -> Vec<String> {
    fn walk(given: &Value, read: &Value, at: &str, out: &mut Vec<String>) {
        let (Value::Object(given), Value::Object(read)) = (given, read) else {
            return;
        };
        for (key, value) in given {
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match read.get(key) {
                Some(known) => walk(value, known, &path, out),
                None => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    walk(given, read, "", &mut out);
    out
}

/// The JSON pointers (`/train/episodes`) at which `a` and `b` differ.
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for key in keys {
                    let next = format!("{at}/{key}");
                    match (a.get(key), b.get(key)) {
                        (Some(x), Some(y)) => walk(x, y, next, out),
                        _ => out.push(next),
                    }
                }
            }
            _ if a != b => out.push(at),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(a, b, String::new(), &mut out);
    out
}

/// The ranges of the pattern task's float flags (plastic-rnn, rnn, lstm).
pub fn validate_pattern_ranges(task: &PatternTaskConfig) -> anyhow::Result<()> {
    check_ranges(&[
        ("--degraded-fraction", task.degraded_fraction, Range::UNIT),
        ("--input-scale", task.input_scale, Range::ANY),
    ])
}

/// Checks `--truncate K`: backpropagation through at least one step.
pub fn validate_truncate(truncate: Option<usize>) -> anyhow::Result<()> {
    if truncate == Some(0) {
        bail!("--truncate must be at least 1 step");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overlays_merge_objects_and_nulls_replace() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge_json(&mut base, json!({"a": {"c": 5}, "d": null}));
        assert_eq!(base, json!({"a": {"b": 1, "c": 5}, "d": null}));
    }

    #[test]
    fn overlays_refuse_unknown_fields_at_any_depth_and_name_bad_types() {
        let base = AdamSettings::default();
        let unknown = overlay_value(&base, json!({"bogus": 1})).unwrap_err();
        assert!(unknown.to_string().contains("bogus"), "{unknown}");
        let config = TrainConfig {
            episodes: 1,
            batch: 1,
            seed: 0,
            checkpoint_every: 1,
            optimizer: base,
        };
        let nested = overlay_value(&config, json!({"optimizer": {"x": {"y": 1}}})).unwrap_err();
        assert!(nested.to_string().contains("optimizer.x"), "{nested}");
        let null =
            overlay_value(&config, json!({"optimizer": {"learning_rate": null}})).unwrap_err();
        assert!(
            null.to_string().contains("optimizer.learning_rate"),
            "{null}"
        );
        let cleared = overlay_value(&config, json!({"optimizer": {"grad_clip": null}})).unwrap();
        assert_eq!(cleared.optimizer.grad_clip, None);
    }

    #[test]
    fn differences_are_json_pointers() {
        let a = json!({"train": {"episodes": 5, "seed": 0}, "x": [1]});
        let b = json!({"train": {"episodes": 9, "seed": 0}, "x": [2]});
        assert_eq!(differences(&a, &b), vec!["/train/episodes", "/x"]);
    }

    #[test]
    fn ranges_read_as_intervals_and_hold_their_bounds() {
        assert_eq!(Range::POSITIVE.to_string(), "(0, ∞)");
        assert_eq!(Range::DECAY.to_string(), "[0, 1)");
        assert!(!Range::POSITIVE.contains(0.0) && Range::NON_NEGATIVE.contains(0.0));
        assert!(Range::UNIT.contains(1.0) && !Range::DECAY.contains(1.0));
        assert!(!Range::NON_NEGATIVE.contains(f64::INFINITY));
        let refused = Range::UNIT.check("--discount", 1.5).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "--discount must lie in [0, 1], got 1.5"
        );
    }

    #[test]
    fn adam_defaults_are_pytorchs() {
        let settings: AdamSettings = serde_json::from_str(r#"{"learning_rate": 0.1}"#).unwrap();
        assert_eq!(settings.beta_1, 0.9);
        assert_eq!(settings.epsilon, 1e-8);
        assert!(settings.validate().is_ok());
        assert!(AdamSettings::with_learning_rate(-1.0).validate().is_err());
    }
}
