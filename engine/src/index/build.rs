//! Building a base: everything a state holds (plus, for a bulk record, that record's nodes,
//! values and edges) laid out as sorted arrays with an empty delta. Checkpoints write what
//! this builds; large bulk records are applied through it rather than through the delta.
//!
//! Nodes are renumbered by (type, uid); adjacency is built per edge type with a counting sort
//! (degrees, prefix sums, scatter), so the cost is linear in nodes and edges.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::catalog::{Catalog, CatalogChange, EdgeId, PropId, TypeId};
use crate::index::adjacency::{CsrBuilder, DEAD, Renumber, merge_direction, merge_sorted_out};
use crate::index::apply::ValuesAt;
use crate::index::column::Column;
use crate::index::tokens::keys_of_value_into;
use crate::index::{
    Base, Csr, Dense, Direction, EdgeLists, IndexKind, Postings, PropColumn, State, ValueRef,
};
use crate::record::Op;
use crate::value::ValueView;

/// Records with at least this many node creations and edge additions are applied by
/// rebuilding the base, when they are also at least a `BULK_SHARE`th of what the state
/// already holds (nodes and edges).
const BULK_MIN_WORK: usize = 100_000;

/// A rebuild copies everything held (about 3 ns an edge at scale 20) while the delta takes a
/// record's additions one list at a time (about 750 ns an edge for an import's batch, which
/// touches a list per source), so a rebuild pays off for records down to a 250th of what is
/// held; at a 64th the copying costs at most a quarter of what the delta would. (At a 4th,
/// an import of 16 M edges in batches of 0.5 M, 1 M and 2 M edges took 11.0, 6.4 and 3.8 s
/// against 1.0, 0.7 and 0.7 s, its later batches going through the delta.)
const BULK_SHARE: usize = 64;

/// A property with at least this many values and more than one index builds each index on a
/// thread of its own.
const PARALLEL_POSTINGS: usize = 65_536;

/// How a rebuild numbers its nodes.
struct Numbering {
    /// Per type id, its new dense range.
    ranges: Vec<(u32, u32)>,
    renumber: Renumber,
    /// Uid of each new dense number.
    uids: Column<u64>,
    /// The uids sorted with their dense numbers (both empty when `uids` is sorted already).
    sorted: (Column<u64>, Column<u32>),
}

/// Uid -> new dense number: an offset, a table when uids are dense enough, else a hash map.
enum UidLookup {
    Range { min: u64, len: u64 },
    Table { min: u64, dense: Vec<u32> },
    Map(FxHashMap<u64, u32>),
}

impl UidLookup {
    fn new(uids: &[u64]) -> UidLookup {
        let (min, max) = match (uids.iter().min(), uids.iter().max()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => return UidLookup::Map(FxHashMap::default()),
        };
        // Nodes numbered in uid order over a gap-free range (a bulk load of one type into an
        // empty store): the dense number is the uid minus a constant, and no table is needed.
        if max - min + 1 == uids.len() as u64 && uids.windows(2).all(|w| w[0] < w[1]) {
            return UidLookup::Range { min, len: uids.len() as u64 };
        }
        if max - min < 4 * uids.len() as u64 + 1024 {
            let mut dense = vec![DEAD; (max - min + 1) as usize];
            for (d, &u) in uids.iter().enumerate() {
                dense[(u - min) as usize] = d as u32;
            }
            UidLookup::Table { min, dense }
        } else {
            UidLookup::Map(uids.iter().enumerate().map(|(d, &u)| (u, d as u32)).collect())
        }
    }

    #[inline]
    fn get(&self, uid: u64) -> Option<u32> {
        match self {
            UidLookup::Range { min, len } => uid.checked_sub(*min).filter(|i| i < len).map(|i| i as u32),
            UidLookup::Table { min, dense } => {
                uid.checked_sub(*min).and_then(|i| dense.get(i as usize)).copied().filter(|&d| d != DEAD)
            }
            UidLookup::Map(m) => m.get(&uid).copied(),
        }
    }
}

