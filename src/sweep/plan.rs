//! A sweep plan and its cells. A plan names a model, a preset, a base overlay, the flags
//! every cell shares and a grid of values; its cells are the grid's product, in the order
//! the grid names its fields (the last one varies fastest), each an ordinary run.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Fields in the order the plan file gives them (an object in JSON).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields: Vec<(String, T)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, T>()? {
                    if fields.iter().any(|(known, _)| *known == key) {
                        return Err(serde::de::Error::custom(format!("'{key}' is named twice")));
                    }
                    fields.push((key, value));
                }
                Ok(Ordered(fields))
            }
        }
        deserializer.deserialize_map(Fields(std::marker::PhantomData))
    }
}

/// What a plan file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The model, as `train` names it.
    pub model: String,
    /// The preset every cell starts from (default: the model's first, or the one its flags
    /// imply); a grid may vary it under the name `preset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Laid over the preset, as a `--config` file is: any subset of the run's JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Flags every cell shares, by the names `train` knows them (`"episodes": 30` is
    /// `--episodes 30`), or any run field by its JSON path (`"/train/seed"` or `"train.seed"`).
    #[serde(default)]
    pub flags: Ordered<Value>,
    /// The values each field takes, keyed as `flags` are; the cells are their product. A field
    /// whose values are all objects is a bundle: its name is a label, and each object sets
    /// several fields together (`{"name": "rnn", "core": "rnn", "modulation": "none"}`; the
    /// optional `name` names the value in cell names and tables).
    #[serde(default)]
    pub grid: Ordered<Vec<Value>>,
    /// The sweep's directory: one run directory per cell, the collected tables.
    pub out: PathBuf,
    /// One line saying what the sweep measures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

/// One run of a sweep: its place in the grid and the values it takes there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub index: usize,
    /// Its run directory's name under the sweep's directory.
    pub name: String,
    /// The grid's value of each field, in the grid's order.
    pub values: Ordered<Value>,
}

impl Cell {
    /// Every field this cell sets: the plan's flags, then its grid values (which win), a
    /// bundle's fields in its place.
    pub fn fields(&self, plan: &Plan) -> Vec<(String, Value)> {
        let mut own: Vec<(String, Value)> = Vec::new();
        for (key, value) in &self.values.0 {
            match value {
                Value::Object(bundle) => own.extend(
                    bundle
                        .iter()
                        .filter(|(k, _)| k.as_str() != BUNDLE_NAME)
                        .map(|(k, v)| (k.clone(), v.clone())),
                ),
                _ => own.push((key.clone(), value.clone())),
            }
        }
        let mut fields: Vec<(String, Value)> = plan
            .flags
            .0
            .iter()
            .filter(|(key, _)| !own.iter().any(|(k, _)| k == key))
            .cloned()
            .collect();
        fields.extend(own);
        fields
    }

    /// The preset this cell starts from.
    pub fn preset(&self, plan: &Plan) -> anyhow::Result<Option<String>> {
        match self
            .fields(plan)
            .into_iter()
            .find(|(key, _)| key == PRESET_KEY)
        {
            Some((_, Value::String(name))) => Ok(Some(name)),
            Some((_, other)) => bail!("'preset' takes a preset's name, got {other}"),
            None => Ok(plan.preset.clone()),
        }
    }
}

/// The grid field that varies the preset.
pub const PRESET_KEY: &str = "preset";
/// The entry of a bundle's object that names it.
pub const BUNDLE_NAME: &str = "name";

