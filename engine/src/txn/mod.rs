//! The write transaction: validates each step against the catalog and what the transaction
//! can see, records it as an [`Op`], and on commit writes them as one log record.
//!
//! Everything a transaction does reaches the log whole or not at all: steps are buffered
//! here, the commit appends one frame, and dropping the transaction instead discards them.
//! Inverse edges (`@hasInverse`) and the single target of a singular edge are kept here, as
//! explicit steps, so replay needs no knowledge of those rules.

use std::sync::{Arc, MutexGuard};

use crate::catalog::{Catalog, EdgeId, IndexSet, PropId, TypeId};
use crate::error::{Error, Result};
use crate::index::apply::ValuesAt;
use crate::index::tokens::eq_key;
use crate::index::{Direction, IndexKind, State};
use bincode::error::EncodeError;

use crate::record::{FRAME_HEADER, LogRecord, MAX_PAYLOAD, Op, UidList, VALUES_AT, encode_frame, size_hint};
use crate::snapshot::Snapshot;
use crate::store::{Store, Writer};
use crate::value::{Value, ValueView};

mod overlay;
mod pending;
mod schema;
mod steps;

use overlay::{EdgeOverlay, TouchedNodes};
use pending::{PendingValues, Slot, UniqueKeys};
use steps::Steps;

/// The one write transaction. Commit with [`WriteTxn::commit`]; drop it to roll back.
///
/// ```
/// use quiver_engine::{CatalogChange, Direction, Store};
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path()).unwrap();
/// let mut txn = store.write().unwrap();
/// txn.alter(CatalogChange::AddType { name: "P".into() }, false).unwrap();
/// txn.alter(CatalogChange::AddEdge { source: 0, name: "knows".into(), target: 0, list: true }, false).unwrap();
/// let (a, b) = (txn.create_node(0, None).unwrap(), txn.create_node(0, None).unwrap());
/// txn.add_edge(0, a, b).unwrap();
/// assert_eq!(txn.neighbors(0, Direction::In, b).unwrap(), vec![a]);
/// txn.commit().unwrap();
/// ```
pub struct WriteTxn<'s> {
    store: &'s Store,
    writer: MutexGuard<'s, Writer>,
    state: Arc<State>,
    catalog: Catalog,
    steps: Steps,
    values: Vec<u8>,
    nodes: TouchedNodes,
    /// Values set (where their encoding sits in `values`) or removed by this transaction.
    props: PendingValues,
    unique: UniqueKeys,
    edges: EdgeOverlay,
    next_uid: u64,
}

/// Records with at least this many steps are encoded on a second thread while they are applied.
const PARALLEL_COMMIT_STEPS: usize = 50_000;

impl<'s> WriteTxn<'s> {
    pub(crate) fn new(store: &'s Store, writer: MutexGuard<'s, Writer>) -> Self {
        let state = Arc::clone(&writer.latest);
        WriteTxn {
            store,
            catalog: (*state.catalog).clone(),
            next_uid: state.next_uid.max(1),
            state,
            writer,
            steps: Steps::default(),
            values: Vec::new(),
            nodes: TouchedNodes::default(),
            props: PendingValues::default(),
            unique: UniqueKeys::default(),
            edges: EdgeOverlay::default(),
        }
    }

    /// The catalog as this transaction has changed it.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The committed state this transaction started from, as a snapshot.
    pub fn start_snapshot(&self) -> Snapshot {
        Snapshot::new(Arc::clone(&self.state))
    }

    /// Number of steps recorded so far.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    // ---- reads through the transaction ----

    /// The type of a live node, as the transaction sees it.
    pub fn node_type(&self, uid: u64) -> Option<TypeId> {
        match self.nodes.get(uid) {
            Some(t) => t,
            None => self.state.dense(uid).map(|d| self.state.node_type(d)),
        }
        .filter(|&t| self.catalog.node_type(t).is_ok())
    }

    fn require(&self, uid: u64) -> Result<TypeId> {
        // (Not `ok_or`: that builds and drops an error for every node an import links.)
        match self.node_type(uid) {
            Some(t) => Ok(t),
            None => Err(Error::NoSuchNode { uid }),
        }
    }

