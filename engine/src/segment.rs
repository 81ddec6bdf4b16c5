//! Segment files: the 32-byte file header (`header`, magic "QUIVSEG\0", numbered by the
//! segment's sequence), then frames (see `record`), then zeros up to the preallocated size.
//!
//! The active segment is created at its full size (sparse), mapped once, and appended to with
//! positional writes; readers see appended frames through the same map. When the next frame
//! does not fit, the writer appends a `Seal` frame naming the next segment, fsyncs, truncates
//! the file to its used length and starts the next segment. Sealed segments are immutable.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::header;
use crate::io::{FileIo, write_all_at};
use crate::mmap::Map;
use crate::record::{LogRecord, encode_frame};

/// Magic number at the start of every segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"QUIVSEG\0";
/// Segments' format. Version 2 adds the column steps (`Op::CreateNodes`, `Op::SetProps`) to
/// what a record may hold; frames are framed alike. A version 1 segment is read as ever, and
/// is never appended to again: a build that reads only version 1 must not meet a step it
/// cannot decode in a file that says version 1.
const SEGMENT_VERSION: header::Version = header::Version { writes: 2, oldest: 1 };
/// Bytes before the first frame.
pub const SEGMENT_HEADER: usize = header::HEADER_LEN;
/// Room always kept free at the end of an active segment for its seal frame.
const SEAL_ROOM: u64 = 64;

/// The size to create a segment at: the configured size, or more for a frame that big.
pub fn capacity_for(frame_len: u64, segment_size: u64) -> u64 {
    segment_size.max(frame_len + SEGMENT_HEADER as u64 + 2 * SEAL_ROOM)
}

/// A segment readable through its memory map.
#[derive(Debug)]
pub struct Segment {
    /// Sequence number (position in the log).
    pub seq: u64,
    /// Where it lives.
    pub path: PathBuf,
    map: Map,
}

impl Segment {
    /// Maps an existing segment file and checks its header.
    pub fn open(path: &Path) -> Result<Segment> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let map = Map::new(&file, len).map_err(|e| Error::io(path, e))?;
        let seq = header::check(path, map.bytes(), &SEGMENT_MAGIC, SEGMENT_VERSION)?;
        Ok(Segment { seq, path: path.into(), map })
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        self.map.bytes()
    }
}

/// Appends frames to the active segment.
#[derive(Debug)]
pub struct SegmentWriter {
    /// The segment, readable.
    pub segment: Arc<Segment>,
    file: Arc<File>,
    /// Offset where the next frame goes.
    pub end: u64,
    capacity: u64,
    io: Arc<dyn FileIo>,
    /// Written in an older format than this build writes: nothing more fits (the next frame
    /// rolls to a new segment).
    older: bool,
}

impl SegmentWriter {
    /// Creates segment `seq` at `path` with room for `capacity` bytes, header written and
    /// fsynced (the caller fsyncs the directory).
    pub fn create(path: &Path, seq: u64, capacity: u64, io: Arc<dyn FileIo>) -> Result<Self> {
        let err = |e| Error::io(path, e);
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(path).map_err(err)?;
        let capacity = capacity.max(SEGMENT_HEADER as u64 + SEAL_ROOM * 2);
        file.set_len(capacity).map_err(err)?;
        write_all_at(&*io, &file, &header::encode(&SEGMENT_MAGIC, SEGMENT_VERSION, seq), 0)
            .map_err(|(_, e)| err(e))?;
        io.sync(&file).map_err(err)?;
        let map = Map::new(&file, capacity).map_err(err)?;
        let segment = Arc::new(Segment { seq, path: path.into(), map });
        Ok(SegmentWriter {
            segment,
            file: Arc::new(file),
            end: SEGMENT_HEADER as u64,
            capacity,
            io,
            older: false,
        })
    }

