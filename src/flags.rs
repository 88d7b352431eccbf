//! A model's command line. Each experiment's flags are a clap struct whose fields are all
//! optional and serialise to the JSON shape of its run: the flags given form an overlay on
//! the preset (a flag not given is `null` and changes nothing), so every option is written
//! once. [`entry`] turns an experiment and its flags into what the CLI lists, parses and
//! dispatches to.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::backend::BackendChoice;
use crate::checkpoint::Checkpoint;
use crate::experiment::launch::{
    self, CellRun, ImportRequest, TrainRequest, Trained, Variant, WeightsReport,
};
use crate::experiment::{Experiment, Report};

/// The command line of an experiment: its `train` flags and its `eval` flags.
pub trait CommandLine: Experiment {
    /// `train <model>`'s own flags.
    type Flags: Args + TrainFlags;
    /// `eval`'s flags for this model's checkpoints; they serialise to an overlay on
    /// [`Experiment::EvalOptions`].
    type EvalFlags: Args + Serialize;
}

/// The `eval` flags of a model whose evaluation takes none.
#[derive(Debug, clap::Args, Serialize)]
pub struct NoEvalFlags {}

/// What `train` flags mean for a run.
pub trait TrainFlags {
    /// The flags given, as an overlay on the run's JSON.
    fn overlay(&self) -> anyhow::Result<Value>;

    /// Several runs from one command line (e.g. one per `--method`); none: one run.
    fn variants(&self) -> anyhow::Result<Vec<Variant>> {
        Ok(Vec::new())
    }

    /// The runs a fresh command without `--config` trains when the flags name no variant
    /// (e.g. every method).
    fn default_variants(&self) -> Vec<Variant> {
        Vec::new()
    }

    /// The directory that holds the variants' runs [default: the first run's name].
    fn group(&self) -> Option<String> {
        None
    }
}

/// The flags of every `train` subcommand.
#[derive(Debug, Args)]
pub struct CommonTrainArgs {
    /// Preset to start from (its choices and default are the model's)
    #[arg(long)]
    pub preset: Option<String>,
    /// JSON file overriding any part of the preset (flags override it in turn); a run's
    /// config.json is one
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint (or from the checkpoint
    /// directory named)
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Name of the run directory [default: from the preset and seed]
    #[arg(long)]
    pub run_name: Option<String>,
    /// Root of the run directories
    #[arg(long, default_value = "checkpoints")]
    pub out: PathBuf,
    /// Refuse a run whose estimated memory exceeds this, e.g. 512M or 4G [default: the
    /// memory the machine has available]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
}

/// Arguments of `eval` that every model shares.
const EVAL_SHARED: [&str; 3] = ["dir", "backend", "json"];

/// A model as the CLI sees it.
pub trait Entry: Send + Sync {
    fn name(&self) -> &'static str;
    fn about(&self) -> &'static str;
    fn presets(&self) -> Vec<(&'static str, String)>;
    /// The `train <model>` subcommand.
    fn train_command(&self) -> Command;
    /// The model's `eval` flags.
    fn eval_args(&self) -> Vec<clap::Arg>;
    /// Runs `train <model>` as parsed.
    fn train(&self, matches: &ArgMatches, backend: BackendChoice) -> anyhow::Result<Trained>;
    /// Runs `eval` on `checkpoint`, a checkpoint of this model.
    fn eval(
        &self,
        checkpoint: &Checkpoint,
        matches: &ArgMatches,
        backend: BackendChoice,
    ) -> anyhow::Result<Report>;
    /// Runs `export` on `checkpoint`, a checkpoint of this model.
    fn export(
        &self,
        checkpoint: &Checkpoint,
        file: &Path,
        backend: BackendChoice,
    ) -> anyhow::Result<WeightsReport>;
    /// Runs `import --model` this model.
    fn import(
        &self,
        request: &ImportRequest,
        backend: BackendChoice,
    ) -> anyhow::Result<WeightsReport>;
    /// The run of a sweep's cell: `preset`, `config` laid over it, then `args` (this model's
    /// `train` flags as typed, e.g. `--lr=0.001`) and `fields` (an overlay set by JSON path).
    fn cell_run(
        &self,
        preset: Option<&str>,
        config: Option<&Value>,
        args: &[String],
        fields: &Value,
    ) -> anyhow::Result<CellRun>;
    /// Trains a sweep cell's `run` in `dir` (or continues it, or keeps it when finished).
    fn train_cell(
        &self,
        run: &Value,
        dir: &Path,
        max_memory: Option<u64>,
        backend: BackendChoice,
    ) -> anyhow::Result<Report>;
    /// The model's own summary of a sweep's finished cells: (name, run directory, report).
    fn summarise_cells(
        &self,
        cells: &[(String, PathBuf, Report)],
        dir: &Path,
    ) -> anyhow::Result<Option<String>>;
    /// What lowers a run's memory, e.g. "lower --neurons".
    fn memory_hint(&self) -> &'static str;
}

struct ExperimentEntry<E>(PhantomData<fn() -> E>);

/// The CLI's view of experiment `E`.
pub fn entry<E: CommandLine>() -> Box<dyn Entry> {
    Box::new(ExperimentEntry::<E>(PhantomData))
}

impl<E: CommandLine> Entry for ExperimentEntry<E> {
    fn name(&self) -> &'static str {
        E::NAME
    }

