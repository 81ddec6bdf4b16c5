//! The engine's file I/O, behind a trait so tests can inject failures.
//!
//! Only the calls whose failure the engine must survive go through [`FileIo`]: writing log and
//! index bytes and flushing them to stable storage. A test swaps in [`FaultyIo`] to make the
//! next write fail, come up short, hit a full disk, or make the next fsync fail.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

/// Positional writes and durability barriers.
pub trait FileIo: Send + Sync + fmt::Debug {
    /// Writes some prefix of `buf` at `offset`; returns how many bytes were written.
    fn write_at(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<usize>;
    /// Flushes the file's data and metadata to stable storage.
    fn sync(&self, file: &File) -> io::Result<()>;
}

/// The operating system's calls, unchanged.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsIo;

impl FileIo for OsIo {
    fn write_at(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
        file.write_at(buf, offset)
    }

    fn sync(&self, file: &File) -> io::Result<()> {
        file.sync_data()
    }
}

/// Writes all of `buf` at `offset`, looping over short writes. On failure, also says how many
/// bytes did reach the file.
pub(crate) fn write_all_at(
    io: &dyn FileIo,
    file: &File,
    buf: &[u8],
    offset: u64,
) -> Result<(), (usize, io::Error)> {
    let mut done = 0;
    while done < buf.len() {
        match io.write_at(file, &buf[done..], offset + done as u64) {
            Ok(0) => return Err((done, io::Error::new(io::ErrorKind::WriteZero, "write returned 0 bytes"))),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((done, e)),
        }
    }
    Ok(())
}

/// A failure [`FaultyIo`] can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The next write fails outright (EIO).
    FailWrite,
    /// The next write stores only this many bytes, then the one after fails (EIO).
    ShortWrite(usize),
    /// The next write stores nothing and fails with ENOSPC, as do the writes after it while
    /// the fault stays armed; [`FaultyIo::clear`] frees the disk again.
    DiskFull,
    /// The next fsync fails (EIO).
    FailSync,
}

/// A [`FileIo`] that passes calls to the OS until a [`Fault`] is armed.
///
/// ```
/// use quiver_engine::{Fault, FaultyIo};
/// let io = FaultyIo::default();
/// io.arm(Fault::FailSync);
/// ```
#[derive(Debug, Default)]
pub struct FaultyIo {
    armed: Mutex<Option<Fault>>,
    syncs: std::sync::atomic::AtomicU64,
}

impl FaultyIo {
    /// Arms `fault` for the next matching call.
    pub fn arm(&self, fault: Fault) {
        *self.lock() = Some(fault);
    }

    /// Number of fsyncs that reached the operating system.
    pub fn sync_count(&self) -> u64 {
        self.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Disarms any fault.
    pub fn clear(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Fault>> {
        // A panic while holding this lock cannot leave the Option half-written.
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl FileIo for FaultyIo {
    fn write_at(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
        let mut armed = self.lock();
        match *armed {
            Some(Fault::FailWrite) => {
                *armed = None;
                Err(io::Error::other("injected write failure"))
            }
            Some(Fault::ShortWrite(n)) => {
                *armed = Some(Fault::FailWrite);
                let n = n.min(buf.len());
                file.write_at(&buf[..n], offset)
            }
            Some(Fault::DiskFull) => Err(io::Error::from_raw_os_error(28)),
            _ => file.write_at(buf, offset),
        }
    }

    fn sync(&self, file: &File) -> io::Result<()> {
        let mut armed = self.lock();
        if *armed == Some(Fault::FailSync) {
            *armed = None;
            return Err(io::Error::other("injected fsync failure"));
        }
        drop(armed);
        self.syncs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        file.sync_data()
    }
}