/// Calls `f` with every (source, target) the record adds along `edge`, in dense numbers.
fn for_each_added(
    extra: &[Op],
    edge: EdgeId,
    resolve: &dyn Fn(u64) -> Result<u32, String>,
    f: &mut dyn FnMut(u32, u32),
) -> Result<(), String> {
    for op in extra {
        if let Op::AddEdges { edge: e, src, dsts } = op
            && *e == edge
        {
            let s = resolve(*src)?;
            for &d in &dsts.0 {
                f(s, resolve(d)?);
            }
        }
    }
    Ok(())
}

impl State {
    /// Calls `f` with a base holding everything this state holds: the state's own base when its
    /// delta is empty (just checkpointed, or after a bulk record), else a freshly built one.
    pub fn with_full_base<R>(&self, f: impl FnOnce(&Base) -> R) -> R {
        if self.delta.is_empty() { f(&self.base) } else { f(&self.build_base()) }
    }

    /// Builds a base holding everything this state holds.
    pub fn build_base(&self) -> Base {
        // Without extra operations nothing can fail: every uid comes from the state itself.
        self.rebuild(&self.catalog, &[], None).unwrap_or_default()
    }

    /// Applies a large record of only additions (catalog additions, new nodes, values, edges)
    /// by rebuilding the base; `None` when the record does not qualify.
    pub fn try_apply_bulk(
        &self,
        ops: &[Op],
        values: Option<ValuesAt<'_>>,
        frame_len: u64,
    ) -> Result<Option<State>, String> {
        let mut work = 0usize;
        for op in ops {
            match op {
                Op::Catalog(change)
                    if matches!(
                        **change,
                        CatalogChange::AddType { .. }
                            | CatalogChange::AddProperty { .. }
                            | CatalogChange::AddEdge { .. }
                            | CatalogChange::SetInverse { .. }
                            | CatalogChange::SetIndexes { .. }
                            | CatalogChange::SetSource { .. }
                    ) => {}
                Op::SetProp { .. } | Op::SetProps(_) => {}
                Op::CreateNode { .. } => work += 1,
                Op::CreateNodes { count, .. } => work = work.saturating_add(*count as usize),
                Op::AddEdges { dsts, .. } => work += dsts.0.len(),
                _ => return Ok(None),
            }
        }
        let held = self.dense_len() as usize
            + self.base.adjacency.iter().map(|l| l.out.targets.len()).sum::<usize>();
        if work < BULK_MIN_WORK || work < held / BULK_SHARE {
            return Ok(None);
        }
        let mut catalog = (*self.catalog).clone();
        for op in ops {
            if let Op::Catalog(change) = op {
                catalog.apply(change).map_err(|e| e.to_string())?;
            }
        }
        let base = self.rebuild(&catalog, ops, values)?;
        let next_uid = ops
            .iter()
            .filter_map(|op| match op {
                Op::CreateNode { uid, .. } => Some(uid.saturating_add(1)),
                Op::CreateNodes { first, count, .. } => Some(first.saturating_add(*count)),
                _ => None,
            })
            .fold(self.next_uid, u64::max);
        let mut state = State {
            seq: self.seq,
            catalog: Arc::new(catalog),
            base: Arc::new(base),
            delta: Default::default(),
            segments: Arc::clone(&self.segments),
            next_uid,
        };
        state.delta.log_bytes = self.delta.log_bytes + frame_len;
        Ok(Some(state))
    }

