//! The only place that names concrete backends. Everything else is generic over
//! `B: AutodiffBackend` and is handed a backend through [`BackendJob`].

use std::fmt;
use std::str::FromStr;

use burn::tensor::backend::AutodiffBackend;

/// A backend the user can ask for with `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// Burn's ndarray CPU backend (feature `ndarray`, the default).
    Ndarray,
    /// Burn's wgpu GPU backend (feature `wgpu`).
    Wgpu,
    /// Burn's flex CPU backend (feature `flex`).
    Flex,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] = [Self::Ndarray, Self::Wgpu, Self::Flex];

    pub fn name(self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Wgpu => "wgpu",
            Self::Flex => "flex",
        }
    }

    pub fn is_compiled(self) -> bool {
        match self {
            Self::Ndarray => cfg!(feature = "ndarray"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Flex => cfg!(feature = "flex"),
        }
    }

    /// The first compiled-in backend, in the order ndarray, wgpu, flex.
    pub fn default_compiled() -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.is_compiled())
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown backend '{s}' (known: ndarray, wgpu, flex)"))
    }
}

/// Work that runs on whichever backend the user picked.
pub trait BackendJob {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Runs `job` on `choice`, or explains which cargo feature would make it available.
pub fn run_on<J: BackendJob>(choice: BackendChoice, job: J) -> anyhow::Result<J::Output> {
    match choice {
        #[cfg(feature = "ndarray")]
        BackendChoice::Ndarray => Ok(job
            .run::<burn::backend::Autodiff<burn::backend::NdArray<f32>>>(
                burn::backend::ndarray::NdArrayDevice::Cpu,
            )),
        #[cfg(feature = "wgpu")]
        BackendChoice::Wgpu => Ok(job
            .run::<burn::backend::Autodiff<burn::backend::Wgpu<f32, i32>>>(
                burn::backend::wgpu::WgpuDevice::default(),
            )),
        #[cfg(feature = "flex")]
        BackendChoice::Flex => Ok(job
            .run::<burn::backend::Autodiff<burn::backend::Flex<f32, i32>>>(
                burn::backend::flex::FlexDevice,
            )),
        #[allow(unreachable_patterns)]
        other => {
            anyhow::bail!("backend '{other}' is not compiled in: rebuild with `--features {other}`")
        }
    }
}

/// Resolves `--backend`: the named one if compiled in, else the first compiled one.
pub fn resolve(requested: Option<BackendChoice>) -> anyhow::Result<BackendChoice> {
    match requested {
        Some(choice) if choice.is_compiled() => Ok(choice),
        Some(choice) => anyhow::bail!(
            "backend '{choice}' is not compiled in: rebuild with `--features {choice}`"
        ),
        None => BackendChoice::default_compiled().ok_or_else(|| {
            anyhow::anyhow!(
                "no backend compiled in: enable one of the features ndarray, wgpu, flex"
            )
        }),
    }
}

/// Runs `job` on ndarray in f64 with autodiff, for comparisons that need more precision
/// than f32 gives.
pub fn run_f64<J: BackendJob>(job: J) -> anyhow::Result<J::Output> {
    #[cfg(feature = "ndarray")]
    {
        Ok(
            job.run::<burn::backend::Autodiff<burn::backend::NdArray<f64>>>(
                burn::backend::ndarray::NdArrayDevice::Cpu,
            ),
        )
    }
    #[cfg(not(feature = "ndarray"))]
    {
        let _ = job;
        anyhow::bail!("the f64 gradient check runs on ndarray: rebuild with `--features ndarray`")
    }
}
