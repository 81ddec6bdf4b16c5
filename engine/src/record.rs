//! Log records and their framing: the one place where bytes on disk are encoded and decoded.
//!
//! # Frame layout
//!
//! Every record in a segment is one frame, all integers little-endian:
//!
//! ```text
//! offset  size  field
//!      0     4  payload length N
//!      4     4  CRC32 (crc32fast, IEEE) of the N payload bytes
//!      8     4  CRC32 of bytes 0..8 (guards the length itself)
//!     12     N  payload
//! ```
//!
//! The header checksum lets recovery trust a length before following it: a damaged length is
//! reported as corruption rather than mistaken for a torn tail, which would discard the
//! acknowledged records after it.
//!
//! # Payload layout
//!
//! ```text
//! u32 V | V bytes: values area | bincode(LogRecord) (the rest)
//! ```
//!
//! bincode uses one configuration ([`CONFIG`]): little-endian, variable-length integers, a
//! 4 GiB allocation limit. [`Op::SetProp`] names a slice of the values area, where the value's
//! own encoding ([`Value::encode_into`](crate::Value::encode_into)) sits so that readers can
//! borrow it straight from the memory map.

use bincode::config::{Configuration, LittleEndian, Varint};
use bincode::error::EncodeError;

use rustc_hash::FxHashMap;

use crate::catalog::{CatalogChange, EdgeId, PropId, TypeId};

mod lists;

pub use lists::{PropRun, UidList, ValueSlots};

/// Bytes in a frame header.
pub const FRAME_HEADER: usize = 12;

/// The largest payload a frame can carry.
pub const MAX_PAYLOAD: u64 = u32::MAX as u64;

/// The one bincode configuration for everything the engine writes.
pub const CONFIG: Configuration<LittleEndian, Varint, bincode::config::Limit<4_294_967_296>> =
    bincode::config::standard().with_little_endian().with_variable_int_encoding().with_limit();

/// One step of a transaction, in the order it was made.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub enum Op {
    /// A catalog change (boxed: it is rare and much larger than the other steps).
    Catalog(Box<CatalogChange>),
    /// A node comes into being.
    CreateNode {
        /// Its uid.
        uid: u64,
        /// Its type.
        ty: TypeId,
    },
    /// A node goes away with its properties and every edge to or from it.
    DeleteNode {
        /// Its uid.
        uid: u64,
    },
    /// A property takes the value stored at `at..at+len` of the values area.
    SetProp {
        /// The node.
        uid: u64,
        /// The property.
        prop: PropId,
        /// Start in the values area.
        at: u32,
        /// Encoded length.
        len: u32,
    },
    /// A property loses its value.
    RemoveProp {
        /// The node.
        uid: u64,
        /// The property.
        prop: PropId,
    },
    /// Edges `src -> d` for every `d` in `dsts`.
    AddEdges {
        /// The edge type.
        edge: EdgeId,
        /// Source node.
        src: u64,
        /// Targets, sorted (boxed: a step is then 24 bytes, and an import's batch holds
        /// millions of steps; encoded as the list itself).
        dsts: Box<UidList>,
    },
    /// Removes edges `src -> d` for every `d` in `dsts`.
    RemoveEdges {
        /// The edge type.
        edge: EdgeId,
        /// Source node.
        src: u64,
        /// Targets, sorted.
        dsts: Box<UidList>,
    },
    /// Nodes `first..first + count` come into being, all of type `ty` (a run of fresh uids:
    /// an import's nodes, one step instead of one a node). Format 2 of segments.
    CreateNodes {
        /// The first uid.
        first: u64,
        /// How many.
        count: u64,
        /// Their type.
        ty: TypeId,
    },
    /// A property of a run of nodes takes one value each (one step instead of one a value).
    /// Format 2 of segments.
    SetProps(Box<PropRun>),
}

/// The uids of a [`Op::CreateNodes`] step: an error when they pass the last uid or number
/// more than an index holds (dense numbers are u32).
pub(crate) fn node_run(first: u64, count: u64) -> Result<std::ops::Range<u64>, String> {
    let end = first.checked_add(count).ok_or("a run of nodes past the last uid")?;
    if count > u64::from(u32::MAX) {
        return Err(format!("a run of {count} nodes: more than an index holds"));
    }
    Ok(first..end)
}

/// What a frame's payload says.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub enum LogRecord {
    /// One committed transaction.
    Txn {
        /// Commit sequence number, 1-based, increasing by one per transaction.
        seq: u64,
        /// Its steps.
        ops: Vec<Op>,
    },
    /// Compaction's rewrite of the live data as of commit `seq`: applied like a transaction,
    /// after which the log continues at commit `seq + 1`.
    Rewrite {
        /// The commit the rewrite is equivalent to.
        seq: u64,
        /// Smallest uid never used (uids of deleted nodes are never reused).
        next_uid: u64,
        /// Its steps.
        ops: Vec<Op>,
    },
    /// The last record of a sealed segment; the log continues in segment `next`.
    Seal {
        /// The next segment's sequence number.
        next: u64,
    },
}

