//! Snapshots: the read side of the engine.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use crate::catalog::{Catalog, EdgeId, PropId, TypeId};
use crate::error::{Error, Result};
use crate::index::tokens::{eq_key, keys_of_text};
use crate::index::{Dense, Direction, IndexKind, State, ValueRef};
use crate::value::{Value, ValueView, order_key};

/// A consistent, immutable view of the database as of one commit. Cheap to take and to clone;
/// stays valid while later commits, checkpoints and compactions happen.
///
/// Nodes are addressed by dense numbers ([`Dense`]) within a snapshot, for batch work; convert
/// with [`Snapshot::dense`] and [`Snapshot::uid`].
///
/// ```
/// use quiver_engine::Store;
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path()).unwrap();
/// let snap = store.snapshot();
/// assert_eq!(snap.seq(), 0);
/// assert!(snap.node(1).is_none());
/// ```
#[derive(Clone, Debug)]
pub struct Snapshot {
    state: Arc<State>,
}

/// A node as a snapshot sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeRef {
    /// Dense number within the snapshot.
    pub dense: Dense,
    /// Its type.
    pub ty: TypeId,
}

/// Sizes of a snapshot's index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Nodes in the checkpointed base.
    pub base_nodes: u64,
    /// Bytes of CSR adjacency (offsets and targets, both directions) in the base.
    pub adjacency_bytes: u64,
    /// Bytes of secondary-index postings in the base.
    pub postings_bytes: u64,
    /// Neighbor lists changed since the base.
    pub delta_lists: u64,
    /// Property values changed since the base.
    pub delta_values: u64,
    /// Log bytes since the last checkpoint.
    pub log_bytes_since_checkpoint: u64,
}

/// One edge type's adjacency in one direction, ready for tight loops: the CSR arrays are
/// resolved once, and the delta is consulted only if this edge type changed since the last
/// checkpoint.
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
/// txn.commit().unwrap();
/// let snap = store.snapshot();
/// let adj = snap.adjacency(0, Direction::Out);
/// assert_eq!(adj.neighbors(snap.dense(a).unwrap()), &[snap.dense(b).unwrap()]);
/// ```
#[derive(Clone, Copy)]
pub struct AdjacencyView<'a> {
    delta: Option<&'a State>,
    edge: EdgeId,
    dir: Direction,
    first: Dense,
    offsets: &'a [u64],
    targets: &'a [u32],
}

impl<'a> AdjacencyView<'a> {
    /// Neighbors of `node`, sorted by dense number.
    #[inline]
    pub fn neighbors(&self, node: Dense) -> &'a [u32] {
        if let Some(state) = self.delta
            && let Some(list) = state.delta.adjacency.get(&(self.edge, self.dir, node))
        {
            return list;
        }
        let i = node.wrapping_sub(self.first) as usize;
        match self.offsets.get(i..i.wrapping_add(2)) {
            Some(&[a, b]) => self.targets.get(a as usize..b as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The same view without the delta's lists: the base's alone.
    pub(crate) fn base_only(self) -> AdjacencyView<'a> {
        AdjacencyView { delta: None, ..self }
    }

    /// Number of neighbors of `node`.
    #[inline]
    pub fn degree(&self, node: Dense) -> usize {
        self.neighbors(node).len()
    }
}

impl State {
    /// The adjacency of `edge` in direction `dir`: the one place neighbor lookups are resolved.
    pub fn adjacency(&self, edge: EdgeId, dir: Direction) -> AdjacencyView<'_> {
        let has_delta = self.delta.touched.get(&(edge, dir)).is_some_and(|&n| n > 0);
        let csr = self.base.csr(edge, dir);
        AdjacencyView {
            delta: has_delta.then_some(self),
            edge,
            dir,
            first: csr.map_or(0, |c| c.first),
            offsets: csr.map_or(&[], |c| &c.offsets),
            targets: csr.map_or(&[], |c| &c.targets),
        }
    }
}

impl Snapshot {
    pub(crate) fn new(state: Arc<State>) -> Self {
        Snapshot { state }
    }

    /// The commit this snapshot reflects (0 for an empty database).
    pub fn seq(&self) -> u64 {
        self.state.seq
    }

    /// The catalog as of this snapshot.
    pub fn catalog(&self) -> &Catalog {
        &self.state.catalog
    }

    /// A live node by uid.
    pub fn node(&self, uid: u64) -> Option<NodeRef> {
        self.state.dense(uid).map(|dense| NodeRef { dense, ty: self.state.node_type(dense) })
    }

    /// Dense number of a live node.
    pub fn dense(&self, uid: u64) -> Option<Dense> {
        self.state.dense(uid)
    }

    /// Uid of a dense number.
    pub fn uid(&self, d: Dense) -> u64 {
        self.state.uid(d)
    }

    /// Type of a dense number.
    pub fn node_type(&self, d: Dense) -> TypeId {
        self.state.node_type(d)
    }

    /// Upper bound (exclusive) of dense numbers, for sizing per-node arrays.
    pub fn dense_len(&self) -> u32 {
        self.state.dense_len()
    }

