//! One writer per run directory: an advisory lock (`flock`) on the file `LOCK` in the
//! directory, taken before anything is written there and held until the process is done
//! with it. The kernel drops the lock when its holder ends, however it ends (`kill -9`
//! included), so a lock is never left behind; the holder writes its PID into the file so that
//! a refused writer can name it. Readers (`eval`) take no lock.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

/// The lock file of a run directory (or of a directory of several runs).
pub const LOCK_FILE: &str = "LOCK";

/// A directory held for writing by this process, until the value is dropped.
#[derive(Debug)]
pub struct DirLock {
    /// The open lock file: closing it releases the lock.
    _file: File,
    pub dir: PathBuf,
}

impl DirLock {
    /// Creates `dir` if needed and takes its lock; refuses, naming the holder's PID, when
    /// another process holds it.
    pub fn acquire(dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create run directory {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        // Not truncated on opening: the file holds the current holder's PID.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = match holder_pid(&path) {
                    Some(pid) => format!("process {pid}"),
                    None => "another process".to_string(),
                };
                bail!(
                    "{} is being written by {holder}: one process at a time writes a run; wait for it to end (eval can read the run meanwhile)",
                    dir.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        file.set_len(0)
            .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            _file: file,
            dir: dir.to_path_buf(),
        })
    }
}

/// The PID written in a held lock file. The holder writes it just after taking the lock, so
/// a writer refused in that instant waits a moment for it.
fn holder_pid(path: &Path) -> Option<u32> {
    for _ in 0..20 {
        if let Some(pid) = fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_directory_refuses_a_second_lock_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let first = DirLock::acquire(&run).unwrap();
        // A second open file description conflicts even within one process.
        let refused = DirLock::acquire(&run).unwrap_err().to_string();
        assert!(
            refused.contains(&format!("process {}", std::process::id())),
            "{refused}"
        );
        drop(first);
        DirLock::acquire(&run).unwrap();
    }
}
