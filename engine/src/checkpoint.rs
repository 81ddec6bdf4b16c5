//! Checkpoints: the index written to one file that is memory-mapped on open.
//!
//! ```text
//! offset  size  field
//!      0    32  file header (`header`): magic "QUIVIDX\0", numbered by the commit covered
//!     32        sections, each 8-byte aligned: raw little-endian arrays (u64, u32, ValueRef)
//!      D        directory: bincode(Meta) with every section's place, length and CRC32
//!  end-24   8  D (u64 LE)
//!  end-16   8  directory length (u64 LE)
//!  end-8    4  CRC32 of the directory
//!  end-4    4  "QEND"
//! ```
//!
//! Every section's checksum is verified when the file is opened; a file that fails any check is
//! ignored and the log is replayed from its start instead, giving the same state.
//!
//! Format version 2 holds each edge type's out-direction only (the in-direction is built from
//! it when first read: [`crate::index::EdgeLists`]); version 1 also held the in-direction, and
//! its files still load with it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use crate::catalog::{Catalog, EdgeId, PropId};
use crate::error::{Error, Result};
use crate::header::{self, HEADER_LEN as HEADER};
use crate::index::column::Column;
use crate::index::{Base, Csr, Direction, EdgeLists, IndexKind, Postings, PropColumn, ValueRef};
use crate::io::FileIo;
use crate::mmap::Map;
use crate::record::CONFIG;

const MAGIC: [u8; 8] = *b"QUIVIDX\0";
/// Version 2 writes only the out-direction of each edge type (the in-direction is built from
/// it when first read); version 1 files, which hold both, still load.
const VERSION: header::Version = header::Version { writes: 2, oldest: 1 };
const END_MAGIC: [u8; 4] = *b"QEND";
const TRAILER: usize = 24;

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, bincode::Encode, bincode::Decode)]
enum Section {
    Uids,
    SortedUids,
    SortedDense,
    AdjOffsets { edge: EdgeId, dir: u8, first: u32 },
    AdjTargets { edge: EdgeId, dir: u8 },
    PropNodes { prop: PropId },
    PropRefs { prop: PropId },
    PostKeys { prop: PropId, kind: u8 },
    PostNodes { prop: PropId, kind: u8 },
}

#[derive(Debug, Clone, bincode::Encode, bincode::Decode)]
struct Entry {
    section: Section,
    offset: u64,
    len: u64,
    crc: u32,
}

/// Where the log continues after a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct LogPosition {
    /// Segment sequence number.
    pub segment: u64,
    /// Offset of the first frame not covered.
    pub offset: u64,
}

#[derive(Debug, Clone, bincode::Encode, bincode::Decode)]
struct Meta {
    seq: u64,
    type_ranges: Vec<(u32, u32)>,
    next_uid: u64,
    replay_from: LogPosition,
    catalog: Catalog,
    sections: Vec<Entry>,
}

/// A checkpoint read back from disk.
#[derive(Debug)]
pub struct Loaded {
    /// Commits covered.
    pub seq: u64,
    /// Next uid to allocate.
    pub next_uid: u64,
    /// Where replay starts.
    pub replay_from: LogPosition,
    /// The catalog as of `seq`.
    pub catalog: Catalog,
    /// The index, its arrays in the map.
    pub base: Base,
}

/// The sections of a checkpoint laid out in order after the header, each 8-byte aligned: their
/// directory entries and their bytes (borrowed from the base being written).
struct Sections<'b> {
    end: u64,
    entries: Vec<Entry>,
    bodies: Vec<&'b [u8]>,
}

impl<'b> Sections<'b> {
    fn put(&mut self, section: Section, bytes: &'b [u8], len: usize) {
        self.end = self.end.next_multiple_of(8);
        self.entries.push(Entry { section, offset: self.end, len: len as u64, crc: 0 });
        self.bodies.push(bytes);
        self.end += bytes.len() as u64;
    }