    /// Resumes appending to an existing segment whose valid frames end at `end`. Bytes past
    /// `end` (a torn tail) are zeroed so that the next frame lands on clean ground.
    pub fn resume(path: &Path, end: u64, min_capacity: u64, io: Arc<dyn FileIo>) -> Result<Self> {
        let err = |e| Error::io(path, e);
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(err)?;
        let len = file.metadata().map_err(err)?.len();
        file.set_len(end).map_err(err)?;
        let capacity = min_capacity.max(len).max(end + SEAL_ROOM * 2);
        file.set_len(capacity).map_err(err)?;
        io.sync(&file).map_err(err)?;
        let map = Map::new(&file, capacity).map_err(err)?;
        let seq = header::check(path, map.bytes(), &SEGMENT_MAGIC, SEGMENT_VERSION)?;
        let older = header::version_of(map.bytes()) < SEGMENT_VERSION.writes;
        let segment = Arc::new(Segment { seq, path: path.into(), map });
        Ok(SegmentWriter { segment, file: Arc::new(file), end, capacity, io, older })
    }

    /// Whether a frame of `len` bytes fits before the seal room (never, in a segment of an
    /// older format: see [`SEGMENT_VERSION`]).
    pub fn fits(&self, len: u64) -> bool {
        !self.older && self.end + len + SEAL_ROOM <= self.capacity
    }

    /// Appends a frame; returns the offset it starts at. On failure the bytes that may have
    /// reached the file are zeroed again so that they cannot be read as a record; if even that
    /// fails the error says so and the caller must stop writing.
    pub fn append(&mut self, frame: &[u8]) -> Result<u64, AppendError> {
        let at = self.end;
        if let Err((written, e)) = write_all_at(&*self.io, &self.file, frame, at) {
            // Bytes that reached the file must not be read back as a frame later.
            let cleaned =
                written == 0 || write_all_at(&*self.io, &self.file, &vec![0u8; written], at).is_ok();
            return Err(AppendError { error: Error::io(&self.segment.path, e), cleaned });
        }
        self.end += frame.len() as u64;
        Ok(at)
    }

    /// Zeroes everything from `offset` to the current end and moves the end back to `offset`
    /// (abandoning appended frames that could not be made durable).
    pub fn wipe_from(&mut self, offset: u64) -> Result<()> {
        if offset >= self.end || offset < SEGMENT_HEADER as u64 {
            return Ok(());
        }
        let zeros = vec![0u8; (self.end - offset) as usize];
        write_all_at(&*self.io, &self.file, &zeros, offset)
            .map_err(|(_, e)| Error::io(&self.segment.path, e))?;
        self.end = offset;
        Ok(())
    }

    /// The file handle, for fsync by the group-commit leader.
    pub fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// Fsyncs the segment.
    pub fn sync(&self) -> Result<()> {
        self.io.sync(&self.file).map_err(|e| Error::io(&self.segment.path, e))
    }

    /// Appends the seal frame naming `next`, fsyncs and truncates to the used length. Returns
    /// the sealed segment mapped at its final length.
    pub fn seal(mut self, next: u64) -> Result<Arc<Segment>> {
        let frame = encode_frame(&LogRecord::Seal { next }, &[])
            .map_err(|e| Error::Invalid(format!("cannot encode seal frame: {e}")))?;
        self.append(&frame).map_err(|e| e.error)?;
        self.sync()?;
        let path = self.segment.path.clone();
        self.file.set_len(self.end).map_err(|e| Error::io(&path, e))?;
        self.io.sync(&self.file).map_err(|e| Error::io(&path, e))?;
        Ok(Arc::new(Segment::open(&path)?))
    }
}

/// Starts the next segment at `path` and seals the current one naming it; `writer` then
/// appends to the new segment. The next file is created (and `sync_dir` run) before the seal is
/// written, so a crash in between leaves an unsealed segment followed by an empty one, which
/// recovery recognizes. Returns the sealed segment, mapped at its final length.
pub fn roll(
    writer: &mut SegmentWriter,
    path: &Path,
    capacity: u64,
    sync_dir: &dyn Fn() -> Result<()>,
) -> Result<Arc<Segment>> {
    let seq = writer.segment.seq + 1;
    let next = SegmentWriter::create(path, seq, capacity, Arc::clone(&writer.io))?;
    sync_dir()?;
    let old = std::mem::replace(writer, next);
    old.seal(seq)
}

/// A failed append, and whether its partial bytes were wiped.
#[derive(Debug)]
pub struct AppendError {
    /// The write error.
    pub error: Error,
    /// Whether the region was zeroed again afterwards.
    pub cleaned: bool,
}