impl Plan {
    /// Reads and checks a plan file's shape (the cells' runs are checked by the model).
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read plan {}", path.display()))?;
        let plan: Plan =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&text))
                .map_err(|e| {
                    let at = e.path().to_string();
                    let inner = e.into_inner();
                    if at == "." {
                        anyhow::anyhow!("plan {}: {inner}", path.display())
                    } else {
                        anyhow::anyhow!("plan {}: {at}: {inner}", path.display())
                    }
                })?;
        plan.check_shape()
            .with_context(|| format!("plan {}", path.display()))?;
        Ok(plan)
    }

    fn check_shape(&self) -> anyhow::Result<()> {
        if let Some(config) = &self.config {
            if !config.is_object() {
                bail!("'config' must be an object (any subset of the run's JSON)");
            }
        }
        for (key, values) in &self.grid.0 {
            if values.is_empty() {
                bail!("grid field '{key}' has no values: give at least one, or leave it out");
            }
            for (k, value) in values.iter().enumerate() {
                if values[..k].contains(value) {
                    bail!("grid field '{key}' names {value} twice");
                }
            }
            let bundles = values.iter().filter(|v| v.is_object()).count();
            if bundles != 0 && bundles != values.len() {
                bail!("grid field '{key}' mixes objects (bundles of fields) with single values");
            }
            for value in values.iter().filter_map(Value::as_object) {
                if value.keys().all(|k| k == BUNDLE_NAME) {
                    bail!("grid field '{key}' has a bundle that sets no field");
                }
                if value.get(BUNDLE_NAME).is_some_and(|n| !n.is_string()) {
                    bail!("grid field '{key}': a bundle's \"name\" is a string");
                }
            }
        }
        let keys = self.flags.0.iter().map(|(key, _)| key);
        for key in keys.chain(self.grid.0.iter().map(|(key, _)| key)) {
            if key.trim_start_matches('-').is_empty() {
                bail!("a field without a name");
            }
        }
        if self.flags.0.iter().any(|(key, _)| key == PRESET_KEY) {
            bail!("the preset is the plan's own field: \"preset\": \"…\" (or a grid field)");
        }
        Ok(())
    }

    /// The cells, the grid's product; refused when two would share a directory.
    pub fn cells(&self) -> anyhow::Result<Vec<Cell>> {
        let count = self
            .grid
            .0
            .iter()
            .try_fold(1usize, |n, (_, values)| n.checked_mul(values.len()))
            .context("the grid has more cells than can be counted")?;
        let mut cells: Vec<Cell> = Vec::with_capacity(count);
        for index in 0..count {
            // Mixed radix, the last field fastest.
            let mut rest = index;
            let mut values = vec![(String::new(), Value::Null); self.grid.0.len()];
            for (slot, (key, options)) in self.grid.0.iter().enumerate().rev() {
                values[slot] = (key.clone(), options[rest % options.len()].clone());
                rest /= options.len();
            }
            let name = cell_name(&values);
            if let Some(other) = cells.iter().find(|c| c.name == name) {
                bail!(
                    "cells {} and {index} would share the directory name '{name}': make the grid's values differ by more than punctuation",
                    other.index
                );
            }
            cells.push(Cell {
                index,
                name,
                values: Ordered(values),
            });
        }
        Ok(cells)
    }
}

/// A cell's directory name: `field=value` for each grid field, joined by commas (`run` for a
/// plan without a grid). Characters a shell or a file system would mind become `_`.
pub fn cell_name(values: &[(String, Value)]) -> String {
    if values.is_empty() {
        return "run".to_string();
    }
    values
        .iter()
        .map(|(key, value)| {
            let key = key.trim_start_matches('-').trim_start_matches('/');
            format!("{}={}", clean(key), clean(&value_text(value)))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '+' => c,
            '/' => '.',
            ',' => '+',
            _ => '_',
        })
        .collect()
}

/// A value as a flag takes it: strings bare, lists comma-separated; a bundle by its name, or
/// its values joined by `-`.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
        Value::Object(bundle) => match bundle.get(BUNDLE_NAME) {
            Some(name) => value_text(name),
            None => bundle
                .values()
                .map(value_text)
                .collect::<Vec<_>>()
                .join("-"),
        },
        other => other.to_string(),
    }
}

/// Whether a field is given by its JSON path rather than by a flag's name.
pub fn is_path(key: &str) -> bool {
    key.starts_with('/') || key.contains('.')
}

/// The JSON path of a field given by path, as a pointer (`train.seed` → `/train/seed`).
pub fn pointer(key: &str) -> String {
    if key.starts_with('/') {
        key.to_string()
    } else {
        format!("/{}", key.replace('.', "/"))
    }
}