    /// This state's live data plus `extra` (creations, values, edge additions), as a base laid
    /// out for `catalog`.
    fn rebuild(&self, catalog: &Catalog, extra: &[Op], values: Option<ValuesAt<'_>>) -> Result<Base, String> {
        let old_len = self.dense_len();
        // No node created or deleted since the base nor by the record, and no base node's type
        // dropped (a batch of an edge import): the base's numbering serves as it is.
        let same_nodes =
            self.delta.nodes.is_empty()
                && self.delta.deleted.is_empty()
                && !extra.iter().any(|op| matches!(op, Op::CreateNode { .. } | Op::CreateNodes { .. }))
                && self.base.type_ranges.iter().enumerate().all(|(t, &(start, end))| {
                    start == end || catalog.types.get(t).is_some_and(|t| !t.dropped)
                });
        let Numbering { ranges, renumber, uids, sorted } = if same_nodes {
            let mut ranges = self.base.type_ranges.clone();
            ranges.resize(catalog.types.len(), (0, 0));
            // The base's node arrays serve as they are (shared, not copied).
            let b = &self.base;
            let sorted = (b.sorted_uids.clone(), b.sorted_dense.clone());
            Numbering { ranges, renumber: Renumber::identity(old_len), uids: b.uids.clone(), sorted }
        } else {
            self.renumbered(catalog, extra)?
        };
        let lookup =
            if extra.is_empty() { UidLookup::Map(FxHashMap::default()) } else { UidLookup::new(&uids) };
        let resolve = |uid: u64| lookup.get(uid).ok_or_else(|| format!("node {uid:#x} does not exist"));

        // Values: what the state holds, then the record's, later ones winning.
        let mut sets: Vec<Vec<(u32, u32, ValueRef)>> = vec![Vec::new(); catalog.properties.len()];
        for (i, op) in extra.iter().enumerate() {
            // (Within one step each node takes one value: the step's number orders writes.)
            match op {
                Op::SetProp { uid, prop, at, len } => {
                    let v = values.ok_or("a property is set by a record without values")?;
                    let slot = sets.get_mut(*prop as usize).ok_or("unknown property")?;
                    slot.push((resolve(*uid)?, i as u32 + 1, v.value_ref(*at, *len)));
                }
                Op::SetProps(run) => {
                    let v = values.ok_or("a property is set by a record without values")?;
                    let slot = sets.get_mut(run.prop as usize).ok_or("unknown property")?;
                    for (uid, at, len) in run.nodes().ok_or("a run of values past the last uid")? {
                        slot.push((resolve(uid)?, i as u32 + 1, v.value_ref(at, len)));
                    }
                }
                _ => {}
            }
        }
        let mut props = vec![PropColumn::default(); catalog.properties.len()];
        let mut postings = rustc_hash::FxHashMap::default();
        for (p, prop) in catalog.properties.iter().enumerate() {
            if prop.dropped {
                continue;
            }
            let old = self.catalog.property(p as PropId).ok();
            // Untouched since the base, same numbers, same indexes: the base's arrays serve.
            let unchanged = renumber.identity
                && sets[p].is_empty()
                && self.delta.props.is_empty()
                && self.delta.postings.is_empty()
                && old.is_some_and(|o| o.indexes == prop.indexes);
            if unchanged {
                props[p] = self.base.props.get(p).cloned().unwrap_or_default();
                for kind in IndexKind::for_set(prop.indexes) {
                    let kept = self.base.postings.get(&(p as PropId, kind)).cloned().unwrap_or_default();
                    postings.insert((p as PropId, kind), kept);
                }
                continue;
            }
            let mut vals = std::mem::take(&mut sets[p]);
            if old.is_some() {
                vals.extend(
                    self.nodes_with(p as PropId)
                        .into_iter()
                        .map(|(n, r)| (renumber.new_of(n), 0, r))
                        .filter(|&(n, _, _)| n != DEAD),
                );
            }
            vals.sort_unstable_by_key(|&(n, i, _)| (n, i));
            vals.dedup_by(|later, earlier| {
                // `dedup_by` passes the later element first: keep the later write.
                if later.0 == earlier.0 {
                    *earlier = *later;
                    true
                } else {
                    false
                }
            });
            // Each index of the property from a pass over its values: with several (an Int @id
            // field has an equality and an order index), one per thread when there are many
            // values (the equality index's sort of hashed keys is most of a large node batch's
            // rebuild).
            let kinds: Vec<IndexKind> = IndexKind::for_set(prop.indexes).collect();
            let index = |kind: IndexKind| self.postings_of(kind, &vals, values.as_ref());
            let built: Vec<Result<Postings, String>> = if kinds.len() > 1 && vals.len() >= PARALLEL_POSTINGS {
                std::thread::scope(|scope| {
                    let others: Vec<_> = kinds[1..].iter().map(|&k| scope.spawn(move || index(k))).collect();
                    let first = index(kinds[0]);
                    std::iter::once(first)
                        .chain(others.into_iter().map(|t| {
                            t.join().unwrap_or_else(|_| Err("building an index panicked".to_string()))
                        }))
                        .collect()
                })
            } else {
                kinds.iter().map(|&k| index(k)).collect()
            };
            for (kind, built) in kinds.into_iter().zip(built) {
                postings.insert((p as PropId, kind), built?);
            }
            props[p] = PropColumn {
                nodes: vals.iter().map(|v| v.0).collect::<Vec<_>>().into(),
                refs: vals.iter().map(|v| v.2).collect::<Vec<_>>().into(),
            };
        }

        // Edges: per edge type, the record's additions grouped by node in each direction, then
        // merged with the state's lists (`adjacency`), one direction per thread.
        let mut adjacency = vec![EdgeLists::default(); catalog.edges.len()];
        for (e, edge) in catalog.edges.iter().enumerate() {
            if edge.dropped {
                continue;
            }
            let e = e as EdgeId;
            let old_edge = self.catalog.edge(e).is_ok().then_some(e);
            let (rs, rt) = (ranges[edge.source as usize], ranges[edge.target as usize]);
            let adds = extra.iter().any(|op| matches!(op, Op::AddEdges { edge, .. } if *edge == e));
            // The in-direction is kept up only where the old base holds it built; elsewhere it
            // stays to be built from the out-direction when first read (`EdgeLists`), which an
            // import's batches and traversals along a field never do. (It is the transpose of
            // the out-direction whatever the delta holds: commits change both alike.)
            let build_in = old_edge
                .and_then(|e| self.base.adjacency.get(e as usize))
                .is_some_and(|l| l.built_in().is_some());
            // The out-direction alone, from additions in a canonical record's order: merged in
            // one pass (else, or when they turn out not to be in that order, the general path).
            if adds && !build_in {
                let of_edge = || {
                    extra.iter().filter_map(move |op| match op {
                        Op::AddEdges { edge, src, dsts } if *edge == e => Some((*src, &dsts.0[..])),
                        _ => None,
                    })
                };
                let added = of_edge().map(|(_, dsts)| dsts.len()).sum();
                if let Some(out) =
                    merge_sorted_out(self, old_edge, (rs, rt), &renumber, (of_edge(), added), &resolve)?
                {
                    adjacency[e as usize] = EdgeLists::out_only(out, rt);
                    continue;
                }
            }
            // The record's additions: resolved on every pass when that is a subtraction, else
            // resolved once into a list that every pass reads sequentially.
            let cheap = matches!(lookup, UidLookup::Range { .. });
            let mut added: Vec<(u32, u32)> = Vec::new();
            if adds && !cheap {
                for_each_added(extra, e, &resolve, &mut |s, t| added.push((s, t)))?;
            }
            let visit = |f: &mut dyn FnMut(u32, u32)| -> Result<(), String> {
                if cheap {
                    for_each_added(extra, e, &resolve, f)?;
                }
                for &(s, t) in &added {
                    f(s, t);
                }
                Ok(())
            };
            let (out_adds, in_adds) = if adds {
                let mut out = CsrBuilder::new(rs, Direction::Out);
                let mut inn = build_in.then(|| CsrBuilder::new(rt, Direction::In));
                let mut misfit = None;
                visit(&mut |s, t| {
                    if (rs.0..rs.1).contains(&s) && (rt.0..rt.1).contains(&t) {
                        out.count(s);
                        if let Some(inn) = &mut inn {
                            inn.count(t);
                        }
                    } else if misfit.is_none() {
                        misfit = Some((s, t));
                    }
                })?;
                if let Some((s, t)) = misfit {
                    return Err(format!(
                        "edge {} from {:#x} to {:#x} does not fit its types",
                        catalog.edge_name(e),
                        uids[s as usize],
                        uids[t as usize]
                    ));
                }
                (Some(out), inn)
            } else {
                (None, None)
            };
            let (renumber, visit) = (&renumber, &visit);
            let build_out = move || -> Result<Csr, String> {
                let adds = out_adds.map(|b| b.place_all(visit)).transpose()?.unwrap_or_default();
                Ok(merge_direction(self, old_edge, Direction::Out, rs, renumber, &adds))
            };
            if !build_in {
                adjacency[e as usize] = EdgeLists::out_only(build_out()?, rt);
                continue;
            }
            let (out, inn) = std::thread::scope(|scope| {
                let out = scope.spawn(build_out);
                let inn = in_adds.map(|b| b.place_all(visit)).transpose().map(|adds| {
                    merge_direction(self, old_edge, Direction::In, rt, renumber, &adds.unwrap_or_default())
                });
                (out.join(), inn)
            });
            let out = out.map_err(|_| "building an adjacency index panicked".to_string())??;
            adjacency[e as usize] = EdgeLists::new(out, inn?);
        }

        let (sorted_uids, sorted_dense) = sorted;
        Ok(Base { uids, type_ranges: ranges, sorted_uids, sorted_dense, adjacency, props, postings })
    }

