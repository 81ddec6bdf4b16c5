//! Applying a committed record's operations to an index state.
//!
//! The same code runs at commit and at replay, so a database reopened from its log is the
//! database that was acknowledged. Everything here is deterministic in the operations and the
//! state: the writer validated the operations, so a failure here means the log and the index
//! disagree, which recovery reports as corruption at the record's offset.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::catalog::{CatalogChange, EdgeId, PropId, TypeId};
use crate::index::tokens::keys_of_value;
use crate::index::{AdjKey, DeltaNode, Dense, Direction, IndexKind, PostingDelta, State, ValueRef};
use crate::record::Op;
use crate::value::ValueView;

/// A record's values area: where it is in the log, and its bytes. The bytes are given
/// separately so that a commit can apply its record while the frame is still being encoded
/// and written (the area's place is known in advance: it comes first in the payload).
#[derive(Debug, Clone, Copy)]
pub struct ValuesAt<'a> {
    /// Segment sequence number.
    pub segment: u32,
    /// Byte offset of the values area in the segment.
    pub offset: u64,
    /// The area's bytes.
    pub bytes: &'a [u8],
}

impl<'a> ValuesAt<'a> {
    /// The reference to `len` bytes at `at` of the area.
    pub fn value_ref(&self, at: u32, len: u32) -> ValueRef {
        ValueRef { segment: self.segment, offset: self.offset + u64::from(at), len }
    }

    /// The bytes `r` points to, if it points into this area.
    pub fn get(&self, r: ValueRef) -> Option<&'a [u8]> {
        if r.segment != self.segment || r.offset < self.offset {
            return None;
        }
        let start = usize::try_from(r.offset - self.offset).ok()?;
        self.bytes.get(start..start.checked_add(r.len as usize)?)
    }
}

/// A neighbor list being edited: appended to freely, sorted once when the record is done.
struct WorkList {
    list: Vec<u32>,
    sorted: bool,
}

impl WorkList {
    fn normalize(&mut self) {
        if !self.sorted {
            self.list.sort_unstable();
            self.list.dedup();
            self.sorted = true;
        }
    }
}

/// The lists a record touches, materialized while it is applied.
#[derive(Default)]
struct Work {
    lists: FxHashMap<AdjKey, WorkList>,
}

impl Work {
    fn list<'a>(&'a mut self, state: &State, key: AdjKey) -> &'a mut WorkList {
        self.lists
            .entry(key)
            .or_insert_with(|| WorkList { list: state.neighbors(key.0, key.1, key.2).to_vec(), sorted: true })
    }

    fn current<'a>(&'a mut self, state: &'a State, key: AdjKey) -> Vec<u32> {
        match self.lists.get_mut(&key) {
            Some(w) => {
                w.normalize();
                w.list.clone()
            }
            None => state.neighbors(key.0, key.1, key.2).to_vec(),
        }
    }

    fn add(&mut self, state: &State, key: AdjKey, node: Dense) {
        let w = self.list(state, key);
        if w.sorted && w.list.last().is_some_and(|&l| l >= node) {
            w.sorted = false;
        }
        w.list.push(node);
    }

    fn remove(&mut self, state: &State, key: AdjKey, node: Dense) {
        let w = self.list(state, key);
        w.normalize();
        if let Ok(i) = w.list.binary_search(&node) {
            w.list.remove(i);
        }
    }

    fn clear(&mut self, key: AdjKey) {
        self.lists.insert(key, WorkList { list: Vec::new(), sorted: true });
    }
}

impl State {
    /// Applies one record's operations. `values` locates its values area (needed when the
    /// record sets properties); `frame_len` counts toward the checkpoint threshold.
    pub fn apply_ops(
        &mut self,
        ops: &[Op],
        values: Option<ValuesAt<'_>>,
        frame_len: u64,
    ) -> Result<(), String> {
        if let Some(rebuilt) = self.try_apply_bulk(ops, values, frame_len)? {
            *self = rebuilt;
            return Ok(());
        }
        let mut work = Work::default();
        for op in ops {
            self.apply_op(op, values.as_ref(), &mut work)?;
        }
        for (key, mut w) in work.lists {
            w.normalize();
            let fresh = self.delta.adjacency.insert(key, Arc::from(w.list)).is_none();
            if fresh {
                *self.delta.touched.entry((key.0, key.1)).or_insert(0) += 1;
            }
        }
        self.delta.log_bytes += frame_len;
        Ok(())
    }