/// Encodes a frame (header and payload) for `record` with its values area.
pub fn encode_frame(record: &LogRecord, values: &[u8]) -> Result<Vec<u8>, EncodeError> {
    if values.len() as u64 > MAX_PAYLOAD {
        return Err(EncodeError::Other("record over the 4 GiB frame limit"));
    }
    let mut out = Vec::with_capacity(FRAME_HEADER + 4 + values.len() + size_hint(record));
    out.resize(FRAME_HEADER, 0);
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    out.extend_from_slice(values);
    bincode::encode_into_std_write(record, &mut out, CONFIG)?;
    let payload_len = (out.len() - FRAME_HEADER) as u64;
    if payload_len > MAX_PAYLOAD {
        return Err(EncodeError::Other("record over the 4 GiB frame limit"));
    }
    let crc = crc32fast::hash(&out[FRAME_HEADER..]);
    out[0..4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    let header_crc = crc32fast::hash(&out[0..8]);
    out[8..12].copy_from_slice(&header_crc.to_le_bytes());
    Ok(out)
}

/// Where the values area starts within a payload (it comes first, so its place in the log is
/// known before the record is encoded).
pub const VALUES_AT: usize = 4;

/// A payload split into its record and the range of its values area within the payload.
pub fn decode_payload(payload: &[u8]) -> Result<(LogRecord, std::ops::Range<usize>), &'static str> {
    let values_len = payload
        .get(..VALUES_AT)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("payload shorter than its values length")?;
    let values = VALUES_AT..VALUES_AT.checked_add(values_len).ok_or("values length overflows")?;
    let body = payload.get(values.end..).ok_or("values area past the end of the payload")?;
    let (record, used) =
        bincode::decode_from_slice::<LogRecord, _>(body, CONFIG).map_err(|_| "record does not decode")?;
    if used != body.len() {
        return Err("bytes left over after the record");
    }
    Ok((record, values))
}

/// Groups each run of consecutive edge additions (and each run of removals) by (edge, source)
/// with sorted targets: within a run the order does not matter, and grouping keeps the log
/// compact (targets are stored as gaps).
pub(crate) fn canonicalize(ops: &mut Vec<Op>) {
    let kind = |op: &Op| match op {
        Op::AddEdges { .. } => 1,
        Op::RemoveEdges { .. } => 2,
        _ => 0,
    };
    if ops.chunk_by(|a, b| kind(a) == kind(b)).all(|run| kind(&run[0]) == 0 || is_canonical(run)) {
        return;
    }
    let mut out = Vec::with_capacity(ops.len());
    let mut i = 0;
    while i < ops.len() {
        let add = match &ops[i] {
            Op::AddEdges { .. } => true,
            Op::RemoveEdges { .. } => false,
            _ => {
                out.push(std::mem::replace(&mut ops[i], Op::DeleteNode { uid: 0 }));
                i += 1;
                continue;
            }
        };
        let start = i;
        while i < ops.len()
            && matches!((&ops[i], add), (Op::AddEdges { .. }, true) | (Op::RemoveEdges { .. }, false))
        {
            i += 1;
        }
        let run = &mut ops[start..i];
        if is_canonical(run) {
            // Already grouped and sorted (a bulk load in source order): keep as is.
            out.extend(run.iter_mut().map(|op| std::mem::replace(op, Op::DeleteNode { uid: 0 })));
            continue;
        }
        let mut grouped: FxHashMap<(EdgeId, u64), Vec<u64>> = FxHashMap::default();
        for op in run.iter_mut() {
            if let Op::AddEdges { edge, src, dsts } | Op::RemoveEdges { edge, src, dsts } = op {
                grouped.entry((*edge, *src)).or_default().append(&mut dsts.0);
            }
        }
        let mut keys: Vec<_> = grouped.into_iter().collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        for ((edge, src), mut d) in keys {
            d.sort_unstable();
            d.dedup();
            let dsts = Box::new(UidList(d));
            out.push(if add {
                Op::AddEdges { edge, src, dsts }
            } else {
                Op::RemoveEdges { edge, src, dsts }
            });
        }
    }
    *ops = out;
}

/// Whether a run of edge ops has strictly increasing (edge, source) keys and strictly
/// increasing targets in each.
fn is_canonical(run: &[Op]) -> bool {
    let mut prev: Option<(EdgeId, u64)> = None;
    for op in run {
        let (Op::AddEdges { edge, src, dsts } | Op::RemoveEdges { edge, src, dsts }) = op else {
            return false;
        };
        if prev.is_some_and(|p| p >= (*edge, *src)) || dsts.0.windows(2).any(|w| w[0] >= w[1]) {
            return false;
        }
        prev = Some((*edge, *src));
    }
    true
}

