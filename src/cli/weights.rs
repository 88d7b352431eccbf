//! `export` and `import` flags.

use std::path::PathBuf;

use clap::Args;

use crate::experiment::launch::{ImportRequest, WeightsFormat};

fn format_parser() -> clap::builder::ValueParser {
    clap::builder::ValueParser::new(|s: &str| s.parse::<WeightsFormat>())
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run directory holding a checkpoint (or one checkpoint directory of a run)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The file to write
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// Format of the file (safetensors is the one written)
    #[arg(long, default_value = "safetensors", value_parser = clap::builder::PossibleValuesParser::new(["safetensors"]))]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The weights: a file `export` wrote, or a PyTorch file (`torch.save` of a dict of
    /// tensors named as the network's)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The model the weights belong to (see `plastic-zoo list`)
    #[arg(long)]
    pub model: String,
    /// Format of the file: safetensors or pytorch [default: from its extension]
    #[arg(long, value_parser = format_parser())]
    pub format: Option<WeightsFormat>,
    /// Preset of the run the weights belong to [default: the run recorded in the file, or
    /// the model's first]
    #[arg(long)]
    pub preset: Option<String>,
    /// JSON file laid over the preset: the run the weights belong to (a run's config.json
    /// is one) [default: the run recorded in the file]
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// Root of the run directories
    #[arg(long, default_value = "checkpoints")]
    pub out: PathBuf,
    /// Name of the new run directory [default: from the preset and seed]
    #[arg(long)]
    pub run_name: Option<String>,
}

impl ImportArgs {
    pub fn request(self) -> ImportRequest {
        ImportRequest {
            file: self.file,
            format: self.format,
            preset: self.preset,
            config_file: self.config,
            out: self.out,
            run_name: self.run_name,
        }
    }
}