    fn live(&self, uid: u64) -> Result<Dense, String> {
        self.dense(uid).ok_or_else(|| format!("node {uid:#x} does not exist"))
    }

    fn apply_op(&mut self, op: &Op, values: Option<&ValuesAt<'_>>, work: &mut Work) -> Result<(), String> {
        match op {
            Op::Catalog(change) => self.apply_catalog(change, values)?,
            Op::CreateNode { uid, ty } => self.create_node(*uid, *ty)?,
            Op::CreateNodes { first, count, ty } => {
                for uid in crate::record::node_run(*first, *count)? {
                    self.create_node(uid, *ty)?;
                }
            }
            Op::DeleteNode { uid } => {
                let d = self.live(*uid)?;
                self.delete_node(d, work, values);
            }
            Op::SetProp { uid, prop, at, len } => self.set_from_record(*uid, *prop, (*at, *len), values)?,
            Op::SetProps(run) => {
                for (uid, at, len) in run.nodes().ok_or("a run of values past the last uid")? {
                    self.set_from_record(uid, run.prop, (at, len), values)?;
                }
            }
            Op::RemoveProp { uid, prop } => {
                let d = self.live(*uid)?;
                self.set_value(*prop, d, None, values);
            }
            Op::AddEdges { edge, src, dsts } | Op::RemoveEdges { edge, src, dsts } => {
                let add = matches!(op, Op::AddEdges { .. });
                let s = self.live(*src)?;
                let mut targets = Vec::with_capacity(dsts.0.len());
                for &t in &dsts.0 {
                    targets.push(self.live(t)?);
                }
                for &t in &targets {
                    if add {
                        work.add(self, (*edge, Direction::Out, s), t);
                        work.add(self, (*edge, Direction::In, t), s);
                    } else {
                        work.remove(self, (*edge, Direction::Out, s), t);
                        work.remove(self, (*edge, Direction::In, t), s);
                    }
                }
            }
        }
        Ok(())
    }

    fn create_node(&mut self, uid: u64, ty: TypeId) -> Result<(), String> {
        if self.dense(uid).is_some() {
            return Err(format!("node {uid:#x} already exists"));
        }
        self.catalog.node_type(ty).map_err(|e| e.to_string())?;
        let d = self.dense_len();
        self.delta.nodes.push_back(DeltaNode { uid, ty, alive: true });
        self.delta.by_uid.insert(uid, d);
        self.next_uid = self.next_uid.max(uid.saturating_add(1));
        Ok(())
    }

    /// Sets a property to the value at `slot` (start, length) of the record's values area.
    fn set_from_record(
        &mut self,
        uid: u64,
        prop: PropId,
        (at, len): (u32, u32),
        values: Option<&ValuesAt<'_>>,
    ) -> Result<(), String> {
        let d = self.live(uid)?;
        let v = values.ok_or("a property is set by a record without values")?;
        let r = v.value_ref(at, len);
        let bytes = v.get(r).ok_or("value outside its record")?;
        ValueView::decode(bytes).map_err(|e| format!("bad value: {}", e.0))?;
        self.set_value(prop, d, Some(r), values);
        Ok(())
    }

    /// Sets (or with `None` removes) a property value, keeping its indexes.
    fn set_value(&mut self, prop: PropId, node: Dense, new: Option<ValueRef>, values: Option<&ValuesAt<'_>>) {
        let indexes = match self.catalog.property(prop) {
            Ok(p) => p.indexes,
            Err(_) => crate::IndexSet::NONE,
        };
        let old = self.value_ref(prop, node);
        for kind in IndexKind::for_set(indexes) {
            let old_keys = old.map(|r| self.keys_of(r, kind, values)).unwrap_or_default();
            let new_keys = new.map(|r| self.keys_of(r, kind, values)).unwrap_or_default();
            if old_keys != new_keys {
                self.unpost(prop, kind, node, &old_keys);
                self.post(prop, kind, node, &new_keys);
            }
        }
        if new.is_none() && old.is_none() {
            return;
        }
        self.delta.props.insert((prop, node), new);
    }

    fn keys_of(&self, r: ValueRef, kind: IndexKind, values: Option<&ValuesAt<'_>>) -> Vec<u64> {
        self.bytes_of(r, values)
            .and_then(|b| ValueView::decode(b).ok())
            .map(|v| keys_of_value(kind, &v))
            .unwrap_or_default()
    }