    fn about(&self) -> &'static str {
        E::ABOUT
    }

    fn presets(&self) -> Vec<(&'static str, String)> {
        E::presets()
    }

    fn train_command(&self) -> Command {
        let presets = E::presets();
        let help = format!(
            "Preset to start from (see `plastic-zoo list`) [default: {}]",
            presets[0].0
        );
        let presets: Vec<PossibleValue> = presets
            .into_iter()
            .map(|(name, about)| PossibleValue::new(name).help(about))
            .collect();
        let command = CommonTrainArgs::augment_args(Command::new(E::NAME));
        // The flag structs' own doc comments would otherwise become the subcommand's help.
        E::Flags::augment_args(command)
            .about(E::ABOUT)
            .long_about(None)
            .mut_arg("preset", |arg| {
                arg.value_parser(PossibleValuesParser::new(presets))
                    .help(help)
            })
    }

    fn eval_args(&self) -> Vec<clap::Arg> {
        E::EvalFlags::augment_args(Command::new(E::NAME))
            .get_arguments()
            .cloned()
            .collect()
    }

    fn train(&self, matches: &ArgMatches, backend: BackendChoice) -> anyhow::Result<Trained> {
        let common = CommonTrainArgs::from_arg_matches(matches)?;
        if common.resume.is_some() && matches.value_source("out") == Some(ValueSource::CommandLine)
        {
            bail!("--resume continues a run in its own directory: leave out --out (the run stays where it is)");
        }
        let flags = E::Flags::from_arg_matches(matches)?;
        let mut variants = flags.variants()?;
        // A configuration file or a resumed run says what to train; otherwise the flags'
        // defaults may ask for several runs (e.g. every method).
        if variants.is_empty() && common.resume.is_none() && common.config.is_none() {
            variants = flags.default_variants();
        }
        let request = TrainRequest {
            preset: common.preset,
            config_file: common.config,
            flags: flags.overlay()?,
            variants,
            group: flags.group(),
            run_name: common.run_name,
            out: common.out,
            resume: common.resume,
            max_memory: common.max_memory,
        };
        launch::train::<E>(request, backend)
    }

    fn eval(
        &self,
        checkpoint: &Checkpoint,
        matches: &ArgMatches,
        backend: BackendChoice,
    ) -> anyhow::Result<Report> {
        let own: Vec<String> = self
            .eval_args()
            .iter()
            .map(|arg| arg.get_id().to_string())
            .collect();
        for id in matches.ids() {
            let id = id.as_str();
            if matches.value_source(id) == Some(ValueSource::CommandLine)
                && !own.iter().any(|o| o == id)
                && !EVAL_SHARED.contains(&id)
            {
                // The flag as typed: an option's id is its field's name (`tasks` for `--task`).
                let flag = crate::experiments::all()
                    .iter()
                    .flat_map(|entry| entry.eval_args())
                    .find(|arg| arg.get_id() == id)
                    .and_then(|arg| arg.get_long().map(str::to_string))
                    .unwrap_or_else(|| id.replace('_', "-"));
                bail!("--{flag} does not apply to a {} checkpoint", E::NAME);
            }
        }
        let flags = E::EvalFlags::from_arg_matches(matches)?;
        launch::eval::<E>(checkpoint, overlay_of(&flags)?, backend)
    }