    /// The pieces of the sections' bytes that lie in `[from, to)` of the file, with where.
    fn pieces(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, &'b [u8])> + '_ {
        self.entries.iter().zip(&self.bodies).filter_map(move |(e, &body)| {
            let (start, end) = (e.offset.max(from), (e.offset + body.len() as u64).min(to));
            (start < end).then(|| (start, &body[(start - e.offset) as usize..(end - e.offset) as usize]))
        })
    }
}

/// Writes `base` (covering commits up to `seq`) to `path`, fsynced. The caller renames it into
/// place and fsyncs the directory.
///
/// The sections are laid out first, then written by two threads, each its half of the file's
/// bytes at their places, while the checksums are computed: copying into the page cache is
/// most of a checkpoint's time (0.35 s of 127 MB at scale 20) and spreads over both cores.
pub fn write(
    path: &Path,
    base: &Base,
    seq: u64,
    next_uid: u64,
    replay_from: LogPosition,
    catalog: &Catalog,
    io: &dyn FileIo,
) -> Result<()> {
    let err = |e| Error::io(path, e);
    let file = File::create(path).map_err(err)?;
    let mut w = Sections { end: HEADER as u64, entries: Vec::new(), bodies: Vec::new() };
    let b = base;
    let cast = bytemuck::cast_slice::<u64, u8>;
    let cast32 = bytemuck::cast_slice::<u32, u8>;
    w.put(Section::Uids, cast(&b.uids), b.uids.len());
    w.put(Section::SortedUids, cast(&b.sorted_uids), b.sorted_uids.len());
    w.put(Section::SortedDense, cast32(&b.sorted_dense), b.sorted_dense.len());
    // The out-direction only: the in-direction is its transpose, built when first read.
    for (e, lists) in b.adjacency.iter().enumerate() {
        if catalog.edges.get(e).is_none_or(|x| x.dropped) {
            continue;
        }
        let (edge, dir, csr) = (e as EdgeId, Direction::Out as u8, &lists.out);
        w.put(Section::AdjOffsets { edge, dir, first: csr.first }, cast(&csr.offsets), csr.offsets.len());
        w.put(Section::AdjTargets { edge, dir }, cast32(&csr.targets), csr.targets.len());
    }
    for (p, col) in b.props.iter().enumerate() {
        let prop = p as PropId;
        if catalog.properties.get(p).is_none_or(|x| x.dropped) {
            continue;
        }
        w.put(Section::PropNodes { prop }, cast32(&col.nodes), col.nodes.len());
        let refs = bytemuck::cast_slice::<ValueRef, u8>(&col.refs);
        w.put(Section::PropRefs { prop }, refs, col.refs.len());
    }
    let mut keys: Vec<_> = b.postings.keys().copied().collect();
    keys.sort();
    for (prop, kind) in keys {
        let p = &b.postings[&(prop, kind)];
        let k = kind as u8;
        w.put(Section::PostKeys { prop, kind: k }, cast(&p.keys), p.keys.len());
        w.put(Section::PostNodes { prop, kind: k }, cast32(&p.nodes), p.nodes.len());
    }
    let dir_at = w.end;
    let mid = HEADER as u64 + (dir_at - HEADER as u64) / 2;
    let write_pieces = |from: u64, to: u64| -> std::io::Result<()> {
        w.pieces(from, to).try_for_each(|(at, bytes)| file.write_all_at(bytes, at))
    };
    let (upper, crcs) = std::thread::scope(|scope| {
        let upper = scope.spawn(|| write_pieces(mid, dir_at));
        let crcs: Vec<u32> = w.bodies.iter().map(|body| crc32fast::hash(body)).collect();
        let lower = write_pieces(0, mid);
        (
            upper
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("writing a checkpoint panicked")))
                .and(lower),
            crcs,
        )
    });
    upper.map_err(err)?;
    let mut sections = std::mem::take(&mut w.entries);
    for (entry, crc) in sections.iter_mut().zip(crcs) {
        entry.crc = crc;
    }
    let meta = Meta {
        seq,
        type_ranges: b.type_ranges.clone(),
        next_uid,
        replay_from,
        catalog: catalog.clone(),
        sections,
    };
    let dir = bincode::encode_to_vec(&meta, CONFIG)
        .map_err(|e| Error::Invalid(format!("cannot encode checkpoint directory: {e}")))?;
    let mut tail = dir;
    let dir_len = tail.len() as u64;
    let dir_crc = crc32fast::hash(&tail);
    tail.extend_from_slice(&dir_at.to_le_bytes());
    tail.extend_from_slice(&dir_len.to_le_bytes());
    tail.extend_from_slice(&dir_crc.to_le_bytes());
    tail.extend_from_slice(&END_MAGIC);
    file.write_all_at(&header::encode(&MAGIC, VERSION, seq), 0).map_err(err)?;
    file.write_all_at(&tail, dir_at).map_err(err)?;
    io.sync(&file).map_err(err)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// Opens a checkpoint, verifying every checksum. The arrays stay in the map.
pub fn load(path: &Path) -> Result<Loaded> {
    load_with(path, true)
}

/// Opens the checkpoint this process just wrote (and fsynced): the checksums would be
/// computed over the very bytes still in the page cache that were checksummed on their way
/// out, so only the structure is checked (a tenth of a second at scale 20).
pub fn load_written(path: &Path) -> Result<Loaded> {
    load_with(path, false)
}

