//! The in-memory index: what a snapshot reads.
//!
//! An index state is a checkpointed **base** plus a small **delta** of the commits since:
//!
//! - Nodes have dense numbers (`Dense`, u32). In the base, nodes are numbered by type and then
//!   by uid, so each type owns a contiguous range and, within it, dense order is uid order.
//!   Nodes created since the base get the numbers after it, in creation order.
//! - Adjacency, per edge type and direction, is a CSR over the type's range in the base (an
//!   offsets array and a targets array of dense numbers, each list sorted), and a persistent map
//!   from node to its whole new list in the delta.
//! - Property values are `ValueRef`s into the log segments, sorted by node per property.
//! - Secondary indexes are posting arrays: `(key, node)` pairs sorted, where the key is a hash
//!   (equality, terms, trigrams) or an order-preserving key (ranges).
//!
//! The delta lives in persistent (structurally shared) maps, so a commit produces a new state
//! in time proportional to what it changed, and older snapshots keep theirs.

mod adjacency;
pub mod apply;
pub mod build;
pub mod column;
pub mod postings;
pub mod tokens;

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use rustc_hash::FxBuildHasher;

use crate::catalog::{Catalog, EdgeId, PropId, TypeId};
use crate::segment::Segment;
use column::Column;

/// A node's dense number within one snapshot. Numbers change at checkpoints; keep uids, not
/// dense numbers, across snapshots.
pub type Dense = u32;

/// Which way an edge is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// From the node that holds the field to its targets.
    Out = 0,
    /// From a target back to the nodes whose field holds it.
    In = 1,
}

/// Where a property value's bytes are: a slice of a log segment.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct ValueRef {
    /// Byte offset in the segment.
    pub offset: u64,
    /// The segment's sequence number.
    pub segment: u32,
    /// Length of the value's encoding.
    pub len: u32,
}

/// The kinds of secondary index a property can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKind {
    /// Hash of the whole value: `eq`, `in`, `@id`.
    Eq = 0,
    /// Order-preserving key: ranges and ordering.
    Order = 1,
    /// Case-folded words.
    Term = 2,
    /// Stemmed words without stop words.
    Fulltext = 3,
    /// Trigrams.
    Trigram = 4,
}

impl IndexKind {
    /// Every kind, in key order.
    pub const ALL: [IndexKind; 5] =
        [IndexKind::Eq, IndexKind::Order, IndexKind::Term, IndexKind::Fulltext, IndexKind::Trigram];

    /// The kinds a property's index set asks for.
    pub fn for_set(set: crate::IndexSet) -> impl Iterator<Item = IndexKind> {
        use crate::IndexSet as S;
        IndexKind::ALL.into_iter().filter(move |k| match k {
            IndexKind::Eq => set.has_equality(),
            IndexKind::Order => set.has_order(),
            IndexKind::Term => set.contains(S::TERM),
            IndexKind::Fulltext => set.contains(S::FULLTEXT),
            IndexKind::Trigram => set.contains(S::TRIGRAM),
        })
    }

    pub(crate) fn from_u8(v: u8) -> Option<IndexKind> {
        IndexKind::ALL.get(v as usize).copied()
    }
}

/// One edge type's adjacency in one direction, over the dense range `[first, first + len)`.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    /// First dense number covered.
    pub first: Dense,
    /// `len + 1` offsets into `targets`.
    pub offsets: Column<u64>,
    /// Neighbor lists, each sorted.
    pub targets: Column<u32>,
}

/// One edge type's adjacency in the base. The out-direction is always held; the in-direction
/// (its transpose) is held when the base was built in memory, and built from the
/// out-direction on first use when the base comes from a checkpoint, which stores only the
/// out-direction (a third less to write at every checkpoint and to keep on disk; walks never
/// read the in-direction, and a distinct reach only for its widest levels).
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
/// store.checkpoint().unwrap();
/// let snap = store.snapshot();
/// // Read back from the checkpoint: the in-direction is built here, from the out-direction.
/// let from_b = snap.adjacency(0, Direction::In).neighbors(snap.dense(b).unwrap()).to_vec();
/// assert_eq!(from_b, [snap.dense(a).unwrap()]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct EdgeLists {
    /// Sources to targets.
    pub out: Csr,
    /// Targets to sources, once held or built.
    inn: std::sync::OnceLock<Csr>,
    /// The target type's dense range, over which the in-direction is built.
    in_range: (u32, u32),
}