    fn export(
        &self,
        checkpoint: &Checkpoint,
        file: &Path,
        backend: BackendChoice,
    ) -> anyhow::Result<WeightsReport> {
        launch::export::<E>(checkpoint, file, backend)
    }

    fn cell_run(
        &self,
        preset: Option<&str>,
        config: Option<&Value>,
        args: &[String],
        fields: &Value,
    ) -> anyhow::Result<CellRun> {
        let argv = std::iter::once(E::NAME.to_string()).chain(args.iter().cloned());
        let matches = self
            .train_command()
            .try_get_matches_from(argv)
            .map_err(|e| anyhow::anyhow!("{}", first_line(&e.render().to_string())))?;
        let flags = E::Flags::from_arg_matches(&matches)?;
        let mut overlay = flags.overlay()?;
        let variants = flags.variants()?;
        if variants.len() > 1 {
            let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
            bail!(
                "these flags ask for {} runs ({}), and a cell is one run: give each value its own cell in the grid",
                variants.len(),
                names.join(", ")
            );
        }
        for variant in variants {
            crate::config::merge_json(&mut overlay, variant.flags);
        }
        crate::config::merge_json(&mut overlay, fields.clone());
        launch::sweep_cell::<E>(preset, config, &overlay)
    }

    fn train_cell(
        &self,
        run: &Value,
        dir: &Path,
        max_memory: Option<u64>,
        backend: BackendChoice,
    ) -> anyhow::Result<Report> {
        launch::train_cell::<E>(run, dir, max_memory, backend)
    }

    fn summarise_cells(
        &self,
        cells: &[(String, PathBuf, Report)],
        dir: &Path,
    ) -> anyhow::Result<Option<String>> {
        launch::summarise_cells::<E>(cells, dir)
    }

    fn memory_hint(&self) -> &'static str {
        E::MEMORY_HINT
    }

    fn import(
        &self,
        request: &ImportRequest,
        backend: BackendChoice,
    ) -> anyhow::Result<WeightsReport> {
        launch::import::<E>(request, backend)
    }
}