    /// A property's value, as the transaction sees it.
    pub fn value(&self, uid: u64, prop: PropId) -> Result<Option<Value>> {
        if let Some(slot) = self.props.get(uid, prop) {
            return Ok(slot.and_then(|s| self.pending_value(s)).map(|v| v.to_value()));
        }
        if self.nodes.contains(uid) {
            // Created (or deleted) by this transaction: nothing from before applies.
            return Ok(None);
        }
        Ok(match self.state.dense(uid) {
            Some(d) => Snapshot::new(Arc::clone(&self.state)).value(d, prop)?.map(|v| v.to_value()),
            None => None,
        })
    }

    /// A value this transaction encoded (always decodable: it was encoded here).
    fn pending_value(&self, (at, len): Slot) -> Option<ValueView<'_>> {
        ValueView::decode(self.values.get(at as usize..at as usize + len as usize)?).ok()
    }

    /// Neighbors (uids, sorted) of a node along `edge`, as the transaction sees them.
    pub fn neighbors(&mut self, edge: EdgeId, dir: Direction, uid: u64) -> Result<Vec<u64>> {
        self.sync_overlay(Some(edge));
        let mut out: Vec<u64> = Vec::new();
        if !self.nodes.contains(uid)
            && let Some(d) = self.state.dense(uid)
        {
            out.extend(self.state.neighbors(edge, dir, d).iter().map(|&t| self.state.uid(t)));
        }
        if let Some(c) = self.edges.lists.get(&(edge, dir, uid)) {
            out.retain(|u| !c.removed.contains(u));
            out.extend(c.added.iter().copied());
        }
        out.retain(|&u| self.node_type(u).is_some());
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Brings the edge overlay up to date for `edge` (every edge type when `None`).
    fn sync_overlay(&mut self, edge: Option<EdgeId>) {
        self.edges.sync(self.steps.ops(), edge);
    }

    // ---- nodes and properties ----

    /// Makes room for `nodes` more node creations carrying `values` property values in all
    /// (`unique` of them in `@id`-like unique properties), when the caller knows (a bulk
    /// import's batch): the transaction's tables then grow once instead of doubling their way
    /// there, copying and touching fresh memory each time. Only a hint: nothing is refused.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = quiver_engine::Store::open(dir.path()).unwrap();
    /// let mut txn = store.write().unwrap();
    /// txn.reserve(1_000, 2_000, 1_000);
    /// ```
    pub fn reserve(&mut self, nodes: usize, values: usize, unique: usize) {
        // Room for typical encodings (an Int takes 9 bytes); what goes unused is never touched.
        self.values.reserve(values.saturating_mul(16));
        self.nodes.reserve(nodes);
        self.props.reserve(values);
        self.unique.reserve(unique);
    }

    /// Creates a node of type `ty` with the given uid, or the next free one; returns the uid.
    pub fn create_node(&mut self, ty: TypeId, uid: Option<u64>) -> Result<u64> {
        self.catalog.node_type(ty)?;
        let uid = match uid {
            Some(0) => return Err(Error::Invalid("uid 0 is reserved".into())),
            Some(u) => {
                // `next_uid` is above every uid the store or this transaction ever created, so
                // a uid at or past it is free without a lookup (an import's fresh nodes).
                if u < self.next_uid && self.node_type(u).is_some() {
                    return Err(Error::NodeExists { uid: u });
                }
                u
            }
            None => {
                while self.node_type(self.next_uid).is_some() {
                    self.next_uid += 1;
                }
                self.next_uid
            }
        };
        if uid == u64::MAX {
            return Err(Error::Invalid("uid 0xffffffffffffffff is reserved".into()));
        }
        self.next_uid = self.next_uid.max(uid + 1);
        self.nodes.insert(uid, Some(ty));
        self.steps.create(uid, ty);
        Ok(uid)
    }

    /// Deletes a node with its properties and every edge to or from it.
    pub fn delete_node(&mut self, uid: u64) -> Result<()> {
        let ty = self.require(uid)?;
        self.sync_overlay(None);
        let edges: Vec<(EdgeId, bool, bool)> = self
            .catalog
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.dropped)
            .map(|(i, e)| (i as EdgeId, e.source == ty, e.target == ty))
            .collect();
        for (edge, from, to) in edges {
            if from {
                for dst in self.neighbors(edge, Direction::Out, uid)? {
                    self.edges.set(edge, uid, dst, false);
                }
            }
            if to {
                for src in self.neighbors(edge, Direction::In, uid)? {
                    self.edges.set(edge, src, uid, false);
                }
            }
        }
        let props: Vec<PropId> = self
            .catalog
            .properties
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.dropped && p.owner == ty)
            .map(|(i, _)| i as PropId)
            .collect();
        for prop in props {
            if self.is_unique(prop) {
                let old = self.value(uid, prop)?;
                self.forget_unique(uid, prop, old);
            }
            self.props.insert(uid, prop, None);
        }
        self.nodes.insert(uid, None);
        self.steps.push(Op::DeleteNode { uid });
        self.edges.mark(self.steps.ops().len(), None);
        Ok(())
    }

    fn check_prop(&self, uid: u64, prop: PropId) -> Result<IndexSet> {
        let ty = self.require(uid)?;
        let p = self.catalog.property(prop)?;
        if p.owner != ty {
            return Err(Error::Invalid(format!(
                "{} is not a field of node {uid:#x}, which is a {}",
                self.catalog.property_name(prop),
                self.catalog.type_name(ty)
            )));
        }
        Ok(p.indexes)
    }

    /// Holders of `value` in unique property `prop`, as the transaction sees it.
    /// `key` is the value's equality key (`eq_key`).
    fn unique_holders(&self, prop: PropId, value: &Value, key: u64) -> Result<Vec<u64>> {
        let snap = Snapshot::new(Arc::clone(&self.state));
        let committed: Vec<u32> = match self.state.catalog.property(prop) {
            // A property added by this transaction has no committed values.
            Err(_) => Vec::new(),
            Ok(p) if p.indexes.has_equality() => {
                if self.state.postings(prop, IndexKind::Eq, key, key).is_empty() {
                    Vec::new()
                } else {
                    snap.lookup_eq(prop, value)?
                }
            }
            // Made unique by this transaction: no index yet, so compare every committed value.
            Ok(_) => {
                let mut hits = Vec::new();
                for (d, _) in self.state.nodes_with(prop) {
                    if snap.value(d, prop)?.is_some_and(|v| v.eq_value(value)) {
                        hits.push(d);
                    }
                }
                hits
            }
        };
        let mut out: Vec<u64> = committed
            .into_iter()
            .map(|d| snap.uid(d))
            .filter(|u| !self.props.contains(*u, prop) && !self.nodes.contains(*u))
            .collect();
        for u in self.unique.holders(prop, key, value.as_int()) {
            let held = self.props.get(u, prop).flatten().and_then(|s| self.pending_value(s));
            if held.is_some_and(|v| v.eq_value(value)) {
                out.push(u);
            }
        }
        Ok(out)
    }

    fn is_unique(&self, prop: PropId) -> bool {
        self.catalog.property(prop).is_ok_and(|p| p.indexes.contains(IndexSet::UNIQUE))
    }

    /// Releases `uid`'s hold on the key of `old`, the value of unique property `prop` it had.
    fn forget_unique(&mut self, uid: u64, prop: PropId, old: Option<Value>) {
        if let Some(old) = old
            && let Some(key) = old.as_scalar_view().map(|v| eq_key(&v))
        {
            self.unique.remove(prop, key, uid, old.as_int());
        }
    }

    /// Sets a property. A unique (`@id`) property refuses a value another node holds.
    pub fn set(&mut self, uid: u64, prop: PropId, value: Value) -> Result<()> {
        let indexes = self.check_prop(uid, prop)?;
        let p = self.catalog.property(prop)?;
        if !value.fits(&p.ty, p.list) {
            return Err(Error::Invalid(format!(
                "{} holds {}{}{}, not a {} value",
                self.catalog.property_name(prop),
                if p.list { "[" } else { "" },
                p.ty,
                if p.list { "]" } else { "" },
                value.kind()
            )));
        }
        let unique = indexes.contains(IndexSet::UNIQUE);
        // (A unique value is a scalar: its key, computed once for the check and the hold.)
        let key = if unique { value.as_scalar_view().map(|v| eq_key(&v)) } else { None };
        if unique {
            if matches!(value, Value::List(_)) {
                return Err(Error::Invalid(format!(
                    "{} is unique and cannot hold a list",
                    self.catalog.property_name(prop)
                )));
            }
            let holders = match key {
                Some(key) => self.unique_holders(prop, &value, key)?,
                None => Vec::new(),
            };
            if let Some(&holder) = holders.iter().find(|&&u| u != uid) {
                return Err(Error::UniqueViolation {
                    property: self.catalog.property_name(prop),
                    value: value.to_string(),
                    holder,
                });
            }
        }
        let at = self.values.len();
        value.encode_into(&mut self.values);
        if self.values.len() as u64 > MAX_PAYLOAD {
            let bytes = self.values.len() as u64;
            self.values.truncate(at);
            return Err(Error::RecordTooLarge { bytes, limit: MAX_PAYLOAD });
        }
        let slot = (at as u32, (self.values.len() - at) as u32);
        // The value this replaces, for the unique keys: read first from before the transaction
        // (the one read that can fail), else found by the insert below. A node this transaction
        // created (an import's nodes) costs no lookup.
        let before_txn = if unique && !self.nodes.contains(uid) && !self.props.contains(uid, prop) {
            self.value(uid, prop)?
        } else {
            None
        };
        let replaced = self.props.insert(uid, prop, Some(slot));
        if unique {
            let old = match replaced {
                Some(old) => old.and_then(|s| self.pending_value(s)).map(|v| v.to_value()),
                None => before_txn,
            };
            self.forget_unique(uid, prop, old);
            if let Some(key) = key {
                self.unique.push(prop, key, uid, value.as_int());
            }
        }
        self.steps.set(uid, prop, slot);
        Ok(())
    }

    /// Removes a property's value (nothing happens if it has none).
    pub fn remove(&mut self, uid: u64, prop: PropId) -> Result<()> {
        self.check_prop(uid, prop)?;
        let Some(old) = self.value(uid, prop)? else { return Ok(()) };
        if self.is_unique(prop) {
            self.forget_unique(uid, prop, Some(old));
        }
        self.steps.push(Op::RemoveProp { uid, prop });
        self.props.insert(uid, prop, None);
        Ok(())
    }

    // ---- edges ----

    fn check_edge(&self, edge: EdgeId, src: u64, dst: u64) -> Result<()> {
        let e = self.catalog.edge(edge)?;
        let (s, d) = (self.require(src)?, self.require(dst)?);
        if s != e.source || d != e.target {
            return Err(Error::Invalid(format!(
                "{} goes from {} to {}; node {src:#x} is a {} and node {dst:#x} a {}",
                self.catalog.edge_name(edge),
                self.catalog.type_name(e.source),
                self.catalog.type_name(e.target),
                self.catalog.type_name(s),
                self.catalog.type_name(d)
            )));
        }
        Ok(())
    }

    fn raw_edge(&mut self, edge: EdgeId, src: u64, dst: u64, add: bool) {
        self.raw_edges(edge, src, std::slice::from_ref(&dst), add);
    }

    /// Adds (or removes) `src -> d` for every `d` in `dsts` as one op, or by extending the
    /// last op when it is the same change of the same list and the edge overlay has not read
    /// it yet.
    fn raw_edges(&mut self, edge: EdgeId, src: u64, dsts: &[u64], add: bool) {
        let upto = self.edges.upto(edge);
        let ops = self.steps.ops();
        let last = if ops.len() > upto { ops.last_mut() } else { None };
        match last {
            Some(Op::AddEdges { edge: e, src: s, dsts: held }) if add && *e == edge && *s == src => {
                held.0.extend_from_slice(dsts);
            }
            Some(Op::RemoveEdges { edge: e, src: s, dsts: held }) if !add && *e == edge && *s == src => {
                held.0.extend_from_slice(dsts);
            }
            _ if dsts.is_empty() => {}
            _ => {
                let dsts = Box::new(UidList(dsts.to_vec()));
                ops.push(if add {
                    Op::AddEdges { edge, src, dsts }
                } else {
                    Op::RemoveEdges { edge, src, dsts }
                });
            }
        }
    }

    /// Adds `src -> dst` along `edge`. A singular edge drops its previous target; an edge with
    /// an inverse adds `dst -> src` along it too (dropping the inverse's previous target if that
    /// one is singular).
    pub fn add_edge(&mut self, edge: EdgeId, src: u64, dst: u64) -> Result<()> {
        self.check_edge(edge, src, dst)?;
        let (list, inverse) = {
            let e = self.catalog.edge(edge)?;
            (e.list, e.inverse)
        };
        if !list {
            for old in self.neighbors(edge, Direction::Out, src)? {
                if old != dst {
                    self.remove_edge(edge, src, old)?;
                }
            }
        }
        if let Some(inv) = inverse {
            if !self.catalog.edge(inv)?.list {
                for old in self.neighbors(inv, Direction::Out, dst)? {
                    if old != src {
                        self.remove_edge(inv, dst, old)?;
                    }
                }
            }
            self.raw_edge(inv, dst, src, true);
        }
        self.raw_edge(edge, src, dst, true);
        Ok(())
    }

    /// Adds `src -> d` along `edge` for every `d` in `dsts`: [`WriteTxn::add_edge`] for many
    /// targets, checking the source once (what importers use).
    pub fn add_edges(&mut self, edge: EdgeId, src: u64, dsts: &[u64]) -> Result<()> {
        let e = self.catalog.edge(edge)?;
        let (source, target, simple) = (e.source, e.target, e.list && e.inverse.is_none());
        if !simple {
            return dsts.iter().try_for_each(|&d| self.add_edge(edge, src, d));
        }
        // Check everything first: a refused call changes nothing.
        if self.require(src)? != source {
            return self.check_edge(edge, src, dsts.first().copied().unwrap_or(src));
        }
        // (An edge import's targets: nodes of the base, checked as one batch when possible.)
        let at_once = self.nodes.is_empty()
            && self.catalog.node_type(target).is_ok()
            && self.state.all_of_type(dsts, target);
        if !at_once {
            for &dst in dsts {
                if self.require(dst)? != target {
                    return self.check_edge(edge, src, dst);
                }
            }
        }
        self.raw_edges(edge, src, dsts, true);
        Ok(())
    }

    /// Removes `src -> dst` along `edge` (and its inverse).
    pub fn remove_edge(&mut self, edge: EdgeId, src: u64, dst: u64) -> Result<()> {
        self.check_edge(edge, src, dst)?;
        if let Some(inv) = self.catalog.edge(edge)?.inverse {
            self.raw_edge(inv, dst, src, false);
        }
        self.raw_edge(edge, src, dst, false);
        Ok(())
    }

    // ---- end ----

    /// Discards the transaction.
    pub fn rollback(self) {}

    /// Writes the transaction as one record and waits until it is durable (per the store's
    /// durability setting). Returns its commit sequence number. An empty transaction writes
    /// nothing.
    pub fn commit(self) -> Result<u64> {
        self.commit_with(true).map(|(seq, _)| seq)
    }

    /// Commits without waiting for the disk: the commit is written and later transactions see
    /// it, but readers do not until [`Store::await_durable`]`(seq)` returns, and it must not be
    /// acknowledged before. Meanwhile the caller can start the next transaction, so one thread
    /// can write many commits that share one fsync. Returns the commit's sequence number and
    /// the state it made (for reading back what was written).
    ///
    /// ```
    /// use quiver_engine::{CatalogChange, Store};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path()).unwrap();
    /// let mut txn = store.write().unwrap();
    /// txn.alter(CatalogChange::AddType { name: "Person".into() }, false).unwrap();
    /// let person = txn.catalog().type_id("Person").unwrap();
    /// let uid = txn.create_node(person, None).unwrap();
    /// let (seq, written) = txn.commit_deferred().unwrap();
    /// assert!(written.node(uid).is_some());
    /// store.await_durable(seq).unwrap();
    /// assert!(store.snapshot().node(uid).is_some());
    /// ```
    pub fn commit_deferred(self) -> Result<(u64, Snapshot)> {
        self.commit_with(false)
    }

    fn commit_with(mut self, wait: bool) -> Result<(u64, Snapshot)> {
        if self.steps.is_empty() {
            return Ok((self.state.seq, Snapshot::new(Arc::clone(&self.state))));
        }
        if let Some(cause) = &self.writer.poisoned {
            return Err(Error::Poisoned { cause: cause.clone() });
        }
        let steps = self.steps.len();
        let mut ops = std::mem::take(&mut self.steps).into_ops();
        crate::record::canonicalize(&mut ops);
        let seq = self.state.seq + 1;
        let record = LogRecord::Txn { seq, ops };
        let LogRecord::Txn { ops, .. } = &record else { unreachable!("built above") };
        let mut w = self.writer;
        // Start a new segment first if the frame might not fit (the estimate is generous).
        let estimate = (FRAME_HEADER + VALUES_AT + self.values.len() + size_hint(&record)) as u64;
        if !w.log.fits(estimate) {
            self.store.roll(&mut w, estimate)?;
        }
        let (mut state, mut frame) = apply_and_encode(&self.values, &w, &record, ops, steps)?;
        if !w.log.fits(frame.len() as u64) {
            // The estimate was short (a very large catalog text, say): roll, and apply again
            // for the values' new place.
            self.store.roll(&mut w, frame.len() as u64)?;
            (state, frame) = apply_and_encode(&self.values, &w, &record, ops, steps)?;
        }
        state.delta.log_bytes += frame.len() as u64;
        if let Err(e) = w.log.append(&frame) {
            if !e.cleaned {
                w.poisoned = Some(format!("a failed write could not be undone: {}", e.error));
            }
            return Err(e.error);
        }
        state.seq = seq;
        let state = Arc::new(state);
        self.store.finish_commit(w, Arc::clone(&state), wait)?;
        Ok((seq, Snapshot::new(state)))
    }
}

