//! plastic-zoo: train, evaluate and benchmark networks that learn the way synapses do.

use plastic_zoo::cli;
use plastic_zoo::experiments;
use plastic_zoo::memory::CountingAllocator;

/// Counts live heap bytes, so that `compare` can measure a computation's peak memory.
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn main() {
    end_process(run())
}

/// The exit status: 0 done, 1 an error, 2 a command line clap rejected.
fn run() -> u8 {
    keep_freed_memory();
    one_thread_per_matrix_product();
    threads_the_scheduler_granted();
    die_quietly_on_closed_pipe();
    let cli = match cli::parse(std::env::args_os(), &experiments::all()) {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = err.print();
                return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    2
                } else {
                    0
                };
            }
            eprintln!(
                "{} (see `plastic-zoo --help` and `plastic-zoo list`)",
                one_line(&err.render().to_string())
            );
            return 2;
        }
    };
    match cli::run(cli) {
        Ok(()) => 0,
        Err(err) => {
            let message = format!("{err:#}").replace('\n', " ");
            eprintln!("error: {message}");
            1
        }
    }
}

/// clap's message in one line: its first, and where that ends in a colon (`the following
/// required arguments were not provided:`), the indented lines under it that name the
/// arguments.
fn one_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .trim_end();
    if !first.ends_with(':') {
        return first.to_string();
    }
    let named: Vec<&str> = lines
        .take_while(|line| line.starts_with(' ') && !line.trim().is_empty())
        .map(str::trim)
        .collect();
    format!("{first} {}", named.join(", "))
}

/// Every time step allocates and frees matrices of N² floats. By default glibc hands such
/// blocks back to the kernel and faults them in again at the next step, which at N = 1000
/// costs more than the arithmetic; these settings keep them in the heap for reuse. Blocks
/// above the largest mmap threshold glibc allows (32 MB: an LSTM's 2000 × 8000 recurrent
/// matrix, its gradient and Adam's temporaries are 64 MB each) would still get a fresh,
/// kernel-zeroed mapping every time, which on `train lstm --preset dp-50bit` took more system
/// time than the computation took user time (docs/baselines.md): no block is mapped on its own,
/// unless the user sets glibc's `MALLOC_MMAP_MAX_` (65536 is glibc's default).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    let mapped_blocks = std::env::var("MALLOC_MMAP_MAX_")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    // SAFETY: mallopt only changes allocator tunables; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, mapped_blocks);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// The ndarray backend multiplies matrices with matrixmultiply, which has a thread pool of
/// its own. The work here is already split across rayon's workers (RTRL's parameter blocks,
/// the batched products, the adjoint's rows), and a second pool only contends with them: with
/// one thread per product, RTRL, BPTT and the adjoint all ran faster in every case measured
/// (docs/plastic-rnn.md, "Threads"). A value the user sets is kept.
fn one_thread_per_matrix_product() {
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // Before any thread starts, and before matrixmultiply reads it (once, on first use).
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
}

/// Rayon's workers follow the CPUs this process may use (its affinity mask, its cgroup's
/// quota); SLURM grants a task `--cpus-per-task` without always confining it to them, so the
/// grant sets the count. A value the user sets is kept.
fn threads_the_scheduler_granted() {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return;
    }
    if let Some(granted) = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .filter(|v| v.trim().parse::<usize>().is_ok_and(|n| n > 0))
    {
        // Before any thread starts, and before rayon reads it (on first use).
        std::env::set_var("RAYON_NUM_THREADS", granted.trim());
    }
}

/// The wgpu runtime keeps threads of its own (the device's server, the queue poller) until
/// the process ends. Returning from `main` runs the C library's exit handlers, among them the
/// Vulkan driver's static destructors, while those threads may still be inside the driver:
/// Mesa's llvmpipe answered that, now and then, with a segmentation fault after all the work
/// was done and reported. By here every value the program owns is dropped (files written and
/// closed), so the process ends without those handlers, once its output is flushed.
#[cfg(unix)]
fn end_process(status: u8) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` only ends the process; nothing after it runs.
    unsafe { libc::_exit(status.into()) }
}

#[cfg(not(unix))]
fn end_process(status: u8) -> ! {
    std::process::exit(status.into())
}

/// `plastic-zoo … | head` closes stdout early; like other command-line tools, end quietly
/// then instead of panicking on the next print (Rust ignores SIGPIPE by default).
#[cfg(unix)]
fn die_quietly_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn die_quietly_on_closed_pipe() {}