/// An overlay that sets each `(pointer, value)`: `{"train": {"seed": 3}}`.
pub fn path_overlay(fields: &[(String, Value)]) -> anyhow::Result<Value> {
    let mut overlay = Value::Object(Default::default());
    for (pointer, value) in fields {
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            bail!("'{pointer}' is not a field's path");
        }
        let mut slot = &mut overlay;
        for part in &parts[..parts.len() - 1] {
            slot = slot
                .as_object_mut()
                .expect("built as objects")
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            if !slot.is_object() {
                bail!("'{pointer}' sets a field inside a value another field sets");
            }
        }
        slot.as_object_mut()
            .expect("built as objects")
            .insert(parts[parts.len() - 1].to_string(), value.clone());
    }
    Ok(overlay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> anyhow::Result<Plan> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, text).unwrap();
        Plan::read(&path)
    }

    #[test]
    fn cells_are_the_grid_product_with_the_last_field_fastest() {
        let plan = plan(
            r#"{"model": "m", "flags": {"episodes": 30},
                "grid": {"seed": [0, 1], "lr": [0.001, 0.0003]}, "out": "o"}"#,
        )
        .unwrap();
        let names: Vec<String> = plan.cells().unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "seed=0,lr=0.001",
                "seed=0,lr=0.0003",
                "seed=1,lr=0.001",
                "seed=1,lr=0.0003"
            ]
        );
        let cell = &plan.cells().unwrap()[3];
        assert_eq!(cell.index, 3);
        let fields = cell.fields(&plan);
        assert_eq!(fields[0], ("episodes".to_string(), serde_json::json!(30)));
        assert_eq!(fields[2], ("lr".to_string(), serde_json::json!(0.0003)));
    }

    #[test]
    fn a_plan_without_a_grid_is_one_cell() {
        let cells = plan(r#"{"model": "m", "out": "o"}"#)
            .unwrap()
            .cells()
            .unwrap();
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].name, "run");
    }

    #[test]
    fn bad_plans_are_refused_with_what_is_wrong() {
        for (text, expected) in [
            (
                r#"{"model": "m", "grid": {"seed": []}, "out": "o"}"#,
                "no values",
            ),
            (
                r#"{"model": "m", "grid": {"seed": 0}, "out": "o"}"#,
                "grid.seed",
            ),
            (
                r#"{"model": "m", "grid": {"seed": [1, 1]}, "out": "o"}"#,
                "twice",
            ),
            (r#"{"model": "m", "out": "o", "extra": 1}"#, "unknown field"),
            (r#"{"model": "m"}"#, "out"),
            (
                r#"{"model": "m", "grid": {"x": ["a/b", "a.b"]}, "out": "o"}"#,
                "share the directory name",
            ),
        ] {
            let error = plan(text).and_then(|p| p.cells().map(|_| ())).unwrap_err();
            let message = format!("{error:#}");
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn a_bundle_sets_its_fields_together_and_names_its_cells() {
        let plan = plan(
            r#"{"model": "m", "flags": {"core": "plastic", "seed": 9},
                "grid": {"network": [{"name": "rnn", "core": "rnn", "modulation": "none"},
                                     {"core": "plastic", "modulation": "simple"}],
                         "seed": [0, 1]}, "out": "o"}"#,
        )
        .unwrap();
        let cells = plan.cells().unwrap();
        let names: Vec<&str> = cells.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "network=rnn,seed=0",
                "network=rnn,seed=1",
                "network=plastic-simple,seed=0",
                "network=plastic-simple,seed=1"
            ]
        );
        let fields = cells[1].fields(&plan);
        let get = |k: &str| fields.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("core"), "rnn");
        assert_eq!(get("modulation"), "none");
        assert_eq!(get("seed"), 1);
        assert_eq!(fields.len(), 3, "{fields:?}");
        let mixed = r#"{"model": "m", "grid": {"x": [{"a": 1}, 2]}, "out": "o"}"#;
        assert!(format!("{:#}", super::tests::plan(mixed).unwrap_err()).contains("mixes"));
    }

    #[test]
    fn fields_by_path_become_one_overlay() {
        let overlay = path_overlay(&[
            (pointer("train.seed"), serde_json::json!(3)),
            (
                pointer("/train/optimizer/learning_rate"),
                serde_json::json!(0.1),
            ),
        ])
        .unwrap();
        assert_eq!(
            overlay,
            serde_json::json!({"train": {"seed": 3, "optimizer": {"learning_rate": 0.1}}})
        );
        assert!(is_path("/a") && is_path("a.b") && !is_path("lr"));
    }
}