fn load_with(path: &Path, verify_checksums: bool) -> Result<Loaded> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let map = Arc::new(Map::new(&file, len).map_err(|e| Error::io(path, e))?);
    let bytes = map.bytes();
    let corrupt = |offset: usize, why: &str| Error::corrupt(path, offset as u64, why);
    header::check(path, bytes, &MAGIC, VERSION)?;
    if bytes.len() < HEADER + TRAILER {
        return Err(corrupt(bytes.len(), "checkpoint shorter than its header and trailer"));
    }
    let t = bytes.len() - TRAILER;
    if bytes[t + 20..] != END_MAGIC {
        return Err(corrupt(t, "checkpoint trailer missing (incomplete file)"));
    }
    let (dir_at, dir_len) = (u64_at(bytes, t) as usize, u64_at(bytes, t + 8) as usize);
    let dir = dir_at
        .checked_add(dir_len)
        .filter(|&end| end <= t)
        .map(|end| &bytes[dir_at..end])
        .ok_or_else(|| corrupt(t, "directory out of bounds"))?;
    if crc32fast::hash(dir)
        != u32::from_le_bytes([bytes[t + 16], bytes[t + 17], bytes[t + 18], bytes[t + 19]])
    {
        return Err(corrupt(dir_at, "directory checksum mismatch"));
    }
    let (meta, _): (Meta, _) = bincode::decode_from_slice(dir, CONFIG)
        .map_err(|e| corrupt(dir_at, &format!("directory does not decode: {e}")))?;

    let mut base = Base {
        type_ranges: meta.type_ranges.clone(),
        adjacency: Vec::new(),
        props: vec![PropColumn::default(); meta.catalog.properties.len()],
        ..Base::default()
    };
    // Per edge type and direction (a version 1 file also holds the in-direction).
    let mut lists = vec![[Csr::default(), Csr::default()]; meta.catalog.edges.len()];
    let mut held_in = vec![false; meta.catalog.edges.len()];
    for e in &meta.sections {
        let at = e.offset as usize;
        let width = match e.section {
            Section::Uids | Section::SortedUids | Section::AdjOffsets { .. } | Section::PostKeys { .. } => 8,
            Section::PropRefs { .. } => size_of::<ValueRef>(),
            _ => 4,
        };
        let n = e.len as usize;
        let body = n
            .checked_mul(width)
            .and_then(|sz| bytes.get(at..at.checked_add(sz)?))
            .ok_or_else(|| corrupt(at, "section out of bounds"))?;
        if verify_checksums && crc32fast::hash(body) != e.crc {
            return Err(corrupt(at, "section checksum mismatch"));
        }
        let bad = || corrupt(at, "section misaligned or out of bounds");
        let c64 = || Column::<u64>::mapped(&map, at, n).ok_or_else(bad);
        let c32 = || Column::<u32>::mapped(&map, at, n).ok_or_else(bad);
        let dir_of = |d: u8| {
            if d == 0 {
                Ok(Direction::Out as usize)
            } else if d == 1 {
                Ok(Direction::In as usize)
            } else {
                Err(corrupt(at, "bad direction"))
            }
        };
        let edge_slot = |edge: EdgeId, d: u8| -> Result<(usize, usize)> {
            if (edge as usize) < meta.catalog.edges.len() {
                Ok((edge as usize, dir_of(d)?))
            } else {
                Err(corrupt(at, "unknown edge type"))
            }
        };
        let prop_slot = |prop: PropId| -> Result<usize> {
            if (prop as usize) < meta.catalog.properties.len() {
                Ok(prop as usize)
            } else {
                Err(corrupt(at, "unknown property"))
            }
        };
        match e.section {
            Section::Uids => base.uids = c64()?,
            Section::SortedUids => base.sorted_uids = c64()?,
            Section::SortedDense => base.sorted_dense = c32()?,
            Section::AdjOffsets { edge, dir, first } => {
                let (e, d) = edge_slot(edge, dir)?;
                lists[e][d].offsets = c64()?;
                lists[e][d].first = first;
                held_in[e] |= d == Direction::In as usize;
            }
            Section::AdjTargets { edge, dir } => {
                let (e, d) = edge_slot(edge, dir)?;
                lists[e][d].targets = c32()?;
            }
            Section::PropNodes { prop } => base.props[prop_slot(prop)?].nodes = c32()?,
            Section::PropRefs { prop } => {
                base.props[prop_slot(prop)?].refs =
                    Column::<ValueRef>::mapped(&map, at, n).ok_or_else(bad)?;
            }
            Section::PostKeys { prop, kind } | Section::PostNodes { prop, kind } => {
                let kind = IndexKind::from_u8(kind).ok_or_else(|| corrupt(at, "bad index kind"))?;
                prop_slot(prop)?;
                let p: &mut Postings = base.postings.entry((prop, kind)).or_default();
                if matches!(e.section, Section::PostKeys { .. }) {
                    p.keys = c64()?;
                } else {
                    p.nodes = c32()?;
                }
            }
        }
    }
    for (e, [out, inn]) in lists.into_iter().enumerate() {
        let target = meta.catalog.edges[e].target;
        let in_range = meta.type_ranges.get(target as usize).copied().unwrap_or((0, 0));
        base.adjacency.push(if held_in[e] {
            EdgeLists::new(out, inn)
        } else {
            EdgeLists::out_only(out, in_range)
        });
    }
    validate(&base, meta.next_uid).map_err(|why| corrupt(HEADER, why))?;
    Ok(Loaded {
        seq: meta.seq,
        next_uid: meta.next_uid,
        replay_from: meta.replay_from,
        catalog: meta.catalog,
        base,
    })
}