/// An upper estimate of a record's encoded size, so that the frame buffer is allocated once.
pub(crate) fn size_hint(record: &LogRecord) -> usize {
    let ops = match record {
        LogRecord::Txn { ops, .. } | LogRecord::Rewrite { ops, .. } => ops,
        LogRecord::Seal { .. } => return 16,
    };
    16 + ops
        .iter()
        .map(|op| match op {
            Op::AddEdges { dsts, .. } | Op::RemoveEdges { dsts, .. } => 24 + 9 * dsts.0.len(),
            Op::SetProps(run) => 24 + 10 * run.slots.0.len(),
            Op::Catalog(_) => 256,
            _ => 32,
        })
        .sum::<usize>()
}

/// What lies at one offset of a segment. Torn and corrupt frames are told apart here, once;
/// what to do about each is the open policy's business (see `recovery`).
#[derive(Debug, PartialEq, Eq)]
pub enum FrameRead<'a> {
    /// A whole frame with valid checksums.
    Frame {
        /// Its payload.
        payload: &'a [u8],
        /// Offset of the next frame.
        next: usize,
    },
    /// Nothing but zeros (or nothing) from here on, as far as [`ZERO_WINDOW`] reaches: the end
    /// of the written log.
    End,
    /// An incomplete frame followed only by zeros: what a crash mid-write leaves.
    Torn(&'static str),
    /// A damaged frame with data after it: not something a crash can leave.
    Corrupt(&'static str),
}

/// How far past a frame the reader looks for data before calling the rest of the file zeros.
///
/// A preallocated segment is zeros up to its size (64 MiB by default), and reading all of them
/// would cost every open a scan of the whole tail. Damage that matters always has data right
/// behind it: a zeroed or broken header is followed by its own payload, a broken payload by the
/// next frame. So a window of 1 MiB tells "nothing more was written" from "something was
/// written after this" as well as the whole tail would, except for damage that zeroes more than
/// a mebibyte at once, which no torn write produces.
pub const ZERO_WINDOW: usize = 1 << 20;

/// Whether the first [`ZERO_WINDOW`] bytes of `bytes` are zero.
fn zeros_ahead(bytes: &[u8]) -> bool {
    all_zero(&bytes[..bytes.len().min(ZERO_WINDOW)])
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads the frame at `at` of `bytes` (a whole segment).
pub fn read_frame(bytes: &[u8], at: usize) -> FrameRead<'_> {
    let rest = bytes.get(at..).unwrap_or_default();
    if all_zero(rest.get(..FRAME_HEADER.min(rest.len())).unwrap_or_default()) && zeros_ahead(rest) {
        return FrameRead::End;
    }
    if rest.len() < FRAME_HEADER {
        return FrameRead::Torn("incomplete frame header");
    }
    let after_header = &rest[FRAME_HEADER..];
    if all_zero(&rest[..FRAME_HEADER]) {
        return FrameRead::Corrupt("zeroed frame header followed by data");
    }
    if crc32fast::hash(&rest[..8]) != le32(&rest[8..12]) {
        return if zeros_ahead(after_header) {
            FrameRead::Torn("frame header checksum mismatch")
        } else {
            FrameRead::Corrupt("frame header checksum mismatch")
        };
    }
    let len = le32(&rest[0..4]) as usize;
    if len > after_header.len() {
        return FrameRead::Torn("frame extends past the end of the file");
    }
    let payload = &after_header[..len];
    if crc32fast::hash(payload) != le32(&rest[4..8]) {
        return if zeros_ahead(&after_header[len..]) {
            FrameRead::Torn("payload checksum mismatch")
        } else {
            FrameRead::Corrupt("payload checksum mismatch")
        };
    }
    FrameRead::Frame { payload, next: at + FRAME_HEADER + len }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn sample() -> (LogRecord, Vec<u8>) {
        let value = Value::String("Ada".into()).encode();
        let record = LogRecord::Txn {
            seq: 7,
            ops: vec![
                Op::CreateNode { uid: 0x2a, ty: 0 },
                Op::SetProp { uid: 0x2a, prop: 1, at: 0, len: value.len() as u32 },
                Op::AddEdges { edge: 0, src: 0x2a, dsts: Box::new(UidList(vec![1, 300, 70_000])) },
            ],
        };
        (record, value)
    }

    /// The record format is a promise to every database on disk: this test fails if it drifts.
    #[test]
    fn a_step_is_24_bytes() {
        // An import's batch holds millions of steps: the edge lists are boxed to keep it so.
        assert_eq!(size_of::<Op>(), 24);
    }

    #[test]
    fn golden_bytes() {
        let (record, values) = sample();
        let frame = encode_frame(&record, &values).unwrap();
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN);
        let FrameRead::Frame { payload, next } = read_frame(&frame, 0) else { panic!() };
        assert_eq!(next, frame.len());
        let (back, values_at) = decode_payload(payload).unwrap();
        assert_eq!(back, record);
        assert_eq!(&payload[values_at], &values[..]);
    }

    /// The column steps of segment format 2 (a run of three nodes, two of them with a value).
    #[test]
    fn golden_bytes_of_column_steps() {
        let values: Vec<u8> = [Value::Int(7).encode(), Value::Int(8).encode()].concat();
        let record = LogRecord::Txn {
            seq: 8,
            ops: vec![
                Op::CreateNodes { first: 0x2a, count: 3, ty: 1 },
                Op::SetProps(Box::new(PropRun {
                    prop: 2,
                    first: 0x2b,
                    slots: ValueSlots(vec![(0, 9), (9, 9)]),
                })),
            ],
        };
        let frame = encode_frame(&record, &values).unwrap();
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN_COLUMNS);
        let FrameRead::Frame { payload, .. } = read_frame(&frame, 0) else { panic!() };
        assert_eq!(decode_payload(payload).unwrap().0, record);
    }

    const GOLDEN_COLUMNS: &str = "260000003aa3294bb748dbbb12000000020700000000000000020800000000000000000802072a030108022b020400090009";

    const GOLDEN: &str =
        "1e0000007c04b1f1fb16971d0400000001416461000703012a00032a01000405002a030601ab02c4a004";

    #[test]
    fn torn_and_corrupt_frames_are_told_apart() {
        let (record, values) = sample();
        let frame = encode_frame(&record, &values).unwrap();
        let mut seg = frame.clone();
        seg.extend_from_slice(&frame);
        seg.extend_from_slice(&[0; 64]);
        assert!(matches!(read_frame(&seg, 0), FrameRead::Frame { .. }));
        assert_eq!(read_frame(&seg, 2 * frame.len()), FrameRead::End);
        assert_eq!(read_frame(&seg, seg.len()), FrameRead::End);

        // A crash mid-write: the second frame is cut short.
        let cut = &seg[..frame.len() + 20];
        assert!(matches!(read_frame(cut, frame.len()), FrameRead::Torn(_)));
        let cut = &seg[..frame.len() + 5];
        assert_eq!(read_frame(cut, frame.len()), FrameRead::Torn("incomplete frame header"));
        // Payload bytes that never reached the disk, zeros after.
        let mut zeroed = seg.clone();
        let last = 2 * frame.len() - 3;
        zeroed[last] ^= 0xff;
        assert_eq!(read_frame(&zeroed, frame.len()), FrameRead::Torn("payload checksum mismatch"));

        // A flipped byte in the first frame, with a good frame after it, is corruption.
        let mut flipped = seg.clone();
        flipped[FRAME_HEADER + 5] ^= 1;
        assert_eq!(read_frame(&flipped, 0), FrameRead::Corrupt("payload checksum mismatch"));
        let mut flipped = seg.clone();
        flipped[2] ^= 0x80;
        assert_eq!(read_frame(&flipped, 0), FrameRead::Corrupt("frame header checksum mismatch"));
    }

    #[test]
    fn bad_payloads_are_errors() {
        assert!(decode_payload(&[1, 2]).is_err());
        assert!(decode_payload(&[200, 0, 0, 0, 1]).is_err());
        assert!(decode_payload(&[1, 0, 0, 0, 99]).is_err());
    }
}

#[cfg(test)]
mod fuzz {
    //! Arbitrary bytes never panic the frame reader or the payload decoder.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frames_and_payloads_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), at in 0usize..600) {
            if let FrameRead::Frame { payload, next } = read_frame(&bytes, at) {
                prop_assert!(next <= bytes.len());
                let _ = decode_payload(payload);
            }
            let _ = decode_payload(&bytes);
        }

        #[test]
        fn a_valid_frame_with_any_flipped_byte_is_never_valid(flip in 0usize..60, bit in 0u8..8) {
            let record = LogRecord::Txn { seq: 3, ops: vec![Op::AddEdges { edge: 1, src: 9, dsts: Box::new(UidList(vec![1, 2, 900])) }] };
            let mut frame = encode_frame(&record, b"values").unwrap();
            let flip = flip % frame.len();
            frame[flip] ^= 1 << bit;
            let valid = matches!(read_frame(&frame, 0), FrameRead::Frame { .. });
            prop_assert!(!valid, "a flipped bit went unnoticed");
        }
    }
}
