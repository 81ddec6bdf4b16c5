//! Opening a data directory: lock it, find the live generation, load the newest valid
//! checkpoint, replay the log after it, and cut a torn tail.
//!
//! Every frame is classified by `record::read_frame` (valid, end, torn, corrupt) and one policy
//! acts on it here:
//!
//! - valid: applied;
//! - torn, in the last segment: a crash mid-write; the tail is cut off (nothing in it was
//!   acknowledged, since acknowledgement follows the fsync);
//! - torn elsewhere, or corrupt anywhere: refused with the file and offset, unless
//!   `Options::salvage`, which keeps what precedes the damage and drops the rest;
//! - a sealed segment's end must be its `Seal` frame; an unsealed one may only be followed by
//!   segments without frames (a crash while starting the next segment), which are removed.

use std::fs::{self, File, OpenOptions};
use std::path::PathBuf;
use std::sync::Arc;

use crate::checkpoint::{self, LogPosition};
use crate::error::{Error, Result};
use crate::index::apply::ValuesAt;
use crate::index::{SegmentSet, State};
use crate::manifest::Layout;
use crate::record::{FRAME_HEADER, FrameRead, LogRecord, decode_payload, read_frame};
use crate::segment::{SEGMENT_HEADER, Segment, SegmentWriter};
use crate::store::Options;

/// What opening found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The checkpoint used, if any.
    pub checkpoint: Option<PathBuf>,
    /// Checkpoints that failed to load, with why.
    pub bad_checkpoints: Vec<String>,
    /// Records replayed from the log.
    pub replayed: u64,
    /// A torn tail that was cut: file, offset, bytes dropped.
    pub torn_tail: Option<(PathBuf, u64)>,
    /// With salvage: the corruption that ended the log early.
    pub salvaged: Option<String>,
}

pub(crate) struct Opened {
    pub state: State,
    pub writer: SegmentWriter,
    pub generation: u64,
    pub lock: File,
    pub report: RecoveryReport,
}

fn take_lock(layout: &Layout) -> Result<File> {
    let path = layout.lock();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Locked { path }),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

pub(crate) fn open(layout: &Layout, options: &Options) -> Result<Opened> {
    let dir = &layout.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(Error::io(dir, std::io::Error::other("not a directory")));
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lock = take_lock(layout)?;
    let io = Arc::clone(&options.io);

    let Some(generation) = layout.read_current()? else {
        // A new database, or a crash before the first CURRENT was written: then only our own
        // files (of no live generation) can be here.
        let listing = layout.list(u64::MAX)?;
        if let Some(foreign) = layout.has_foreign_files()?
            && !listing.stale.contains(&foreign)
        {
            return Err(Error::Invalid(format!(
                "{} is not a Quiver data directory: it holds {} but no CURRENT file",
                dir.display(),
                foreign.display()
            )));
        }
        for stale in listing.stale {
            fs::remove_file(&stale).map_err(|e| Error::io(&stale, e))?;
        }
        let generation = 1;
        let path = layout.segment(generation, 1);
        let writer = SegmentWriter::create(&path, 1, options.segment_size, io)?;
        layout.sync_dir()?;
        layout.write_current(generation, &*options.io)?;
        let state = State {
            segments: Arc::new(SegmentSet(vec![Arc::clone(&writer.segment)])),
            next_uid: 1,
            ..State::default()
        };
        return Ok(Opened { state, writer, generation, lock, report: RecoveryReport::default() });
    };

    let listing = layout.list(generation)?;
    for stale in &listing.stale {
        fs::remove_file(stale).map_err(|e| Error::io(stale, e))?;
    }
    if listing.segments.is_empty() {
        return Err(Error::corrupt(
            layout.current(),
            0,
            format!("generation {generation} has no log segments"),
        ));
    }
    let mut segments: Vec<Arc<Segment>> = Vec::new();
    for (i, (seq, path)) in listing.segments.iter().enumerate() {
        if i > 0 && *seq != listing.segments[i - 1].0 + 1 {
            return Err(Error::corrupt(
                path,
                0,
                format!("log segment {} is missing", listing.segments[i - 1].0 + 1),
            ));
        }
        let seg = Segment::open(path)?;
        if seg.seq != *seq {
            return Err(Error::corrupt(
                path,
                16,
                format!("header says segment {}, name says {seq}", seg.seq),
            ));
        }
        segments.push(Arc::new(seg));
    }

    let mut report = RecoveryReport::default();
    let mut start = None;
    for (_, path) in listing.checkpoints.iter().rev() {
        match checkpoint::load(path) {
            Ok(loaded) if segments.iter().any(|s| s.seq == loaded.replay_from.segment) => {
                report.checkpoint = Some(path.clone());
                let state = State {
                    seq: loaded.seq,
                    catalog: Arc::new(loaded.catalog),
                    base: Arc::new(loaded.base),
                    delta: Default::default(),
                    segments: Arc::new(SegmentSet(segments.clone())),
                    next_uid: loaded.next_uid,
                };
                start = Some((state, loaded.replay_from));
                break;
            }
            Ok(_) => report.bad_checkpoints.push(format!("{}: its log segment is gone", path.display())),
            Err(e) => report.bad_checkpoints.push(e.to_string()),
        }
    }
    let (mut state, from) = start.unwrap_or_else(|| {
        let state =
            State { segments: Arc::new(SegmentSet(segments.clone())), next_uid: 1, ..State::default() };
        (state, LogPosition { segment: segments[0].seq, offset: SEGMENT_HEADER as u64 })
    });

    let (last, end) = replay(&mut state, &segments, from, options.salvage, &mut report)?;
    // Segments after the one the log ends in hold no frames (crash while rolling, or
    // salvage): remove them.
    for seg in segments.iter().filter(|s| s.seq > last) {
        fs::remove_file(&seg.path).map_err(|e| Error::io(&seg.path, e))?;
    }
    let last_path = segments.iter().find(|s| s.seq == last).map(|s| s.path.clone()).unwrap_or_default();
    let writer = SegmentWriter::resume(&last_path, end, options.segment_size, io)?;
    layout.sync_dir()?;
    let mut set: Vec<Arc<Segment>> = segments.into_iter().filter(|s| s.seq < last).collect();
    set.push(Arc::clone(&writer.segment));
    state.segments = Arc::new(SegmentSet(set));
    Ok(Opened { state, writer, generation, lock, report })
}