    fn delete_node(&mut self, d: Dense, work: &mut Work, values: Option<&ValuesAt<'_>>) {
        let ty = self.node_type(d);
        let catalog = Arc::clone(&self.catalog);
        for (e, edge) in catalog.edges.iter().enumerate().filter(|(_, e)| !e.dropped) {
            let e = e as EdgeId;
            if edge.source == ty {
                for t in work.current(self, (e, Direction::Out, d)) {
                    work.remove(self, (e, Direction::In, t), d);
                }
                work.clear((e, Direction::Out, d));
            }
            if edge.target == ty {
                for s in work.current(self, (e, Direction::In, d)) {
                    work.remove(self, (e, Direction::Out, s), d);
                }
                work.clear((e, Direction::In, d));
            }
        }
        for (p, prop) in catalog.properties.iter().enumerate() {
            if !prop.dropped && prop.owner == ty {
                self.set_value(p as PropId, d, None, values);
            }
        }
        let b = self.base.len();
        if d < b {
            self.delta.deleted.insert(d);
        } else if let Some(n) = self.delta.nodes.get_mut((d - b) as usize) {
            n.alive = false;
        }
    }

    fn apply_catalog(&mut self, change: &CatalogChange, values: Option<&ValuesAt<'_>>) -> Result<(), String> {
        let before = Arc::clone(&self.catalog);
        Arc::make_mut(&mut self.catalog).apply(change).map_err(|e| e.to_string())?;
        if let CatalogChange::SetIndexes { prop, indexes } = change {
            let old = before.properties[*prop as usize].indexes;
            let kept: Vec<IndexKind> = IndexKind::for_set(old).collect();
            let nodes = self.nodes_with(*prop);
            for kind in IndexKind::for_set(*indexes).filter(|k| !kept.contains(k)) {
                let mut fresh = PostingDelta { base_void: true, ..PostingDelta::default() };
                for &(node, r) in &nodes {
                    for k in self.keys_of(r, kind, values) {
                        fresh.added.insert((k, node));
                    }
                }
                self.delta.postings.insert((*prop, kind), fresh);
            }
            for kind in kept {
                if !IndexKind::for_set(*indexes).any(|k| k == kind) {
                    let void = PostingDelta { base_void: true, ..PostingDelta::default() };
                    self.delta.postings.insert((*prop, kind), void);
                }
            }
        }
        Ok(())
    }

    /// The bytes `r` points to: in the record being applied, or in the log.
    pub(crate) fn bytes_of<'a>(&'a self, r: ValueRef, values: Option<&ValuesAt<'a>>) -> Option<&'a [u8]> {
        values.and_then(|v| v.get(r)).or_else(|| self.value_bytes(r))
    }

    /// Every live node with a value of `prop`, with the value, sorted by node.
    pub fn nodes_with(&self, prop: PropId) -> Vec<(Dense, ValueRef)> {
        let mut out = Vec::new();
        let _ = self.try_for_each_with(prop, |n, r| {
            out.push((n, r));
            Ok::<(), std::convert::Infallible>(())
        });
        out
    }

    /// Calls `f` with every live node with a value of `prop`, and the value, in node order,
    /// stopping at its first error. Where nothing replaced a value since the base, the base's
    /// column is read in place and nothing is collected (an import's key table reads a million).
    pub fn try_for_each_with<E>(
        &self,
        prop: PropId,
        mut f: impl FnMut(Dense, ValueRef) -> Result<(), E>,
    ) -> Result<(), E> {
        let base = self.base.props.get(prop as usize);
        let base = base.into_iter().flat_map(|col| col.nodes.iter().copied().zip(col.refs.iter().copied()));
        if self.delta.props.is_empty() {
            return base.filter(|&(n, _)| self.is_live(n)).try_for_each(|(n, r)| f(n, r));
        }
        let mut out: Vec<(Dense, ValueRef)> =
            base.filter(|&(n, _)| !self.delta.props.contains_key(&(prop, n)) && self.is_live(n)).collect();
        for ((p, n), r) in self.delta.props.iter() {
            if *p == prop
                && let Some(r) = r
                && self.is_live(*n)
            {
                out.push((*n, *r));
            }
        }
        out.sort_unstable_by_key(|&(n, _)| n);
        out.into_iter().try_for_each(|(n, r)| f(n, r))
    }
}
