//! Compaction: rewrite the live data as a new generation of the log and switch to it.
//!
//! The writer lock is held throughout, so commits wait; readers do not: they keep reading
//! their snapshots, whose maps of the old files stay valid after the files are unlinked.
//!
//! 1. Everything committed is made durable; the writer's state is the one rewritten.
//! 2. Generation `g + 1` is written beside `g`: `Rewrite` records holding the catalog
//!    (tombstones kept, so ids keep their meaning), every live node, value and edge, then a
//!    checkpoint of it. Nothing of `g + 1` counts until step 3.
//! 3. `CURRENT` is replaced atomically to name `g + 1`. A crash before this point leaves `g`
//!    live (open removes the leftovers of `g + 1`); after it, `g + 1` is live.
//! 4. The writer continues in `g + 1`, the new state is published, and the files of `g` are
//!    removed, returning their space.

use std::sync::Arc;

use crate::catalog::{CatalogChange, EdgeId, PropId};
use crate::checkpoint::{self, LogPosition};
use crate::error::{Error, Result};
use crate::index::apply::ValuesAt;
use crate::index::{Direction, SegmentSet, State};
use crate::record::{FRAME_HEADER, LogRecord, Op, UidList, VALUES_AT, encode_frame};
use crate::segment::{self, Segment, SegmentWriter};
use crate::store::Store;

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionReport {
    /// Log bytes before.
    pub bytes_before: u64,
    /// Log bytes after.
    pub bytes_after: u64,
    /// The new generation.
    pub generation: u64,
}

/// Records are cut at about this many bytes of values.
const CHUNK_BYTES: usize = 8 << 20;
/// ...or this many steps.
const CHUNK_OPS: usize = 200_000;

struct Rewriter<'a> {
    store: &'a Store,
    generation: u64,
    writer: SegmentWriter,
    sealed: Vec<Arc<Segment>>,
    state: State,
    seq: u64,
    next_uid: u64,
    ops: Vec<Op>,
    values: Vec<u8>,
}

impl Rewriter<'_> {
    fn push(&mut self, op: Op) -> Result<()> {
        self.ops.push(op);
        if self.ops.len() >= CHUNK_OPS || self.values.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.ops.is_empty() {
            return Ok(());
        }
        let record =
            LogRecord::Rewrite { seq: self.seq, next_uid: self.next_uid, ops: std::mem::take(&mut self.ops) };
        let frame = encode_frame(&record, &self.values)
            .map_err(|e| Error::Invalid(format!("cannot encode a compacted record: {e}")))?;
        let LogRecord::Rewrite { ops, .. } = record else { unreachable!("built above") };
        let layout = &self.store.inner.layout;
        if !self.writer.fits(frame.len() as u64) {
            let path = layout.segment(self.generation, self.writer.segment.seq + 1);
            let capacity = segment::capacity_for(frame.len() as u64, self.store.inner.options.segment_size);
            let sealed = segment::roll(&mut self.writer, &path, capacity, &|| layout.sync_dir())?;
            self.sealed.push(sealed);
            let mut set = self.sealed.clone();
            set.push(Arc::clone(&self.writer.segment));
            self.state.segments = Arc::new(SegmentSet(set));
        }
        let at = self.writer.append(&frame).map_err(|e| e.error)?;
        let values = ValuesAt {
            segment: self.writer.segment.seq as u32,
            offset: at + (FRAME_HEADER + VALUES_AT) as u64,
            bytes: &self.values,
        };
        self.state.apply_ops(&ops, Some(values), frame.len() as u64).map_err(|why| {
            Error::Invalid(format!("compaction produced a record that does not apply: {why}"))
        })?;
        self.state.seq = self.seq;
        self.state.next_uid = self.state.next_uid.max(self.next_uid);
        self.values.clear();
        Ok(())
    }
}