/// Structural checks that make every later read in bounds, and lookups by uid right.
fn validate(b: &Base, next_uid: u64) -> std::result::Result<(), &'static str> {
    let n = b.uids.len();
    if b.sorted_uids.len() != b.sorted_dense.len() || !(b.sorted_uids.is_empty() || b.sorted_uids.len() == n)
    {
        return Err("node arrays differ in length");
    }
    // Uids are found by binary search: in `uids` when it is sorted, else in `sorted_uids`.
    let by_uid: &[u64] = if b.sorted_uids.is_empty() { &b.uids } else { &b.sorted_uids };
    if by_uid.windows(2).any(|w| w[0] >= w[1]) {
        return Err(if b.sorted_uids.is_empty() {
            "node uids unsorted without a lookup array"
        } else {
            "node lookup array unsorted"
        });
    }
    // Transactions take a uid at or past `next_uid` as free without looking it up.
    if by_uid.last().is_some_and(|&last| last >= next_uid) {
        return Err("the next uid is not above every node's uid");
    }
    let mut next = 0u32;
    for &(a, e) in &b.type_ranges {
        if a == e {
            continue;
        }
        if a != next || e < a {
            return Err("type ranges do not tile the node table");
        }
        next = e;
    }
    if next as usize != n {
        return Err("type ranges do not cover the node table");
    }
    if b.sorted_dense.iter().any(|&d| d as usize >= n) {
        return Err("node lookup points past the node table");
    }
    for lists in &b.adjacency {
        // Targets must lie in the node table; those of an in-direction still to be built, in
        // the range it is built over (the target type's).
        let out_targets = match lists.built_in() {
            Some(_) => (0, n as u32),
            None => lists.in_range(),
        };
        if out_targets.1 as usize > n || out_targets.0 > out_targets.1 {
            return Err("edge target range outside the node table");
        }
        let held = [Some((&lists.out, out_targets)), lists.built_in().map(|c| (c, (0, n as u32)))];
        for (csr, (lo, hi)) in held.into_iter().flatten() {
            let offs: &[u64] = &csr.offsets;
            if offs.is_empty() {
                if !csr.targets.is_empty() {
                    return Err("adjacency targets without offsets");
                }
                continue;
            }
            if offs.windows(2).any(|w| w[0] > w[1]) || offs[offs.len() - 1] as usize != csr.targets.len() {
                return Err("adjacency offsets inconsistent");
            }
            if csr.first as usize + offs.len() - 1 > n || csr.targets.iter().any(|&t| t < lo || t >= hi) {
                return Err("adjacency points outside its node range");
            }
        }
    }
    for col in &b.props {
        if col.nodes.len() != col.refs.len() || col.nodes.iter().any(|&x| x as usize >= n) {
            return Err("property column inconsistent");
        }
    }
    for p in b.postings.values() {
        if p.keys.len() != p.nodes.len() || p.nodes.iter().any(|&x| x as usize >= n) {
            return Err("posting array inconsistent");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogChange;
    use crate::io::OsIo;

    #[test]
    fn a_next_uid_not_above_every_uid_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::default();
        catalog.apply(&CatalogChange::AddType { name: "Person".into() }).unwrap();
        let base = Base { uids: vec![5u64, 9].into(), type_ranges: vec![(0, 2)], ..Base::default() };
        let at = LogPosition { segment: 1, offset: 32 };
        let path = dir.path().join("ok.qidx");
        write(&path, &base, 3, 10, at, &catalog, &OsIo).unwrap();
        assert_eq!(load(&path).unwrap().next_uid, 10);
        // (A writer never does this; a crafted file whose checksums hold could.)
        let path = dir.path().join("bad.qidx");
        write(&path, &base, 3, 9, at, &catalog, &OsIo).unwrap();
        let err = load(&path).err().unwrap().to_string();
        assert!(err.contains("the next uid is not above every node's uid"), "{err}");
    }
}