/// Applies `ops` to a copy of the writer's state as if the record were appended at the end
/// of the active segment, and encodes its frame: both at once for a large record (the
/// values area comes first in the payload, so its place is known before encoding).
fn apply_and_encode(
    values_area: &[u8],
    w: &Writer,
    record: &LogRecord,
    ops: &[Op],
    steps: usize,
) -> Result<(State, Vec<u8>)> {
    let values = ValuesAt {
        segment: w.log.segment.seq as u32,
        offset: w.log.end + (FRAME_HEADER + VALUES_AT) as u64,
        bytes: values_area,
    };
    let mut state = (*w.latest).clone();
    let (frame, applied) = if steps >= PARALLEL_COMMIT_STEPS {
        std::thread::scope(|scope| {
            let encoder = scope.spawn(|| encode_frame(record, values_area));
            let applied = state.apply_ops(ops, Some(values), 0);
            (encoder.join().unwrap_or(Err(EncodeError::Other("encoding a record panicked"))), applied)
        })
    } else {
        (encode_frame(record, values_area), state.apply_ops(ops, Some(values), 0))
    };
    let frame =
        frame.map_err(|_| Error::RecordTooLarge { bytes: values_area.len() as u64, limit: MAX_PAYLOAD })?;
    // The transaction validated every step, so this is a bug; nothing was written yet.
    applied.map_err(|why| Error::Invalid(format!("commit {} does not apply: {why}", state.seq + 1)))?;
    Ok((state, frame))
}
