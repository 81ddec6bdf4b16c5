//! Read-only memory maps: the one module with `unsafe` code.
//!
//! # Safety invariant
//!
//! A map covers a segment or checkpoint file. The engine never changes bytes that a reader can
//! reach through a map: segment records are written once, beyond the last committed offset,
//! before any reader learns of them, and never rewritten; truncation at seal time only cuts
//! bytes beyond the last record; checkpoint files are complete and fsynced before they are
//! mapped and never written again. Files are deleted only by unlinking, which leaves existing
//! maps valid. No other process writes the directory while the lock file is held.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// A read-only map of a whole file.
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