impl EdgeLists {
    /// Both directions, as built.
    pub fn new(out: Csr, inn: Csr) -> EdgeLists {
        let in_range = (inn.first, inn.first + inn.offsets.len().saturating_sub(1) as u32);
        EdgeLists { out, inn: std::sync::OnceLock::from(inn), in_range }
    }

    /// The out-direction alone: the in-direction, over the target type's dense range
    /// `in_range`, is built when first read. Every target of `out` must lie in that range
    /// (checked when a checkpoint is opened).
    pub fn out_only(out: Csr, in_range: (u32, u32)) -> EdgeLists {
        EdgeLists { out, inn: std::sync::OnceLock::new(), in_range }
    }

    /// One direction's lists (the in-direction built now if this is its first read).
    pub fn get(&self, dir: Direction) -> &Csr {
        match dir {
            Direction::Out => &self.out,
            Direction::In => self.inn.get_or_init(|| adjacency::transpose(&self.out, self.in_range)),
        }
    }

    /// The in-direction, if it is held or was built already.
    pub fn built_in(&self) -> Option<&Csr> {
        self.inn.get()
    }

    /// The target type's dense range.
    pub fn in_range(&self) -> (u32, u32) {
        self.in_range
    }

    /// Takes `inn` as the in-direction when none is held yet and it covers the same range
    /// (a checkpoint just written keeps the lists its base held rather than build them again).
    pub fn adopt_in(&mut self, inn: &Csr) {
        let covers = inn.first == self.in_range.0
            && inn.offsets.len() == (self.in_range.1 - self.in_range.0) as usize + 1
            && inn.targets.len() == self.out.targets.len();
        if covers && self.inn.get().is_none() {
            let _ = self.inn.set(inn.clone());
        }
    }
}

/// One property's values in the base: nodes sorted, with the value of each.
#[derive(Debug, Clone, Default)]
pub struct PropColumn {
    /// Nodes that have a value, sorted.
    pub nodes: Column<u32>,
    /// Their values.
    pub refs: Column<ValueRef>,
}

/// A posting array: `(key, node)` pairs sorted by key, then node.
#[derive(Debug, Clone, Default)]
pub struct Postings {
    /// Keys.
    pub keys: Column<u64>,
    /// Nodes, parallel to `keys`.
    pub nodes: Column<u32>,
}

impl Postings {
    /// Index range of the entries with key in `lo..=hi`.
    pub fn key_range(&self, lo: u64, hi: u64) -> std::ops::Range<usize> {
        let keys: &[u64] = &self.keys;
        let a = keys.partition_point(|&k| k < lo);
        let b = keys.partition_point(|&k| k <= hi);
        a..b.max(a)
    }
}

/// The checkpointed part of the index. Immutable; shared by every state built on it.
#[derive(Debug, Default)]
pub struct Base {
    /// Uid of each dense number.
    pub uids: Column<u64>,
    /// Per type id, its dense range `[start, end)` (nodes are numbered by type, then uid).
    pub type_ranges: Vec<(u32, u32)>,
    /// Uids sorted, for lookup by uid; empty when `uids` itself is sorted (no two types
    /// interleave in uid space), which is then searched directly.
    pub sorted_uids: Column<u64>,
    /// Dense number of each entry of `sorted_uids`.
    pub sorted_dense: Column<u32>,
    /// Per edge type: its lists in both directions.
    pub adjacency: Vec<EdgeLists>,
    /// Per property: its values.
    pub props: Vec<PropColumn>,
    /// Per (property, index kind).
    pub postings: rustc_hash::FxHashMap<(PropId, IndexKind), Postings>,
}

impl Base {
    /// Number of nodes in the base.
    pub fn len(&self) -> u32 {
        self.uids.len() as u32
    }

