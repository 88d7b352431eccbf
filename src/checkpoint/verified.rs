//! A checkpoint once verified: its manifest checked, its state read, its records loaded
//! into modules and optimizers; and the records as bytes for writing one.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::record::AdaptorRecord;
use burn::optim::AdamState;
use burn::optim::Optimizer;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use serde::de::DeserializeOwned;

use crate::trainer::AdamOptimizer;

use super::{Manifest, RunState, CONFIG_FILE, MANIFEST_FILE, STATE_FILE};

/// Records are Burn's named MessagePack, in full precision.
type ByteRecorder = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// A verified checkpoint: its manifest, state and file contents.
pub struct Checkpoint {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub state: RunState,
    files: BTreeMap<String, Vec<u8>>,
}

impl Checkpoint {
    /// Reads and checks the checkpoint in `dir`; the error says what is wrong.
    pub(super) fn verify(dir: &Path) -> Result<Self, String> {
        let text = fs::read(dir.join(MANIFEST_FILE))
            .map_err(|e| format!("MANIFEST is missing or unreadable ({e})"))?;
        let manifest = Manifest::from_text(&text)?;
        let files = manifest.verify_files(dir)?;
        let state: RunState = files
            .get(STATE_FILE)
            .ok_or_else(|| format!("MANIFEST lists no {STATE_FILE}"))
            .and_then(|bytes| {
                serde_json::from_slice(bytes)
                    .map_err(|e| format!("{STATE_FILE} is unreadable ({e})"))
            })?;
        if state.model != manifest.model || state.step != manifest.step {
            return Err(format!("{STATE_FILE} disagrees with MANIFEST"));
        }
        if !files.contains_key(CONFIG_FILE) {
            return Err(format!("MANIFEST lists no {CONFIG_FILE}"));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            state,
            files,
        })
    }

    /// Steps completed when the checkpoint was written.
    pub fn step(&self) -> usize {
        self.state.step
    }

    /// Name of the model that wrote the checkpoint.
    pub fn model(&self) -> &str {
        &self.manifest.model
    }

    /// The run's configuration as saved with the checkpoint.
    pub fn config_value(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.files[CONFIG_FILE])
            .with_context(|| format!("{} holds an unreadable {CONFIG_FILE}", self.dir.display()))
    }

    pub fn config<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.files[CONFIG_FILE]).with_context(|| {
            format!(
                "{} holds a {CONFIG_FILE} of another shape than this model's",
                self.dir.display()
            )
        })
    }

    fn bytes(&self, name: &str) -> anyhow::Result<&[u8]> {
        self.files
            .get(name)
            .map(Vec::as_slice)
            .with_context(|| format!("{} holds no {name}", self.dir.display()))
    }

    /// Loads the record `name` into `module` (which fixes the expected structure).
    pub fn load_module<B: Backend, M: Module<B>>(
        &self,
        name: &str,
        module: M,
        device: &B::Device,
    ) -> anyhow::Result<M> {
        let record = self.load_record::<B, M::Record>(name, device)?;
        Ok(module.load_record(record))
    }

    /// Loads the record `name` into `fresh`, refused unless every parameter has the shape
    /// `fresh` gives it (the run's configuration): Burn would load a record of other shapes.
    pub fn load_module_checked<B: Backend, M: Module<B>>(
        &self,
        name: &str,
        fresh: M,
        device: &B::Device,
    ) -> anyhow::Result<M> {
        let expected = parameter_shapes::<B, M>(&fresh);
        let module = self.load_module(name, fresh, device)?;
        let found = parameter_shapes::<B, M>(&module);
        if found != expected {
            bail!(
                "{} holds weights of shapes {found:?}, but its configuration needs {expected:?}",
                self.dir.display()
            );
        }
        Ok(module)
    }

    /// Loads the optimizer state saved as `name`.
    pub fn load_optimizer<B, M, O>(
        &self,
        name: &str,
        optim: O,
        device: &B::Device,
    ) -> anyhow::Result<O>
    where
        B: AutodiffBackend,
        M: AutodiffModule<B>,
        O: Optimizer<M, B>,
    {
        let record = self.load_record::<B, O::Record>(name, device)?;
        Ok(optim.load_record(record))
    }

    fn load_record<B: Backend, R: burn::record::Record<B>>(
        &self,
        name: &str,
        device: &B::Device,
    ) -> anyhow::Result<R> {
        let bytes = self.bytes(name)?.to_vec();
        Recorder::<B>::load(&ByteRecorder::default(), bytes, device).map_err(|e| {
            anyhow::anyhow!(
                "{} does not fit this model ({e})",
                self.dir.join(name).display()
            )
        })
    }
}

/// A module's record as bytes (Burn named MessagePack, full precision).
pub fn module_bytes<B: Backend, M: Module<B>>(module: &M) -> anyhow::Result<Vec<u8>> {
    let unshared = module.clone().map(&mut Unshared);
    Recorder::<B>::record(&ByteRecorder::default(), unshared.into_record(), ())
        .context("cannot serialise the model")
}

/// An optimizer's state as bytes; `module` is the module it optimises.
pub fn optimizer_bytes<B, M>(optim: &AdamOptimizer<M, B>, module: &M) -> anyhow::Result<Vec<u8>>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    let mut unshared = UnsharedMoments::<M, B> {
        record: optim.to_record(),
    };
    module.visit(&mut unshared);
    Recorder::<B>::record(&ByteRecorder::default(), unshared.record, ())
        .context("cannot serialise the optimizer")
}

/// Every float parameter as a tensor of its own. burn-ndarray reads a tensor whose buffer is
/// shared (a parameter the live module holds too) back one element at a time through a
/// dynamic-rank iterator, 1.4 s for the LSTM's 16 M weights and 33 M Adam moments; a fresh
/// copy hands its buffer over.
struct Unshared;

impl<B: Backend> ModuleMapper<B> for Unshared {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        param.map(|tensor| tensor.mul_scalar(1.0))
    }
}

/// Adam's moments as tensors of their own (see [`Unshared`]); the module's parameters give
/// each state's rank.
struct UnsharedMoments<M: AutodiffModule<B>, B: AutodiffBackend> {
    record: <AdamOptimizer<M, B> as Optimizer<M, B>>::Record,
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> ModuleVisitor<B> for UnsharedMoments<M, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(record) = self.record.remove(&param.id) {
            let mut state: AdamState<B::InnerBackend, D> = record.into_state();
            let moments = &mut state.momentum;
            moments.moment_1 = moments.moment_1.clone().mul_scalar(1.0);
            moments.moment_2 = moments.moment_2.clone().mul_scalar(1.0);
            moments.max_moment_2 = moments.max_moment_2.take().map(|m| m.mul_scalar(1.0));
            self.record
                .insert(param.id, AdaptorRecord::from_state(state));
        }
    }
}

/// The shapes of every float parameter of `module`, in order.
pub fn parameter_shapes<B: Backend, M: Module<B>>(module: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl<B: Backend> ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push(param.val().dims().to_vec());
        }
    }
    let mut visitor = Shapes(Vec::new());
    module.visit(&mut visitor);
    visitor.0
}
