//! The only place that names concrete backends. Everything else is generic over
//! `B: AutodiffBackend` and is handed a backend through [`BackendJob`].

use std::fmt;
use std::process::Command;
use std::str::FromStr;

use anyhow::{bail, Context};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Element, Tensor};
use plastic_models::Kernels;

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

    /// Where the fused work of a model runs on this backend: host loops on the CPU backends,
    /// the backend's own tensor operations on the GPU.
    pub fn kernels(self) -> Kernels {
        match self {
            Self::Ndarray | Self::Flex => Kernels::Host,
            Self::Wgpu => Kernels::Tensor,
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
pub trait BackendJob: Send {
    type Output: Send;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Burn's wgpu backend without its kernel-fusion layer. Burn 0.21's fusion computes wrong
/// values on wgpu when a batched matrix product with a transposed operand feeds an
/// elementwise operation inside a loop (`w = w + x·vᵀ` twice gives another `w` than on
/// ndarray, on Mesa's llvmpipe); the unfused backend gives ndarray's numbers.
#[cfg(feature = "wgpu")]
type WgpuUnfused =
    burn::backend::wgpu::CubeBackend<burn::backend::wgpu::WgpuRuntime, f32, i32, u32>;

/// What `choice` runs on here: the CPU for ndarray and flex, the wgpu adapter's name (or why
/// there is none) for wgpu. Asked before any work, because Burn's wgpu runtime panics on a
/// machine without an adapter.
pub fn device_of(choice: BackendChoice) -> Result<String, String> {
    if !choice.is_compiled() {
        return Err(format!(
            "not compiled in: rebuild with `--features {choice}`"
        ));
    }
    match choice {
        BackendChoice::Ndarray | BackendChoice::Flex => Ok("CPU".to_string()),
        BackendChoice::Wgpu => {
            static ADAPTER: std::sync::OnceLock<Result<String, String>> =
                std::sync::OnceLock::new();
            ADAPTER.get_or_init(wgpu_adapter).clone()
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_adapter() -> Result<String, String> {
    use burn::backend::wgpu::graphics::{AutoGraphicsApi, GraphicsApi};
    let api = AutoGraphicsApi::backend();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: api.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = ready(instance.enumerate_adapters(api.into()));
    match adapters.first() {
        Some(adapter) => {
            let info = adapter.get_info();
            Ok(format!("{} ({:?}, {api:?})", info.name, info.device_type))
        }
        None => Err(format!(
            "no {api:?} adapter found: install a {api:?} driver (on Debian or Ubuntu, \
             `apt-get install mesa-vulkan-drivers` gives Mesa's CPU driver, llvmpipe) or run on \
             --backend ndarray"
        )),
    }
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_adapter() -> Result<String, String> {
    Err("not compiled in: rebuild with `--features wgpu`".to_string())
}

/// The value of a future that is ready when first polled, as wgpu's native adapter list is
/// (it is a future only for the web); polled again until ready otherwise.
#[cfg(feature = "wgpu")]
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::yield_now();
    }
}

/// Runs `job` on `choice`, or explains which cargo feature would make it available.
pub fn run_on<J: BackendJob>(choice: BackendChoice, job: J) -> anyhow::Result<J::Output> {
    if let Err(why) = device_of(choice) {
        bail!("backend '{choice}' cannot run here: {why}");
    }
    choice.kernels().prefer();
    match choice {
        #[cfg(feature = "ndarray")]
        BackendChoice::Ndarray => on_a_rayon_worker(|| {
            run_checked::<burn::backend::Autodiff<burn::backend::NdArray<f32>>, J>(
                job,
                burn::backend::ndarray::NdArrayDevice::Cpu,
            )
        }),
        #[cfg(feature = "wgpu")]
        BackendChoice::Wgpu => run_checked::<burn::backend::Autodiff<WgpuUnfused>, J>(
            job,
            burn::backend::wgpu::WgpuDevice::default(),
        ),
        #[cfg(feature = "flex")]
        BackendChoice::Flex => on_a_rayon_worker(|| {
            run_checked::<burn::backend::Autodiff<burn::backend::Flex<f32, i32>>, J>(
                job,
                burn::backend::flex::FlexDevice,
            )
        }),
        #[allow(unreachable_patterns)]
        other => {
            bail!("backend '{other}' is not compiled in: rebuild with `--features {other}`")
        }
    }
}

/// Runs `work` on one of rayon's worker threads and waits for it.
///
/// The CPU backends wrap their operations in rayon scopes (ndarray: every matrix product).
/// Opened on a thread outside rayon's pool, a scope hands its work to a worker and sleeps until
/// it is done, two futex calls or more for every operation. Online learning on small
/// tensors spent most of its time there: `train feedback-alignment --task product --method fa`
/// took 14.1 s of system time in 39.4 s of wall time. On a worker a scope runs its
/// work in place and only what it spawns is shared. The numbers do not change: every
/// operation computes the same values on whichever thread runs it.
fn on_a_rayon_worker<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    rayon::scope(|_| work())
}

/// Resolves `--backend`: the named one if compiled in, else the first compiled one.
pub fn resolve(requested: Option<BackendChoice>) -> anyhow::Result<BackendChoice> {
    let choice = match requested {
        Some(choice) if choice.is_compiled() => choice,
        Some(choice) => {
            bail!("backend '{choice}' is not compiled in: rebuild with `--features {choice}`")
        }
        None => BackendChoice::default_compiled().ok_or_else(|| {
            anyhow::anyhow!(
                "no backend compiled in: enable one of the features ndarray, wgpu, flex"
            )
        })?,
    };
    if let Err(why) = device_of(choice) {
        bail!("backend '{choice}' cannot run here: {why}");
    }
    Ok(choice)
}

/// Runs `job` on ndarray in f64 with autodiff, for comparisons that need more precision
/// than f32 gives.
pub fn run_f64<J: BackendJob>(job: J) -> anyhow::Result<J::Output> {
    #[cfg(feature = "ndarray")]
    {
        BackendChoice::Ndarray.kernels().prefer();
        run_checked::<burn::backend::Autodiff<burn::backend::NdArray<f64>>, J>(
            job,
            burn::backend::ndarray::NdArrayDevice::Cpu,
        )
    }
    #[cfg(not(feature = "ndarray"))]
    {
        let _ = job;
        bail!("the f64 gradient check runs on ndarray: rebuild with `--features ndarray`")
    }
}

/// Runs `job` after checking that the backend creates tensors in its own float type.
///
/// Burn keeps one default float type per device, set by the first backend that touches
/// the device: after an f64 computation on ndarray's CPU device, `NdArray<f32>` would
/// silently compute in f64 within the same process.
fn run_checked<B: AutodiffBackend, J: BackendJob>(
    job: J,
    device: B::Device,
) -> anyhow::Result<J::Output> {
    let created = Tensor::<B, 1>::zeros([1], &device).dtype();
    let own = <B::FloatElem as Element>::dtype();
    if created != own {
        bail!(
            "this process already used the device in {created:?}; a {own:?} computation on it \
             would run in {created:?} (run it in its own process)"
        );
    }
    Ok(job.run::<B>(device))
}

/// Makes the child that `command` starts die with this process: a `compare` or `bench`
/// stopped by a signal (Ctrl-C, a job's time limit, a test's kill) would otherwise leave its
/// measuring child running to the end of its episodes, however many were asked for.
#[cfg(target_os = "linux")]
pub(crate) fn ends_with_this_process(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure only makes two async-signal-safe calls.
    unsafe {
        command.pre_exec(move || {
            // The signal comes when the thread that forked ends; the measuring children are
            // started by the thread that runs the whole job.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent may have died before the call above: then end at once.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn ends_with_this_process(_command: &mut Command) {}

/// Runs this executable with `args` and returns its standard output: for work that needs
/// a process of its own (a device in another float type, a peak memory of its own).
pub fn run_self(args: &[String], what: &str) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot find the plastic-zoo executable")?;
    let mut command = Command::new(&exe);
    command.args(args);
    ends_with_this_process(&mut command);
    let output = command
        .output()
        .with_context(|| format!("cannot start a process for {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