    /// The base's dense number for `uid`.
    pub fn dense(&self, uid: u64) -> Option<Dense> {
        if self.sorted_uids.is_empty() {
            let uids: &[u64] = &self.uids;
            // Sorted, distinct and spanning exactly their count (uids handed out in sequence,
            // as after a bulk load): found by subtraction.
            if let (Some(&first), Some(&last)) = (uids.first(), uids.last())
                && last - first == (uids.len() - 1) as u64
            {
                return uid.checked_sub(first).filter(|&i| i < uids.len() as u64).map(|i| i as Dense);
            }
            return uids.binary_search(&uid).ok().map(|i| i as Dense);
        }
        let sorted: &[u64] = &self.sorted_uids;
        sorted.binary_search(&uid).ok().map(|i| self.sorted_dense[i])
    }

    /// The type of a base node.
    pub fn type_of(&self, d: Dense) -> TypeId {
        self.type_ranges.iter().position(|&(a, b)| (a..b).contains(&d)).map_or(TypeId::MAX, |t| t as TypeId)
    }

    /// The dense range of a type's nodes.
    pub fn type_range(&self, ty: TypeId) -> (u32, u32) {
        self.type_ranges.get(ty as usize).copied().unwrap_or((0, 0))
    }

    /// The CSR of `edge` in direction `dir`, if the base has one.
    pub fn csr(&self, edge: EdgeId, dir: Direction) -> Option<&Csr> {
        self.adjacency.get(edge as usize).map(|lists| lists.get(dir))
    }

    /// The base value of `prop` on `node`.
    pub fn value_ref(&self, prop: PropId, node: Dense) -> Option<ValueRef> {
        let col = self.props.get(prop as usize)?;
        let nodes: &[u32] = &col.nodes;
        nodes.binary_search(&node).ok().map(|i| col.refs[i])
    }
}

/// A node created since the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaNode {
    /// Its uid.
    pub uid: u64,
    /// Its type.
    pub ty: TypeId,
    /// Deleted since.
    pub alive: bool,
}

/// Adjacency key in the delta: (edge type, direction, node).
pub type AdjKey = (EdgeId, Direction, Dense);

/// Additions to and removals from one posting array since the base.
#[derive(Debug, Clone, Default)]
pub struct PostingDelta {
    /// Entries added.
    pub added: imbl::OrdSet<(u64, Dense)>,
    /// Base entries removed.
    pub removed: imbl::GenericHashSet<(u64, Dense), FxBuildHasher, imbl::shared_ptr::DefaultSharedPtr>,
    /// The base's entries are void (the index was rebuilt into `added`).
    pub base_void: bool,
}

type PMap<K, V> = imbl::GenericHashMap<K, V, FxBuildHasher, imbl::shared_ptr::DefaultSharedPtr>;
type PSet<K> = imbl::GenericHashSet<K, FxBuildHasher, imbl::shared_ptr::DefaultSharedPtr>;

/// Changes since the base, in persistent maps (cloning is cheap).
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// Nodes created since the base; dense number = base length + position.
    pub nodes: imbl::Vector<DeltaNode>,
    /// Uid -> dense for nodes created since the base (overrides the base).
    pub by_uid: PMap<u64, Dense>,
    /// Base nodes deleted since.
    pub deleted: PSet<Dense>,
    /// Whole neighbor lists that changed since the base.
    pub adjacency: PMap<AdjKey, Arc<[u32]>>,
    /// Number of changed lists per (edge, direction): lets readers skip the map when zero.
    pub touched: PMap<(EdgeId, Direction), u32>,
    /// Property values set (`Some`) or removed (`None`) since the base.
    pub props: PMap<(PropId, Dense), Option<ValueRef>>,
    /// Posting changes per (property, kind).
    pub postings: PMap<(PropId, IndexKind), PostingDelta>,
    /// Log bytes applied since the base, to decide when to checkpoint.
    pub log_bytes: u64,
}

impl Delta {
    /// Whether nothing changed since the base (the log-byte counter aside).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
            && self.deleted.is_empty()
            && self.adjacency.is_empty()
            && self.props.is_empty()
            && self.postings.is_empty()
    }
}

/// The log segments a state's values point into, sorted by sequence number.
#[derive(Debug, Clone, Default)]
pub struct SegmentSet(pub Vec<Arc<Segment>>);

impl SegmentSet {
    /// The segment with sequence number `seq`.
    pub fn get(&self, seq: u64) -> Option<&Arc<Segment>> {
        self.0.binary_search_by_key(&seq, |s| s.seq).ok().map(|i| &self.0[i])
    }
}