    /// Smallest uid above every uid used so far.
    pub fn next_uid(&self) -> u64 {
        self.state.next_uid
    }

    /// Live nodes of a type, sorted by uid.
    pub fn nodes_of_type(&self, ty: TypeId) -> Vec<Dense> {
        let s = &self.state;
        if s.catalog.node_type(ty).is_err() {
            return Vec::new();
        }
        // Base nodes of one type are contiguous and sorted by uid; nodes created since come after
        // in creation order, so the list is re-sorted only when there are some.
        let (start, end) = s.base.type_range(ty);
        let mut out: Vec<Dense> = (start..end).filter(|&d| s.is_live(d)).collect();
        let b = s.base.len();
        let base_count = out.len();
        out.extend(
            s.delta
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.ty == ty && n.alive)
                .map(|(i, _)| b + i as u32),
        );
        if out.len() > base_count {
            out.sort_unstable_by_key(|&d| s.uid(d));
        }
        out
    }

    /// Neighbors of a node along `edge` in direction `dir`, sorted by dense number.
    pub fn neighbors(&self, edge: EdgeId, dir: Direction, node: Dense) -> &[u32] {
        self.state.neighbors(edge, dir, node)
    }

    /// The adjacency of `edge` in direction `dir`, for loops over many nodes.
    pub fn adjacency(&self, edge: EdgeId, dir: Direction) -> AdjacencyView<'_> {
        self.state.adjacency(edge, dir)
    }

    /// Whether the base holds the in-direction lists of `edge` built. A checkpoint keeps the
    /// out-direction only, and the first read of the in-direction (through
    /// [`Snapshot::adjacency`] or [`Snapshot::neighbors`]) builds it: a counting sort over
    /// every edge of the type, and 4 bytes an edge held from then on. Callers choosing between
    /// an algorithm that reads it and one that does not weigh that cost with this.
    pub fn holds_in_direction(&self, edge: EdgeId) -> bool {
        self.state.base.adjacency.get(edge as usize).is_some_and(|l| l.built_in().is_some())
    }

    /// A property's value on a node, borrowed from the log's memory map.
    pub fn value(&self, node: Dense, prop: PropId) -> Result<Option<ValueView<'_>>> {
        let Some(r) = self.state.value_ref(prop, node) else { return Ok(None) };
        self.view(r).map(Some)
    }

    /// Calls `f` with every live node holding a value of `prop`, in dense order, and the value:
    /// one pass over the property's column, collecting nothing (what an importer building a
    /// table of keys wants; asking [`Snapshot::value`] node by node searches the column each
    /// time).
    ///
    /// ```
    /// use quiver_engine::{CatalogChange, ScalarType, Store, Value, ValueView};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path()).unwrap();
    /// let mut txn = store.write().unwrap();
    /// txn.alter(CatalogChange::AddType { name: "P".into() }, false).unwrap();
    /// let add = CatalogChange::AddProperty {
    ///     owner: 0, name: "key".into(), ty: ScalarType::Int, list: false, indexes: Default::default(),
    /// };
    /// txn.alter(add, false).unwrap();
    /// let (a, _b) = (txn.create_node(0, None).unwrap(), txn.create_node(0, None).unwrap());
    /// txn.set(a, 0, Value::Int(7)).unwrap();
    /// txn.commit().unwrap();
    /// let snap = store.snapshot();
    /// let mut values = Vec::new();
    /// snap.for_each_value(0, |d, v| values.push((snap.uid(d), v))).unwrap();
    /// assert_eq!(values, [(a, ValueView::Int(7))]);
    /// ```
    pub fn for_each_value<'s>(&'s self, prop: PropId, mut f: impl FnMut(Dense, ValueView<'s>)) -> Result<()> {
        self.state.try_for_each_with(prop, |n, r| {
            f(n, self.view(r)?);
            Ok(())
        })
    }

    /// The value a reference points to, borrowed from the log's memory map.
    fn view(&self, r: ValueRef) -> Result<ValueView<'_>> {
        let seg = self.state.segments.get(u64::from(r.segment)).ok_or_else(|| {
            Error::Invalid(format!("value points into segment {} which is gone", r.segment))
        })?;
        let bytes = seg
            .bytes()
            .get(r.offset as usize..r.offset as usize + r.len as usize)
            .ok_or_else(|| Error::corrupt(&seg.path, r.offset, "value past the end of the segment"))?;
        ValueView::decode(bytes)
            .map_err(|e| Error::corrupt(&seg.path, r.offset, format!("bad value: {}", e.0)))
    }

    fn indexed(&self, prop: PropId, kind: IndexKind) -> Result<()> {
        let p = self.catalog().property(prop)?;
        if IndexKind::for_set(p.indexes).any(|k| k == kind) {
            Ok(())
        } else {
            Err(Error::Invalid(format!("{} has no {kind:?} index", self.catalog().property_name(prop))))
        }
    }

    /// Nodes whose `prop` equals `value` (for a list property: holds it), sorted by dense
    /// number. Needs an equality index (`@id`, hash or exact).
    pub fn lookup_eq(&self, prop: PropId, value: &Value) -> Result<Vec<Dense>> {
        self.indexed(prop, IndexKind::Eq)?;
        let Some(v) = value.as_scalar_view() else { return Ok(Vec::new()) };
        let key = eq_key(&v);
        let mut out = Vec::new();
        for (_, node) in self.state.postings(prop, IndexKind::Eq, key, key) {
            let matches = match self.value(node, prop)? {
                Some(ValueView::List(items)) => items.iter().any(|x| x.eq_value(value)),
                Some(x) => x.eq_value(value),
                None => false,
            };
            if matches {
                out.push(node);
            }
        }
        out.dedup();
        Ok(out)
    }

    /// Nodes whose `prop` lies within the bounds, ordered by value then uid (for lists, by their
    /// first item in range). Needs an order index (exact, or range for numbers and instants).
    pub fn range(&self, prop: PropId, lo: Bound<&Value>, hi: Bound<&Value>) -> Result<Vec<Dense>> {
        self.indexed(prop, IndexKind::Order)?;
        fn view<'v>(b: Bound<&'v Value>) -> Option<Bound<ValueView<'v>>> {
            match b {
                Bound::Included(v) => v.as_scalar_view().map(Bound::Included),
                Bound::Excluded(v) => v.as_scalar_view().map(Bound::Excluded),
                Bound::Unbounded => Some(Bound::Unbounded),
            }
        }
        let (Some(lo), Some(hi)) = (view(lo), view(hi)) else { return Ok(Vec::new()) };
        let key = |b: &Bound<ValueView<'_>>, dflt: u64| match b {
            Bound::Included(v) | Bound::Excluded(v) => order_key(v),
            Bound::Unbounded => dflt,
        };
        let inside = |v: &ValueView<'_>| {
            let above = match &lo {
                Bound::Included(l) => v.total_cmp(l) != Ordering::Less,
                Bound::Excluded(l) => v.total_cmp(l) == Ordering::Greater,
                Bound::Unbounded => true,
            };
            let below = match &hi {
                Bound::Included(h) => v.total_cmp(h) != Ordering::Greater,
                Bound::Excluded(h) => v.total_cmp(h) == Ordering::Less,
                Bound::Unbounded => true,
            };
            above && below
        };
        let mut hits: Vec<(ValueView<'_>, u64, Dense)> = Vec::new();
        let entries = self.state.postings(prop, IndexKind::Order, key(&lo, 0), key(&hi, u64::MAX));
        let mut seen = rustc_hash::FxHashSet::default();
        for (_, node) in entries {
            if !seen.insert(node) {
                continue;
            }
            let best = match self.value(node, prop)? {
                Some(ValueView::List(items)) => {
                    items.iter().filter(|x| inside(x)).min_by(|a, b| a.total_cmp(b))
                }
                Some(x) => Some(x).filter(|x| inside(x)),
                None => None,
            };
            if let Some(v) = best {
                hits.push((v, self.uid(node), node));
            }
        }
        hits.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(hits.into_iter().map(|h| h.2).collect())
    }

    /// Candidates for a text search on `prop` with a text index `kind` (term, fulltext or
    /// trigram): nodes filed under all (`all`) or any of the keys of `text`, sorted by dense
    /// number. Candidates are exact for term and fulltext; for trigrams the caller checks the
    /// pattern on each.
    pub fn search_text(&self, prop: PropId, kind: IndexKind, text: &str, all: bool) -> Result<Vec<Dense>> {
        self.indexed(prop, kind)?;
        let keys = keys_of_text(kind, text);
        let mut acc: Option<Vec<Dense>> = None;
        for k in keys {
            let mut nodes: Vec<Dense> =
                self.state.postings(prop, kind, k, k).into_iter().map(|e| e.1).collect();
            nodes.sort_unstable();
            nodes.dedup();
            acc = Some(match acc {
                None => nodes,
                Some(prev) if all => prev.into_iter().filter(|n| nodes.binary_search(n).is_ok()).collect(),
                Some(mut prev) => {
                    prev.extend(nodes);
                    prev.sort_unstable();
                    prev.dedup();
                    prev
                }
            });
        }
        Ok(acc.unwrap_or_default())
    }

    /// Sizes of the index, for metrics and benchmarks.
    pub fn stats(&self) -> IndexStats {
        let base = &self.state.base;
        let adjacency_bytes = base
            .adjacency
            .iter()
            .flat_map(|l| [Some(&l.out), l.built_in()])
            .flatten()
            .map(|c| (c.offsets.len() * 8 + c.targets.len() * 4) as u64)
            .sum();
        let postings_bytes =
            base.postings.values().map(|p| (p.keys.len() * 8 + p.nodes.len() * 4) as u64).sum();
        IndexStats {
            base_nodes: u64::from(base.len()),
            adjacency_bytes,
            postings_bytes,
            delta_lists: self.state.delta.adjacency.len() as u64,
            delta_values: self.state.delta.props.len() as u64,
            log_bytes_since_checkpoint: self.state.delta.log_bytes,
        }
    }

    /// Number of live nodes.
    pub fn node_count(&self) -> u64 {
        let s = &self.state;
        (0..s.dense_len()).filter(|&d| s.is_live(d)).count() as u64
    }
}
