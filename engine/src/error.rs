//! The engine's one error type.

use std::io;
use std::path::PathBuf;

/// Everything the engine can refuse or fail at. Storage errors name the file and the byte offset;
/// write errors name the node, field or value that was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed on `path`.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The error the operating system gave.
        #[source]
        source: io::Error,
    },
    /// A file's bytes are not what was written: a checksum failed or a structure is impossible.
    #[error("{} is corrupt at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the first damaged structure.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// A file in the data directory does not start with Quiver's magic number.
    #[error("{} is not a Quiver file (bad magic number)", path.display())]
    NotQuiverFile {
        /// The file.
        path: PathBuf,
    },
    /// A file was written by a newer (or unknown) format version.
    #[error("{} has format version {found}; this build reads versions {oldest} to {supported}", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file's header.
        found: u32,
        /// The oldest version of that kind of file this build reads.
        oldest: u32,
        /// The version of that kind of file this build writes (the newest it reads).
        supported: u32,
    },
    /// Another process holds the directory's lock file.
    #[error("{} is locked by another process; close it there first", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// An earlier fsync failed, so nothing written since can be trusted to be on disk.
    #[error("commits are refused since an fsync failed ({cause}); reopen the database")]
    Poisoned {
        /// The failure that poisoned the writer.
        cause: String,
    },
    /// A catalog change was refused.
    #[error("schema change refused: {0}")]
    Catalog(String),
    /// A node the operation names does not exist.
    #[error("node {uid:#x} does not exist")]
    NoSuchNode {
        /// The missing node's uid.
        uid: u64,
    },
    /// A node was created with a uid that is taken.
    #[error("node {uid:#x} already exists")]
    NodeExists {
        /// The uid.
        uid: u64,
    },
    /// A node, edge or value does not fit the catalog.
    #[error("{0}")]
    Invalid(String),
    /// A unique (`@id`) property already holds the value on another node.
    #[error("{property} = {value} is already taken by node {holder:#x}")]
    UniqueViolation {
        /// `Type.field`.
        property: String,
        /// The value, as text.
        value: String,
        /// The node that holds it.
        holder: u64,
    },
    /// A record does not fit the 4 GiB frame limit.
    #[error("a transaction of {bytes} bytes is over the {limit}-byte record limit; split it")]
    RecordTooLarge {
        /// Encoded size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt { path: path.into(), offset, reason: reason.into() }
    }
}