/// One consistent version of the whole index.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Last commit applied.
    pub seq: u64,
    /// The catalog as of `seq`.
    pub catalog: Arc<Catalog>,
    /// The checkpointed base.
    pub base: Arc<Base>,
    /// Changes since the base.
    pub delta: Delta,
    /// Segments that values point into.
    pub segments: Arc<SegmentSet>,
    /// Smallest uid above every uid ever used.
    pub next_uid: u64,
}

impl State {
    /// Dense number of a live node.
    pub fn dense(&self, uid: u64) -> Option<Dense> {
        // (The emptiness checks spare hashing the uid when the delta is empty, as it is after a
        // checkpoint or a bulk record: an edge import asks this for every target.)
        if !self.delta.by_uid.is_empty()
            && let Some(&d) = self.delta.by_uid.get(&uid)
        {
            let n = &self.delta.nodes[(d - self.base.len()) as usize];
            return (n.alive && !self.type_dropped(n.ty)).then_some(d);
        }
        let d = self.base.dense(uid)?;
        if (!self.delta.deleted.is_empty() && self.delta.deleted.contains(&d))
            || self.type_dropped(self.base.type_of(d))
        {
            return None;
        }
        Some(d)
    }

    fn type_dropped(&self, ty: TypeId) -> bool {
        self.catalog.types.get(ty as usize).is_none_or(|t| t.dropped)
    }

    /// Whether every uid of `uids` is certainly a live node of type `ty`, answered for the
    /// whole batch by one range check each where the base finds its nodes by subtraction and
    /// no node was created or deleted since (an edge import's targets). `false` means "not
    /// known this way": the caller asks per uid.
    pub fn all_of_type(&self, uids: &[u64], ty: TypeId) -> bool {
        let base = &self.base;
        let (Some(&first), Some(&last)) = (base.uids.first(), base.uids.last()) else { return false };
        let by_subtraction = base.sorted_uids.is_empty() && last - first == (base.uids.len() - 1) as u64;
        let (a, b) = base.type_range(ty);
        let unchanged = self.delta.nodes.is_empty() && self.delta.deleted.is_empty();
        if !by_subtraction || a == b || !unchanged || self.type_dropped(ty) {
            return false;
        }
        let (lo, span) = (first + u64::from(a), u64::from(b - a - 1));
        uids.iter().all(|&u| u.wrapping_sub(lo) <= span)
    }

    /// Total dense numbers in use (live or not).
    pub fn dense_len(&self) -> u32 {
        self.base.len() + self.delta.nodes.len() as u32
    }

    /// Uid of a dense number.
    pub fn uid(&self, d: Dense) -> u64 {
        let b = self.base.len();
        if d < b { self.base.uids[d as usize] } else { self.delta.nodes[(d - b) as usize].uid }
    }

    /// Type of a dense number.
    pub fn node_type(&self, d: Dense) -> TypeId {
        let b = self.base.len();
        if d < b { self.base.type_of(d) } else { self.delta.nodes[(d - b) as usize].ty }
    }

    /// Whether a dense number is a live node.
    pub fn is_live(&self, d: Dense) -> bool {
        let b = self.base.len();
        let (alive, ty) = if d < b {
            (!self.delta.deleted.contains(&d), self.base.type_of(d))
        } else {
            match self.delta.nodes.get((d - b) as usize) {
                Some(n) => (n.alive, n.ty),
                None => return false,
            }
        };
        alive && !self.type_dropped(ty)
    }

    /// Neighbors of `node` along `edge` in direction `dir`, sorted by dense number.
    #[inline]
    pub fn neighbors(&self, edge: EdgeId, dir: Direction, node: Dense) -> &[u32] {
        self.adjacency(edge, dir).neighbors(node)
    }

    /// The value reference of `prop` on `node`.
    pub fn value_ref(&self, prop: PropId, node: Dense) -> Option<ValueRef> {
        match self.delta.props.get(&(prop, node)) {
            Some(r) => *r,
            None if node < self.base.len() => self.base.value_ref(prop, node),
            None => None,
        }
    }

    /// The encoded bytes a value reference points to.
    pub fn value_bytes(&self, r: ValueRef) -> Option<&[u8]> {
        let seg = self.segments.get(u64::from(r.segment))?;
        seg.bytes().get(r.offset as usize..r.offset as usize + r.len as usize)
    }
}
