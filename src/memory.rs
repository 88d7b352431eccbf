//! Memory: the guard that refuses a run before it allocates more than the machine has, and
//! heap accounting — the system allocator wrapped to count live bytes and their peak, so that
//! a computation's peak memory can be measured in-process (`compare`). The binary installs
//! [`CountingAllocator`] as its global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::bail;

use crate::util::human_bytes;

/// Refuses a run whose estimated peak `needed` (bytes) exceeds `limit` (`--max-memory`) or,
/// without one, the memory the machine has available; `hint` says what lowers the need.
pub fn check(needed: u64, limit: Option<u64>, hint: &str) -> anyhow::Result<()> {
    let needed_text = human_bytes(u128::from(needed));
    match limit {
        Some(limit) if needed > limit => bail!(
            "this run needs about {needed_text} of memory, more than --max-memory {}: {hint}, or raise --max-memory",
            human_bytes(u128::from(limit))
        ),
        Some(_) => Ok(()),
        None => match available_bytes() {
            Some(available) if needed > available => bail!(
                "this run needs about {needed_text} of memory but {} is available: {hint}, or pass --max-memory {} to try anyway",
                human_bytes(u128::from(available)),
                size_flag(needed)
            ),
            _ => Ok(()),
        },
    }
}

/// A byte count as `--max-memory` reads it, rounded up: `13G`, `700M`.
fn size_flag(bytes: u64) -> String {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    if bytes >= GIB {
        format!("{}G", bytes.div_ceil(GIB))
    } else {
        format!("{}M", bytes.div_ceil(MIB).max(1))
    }
}

/// Memory this process can have without swapping or being killed: the machine's
/// `MemAvailable`, or less where its cgroup (a SLURM job's, a container's) sets a limit;
/// `None` where neither can be read.
pub fn available_bytes() -> Option<u64> {
    let machine = machine_available();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|own| cgroup_headroom(Path::new("/sys/fs/cgroup"), &own));
    match (machine, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Linux `MemAvailable`.
fn machine_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The room left under the tightest memory limit of the cgroups `own` (the text of
/// `/proc/self/cgroup`) names, under the hierarchy mounted at `root`: cgroup v2's
/// `memory.max` less `memory.current`, or v1's `memory.limit_in_bytes` less
/// `memory.usage_in_bytes`, from the process's own group up to the root (a limit may sit on any
/// ancestor). The page cache the kernel can drop (`inactive_file`) does not count as used.
/// `None`: no limit found.
fn cgroup_headroom(root: &Path, own: &str) -> Option<u64> {
    let mut tightest: Option<u64> = None;
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (base, limit_file, usage_file, cache_key) = if controllers.is_empty() {
            (
                root.to_path_buf(),
                "memory.max",
                "memory.current",
                "inactive_file",
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                root.join("memory"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            )
        } else {
            continue;
        };
        let mut dir = base.join(path.trim_start_matches('/'));
        loop {
            if let Some(limit) = read_number(&dir.join(limit_file)) {
                let usage = read_number(&dir.join(usage_file)).unwrap_or(0);
                let cache = std::fs::read_to_string(dir.join("memory.stat"))
                    .ok()
                    .and_then(|stat| {
                        stat.lines()
                            .find_map(|l| l.strip_prefix(cache_key)?.trim().parse::<u64>().ok())
                    })
                    .unwrap_or(0);
                let room = limit.saturating_sub(usage.saturating_sub(cache));
                tightest = Some(tightest.map_or(room, |t| t.min(room)));
            }
            if dir == base || !dir.pop() {
                break;
            }
        }
    }
    tightest
}

/// A file holding one number (`max`, cgroup v2's "no limit", is none).
fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Bytes of `count` `f32` values, saturating instead of overflowing.
/// The product of `factors`, held at `u128::MAX` rather than wrapping: sizes a user gives
/// can be anything up to `usize::MAX`, and the square of one is already past `u128`.
pub fn product(factors: &[u128]) -> u128 {
    factors
        .iter()
        .fold(1u128, |total, &factor| total.saturating_mul(factor))
}

pub fn floats(count: u128) -> u64 {
    u64::try_from(count.saturating_mul(4)).unwrap_or(u64::MAX)
}

/// The system allocator, counting.
pub struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        moved
    }
}

/// Heap bytes in use now.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Measures the peak heap use of `work` above what was in use when it started.
pub fn peak_during<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let base = live_bytes();
    PEAK.store(base, Ordering::Relaxed);
    let out = work();
    let peak = PEAK.load(Ordering::Relaxed);
    (out, peak.saturating_sub(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    #[test]
    fn runs_beyond_the_limit_are_refused_with_the_flag_to_lift_it() {
        let refused = check(2 << 30, Some(1 << 30), "lower --neurons").unwrap_err();
        let text = refused.to_string();
        assert!(
            text.contains("2.0 GiB") && text.contains("--max-memory"),
            "{text}"
        );
        assert!(check(1 << 20, Some(1 << 30), "").is_ok());
        assert!(check(u64::MAX, None, "lower --neurons").is_err() || available_bytes().is_none());
        assert_eq!(size_flag(13 << 30), "13G");
        assert_eq!(size_flag(700 << 20), "700M");
    }

    #[test]
    fn a_temporary_allocation_shows_in_the_peak() {
        let ((), peak) = peak_during(|| {
            let block = vec![1u8; 8 << 20];
            std::hint::black_box(&block);
        });
        assert!(peak >= 8 << 20, "peak {peak}");
        assert!(peak < 9 << 20, "peak {peak}");
    }

    #[test]
    fn a_cgroup_limit_anywhere_above_the_process_bounds_what_is_available() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        // cgroup v2: the job's group has no limit of its own; its parent allows 4 GiB, of
        // which 1 GiB is used, 256 MiB of it droppable page cache.
        write("slurm/job_7/step_0/memory.max", "max\n");
        write("slurm/job_7/step_0/memory.current", "1000\n");
        write("slurm/job_7/memory.max", &format!("{}\n", 4u64 << 30));
        write("slurm/job_7/memory.current", &format!("{}\n", 1u64 << 30));
        write(
            "slurm/job_7/memory.stat",
            &format!("anon 1\ninactive_file {}\n", 256u64 << 20),
        );
        let v2 = "0::/slurm/job_7/step_0\n";
        assert_eq!(
            cgroup_headroom(root.path(), v2),
            Some((4u64 << 30) - (1u64 << 30) + (256 << 20))
        );
        // cgroup v1: the memory controller's own hierarchy.
        write(
            "memory/job/memory.limit_in_bytes",
            &format!("{}\n", 2u64 << 30),
        );
        write(
            "memory/job/memory.usage_in_bytes",
            &format!("{}\n", 1u64 << 30),
        );
        let v1 = "4:memory:/job\n3:cpu:/job\n";
        assert_eq!(cgroup_headroom(root.path(), v1), Some(1 << 30));
        assert_eq!(cgroup_headroom(root.path(), "0::/elsewhere\n"), None);
    }
}