/// The overlay of flags that serialise to the run's shape: the flags not given (`null`,
/// or objects of nothing but such) are left out.
pub fn overlay_of<T: Serialize>(flags: &T) -> anyhow::Result<Value> {
    fn prune(value: Value) -> Option<Value> {
        match value {
            Value::Null => None,
            Value::Object(map) => {
                let kept: serde_json::Map<String, Value> = map
                    .into_iter()
                    .filter_map(|(key, value)| prune(value).map(|v| (key, v)))
                    .collect();
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            other => Some(other),
        }
    }
    Ok(prune(serde_json::to_value(flags)?).unwrap_or(Value::Object(Default::default())))
}

/// clap's message without its usage lines: `error: unexpected argument '--x' found`.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("invalid flags").trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// Serialises `Some(b)` as `!b`: a flag that says the opposite of the field it sets.
pub fn negated<S: Serializer>(value: &Option<bool>, serializer: S) -> Result<S::Ok, S::Error> {
    value.map(|b| !b).serialize(serializer)
}

/// Layer sizes, input side first (`--hidden 100` or `--hidden 10,10`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LayerSizes(pub Vec<usize>);

/// Parses `--hidden`: positive layer sizes separated by commas.
pub fn parse_layer_sizes(text: &str) -> Result<LayerSizes, String> {
    if text.trim().is_empty() {
        return Err("the hidden layer list is empty: give sizes such as 100 or 10,10".into());
    }
    text.split(',')
        .map(|size| match size.trim().parse::<usize>() {
            Ok(0) => Err("every hidden layer needs at least 1 neuron".to_string()),
            Ok(size) => Ok(size),
            Err(_) => Err(format!(
                "'{size}' is not a layer size: give sizes such as 100 or 10,10"
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(LayerSizes)
}

/// Parses a float flag: a finite number (clap names the flag when this refuses).
pub fn finite_f64(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if !value.is_finite() {
        return Err("the value must be a finite number".into());
    }
    Ok(value)
}

/// [`finite_f64`] for single-precision settings (out-of-range values are not finite either).
pub fn finite_f32(text: &str) -> Result<f32, String> {
    let value = finite_f64(text)?;
    let single = value as f32;
    if !single.is_finite() {
        return Err(format!("{value} is too large for single precision"));
    }
    Ok(single)
}

/// Parses a byte count with an optional K, M, G or T suffix (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (digits, unit) = match trimmed
        .char_indices()
        .find(|(_, c)| c.is_ascii_alphabetic())
    {
        Some((at, _)) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let shift = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("unknown size unit in '{text}' (use K, M, G or T)")),
    };
    let value: f64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a size such as 512M or 4G"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("size must be positive, got '{text}'"));
    }
    Ok((value * (1u64 << shift) as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("4X").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("G").is_err());
    }

    #[test]
    fn flags_not_given_leave_no_trace_in_the_overlay() {
        let flags = serde_json::json!({"a": null, "b": {"c": null}, "d": {"e": 1, "f": null}});
        assert_eq!(
            overlay_of(&flags).unwrap(),
            serde_json::json!({"d": {"e": 1}})
        );
    }

    #[test]
    fn float_flags_refuse_what_is_not_finite() {
        assert_eq!(finite_f64("1e-3"), Ok(1e-3));
        for text in ["nan", "NaN", "inf", "-inf", "infinity", "1e999", "x"] {
            assert!(finite_f64(text).is_err(), "{text}");
        }
        assert!(finite_f32("1e39").is_err());
        assert_eq!(finite_f32("0.5"), Ok(0.5));
    }

    #[test]
    fn layer_sizes_parse_and_refuse_zero() {
        assert_eq!(parse_layer_sizes("10, 20"), Ok(LayerSizes(vec![10, 20])));
        assert!(parse_layer_sizes("10,0").is_err());
        assert!(parse_layer_sizes("").is_err());
    }
}

/// The seed, the checkpoint cadence and Adam: the `train` section of a gradient-trained run
/// besides its length and batch.
#[derive(Debug, Args, Serialize)]
pub struct SeedAndAdamFlags {
    /// Seed of the initial parameters and of the training data [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write a checkpoint every K steps (and at the end)
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
    #[command(flatten)]
    pub optimizer: AdamFlags,
}

/// `--truncate K`, for every model trained by backpropagation through time.
#[derive(Debug, Args, Serialize)]
pub struct TruncateFlag {
    /// Backpropagate through at most the last K steps of an episode (BPTT only) [default: all]
    #[arg(long, value_name = "K")]
    pub truncate: Option<usize>,
}

/// Adam's flags, for every model trained by gradient.
#[derive(Debug, Args, Serialize)]
pub struct AdamFlags {
    /// Adam learning rate [range: (0, ∞)]
    #[arg(long = "lr", allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub learning_rate: Option<f64>,
    /// Adam's β1 [range: [0, 1)]
    #[arg(long = "adam-beta1", value_parser = crate::flags::finite_f32)]
    pub beta_1: Option<f32>,
    /// Adam's β2 [range: [0, 1)]
    #[arg(long = "adam-beta2", value_parser = crate::flags::finite_f32)]
    pub beta_2: Option<f32>,
    /// Adam's ε [range: (0, ∞)]
    #[arg(long = "adam-eps", value_parser = crate::flags::finite_f32)]
    pub epsilon: Option<f32>,
    /// Largest global norm of a gradient [range: (0, ∞)]
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::finite_f64)]
    pub grad_clip: Option<f64>,
}