/// Replays frames from `from` to the end of the log. Returns the segment the log ends in and
/// the offset where the next frame goes.
pub(crate) fn replay(
    state: &mut State,
    segments: &[Arc<Segment>],
    from: LogPosition,
    salvage: bool,
    report: &mut RecoveryReport,
) -> Result<(u64, u64)> {
    let first = segments.iter().position(|s| s.seq == from.segment).unwrap_or(0);
    let mut at = from.offset as usize;
    for (i, seg) in segments.iter().enumerate().skip(first) {
        let is_last = i + 1 == segments.len();
        let bytes = seg.bytes();
        // Whether every later segment is empty (a crash while starting the next one); only
        // asked when this segment ends early.
        let later_empty = || {
            segments[i + 1..].iter().all(|s| matches!(read_frame(s.bytes(), SEGMENT_HEADER), FrameRead::End))
        };
        loop {
            let damaged = |why: &str| Error::corrupt(&seg.path, at as u64, why);
            match read_frame(bytes, at) {
                FrameRead::Frame { payload, next } => {
                    let (record, values_at) = decode_payload(payload).map_err(damaged)?;
                    let (seq, ops, rewrite) = match record {
                        LogRecord::Txn { seq, ops } => (seq, ops, false),
                        LogRecord::Rewrite { seq, next_uid, ops } => {
                            state.next_uid = state.next_uid.max(next_uid);
                            (seq, ops, true)
                        }
                        LogRecord::Seal { next: n } => {
                            if is_last {
                                return Err(damaged(&format!("sealed, but segment {n} is missing")));
                            }
                            if n != segments[i + 1].seq {
                                return Err(damaged(&format!("seal names segment {n}")));
                            }
                            break;
                        }
                    };
                    if !rewrite && seq != state.seq + 1 {
                        return Err(damaged(&format!("commit {seq} follows commit {}", state.seq)));
                    }
                    let values = ValuesAt {
                        segment: seg.seq as u32,
                        offset: (at + FRAME_HEADER + values_at.start) as u64,
                        bytes: &payload[values_at],
                    };
                    state
                        .apply_ops(&ops, Some(values), (next - at) as u64)
                        .map_err(|why| damaged(&format!("commit {seq} does not apply: {why}")))?;
                    state.seq = seq;
                    report.replayed += 1;
                    at = next;
                }
                FrameRead::End if is_last || later_empty() => return Ok((seg.seq, at as u64)),
                FrameRead::End => return Err(damaged("segment ends without its seal record")),
                FrameRead::Torn(_) if is_last || later_empty() => {
                    report.torn_tail = Some((seg.path.clone(), at as u64));
                    return Ok((seg.seq, at as u64));
                }
                FrameRead::Torn(why) | FrameRead::Corrupt(why) => {
                    if salvage {
                        report.salvaged = Some(damaged(why).to_string());
                        return Ok((seg.seq, at as u64));
                    }
                    return Err(damaged(why));
                }
            }
        }
        at = SEGMENT_HEADER;
    }
    // Every segment was sealed, including the last: the next one is missing.
    let last = segments.last().map(|s| s.seq).unwrap_or(1);
    Err(Error::corrupt(
        segments.last().map(|s| s.path.clone()).unwrap_or_default(),
        0,
        format!("log segment {} is missing", last + 1),
    ))
}
