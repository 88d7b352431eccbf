//! A checkpoint's manifest: which model, which step, and the size and SHA-256 digest of
//! every file. The manifest is one line of JSON followed by the digest of that line, so a
//! change to any byte of any file of the checkpoint, the manifest included, is detected.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Name of the manifest in a checkpoint directory.
pub const MANIFEST_FILE: &str = "MANIFEST";

/// Version of the checkpoint layout.
const FORMAT: u32 = 1;

/// What a checkpoint holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// Name of the model on the command line.
    pub model: String,
    /// Steps (episodes, updates, meta-steps) completed.
    pub step: usize,
    /// Every file of the checkpoint but the manifest.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Lowercase hexadecimal SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

impl Manifest {
    /// The manifest of `files` (name → contents).
    pub fn describe(model: &str, step: usize, files: &[(String, Vec<u8>)]) -> Self {
        Self {
            format: FORMAT,
            model: model.to_string(),
            step,
            files: files
                .iter()
                .map(|(name, bytes)| FileEntry {
                    name: name.clone(),
                    bytes: bytes.len() as u64,
                    sha256: sha256_hex(bytes),
                })
                .collect(),
        }
    }

    /// The manifest file's text: the JSON line, then `sha256 <digest of that line>`.
    pub fn to_text(&self) -> String {
        let line = serde_json::to_string(self).expect("a manifest serialises");
        let digest = sha256_hex(line.as_bytes());
        format!("{line}\nsha256 {digest}\n")
    }

    /// Parses and checks a manifest file's text; the error says what is wrong.
    pub fn from_text(text: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(text).map_err(|_| "MANIFEST is damaged".to_string())?;
        let mut lines = text.split('\n');
        let (Some(line), Some(digest_line), Some(""), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err("MANIFEST is damaged (not two lines)".into());
        };
        if digest_line != format!("sha256 {}", sha256_hex(line.as_bytes())) {
            return Err("MANIFEST is damaged (its own checksum does not match)".into());
        }
        let manifest: Manifest =
            serde_json::from_str(line).map_err(|e| format!("MANIFEST is unreadable ({e})"))?;
        if manifest.format != FORMAT {
            return Err(format!(
                "MANIFEST has layout version {}, this plastic-zoo reads version {FORMAT}",
                manifest.format
            ));
        }
        Ok(manifest)
    }

    /// Reads every listed file of `dir` and checks its size and digest: the contents by name.
    pub fn verify_files(&self, dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
        let mut contents = BTreeMap::new();
        for entry in &self.files {
            let bytes = fs::read(dir.join(&entry.name))
                .map_err(|e| format!("{} is missing or unreadable ({e})", entry.name))?;
            if bytes.len() as u64 != entry.bytes {
                return Err(format!(
                    "{} has {} bytes, MANIFEST says {} (truncated or corrupt)",
                    entry.name,
                    bytes.len(),
                    entry.bytes
                ));
            }
            if sha256_hex(&bytes) != entry.sha256 {
                return Err(format!(
                    "{} does not match its checksum in MANIFEST (corrupt)",
                    entry.name
                ));
            }
            contents.insert(entry.name.clone(), bytes);
        }
        Ok(contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_a_known_string() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn every_byte_of_the_manifest_is_covered() {
        let manifest = Manifest::describe("m", 3, &[("a".into(), vec![1, 2, 3])]);
        let text = manifest.to_text().into_bytes();
        assert_eq!(Manifest::from_text(&text), Ok(manifest));
        for at in 0..text.len() {
            for bit in [0x01u8, 0x20, 0x80] {
                let mut changed = text.clone();
                changed[at] ^= bit;
                assert!(
                    Manifest::from_text(&changed).is_err(),
                    "byte {at} ^ {bit:#x}"
                );
            }
        }
    }
}
