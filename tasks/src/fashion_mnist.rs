//! Fashion-MNIST from its gzipped IDX files (the layout Debian's `dataset-fashion-mnist`
//! package installs): 60 000 training and 10 000 test images of 28 × 28 pixels, 10 classes.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

/// Where Debian's `dataset-fashion-mnist` package puts the files.
pub const DEFAULT_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The training images' file name.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte.gz";
/// The training labels' file name.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte.gz";
/// The test images' file name.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
/// The test labels' file name.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";

/// The class names, by label.
pub const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
];

/// Why a data set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file of the data set is not there.
    #[error("{path} is missing: install Debian's package dataset-fashion-mnist (apt install dataset-fashion-mnist), or download the four .gz IDX files from https://github.com/zalandoresearch/fashion-mnist into a folder and pass --data-dir FOLDER")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A file is not the IDX data it should be.
    #[error("{path} is not a valid IDX file: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// An IDX array of unsigned bytes: its dimensions and its values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// The array's dimensions.
    pub dims: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<u8>,
}

/// Parses an (uncompressed) IDX file of unsigned bytes: two zero bytes, type 0x08, the
/// number of dimensions, each dimension as a big-endian u32, then exactly the values.
pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "{} bytes, shorter than the 4-byte header",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "magic number starts {:#04x} {:#04x}, not 0x00 0x00",
            bytes[0], bytes[1]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "element type {:#04x}, expected 0x08 (unsigned byte)",
            bytes[2]
        ));
    }
    let rank = usize::from(bytes[3]);
    if rank == 0 {
        return Err("zero dimensions".into());
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(format!(
            "truncated header: {rank} dimensions need {header} bytes, the file has {}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("dimensions {dims:?} overflow"))?;
    let found = bytes.len() - header;
    if found != count {
        return Err(format!(
            "dimensions {dims:?} need {count} values, the file holds {found}{}",
            if found < count { " (truncated)" } else { "" }
        ));
    }
    Ok(IdxArray {
        dims,
        values: bytes[header..].to_vec(),
    })
}

/// Reads and parses one gzipped IDX file.
pub fn read_idx_gz(path: &Path) -> Result<IdxArray, DatasetError> {
    let file = std::fs::File::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DatasetError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            DatasetError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let mut bytes = Vec::new();
    GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .map_err(|e| DatasetError::Malformed {
            path: path.to_path_buf(),
            reason: format!("gzip: {e}"),
        })?;
    parse_idx(&bytes).map_err(|reason| DatasetError::Malformed {
        path: path.to_path_buf(),
        reason,
    })
}

/// Images as rows of normalised pixels and their labels.
#[derive(Debug, Clone)]
pub struct Split {
    /// `[count, features]`, row-major.
    pub images: Vec<f32>,
    /// The class of each image.
    pub labels: Vec<u8>,
    /// Features per image (784).
    pub features: usize,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// The training and test splits, normalised with the training pixels' mean and standard
/// deviation (one value each, over every pixel).
#[derive(Debug, Clone)]
pub struct FashionMnist {
    /// The training split.
    pub train: Split,
    /// The test split.
    pub test: Split,
    /// The training pixels' mean, which both splits are standardised by.
    pub pixel_mean: f32,
    /// The training pixels' standard deviation.
    pub pixel_std: f32,
}

/// Loads the four files from `dir`.
pub fn load(dir: &Path) -> Result<FashionMnist, DatasetError> {
    let (train_images, train_labels) = read_pair(dir, TRAIN_IMAGES, TRAIN_LABELS)?;
    let (test_images, test_labels) = read_pair(dir, TEST_IMAGES, TEST_LABELS)?;
    if test_images.dims[1..] != train_images.dims[1..] {
        return Err(DatasetError::Malformed {
            path: dir.join(TEST_IMAGES),
            reason: format!(
                "images of {:?} pixels, the training images have {:?}",
                &test_images.dims[1..],
                &train_images.dims[1..]
            ),
        });
    }
    let count = train_images.values.len() as f64;
    let mean = train_images
        .values
        .iter()
        .map(|&p| f64::from(p))
        .sum::<f64>()
        / count;
    let variance = train_images
        .values
        .iter()
        .map(|&p| (f64::from(p) - mean).powi(2))
        .sum::<f64>()
        / count;
    let std = variance.sqrt().max(1e-6);
    let normalise = |images: IdxArray, labels: IdxArray| Split {
        features: images.dims[1..].iter().product(),
        images: images
            .values
            .iter()
            .map(|&p| ((f64::from(p) - mean) / std) as f32)
            .collect(),
        labels: labels.values,
    };
    Ok(FashionMnist {
        train: normalise(train_images, train_labels),
        test: normalise(test_images, test_labels),
        pixel_mean: mean as f32,
        pixel_std: std as f32,
    })
}

/// An image file and its label file, checked against each other.
fn read_pair(dir: &Path, images: &str, labels: &str) -> Result<(IdxArray, IdxArray), DatasetError> {
    let images_path = dir.join(images);
    let labels_path = dir.join(labels);
    let images = read_idx_gz(&images_path)?;
    let labels = read_idx_gz(&labels_path)?;
    let malformed = |path: &Path, reason: String| DatasetError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    if images.dims.len() != 3 {
        return Err(malformed(
            &images_path,
            format!("{} dimensions, images need 3", images.dims.len()),
        ));
    }
    if labels.dims.len() != 1 {
        return Err(malformed(
            &labels_path,
            format!("{} dimensions, labels need 1", labels.dims.len()),
        ));
    }
    if labels.dims[0] != images.dims[0] {
        return Err(malformed(
            &labels_path,
            format!("{} labels for {} images", labels.dims[0], images.dims[0]),
        ));
    }
    if let Some(bad) = labels
        .values
        .iter()
        .find(|&&l| usize::from(l) >= CLASSES.len())
    {
        return Err(malformed(
            &labels_path,
            format!("label {bad}, classes are 0–9"),
        ));
    }
    Ok((images, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    /// An IDX file written byte by byte: magic 0 0 8 rank, big-endian dims, values.
    fn idx(dims: &[u32], values: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend(values);
        bytes
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn parses_dimensions_and_values() {
        let array = parse_idx(&idx(&[2, 1, 3], &[0, 1, 2, 3, 4, 255])).unwrap();
        assert_eq!(array.dims, vec![2, 1, 3]);
        assert_eq!(array.values, vec![0, 1, 2, 3, 4, 255]);
    }

    #[test]
    fn malformed_bytes_give_reasons_not_panics() {
        let good = idx(&[2, 2, 2], &[1; 8]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "shorter than the 4-byte header"),
            (good[..good.len() - 1].to_vec(), "(truncated)"),
            (good[..9].to_vec(), "truncated header"),
            (
                [good.clone(), vec![7]].concat(),
                "need 8 values, the file holds 9",
            ),
            ([vec![1], good[1..].to_vec()].concat(), "magic number"),
            (
                [&good[..2], &[0x0D], &good[3..]].concat(),
                "element type 0x0d",
            ),
            (idx(&[u32::MAX, u32::MAX, u32::MAX], &[]), "overflow"),
        ];
        for (bytes, reason) in cases {
            let err = parse_idx(&bytes).unwrap_err();
            assert!(err.contains(reason), "expected '{reason}', got '{err}'");
        }
    }

    #[test]
    fn loads_a_tiny_data_set_and_normalises_by_the_training_pixels() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let write =
            |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), gzip(&bytes)).unwrap();
        // Two 1 × 2 training images (pixels 0, 0, 2, 2: mean 1, std 1), one test image.
        write(TRAIN_IMAGES, idx(&[2, 1, 2], &[0, 0, 2, 2]));
        write(TRAIN_LABELS, idx(&[2], &[3, 9]));
        write(TEST_IMAGES, idx(&[1, 1, 2], &[1, 3]));
        write(TEST_LABELS, idx(&[1], &[0]));
        let data = load(dir).unwrap();
        assert_eq!(data.train.features, 2);
        assert_eq!(data.train.images, vec![-1.0, -1.0, 1.0, 1.0]);
        assert_eq!(data.train.labels, vec![3, 9]);
        assert_eq!(data.test.images, vec![0.0, 2.0]);
        assert_eq!(data.test.len(), 1);

        write(TEST_LABELS, idx(&[1], &[10]));
        let err = load(dir).unwrap_err().to_string();
        assert!(err.contains("label 10"), "{err}");
        write(TEST_LABELS, idx(&[2], &[0, 1]));
        let err = load(dir).unwrap_err().to_string();
        assert!(err.contains("2 labels for 1 images"), "{err}");
        std::fs::write(dir.join(TEST_LABELS), b"not gzip").unwrap();
        let err = load(dir).unwrap_err().to_string();
        assert!(err.contains("gzip"), "{err}");
        std::fs::remove_file(dir.join(TEST_LABELS)).unwrap();
        let err = load(dir).unwrap_err().to_string();
        assert!(err.contains("apt install dataset-fashion-mnist"), "{err}");
    }
}
