//! The traversal extensions' kernels over the adjacency of one edge type (SPEC §4):
//! walk counts by per-level multiplicity sums (never materializing walks), distinct reach by a
//! breadth-first search with a visited set that turns into a bitmap when it grows.

use quiver_engine::{AdjacencyView, Dense, Direction, EdgeId, Snapshot};
use rustc_hash::{FxHashMap, FxHashSet};

use super::{ExecError, R, filter};
use crate::plan::Filter;

/// A frontier size above which dense arrays replace hash maps.
const DENSE_ABOVE: usize = 4096;

/// Whether a node stepped on passes the filter (no filter: every node does).
fn passes(snap: &Snapshot, f: Option<&Filter>, d: Dense) -> R<bool> {
    match f {
        Some(f) => Ok(filter::matches(snap, f, d)?),
        None => Ok(true),
    }
}

/// The number of walks of exactly `depth` edges from `start`, every node stepped on passing
/// `f`. Errors when the count does not fit an Int.
pub(super) fn walks(
    snap: &Snapshot,
    adj: &AdjacencyView<'_>,
    start: Dense,
    depth: usize,
    f: Option<&Filter>,
) -> R<u64> {
    if depth == 0 {
        return Ok(1);
    }
    // Multiplicity of each node at the current level.
    let mut level: Vec<(Dense, u64)> = vec![(start, 1)];
    let mut dense: Vec<u64> = Vec::new();
    let mut touched: Vec<Dense> = Vec::new();
    for _ in 1..depth {
        let reach: usize = level.iter().map(|(d, _)| adj.degree(*d)).sum();
        let mut next: Vec<(Dense, u64)> = Vec::new();
        if reach > DENSE_ABOVE {
            if dense.is_empty() {
                dense = vec![0; snap.dense_len() as usize];
            }
            for &(u, m) in &level {
                for &v in adj.neighbors(u) {
                    let slot = &mut dense[v as usize];
                    if *slot == 0 {
                        touched.push(v);
                    }
                    *slot = slot.checked_add(m).ok_or(ExecError::CountOverflow)?;
                }
            }
            for v in touched.drain(..) {
                let m = std::mem::take(&mut dense[v as usize]);
                if passes(snap, f, v)? {
                    next.push((v, m));
                }
            }
        } else {
            let mut map: FxHashMap<Dense, u64> = FxHashMap::default();
            for &(u, m) in &level {
                for &v in adj.neighbors(u) {
                    let slot = map.entry(v).or_insert(0);
                    *slot = slot.checked_add(m).ok_or(ExecError::CountOverflow)?;
                }
            }
            for (v, m) in map {
                if passes(snap, f, v)? {
                    next.push((v, m));
                }
            }
        }
        level = next;
    }
    // The last step only counts: a node's degree when there is no filter.
    let mut total: u64 = 0;
    for &(u, m) in &level {
        let n = match f {
            None => adj.degree(u) as u64,
            Some(_) => {
                let mut n = 0u64;
                for &v in adj.neighbors(u) {
                    if passes(snap, f, v)? {
                        n += 1;
                    }
                }
                n
            }
        };
        total = n.checked_mul(m).and_then(|x| total.checked_add(x)).ok_or(ExecError::CountOverflow)?;
    }
    if total > i64::MAX as u64 {
        return Err(ExecError::CountOverflow);
    }
    Ok(total)
}

/// The visited set of a search: a hash set while small, a bitmap over dense numbers after.
struct Visited {
    small: FxHashSet<Dense>,
    bits: Vec<u64>,
}

impl Visited {
    fn new() -> Visited {
        Visited { small: FxHashSet::default(), bits: Vec::new() }
    }

    /// Marks `d`; whether it was new.
    fn insert(&mut self, d: Dense, len: u32) -> bool {
        if self.bits.is_empty() {
            let new = self.small.insert(d);
            if self.small.len() > DENSE_ABOVE {
                self.bits = vec![0; (len as usize).div_ceil(64)];
                for &x in &self.small {
                    self.bits[x as usize / 64] |= 1 << (x % 64);
                }
                self.small = FxHashSet::default();
            }
            return new;
        }
        let (w, b) = (d as usize / 64, 1u64 << (d % 64));
        let new = self.bits[w] & b == 0;
        self.bits[w] |= b;
        new
    }
}

