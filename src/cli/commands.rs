//! `train <model>` and `eval`, whose subcommands and flags come from the experiments.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::{value_parser, Arg, ArgMatches, Args, Command, FromArgMatches, Subcommand};

use crate::experiments;

/// `train <model> [flags]`: the model's name and its parsed flags.
#[derive(Debug, Clone)]
pub struct TrainCommand {
    pub model: String,
    pub matches: ArgMatches,
}

impl FromArgMatches for TrainCommand {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        match matches.subcommand() {
            Some((model, flags)) => Ok(Self {
                model: model.to_string(),
                matches: flags.clone(),
            }),
            None => Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand)),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for TrainCommand {
    fn augment_subcommands(command: Command) -> Command {
        experiments::all()
            .iter()
            .fold(command, |command, entry| {
                command.subcommand(entry.train_command())
            })
            .subcommand_required(true)
    }

    fn augment_subcommands_for_update(command: Command) -> Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        experiments::all().iter().any(|entry| entry.name() == name)
    }
}

/// `eval DIR [flags]`: every model's eval flags are accepted by the parser; the model of
/// the checkpoint refuses those that are not its own.
#[derive(Debug, Clone)]
pub struct EvalCommand {
    pub dir: PathBuf,
    pub matches: ArgMatches,
}

impl FromArgMatches for EvalCommand {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let dir = matches
            .get_one::<PathBuf>("dir")
            .cloned()
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::MissingRequiredArgument))?;
        Ok(Self {
            dir,
            matches: matches.clone(),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for EvalCommand {
    fn augment_args(command: Command) -> Command {
        let mut command = command.arg(
            Arg::new("dir")
                .value_name("DIR")
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help("Run directory holding a checkpoint (or one checkpoint directory of a run)"),
        );
        let mut seen = BTreeSet::new();
        for entry in experiments::all() {
            for arg in entry.eval_args() {
                if seen.insert(arg.get_id().to_string()) {
                    command = command.arg(arg);
                }
            }
        }
        command
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}