impl Store {
    /// Rewrites the live data into a new generation of segments and drops the old ones.
    pub fn compact(&self) -> Result<CompactionReport> {
        let mut w = self.writer_for_maintenance()?;
        let old = Arc::clone(&w.latest);
        let layout = &self.inner.layout;
        let generation = w.generation + 1;
        let bytes_before = log_bytes(&old.segments, w.log.end);
        // Leftovers of an earlier attempt at this generation would collide with our names.
        for stale in layout.list(w.generation)?.stale {
            std::fs::remove_file(&stale).map_err(|e| Error::io(&stale, e))?;
        }

        let first = layout.segment(generation, 1);
        let writer = SegmentWriter::create(
            &first,
            1,
            self.inner.options.segment_size,
            Arc::clone(&self.inner.options.io),
        )?;
        let state = State {
            segments: Arc::new(SegmentSet(vec![Arc::clone(&writer.segment)])),
            next_uid: 1,
            ..State::default()
        };
        let mut rw = Rewriter {
            store: self,
            generation,
            writer,
            sealed: Vec::new(),
            state,
            seq: old.seq,
            next_uid: old.next_uid,
            ops: Vec::new(),
            values: Vec::new(),
        };
        rw.push(Op::Catalog(Box::new(CatalogChange::Restore { catalog: Box::new((*old.catalog).clone()) })))?;
        rw.flush()?;
        let snap = crate::Snapshot::new(Arc::clone(&old));
        let catalog = Arc::clone(&old.catalog);
        for ty in 0..catalog.types.len() as u32 {
            for d in snap.nodes_of_type(ty) {
                rw.push(Op::CreateNode { uid: old.uid(d), ty })?;
            }
        }
        rw.flush()?;
        for (p, prop) in catalog.properties.iter().enumerate() {
            if prop.dropped {
                continue;
            }
            for (node, r) in old.nodes_with(p as PropId) {
                let bytes = old.value_bytes(r).ok_or_else(|| {
                    Error::Invalid(format!("a value of node {:#x} is unreadable", old.uid(node)))
                })?;
                let at = rw.values.len() as u32;
                rw.values.extend_from_slice(bytes);
                rw.push(Op::SetProp { uid: old.uid(node), prop: p as PropId, at, len: r.len })?;
            }
        }
        rw.flush()?;
        for (e, edge) in catalog.edges.iter().enumerate() {
            if edge.dropped {
                continue;
            }
            let adj = snap.adjacency(e as EdgeId, Direction::Out);
            for src in snap.nodes_of_type(edge.source) {
                let list = adj.neighbors(src);
                if list.is_empty() {
                    continue;
                }
                let mut dsts: Vec<u64> = list.iter().map(|&t| old.uid(t)).collect();
                dsts.sort_unstable();
                rw.push(Op::AddEdges {
                    edge: e as EdgeId,
                    src: old.uid(src),
                    dsts: Box::new(UidList(dsts)),
                })?;
            }
        }
        rw.flush()?;
        rw.writer.sync()?;
        layout.sync_dir()?;

        // Checkpoint the new generation, then switch to it.
        let path = layout.checkpoint(generation, rw.state.seq);
        let at = LogPosition { segment: rw.writer.segment.seq, offset: rw.writer.end };
        let io = &*self.inner.options.io;
        let st = &rw.state;
        st.with_full_base(|base| checkpoint::write(&path, base, st.seq, st.next_uid, at, &st.catalog, io))?;
        layout.sync_dir()?;
        let loaded = checkpoint::load_written(&path)?;
        layout.write_current(generation, io)?;

        let fresh = Arc::new(rw.state.with_base(Arc::new(loaded.base)));
        let bytes_after = log_bytes(&fresh.segments, rw.writer.end);
        w.log = rw.writer;
        w.generation = generation;
        w.latest = Arc::clone(&fresh);
        self.switch_sync_file(w.log.file(), w.log.end);
        self.publish(fresh);
        drop(w);
        for stale in layout.list(generation)?.stale {
            // The old generation is dead since CURRENT moved; a file left behind is removed at
            // the next open.
            let _ = std::fs::remove_file(stale);
        }
        Ok(CompactionReport { bytes_before, bytes_after, generation })
    }
}

/// Bytes of log in use: sealed segments whole, the active one up to its end.
fn log_bytes(set: &SegmentSet, active_end: u64) -> u64 {
    let sealed = set.0.len().saturating_sub(1);
    set.0[..sealed].iter().map(|s| s.bytes().len() as u64).sum::<u64>() + active_end
}