/// The distinct nodes reachable from `start` by walks of 1..=`depth` edges, every node stepped
/// on passing `f` (the start counts only when a cycle reaches it), in the order found.
pub(super) fn reach(
    snap: &Snapshot,
    adj: &AdjacencyView<'_>,
    start: Dense,
    depth: usize,
    f: Option<&Filter>,
) -> R<Vec<Dense>> {
    let len = snap.dense_len();
    let mut seen = Visited::new();
    let mut found = Vec::new();
    let mut frontier = vec![start];
    for _ in 0..depth {
        let mut next = Vec::new();
        for &u in &frontier {
            for &v in adj.neighbors(u) {
                if seen.insert(v, len) && passes(snap, f, v)? {
                    found.push(v);
                    next.push(v);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(found)
}

/// The distinct nodes where walks of exactly `depth` edges from `start` end, every node stepped
/// on passing `f` (for the reductions beside a walk count).
pub(super) fn walk_ends(
    snap: &Snapshot,
    adj: &AdjacencyView<'_>,
    start: Dense,
    depth: usize,
    f: Option<&Filter>,
) -> R<Vec<Dense>> {
    let mut level: FxHashSet<Dense> = std::iter::once(start).collect();
    for _ in 0..depth {
        let mut next = FxHashSet::default();
        for &u in &level {
            for &v in adj.neighbors(u) {
                if !next.contains(&v) && passes(snap, f, v)? {
                    next.insert(v);
                }
            }
        }
        level = next;
    }
    let mut out: Vec<Dense> = level.into_iter().collect();
    out.sort_unstable();
    Ok(out)
}

/// One shortest path from `from` to `to` (dense numbers, both ends included) along `edges`, at
/// most `max_depth` edges long: a breadth-first search from both ends, forward along the edges
/// and backward along their reverse adjacency, always expanding the smaller frontier.
pub(super) fn shortest_path(
    snap: &Snapshot,
    edges: &[EdgeId],
    from: Dense,
    to: Dense,
    max_depth: usize,
) -> Option<Vec<Dense>> {
    if from == to {
        return Some(vec![from]);
    }
    let out: Vec<_> = edges.iter().map(|e| snap.adjacency(*e, Direction::Out)).collect();
    let back: Vec<_> = edges.iter().map(|e| snap.adjacency(*e, Direction::In)).collect();
    // For each node seen: the node it was reached from (towards `from`, or towards `to`).
    let mut prev: FxHashMap<Dense, Dense> = FxHashMap::default();
    let mut next: FxHashMap<Dense, Dense> = FxHashMap::default();
    prev.insert(from, from);
    next.insert(to, to);
    let (mut fwd, mut bwd) = (vec![from], vec![to]);
    let mut depth = 0;
    while depth < max_depth && !fwd.is_empty() && !bwd.is_empty() {
        depth += 1;
        let forward = fwd.len() <= bwd.len();
        let (frontier, adjs, seen, other) =
            if forward { (&mut fwd, &out, &mut prev, &next) } else { (&mut bwd, &back, &mut next, &prev) };
        let mut grown = Vec::new();
        for &u in frontier.iter() {
            for adj in adjs {
                for &v in adj.neighbors(u) {
                    if seen.contains_key(&v) {
                        continue;
                    }
                    seen.insert(v, u);
                    if other.contains_key(&v) {
                        return Some(join(&prev, &next, v));
                    }
                    grown.push(v);
                }
            }
        }
        *frontier = grown;
    }
    None
}

/// The path through `meet`: back along `prev` to the start, then along `next` to the end.
fn join(prev: &FxHashMap<Dense, Dense>, next: &FxHashMap<Dense, Dense>, meet: Dense) -> Vec<Dense> {
    let mut path = vec![meet];
    let mut at = meet;
    while let Some(&p) = prev.get(&at).filter(|&&p| p != at) {
        path.push(p);
        at = p;
    }
    path.reverse();
    let mut at = meet;
    while let Some(&n) = next.get(&at).filter(|&&n| n != at) {
        path.push(n);
        at = n;
    }
    path
}
