//! The traversal extensions' kernels over the adjacency of one edge type (SPEC §4): walk
//! counts by per-level multiplicity sums (never materializing walks), the ends of walks and
//! shortest paths; and the per-thread scratch they share with distinct reach (`reach`).

use quiver_engine::{AdjacencyView, Dense, Direction, EdgeId, Snapshot};
use rustc_hash::{FxHashMap, FxHashSet};

use super::{Budget, ExecError, R, filter};
use crate::plan::Filter;

/// Frontier nodes between two looks at the clock.
pub(super) const CLOCK_EVERY: usize = 4096;

/// Reusable buffers for the kernels, one set per thread: all-zero between uses, so a query
/// pays only for what it touches, never for clearing or allocating arrays the graph's size.
#[derive(Default)]
pub(super) struct Scratch {
    counts: Vec<u64>,
    next: Vec<u64>,
    pub(super) frontier: Vec<Dense>,
    pub(super) next_frontier: Vec<Dense>,
    /// Visited nodes, a bit each.
    pub(super) seen: Vec<u64>,
    /// Words of `seen` set since it was last all zero.
    pub(super) touched: Vec<u32>,
    /// The frontier as a bitmap, for a bottom-up level (all zero between levels).
    pub(super) in_frontier: Vec<u64>,
    /// One bitmap per part of a top-down level split across threads (all zero between levels).
    pub(super) marks: Vec<Vec<u64>>,
}

impl Scratch {
    fn fit(&mut self, len: u32) {
        let len = len as usize;
        if self.counts.len() < len {
            self.counts.resize(len, 0);
            self.next.resize(len, 0);
            self.seen.resize(len.div_ceil(64), 0);
            self.in_frontier.resize(len.div_ceil(64), 0);
        }
    }

    /// Restores the all-zero state after a walk count, whatever happened.
    fn clear_counts(&mut self) {
        for &v in &self.frontier {
            self.counts[v as usize] = 0;
        }
        for &v in &self.next_frontier {
            self.next[v as usize] = 0;
        }
        self.frontier.clear();
        self.next_frontier.clear();
    }

    /// Restores the all-zero state after a search.
    pub(super) fn clear_seen(&mut self) {
        for &w in &self.touched {
            self.seen[w as usize] = 0;
        }
        self.touched.clear();
        self.frontier.clear();
        self.next_frontier.clear();
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

pub(super) fn with_scratch<T>(len: u32, f: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        s.fit(len);
        f(&mut s)
    })
}

/// Whether a node stepped on passes the filter (no filter: every node does).
pub(super) fn passes(snap: &Snapshot, f: Option<&Filter>, d: Dense) -> R<bool> {
    match f {
        Some(f) => Ok(filter::matches(snap, f, d)?),
        None => Ok(true),
    }
}

/// The number of walks of exactly `depth` edges from `start`, every node stepped on passing
/// `f`: per-level multiplicity sums, the last level needing only (filtered) degrees. Errors
/// when the count does not fit an Int.
pub(super) fn walks(
    snap: &Snapshot,
    budget: &Budget,
    adj: &AdjacencyView<'_>,
    start: Dense,
    depth: usize,
    f: Option<&Filter>,
) -> R<u64> {
    if depth == 0 {
        return Ok(1);
    }
    with_scratch(snap.dense_len(), |s| {
        let result = count_walks(s, snap, budget, adj, start, depth, f);
        s.clear_counts();
        result
    })
}

// Kept out of the executor's large `expand`, where the inner loop was compiled with half the
// speed the same loop has alone (path3 at scale 20: 1.4x the kernel over the same view).
#[inline(never)]
fn count_walks(
    s: &mut Scratch,
    snap: &Snapshot,
    budget: &Budget,
    adj: &AdjacencyView<'_>,
    start: Dense,
    depth: usize,
    f: Option<&Filter>,
) -> R<u64> {
    s.frontier.push(start);
    s.counts[start as usize] = 1;
    for _ in 1..depth {
        // Overflow is noted and checked once per level: no branch out of the inner loop.
        let mut overflow = false;
        for i in 0..s.frontier.len() {
            if i % CLOCK_EVERY == 0 {
                budget.in_time()?;
            }
            let v = s.frontier[i];
            let c = s.counts[v as usize];
            for &t in adj.neighbors(v) {
                let slot = &mut s.next[t as usize];
                if *slot == 0 {
                    s.next_frontier.push(t);
                }
                let (sum, over) = slot.overflowing_add(c);
                *slot = sum;
                overflow |= over;
            }
        }
        if overflow {
            return Err(ExecError::CountOverflow);
        }
        if f.is_some() {
            // Nodes the filter refuses take no further step.
            let mut kept = 0;
            for i in 0..s.next_frontier.len() {
                let t = s.next_frontier[i];
                if passes(snap, f, t)? {
                    s.next_frontier[kept] = t;
                    kept += 1;
                } else {
                    s.next[t as usize] = 0;
                }
            }
            s.next_frontier.truncate(kept);
        }
        for &v in &s.frontier {
            s.counts[v as usize] = 0;
        }
        s.frontier.clear();
        std::mem::swap(&mut s.counts, &mut s.next);
        std::mem::swap(&mut s.frontier, &mut s.next_frontier);
    }
    let mut total: u64 = 0;
    for &v in &s.frontier {
        let n = match f {
            None => adj.degree(v) as u64,
            Some(_) => {
                let mut n = 0u64;
                for &t in adj.neighbors(v) {
                    if passes(snap, f, t)? {
                        n += 1;
                    }
                }
                n
            }
        };
        total = n
            .checked_mul(s.counts[v as usize])
            .and_then(|x| total.checked_add(x))
            .filter(|t| *t <= i64::MAX as u64)
            .ok_or(ExecError::CountOverflow)?;
    }
    Ok(total)
}

/// The distinct nodes where walks of exactly `depth` edges from `start` end, every node stepped
/// on passing `f` (for the reductions beside a walk count).
pub(super) fn walk_ends(
    snap: &Snapshot,
    budget: &Budget,
    adj: &AdjacencyView<'_>,
    start: Dense,
    depth: usize,
    f: Option<&Filter>,
) -> R<Vec<Dense>> {
    let mut level: FxHashSet<Dense> = std::iter::once(start).collect();
    for _ in 0..depth {
        budget.in_time()?;
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
    budget: &Budget,
    edges: &[EdgeId],
    from: Dense,
    to: Dense,
    max_depth: usize,
) -> R<Option<Vec<Dense>>> {
    if from == to {
        return Ok(Some(vec![from]));
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
        budget.in_time()?;
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
                        return Ok(Some(join(&prev, &next, v)));
                    }
                    grown.push(v);
                }
            }
        }
        *frontier = grown;
    }
    Ok(None)
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
