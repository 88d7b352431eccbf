//! Small helpers every part of the application uses: byte counts for people, files written
//! atomically, tensors read back to the host.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for name in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = name;
    }
    format!("{value:.1} {unit}")
}

/// Writes `bytes` to `path` through a temporary file in the same directory, flushed to disk,
/// and a rename: readers see the old contents or the new, never a part. The temporary file is
/// this process's own, so that processes writing the same file (a sweep's cells recording it)
/// do not take each other's.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    write_synced(&tmp, bytes)?;
    fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// Writes `bytes` to a new file at `path` and waits until they are on disk.
pub fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file =
        fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Flushes a directory's entries (new names, renames) to disk; a no-op where directories
/// cannot be opened as files.
pub fn sync_dir(path: &Path) {
    if let Ok(dir) = fs::File::open(path) {
        let _ = dir.sync_all();
    }
}

/// A tensor's values on the host, as `f32`.
pub fn host_values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> anyhow::Result<Vec<f32>> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("cannot read a tensor back from the device: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_as_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(12 << 20), "12.0 MiB");
    }
}
