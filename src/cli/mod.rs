//! The command line: clap types live here and nowhere else. `train <model>` and `eval`'s
//! flags are made from the list of experiments; this module parses and dispatches.

mod commands;
mod sweep;
mod tools;
mod weights;

use anyhow::bail;
use clap::{Parser, Subcommand};
use serde_json::{json, Value};

pub use commands::{EvalCommand, TrainCommand};
pub use sweep::{CollectArgs, PlotArgs, SweepArgs};
pub use tools::{BenchArgs, BenchModel, CompareArgs};
pub use weights::{ExportArgs, ImportArgs};

use crate::backend::{self, BackendChoice};
use crate::checkpoint::RunDir;
use crate::experiments;
use crate::flags::Entry;

#[derive(Debug, Parser)]
#[command(
    name = "plastic-zoo",
    version,
    about = "Networks that learn the way synapses do"
)]
pub struct Cli {
    /// Backend to run on: ndarray, wgpu or flex (default: the first compiled in)
    #[arg(long, global = true, value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<BackendChoice>()))]
    pub backend: Option<BackendChoice>,
    /// End standard output with one line of JSON: the headline figures, for scripts
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List models and their presets, one per line
    List,
    /// List the backends, whether each is compiled in and what it runs on here (wgpu: its adapter)
    Backends,
    /// Train a model
    #[command(subcommand)]
    Train(TrainCommand),
    /// Evaluate a checkpoint (the model is read from it)
    Eval(EvalCommand),
    /// Write the weights of a checkpoint to a safetensors file (tensor names: docs/weights.md)
    Export(ExportArgs),
    /// Read weights (safetensors, or a PyTorch dict of tensors) into a new run directory
    Import(ImportArgs),
    /// Time training episodes and print JSON lines (median seconds per episode, peak memory)
    #[command(subcommand)]
    Bench(BenchModel),
    /// Plastic RNN: BPTT and RTRL gradients side by side (difference, time, memory)
    Compare(CompareArgs),
    /// Run a plan's grid of settings and seeds, one run per cell: here (-j N), or as a job for
    /// SLURM, GNU parallel or Kubernetes (--emit)
    Sweep(SweepArgs),
    /// Collect a sweep's finished cells into one table (per cell, and per group over seeds)
    Collect(CollectArgs),
}

/// Prints one line per backend (compiled in or not, what it runs on here) and returns the same
/// as JSON: `{"backends": [{"name", "compiled", "default", "device" | "unavailable"}]}`.
fn backends_table() -> Value {
    let default = BackendChoice::default_compiled();
    let rows: Vec<Value> = BackendChoice::ALL
        .into_iter()
        .map(|choice| {
            let marker = if Some(choice) == default {
                " (default)"
            } else {
                ""
            };
            let mut row = json!({
                "name": choice.name(),
                "compiled": choice.is_compiled(),
                "default": Some(choice) == default,
            });
            match backend::device_of(choice) {
                Ok(device) => {
                    println!("backend {:<8} runs on {device}{marker}", choice.name());
                    row["device"] = json!(device);
                }
                Err(why) => {
                    println!("backend {:<8} {why}", choice.name());
                    row["unavailable"] = json!(why);
                }
            }
            row
        })
        .collect();
    json!({ "backends": rows })
}

/// What `list` prints: one line per model, then one per preset.
pub fn list_lines(entries: &[Box<dyn Entry>]) -> Vec<String> {
    let mut lines: Vec<String> = entries
        .iter()
        .map(|e| format!("model   {:<18} {}", e.name(), e.about()))
        .collect();
    for entry in entries {
        for (preset, about) in entry.presets() {
            lines.push(format!("preset  {preset:<18} {}: {about}", entry.name()));
        }
    }
    lines
}

fn find(entries: &[Box<dyn Entry>], name: &str) -> Option<usize> {
    entries.iter().position(|e| e.name() == name)
}

/// Parses `args` (the program's name first) as the command line of a zoo holding `entries`:
/// the zoo's own models ([`experiments::all`]) and any added beside them, each a `train`
/// subcommand with its flags, its `eval` flags accepted by `eval`.
pub fn parse<I, T>(args: I, entries: &[Box<dyn Entry>]) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let command = <Cli as clap::CommandFactory>::command()
        .mut_subcommand("train", |mut train| {
            for entry in entries {
                if train.find_subcommand(entry.name()).is_none() {
                    train = train.subcommand(entry.train_command());
                }
            }
            train
        })
        .mut_subcommand("eval", |mut eval| {
            for entry in entries {
                for arg in entry.eval_args() {
                    if eval
                        .get_arguments()
                        .all(|known| known.get_id() != arg.get_id())
                    {
                        eval = eval.arg(arg);
                    }
                }
            }
            eval
        });
    let matches = command.try_get_matches_from(args)?;
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
}

/// Runs a parsed command line on the zoo's models.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    run_with(cli, &experiments::all()).map(|_| ())
}