    /// The postings of index `kind` over `vals` (new node, step, value), sorted by key.
    fn postings_of(
        &self,
        kind: IndexKind,
        vals: &[(u32, u32, ValueRef)],
        values: Option<&ValuesAt<'_>>,
    ) -> Result<Postings, String> {
        let mut entries: Vec<(u64, u32)> = Vec::with_capacity(vals.len());
        let mut keys = Vec::new();
        for &(n, _, r) in vals {
            let bytes = self.bytes_of(r, values).ok_or("value outside its segment")?;
            let v = ValueView::decode(bytes).map_err(|e| format!("bad value: {}", e.0))?;
            keys_of_value_into(kind, &v, &mut keys);
            entries.extend(keys.iter().map(|&k| (k, n)));
        }
        entries.sort_unstable();
        entries.dedup();
        let (keys, nodes) = columns(entries);
        Ok(Postings { keys, nodes })
    }

    /// The new numbering when nodes come or go: live nodes and the record's creations sorted by
    /// (type, uid); their dense ranges per type, the renumbering and the uids in new order.
    fn renumbered(&self, catalog: &Catalog, extra: &[Op]) -> Result<Numbering, String> {
        let old_len = self.dense_len();
        let mut rows: Vec<(TypeId, u64, Dense)> =
            (0..old_len).filter(|&d| self.is_live(d)).map(|d| (self.node_type(d), self.uid(d), d)).collect();
        for op in extra {
            let (first, count, ty) = match *op {
                Op::CreateNode { uid, ty } => (uid, 1, ty),
                Op::CreateNodes { first, count, ty } => (first, count, ty),
                _ => continue,
            };
            catalog.node_type(ty).map_err(|e| e.to_string())?;
            for uid in crate::record::node_run(first, count)? {
                if self.dense(uid).is_some() {
                    return Err(format!("node {uid:#x} already exists"));
                }
                rows.push((ty, uid, DEAD));
            }
        }
        rows.sort_unstable();
        if rows.windows(2).any(|w| w[0].1 == w[1].1) {
            return Err("a node is created twice".into());
        }
        let mut ranges = vec![(0u32, 0u32); catalog.types.len()];
        for (new, &(ty, _, _)) in rows.iter().enumerate() {
            let r = &mut ranges[ty as usize];
            if r.0 == r.1 {
                *r = (new as u32, new as u32);
            }
            r.1 = new as u32 + 1;
        }
        let renumber = Renumber::new(rows.iter().map(|r| r.2).collect(), old_len);
        let uids: Vec<u64> = rows.iter().map(|r| r.1).collect();
        drop(rows);
        let mut by_uid: Vec<(u64, u32)> = Vec::new();
        if uids.windows(2).any(|w| w[0] > w[1]) {
            by_uid = uids.iter().enumerate().map(|(i, &u)| (u, i as u32)).collect();
            by_uid.sort_unstable();
        }
        Ok(Numbering { ranges, renumber, uids: uids.into(), sorted: columns(by_uid) })
    }

    /// This state with its delta folded into `base` (which must have been built from it).
    pub fn with_base(&self, base: Arc<Base>) -> State {
        State {
            seq: self.seq,
            catalog: Arc::clone(&self.catalog),
            base,
            delta: Default::default(),
            segments: Arc::clone(&self.segments),
            next_uid: self.next_uid,
        }
    }
}

/// Pairs of (uid or key, dense number) as the two columns a base holds them in.
fn columns(pairs: Vec<(u64, u32)>) -> (Column<u64>, Column<u32>) {
    let (first, second): (Vec<u64>, Vec<u32>) = pairs.into_iter().unzip();
    (first.into(), second.into())
}
