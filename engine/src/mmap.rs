//! Read-only memory maps: the one module with `unsafe` code.
//!
//! # Safety invariant
//!
//! A [`Map`] covers a segment or checkpoint file. The engine never changes bytes that a reader can
//! reach through a map: segment records are written once, beyond the last committed offset,
//! before any reader learns of them, and never rewritten; truncation at seal time only cuts
//! bytes beyond the last record; checkpoint files are complete and fsynced before they are
//! mapped and never written again. Files are deleted only by unlinking, which leaves existing
//! maps valid. No other process writes the directory while the lock file is held.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// A read-only map of one of the engine's own files (see the module's invariant).
#[derive(Debug)]
pub struct Map {
    map: Option<memmap2::Mmap>,
}

impl Map {
    /// Maps `len` bytes of `file` from its start (an empty map for `len == 0`).
    pub fn new(file: &File, len: u64) -> io::Result<Map> {
        if len == 0 {
            return Ok(Map { map: None });
        }
        let len = usize::try_from(len).map_err(|_| io::Error::other("file too large to map"))?;
        // SAFETY: see the module's invariant; the bytes mapped are not modified while mapped.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(file)? };
        Ok(Map { map: Some(map) })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }
}

/// A file of the caller's mapped read-only in whole: a large input (an import's CSV) read in
/// place rather than copied into fresh memory (at 223 MB, the copy and the kernel's zeroing
/// of the pages it fills took a quarter of a scale-20 load).
///
/// The engine's invariant does not cover such a file: it is sound to read only while no one
/// writes to or truncates it, which the engine cannot enforce (as for any program that reads
/// its input by map). Map a file only where that is the caller's contract, as `quiver import`
/// documents for the files it is given; a file truncated meanwhile ends the process with
/// `SIGBUS`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("nodes.csv");
/// std::fs::write(&path, "key\n1\n").unwrap();
/// let input = quiver_engine::MappedFile::open(&path).unwrap();
/// assert_eq!(input.bytes(), b"key\n1\n");
/// ```
#[derive(Debug)]
pub struct MappedFile {
    map: Option<memmap2::Mmap>,
}

impl MappedFile {
    /// Maps the whole file at `path`, its pages read in up front.
    pub fn open(path: &std::path::Path) -> io::Result<MappedFile> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(MappedFile { map: None });
        }
        let len = usize::try_from(len).map_err(|_| io::Error::other("file too large to map"))?;
        // SAFETY: the caller's contract (see the type's documentation): the file is not written
        // or truncated while mapped. The map is private and read-only, so nothing here writes.
        let map = unsafe { memmap2::MmapOptions::new().len(len).populate().map(&file)? };
        Ok(MappedFile { map: Some(map) })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }
}
