//! Report files on disk for `mxsec tlsrpt read` (RFC 8460 §5.3): the files below a directory
//! and the reports in one file, each read bounded by [`MAX_INPUT_SIZE`].

use std::io::Read;
use std::path::{Path, PathBuf};

use mxsec_proto::tlsrpt::ingest::{self, Container, IngestError, MAX_INPUT_SIZE};
use mxsec_proto::tlsrpt::report::Report;

/// How deep [`collect`] descends into directories.
const MAX_DIR_DEPTH: usize = 16;

/// Gathers report files: `path` itself if it is a file named on the command line (whatever
/// its name), or the `.json`, `.json.gz`, `.gz` and `.eml` files below a directory, sorted.
/// Symbolic links to directories are not followed.
pub fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), CollectError> {
    walk(path, true, 0, out)
}

fn walk(
    path: &Path,
    named: bool,
    depth: usize,
    out: &mut Vec<PathBuf>,
) -> Result<(), CollectError> {
    let meta = if named {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    }
    .map_err(CollectError::Read)?;
    if meta.is_file() {
        if named || Container::from_file_name(&path.to_string_lossy()).is_some() {
            out.push(path.to_owned());
        }
        return Ok(());
    }
    if !meta.is_dir() || depth >= MAX_DIR_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(CollectError::List)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        walk(&entry, false, depth + 1, out)?;
    }
    Ok(())
}

/// Why a path named to [`collect`] could not be walked.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The path (or one below it) could not be read.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    /// A directory could not be listed.
    #[error("cannot list the directory: {0}")]
    List(std::io::Error),
}

/// Why one file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than [`MAX_INPUT_SIZE`].
    #[error("{size} bytes is larger than the limit of {MAX_INPUT_SIZE}")]
    TooLarge {
        /// The bytes read, at least one more than the limit.
        size: u64,
    },
    /// The file is not a report (RFC 8460 §4, §5.3).
    #[error("{0}")]
    Ingest(#[from] IngestError),
}

/// The reports in one file (JSON, gzip or a mail message), read up to [`MAX_INPUT_SIZE`]
/// bytes; the container is known from the file name or sniffed from its first bytes.
pub fn read(path: &Path) -> Result<Vec<Report>, FileError> {
    let limit = u64::try_from(MAX_INPUT_SIZE).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_INPUT_SIZE {
        return Err(FileError::TooLarge {
            size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        });
    }
    let container = Container::from_file_name(&path.to_string_lossy())
        .unwrap_or_else(|| Container::sniff(&bytes));
    Ok(ingest::read(&bytes, container)?)
}
