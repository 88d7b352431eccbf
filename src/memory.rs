//! Memory: the guard that refuses a run before it allocates more than the machine has, and
//! heap accounting — the system allocator wrapped to count live bytes and their peak, so that
//! a computation's peak memory can be measured in-process (`compare`). The binary installs
//! [`CountingAllocator`] as its global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
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

/// Memory the operating system can give without swapping (Linux `MemAvailable`); `None`
/// where it cannot be read.
pub fn available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
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
}