/// Runs a command line parsed by [`parse`] with the same `entries`; returns what `--json`
/// prints (the report of `train` or `eval`, `bench`'s and `compare`'s cases), if anything.
pub fn run_with(cli: Cli, entries: &[Box<dyn Entry>]) -> anyhow::Result<Option<Value>> {
    // `list` and `backends` run on none, so a backend that cannot run here does not stop them.
    let backend = || backend::resolve(cli.backend);
    let json: Option<Value> = match cli.command {
        Command::List => {
            for line in list_lines(entries) {
                println!("{line}");
            }
            None
        }
        Command::Backends => Some(backends_table()),
        Command::Train(train) => {
            let backend = backend()?;
            let Some(index) = find(entries, &train.model) else {
                bail!("unknown model '{}'", train.model);
            };
            let entry = &entries[index];
            let trained = entry.train(&train.matches, backend)?;
            let mut reports: Vec<Value> = trained
                .reports
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            Some(if reports.len() == 1 {
                reports.pop().expect("one report")
            } else {
                let seconds: f64 = trained.reports.iter().map(|r| r.seconds).sum();
                json!({ "model": entry.name(), "runs": reports, "seconds": seconds })
            })
        }
        Command::Eval(eval) => {
            let backend = backend()?;
            let (_, checkpoint) = RunDir::open(&eval.dir)?;
            let Some(index) = find(entries, checkpoint.model()) else {
                bail!(
                    "{} holds a checkpoint of unknown model '{}'",
                    eval.dir.display(),
                    checkpoint.model()
                );
            };
            let report = entries[index].eval(&checkpoint, &eval.matches, backend)?;
            Some(serde_json::to_value(report)?)
        }
        Command::Export(args) => {
            let backend = backend()?;
            let (_, checkpoint) = RunDir::open(&args.dir)?;
            let Some(index) = find(entries, checkpoint.model()) else {
                bail!(
                    "{} holds a checkpoint of unknown model '{}'",
                    args.dir.display(),
                    checkpoint.model()
                );
            };
            let report = entries[index].export(&checkpoint, &args.output, backend)?;
            println!("{}", report.text("wrote"));
            Some(serde_json::to_value(report)?)
        }
        Command::Import(args) => {
            let backend = backend()?;
            let Some(index) = find(entries, &args.model) else {
                let known: Vec<&str> = entries.iter().map(|e| e.name()).collect();
                bail!(
                    "unknown model '{}' (known: {})",
                    args.model,
                    known.join(", ")
                );
            };
            let report = entries[index].import(&args.request(), backend)?;
            println!(
                "{}\nrun: {} (eval it with: plastic-zoo eval {})",
                report.text("read"),
                report.run.display(),
                report.run.display()
            );
            Some(serde_json::to_value(report)?)
        }
        Command::Bench(BenchModel::PlasticRnn(args)) => {
            let options = args.options();
            let in_process = options.in_process;
            let backend = backend()?;
            let summary = experiments::plastic_rnn::bench::bench_plastic_rnn(&options, backend)?;
            (!in_process).then_some(summary)
        }
        Command::Compare(args) => {
            let options = args.options();
            let in_process = options.in_process.is_some();
            let backend = backend()?;
            let summary = experiments::plastic_rnn::compare::compare(&options, backend)?;
            (!in_process).then_some(summary)
        }
        Command::Sweep(args) => run_sweep(&args, cli.backend, entries)?,
        Command::Collect(args) => Some(crate::sweep::collect::collect(
            &args.dir,
            entries,
            args.plot.request().as_ref(),
        )?),
    };
    if cli.json {
        if let Some(json) = &json {
            println!("{}", serde_json::to_string(json)?);
        }
    }
    Ok(json)
}

/// `sweep PLAN`: list, emit, collect, one cell, or every cell here.
fn run_sweep(
    args: &SweepArgs,
    requested: Option<BackendChoice>,
    entries: &[Box<dyn Entry>],
) -> anyhow::Result<Option<Value>> {
    use crate::sweep::{collect, emit, engine, Sweep};
    let sweep = Sweep::load(&args.plan, entries, args.max_memory)?;
    if args.list {
        return Ok(Some(sweep.list()));
    }
    if let Some(scheduler) = args.emit {
        let options = emit::EmitOptions {
            backend: requested,
            cpus: args.cpus,
            time: args.time.clone(),
            limit: args.limit,
            partition: args.partition.clone(),
            image: args.image.clone(),
            claim: args.claim.clone(),
            max_memory: args.max_memory,
        };
        print!("{}", emit::emit(&sweep, scheduler, &options)?);
        return Ok(None);
    }
    let plot = args.plot.request();
    if args.collect {
        return Ok(Some(collect::collect(
            &sweep.plan.out,
            entries,
            plot.as_ref(),
        )?));
    }
    if let Some(which) = &args.cell {
        let backend = backend::resolve(requested)?;
        let cell = sweep.cell(which)?;
        let report = sweep.train_cell(cell, args.max_memory, backend)?;
        return Ok(Some(serde_json::to_value(report)?));
    }
    // Checked here, so that a backend that cannot run stops the sweep before its cells start.
    backend::resolve(requested)?;
    let outcome = engine::run_local(
        &sweep,
        &engine::LocalOptions {
            jobs: args.jobs,
            backend: requested,
            max_memory: args.max_memory,
        },
    )?;
    if !outcome.failed.is_empty() {
        let failed: Vec<String> = outcome
            .failed
            .iter()
            .map(|(cell, log)| format!("{} ({})", cell.index, log.display()))
            .collect();
        bail!(
            "{} of {} cells failed: {}; the same command again retries them and keeps the finished ones",
            failed.len(),
            sweep.cells.len(),
            failed.join(", ")
        );
    }
    eprintln!(
        "{} cells finished ({} trained now, {} before)",
        sweep.cells.len(),
        outcome.trained,
        outcome.kept
    );
    Ok(Some(collect::collect(
        &sweep.plan.out,
        entries,
        plot.as_ref(),
    )?))
}
