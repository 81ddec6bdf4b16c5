//! The traversal extensions' kernels over the adjacency of one edge type (SPEC §4):
//! walk counts by per-level multiplicity sums (never materializing walks), distinct reach by a
//! breadth-first search over a visited bitmap whose widest levels are searched bottom-up.

use quiver_engine::{AdjacencyView, Dense, Direction, EdgeId, Snapshot};
use rustc_hash::{FxHashMap, FxHashSet};

use super::{Budget, ExecError, R, filter};
use crate::plan::Filter;

/// Frontier nodes between two looks at the clock.
const CLOCK_EVERY: usize = 4096;

/// Reusable buffers for the kernels, one set per thread: all-zero between uses, so a query
/// pays only for what it touches, never for clearing or allocating arrays the graph's size.
#[derive(Default)]
struct Scratch {
    counts: Vec<u64>,
    next: Vec<u64>,
    frontier: Vec<Dense>,
    next_frontier: Vec<Dense>,
    seen: Vec<u64>,
    touched: Vec<u32>,
    /// The frontier as a bitmap, for a bottom-up level (all zero between levels).
    in_frontier: Vec<u64>,
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
    fn clear_seen(&mut self) {
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

fn with_scratch<T>(len: u32, f: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        s.fit(len);
        f(&mut s)
    })
}

/// Whether a node stepped on passes the filter (no filter: every node does).
fn passes(snap: &Snapshot, f: Option<&Filter>, d: Dense) -> R<bool> {
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

/// The number of distinct nodes reachable from `start` by walks of 1..=`depth` edges along
/// `edge`, every node stepped on passing `f` (the start counts only when a cycle reaches it):
/// a breadth-first search with a bitmap. With `found`, the nodes too, in the order reached.
///
/// A level whose frontier has many out-edges is searched bottom-up, as Graph500 searches do:
/// instead of following every frontier node's edges, each node not yet seen looks along the
/// in-direction for one parent in the frontier and stops at the first. Late levels of a reach
/// over a small-world graph touch most nodes, and most find a parent at once. (When the nodes
/// are wanted in the order reached, the search stays top-down.)
pub(super) fn reach(
    snap: &Snapshot,
    budget: &Budget,
    edge: EdgeId,
    start: Dense,
    depth: usize,
    f: Option<&Filter>,
    found: Option<&mut Vec<Dense>>,
) -> R<u64> {
    let adj = snap.adjacency(edge, Direction::Out);
    reach_with(snap, budget, &adj, edge, start, depth, f, found, Tuning::for_nodes(snap.dense_len()))
}

/// When a level is searched bottom-up, and across how many threads.
#[derive(Clone, Copy)]
struct Tuning {
    /// Out-edges of a frontier above which its level is searched bottom-up: a bottom-up level
    /// costs about a look at every node (its in-list's bounds and first entries), a top-down
    /// one a look at every out-edge of the frontier.
    bottom_up_above: u64,
    /// Words of the visited bitmap (64 nodes each) a part of a bottom-up level has at least.
    min_part_words: usize,
}

impl Tuning {
    fn for_nodes(nodes: u32) -> Tuning {
        Tuning { bottom_up_above: u64::from(nodes) * 6, min_part_words: 1024 }
    }
}

#[allow(clippy::too_many_arguments)]
fn reach_with(
    snap: &Snapshot,
    budget: &Budget,
    adj: &AdjacencyView<'_>,
    edge: EdgeId,
    start: Dense,
    depth: usize,
    f: Option<&Filter>,
    mut found: Option<&mut Vec<Dense>>,
    tuning: Tuning,
) -> R<u64> {
    let nodes = snap.dense_len();
    with_scratch(nodes, |s| {
        let result = (|| {
            s.frontier.push(start);
            let mut count = 0u64;
            let mut inward = None;
            for _ in 0..depth {
                let out_edges = || s.frontier.iter().map(|&u| adj.neighbors(u).len() as u64).sum::<u64>();
                if found.is_none() && out_edges() > tuning.bottom_up_above {
                    let inn = inward.get_or_insert_with(|| snap.adjacency(edge, Direction::In));
                    count += level_up(s, snap, budget, inn, nodes, f, tuning.min_part_words)?;
                } else {
                    count += level_down(s, snap, budget, adj, f, found.as_deref_mut())?;
                }
                if s.next_frontier.is_empty() {
                    break;
                }
                s.frontier.clear();
                std::mem::swap(&mut s.frontier, &mut s.next_frontier);
            }
            Ok(count)
        })();
        s.clear_seen();
        result
    })
}

/// Marks `t` seen; whether it was not before.
#[inline]
fn see(s: &mut Scratch, t: Dense) -> bool {
    let (w, bit) = (t as usize / 64, 1u64 << (t % 64));
    if s.seen[w] & bit != 0 {
        return false;
    }
    if s.seen[w] == 0 {
        s.touched.push(w as u32);
    }
    s.seen[w] |= bit;
    true
}

/// One level top-down: the frontier's out-neighbors not yet seen, those passing `f` counted
/// and kept as the next frontier. Returns how many were counted.
fn level_down(
    s: &mut Scratch,
    snap: &Snapshot,
    budget: &Budget,
    adj: &AdjacencyView<'_>,
    f: Option<&Filter>,
    mut found: Option<&mut Vec<Dense>>,
) -> R<u64> {
    let mut count = 0;
    for i in 0..s.frontier.len() {
        if i % CLOCK_EVERY == 0 {
            budget.in_time()?;
        }
        for &t in adj.neighbors(s.frontier[i]) {
            if see(s, t) && passes(snap, f, t)? {
                s.next_frontier.push(t);
                count += 1;
                if let Some(out) = found.as_deref_mut() {
                    out.push(t);
                }
            }
        }
    }
    Ok(count)
}

/// One level bottom-up: every node not yet seen with an in-neighbor in the frontier (the same
/// nodes [`level_down`] finds, in dense order). The nodes are split into contiguous parts
/// searched on as many threads as the machine runs at once: each part writes only its own words
/// of the visited bitmap, and the parts' findings are joined in order. (The clock is read by
/// the calling thread's part only; a part is bounded by its share of the nodes.)
fn level_up(
    s: &mut Scratch,
    snap: &Snapshot,
    budget: &Budget,
    inn: &AdjacencyView<'_>,
    nodes: u32,
    f: Option<&Filter>,
    min_part_words: usize,
) -> R<u64> {
    for &u in &s.frontier {
        s.in_frontier[u as usize / 64] |= 1u64 << (u % 64);
    }
    let words = (nodes as usize).div_ceil(64);
    let parts = threads().min(words.div_ceil(min_part_words.max(1))).max(1);
    let per_part = words.div_ceil(parts).max(1);
    let Scratch { seen, in_frontier, next_frontier, touched, .. } = s;
    let (seen, in_frontier) = (&mut seen[..words], &in_frontier[..]);
    let scan = |first_word: usize, seen: &mut [u64], found: &mut Found, budget: Option<&Budget>| {
        scan_part(first_word, seen, Bottom { in_frontier, inn, snap, f, nodes }, found, budget)
    };
    let mut own = Found { nodes: std::mem::take(next_frontier), touched: std::mem::take(touched), count: 0 };
    let result = if parts == 1 {
        scan(0, seen, &mut own, Some(budget))
    } else {
        let (mine, rest) = seen.split_at_mut(per_part);
        std::thread::scope(|scope| {
            let others: Vec<_> = rest
                .chunks_mut(per_part)
                .enumerate()
                .map(|(i, part)| {
                    scope.spawn(move || {
                        let mut found = Found::default();
                        scan((i + 1) * per_part, part, &mut found, None).map(|()| found)
                    })
                })
                .collect();
            let mine = scan(0, mine, &mut own, Some(budget));
            let mut result = mine;
            for other in others {
                // (A part's panic is a bug; it surfaces here rather than being lost.)
                let found = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                match found {
                    Ok(found) => {
                        own.nodes.extend_from_slice(&found.nodes);
                        own.touched.extend_from_slice(&found.touched);
                        own.count += found.count;
                    }
                    Err(e) => result = result.and(Err(e)),
                }
            }
            result
        })
    };
    *next_frontier = own.nodes;
    *touched = own.touched;
    for &u in &s.frontier {
        s.in_frontier[u as usize / 64] = 0;
    }
    result.map(|()| own.count)
}

/// Threads a bottom-up level is split across: as many as run at once, at most 8.
fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
}

/// What a bottom-up level reads, shared by its parts.
#[derive(Clone, Copy)]
struct Bottom<'a, 'v> {
    in_frontier: &'a [u64],
    inn: &'a AdjacencyView<'v>,
    snap: &'a Snapshot,
    f: Option<&'a Filter>,
    nodes: u32,
}

/// What one part of a bottom-up level found: the nodes reached and passing the filter (in
/// order), the bitmap words it set first, and their count.
#[derive(Default)]
struct Found {
    nodes: Vec<Dense>,
    touched: Vec<u32>,
    count: u64,
}

/// Searches the nodes of `seen`'s words (the bitmap's words from `first_word` on).
fn scan_part(
    first_word: usize,
    seen: &mut [u64],
    b: Bottom<'_, '_>,
    found: &mut Found,
    budget: Option<&Budget>,
) -> R<()> {
    for (i, word) in seen.iter_mut().enumerate() {
        let w = first_word + i;
        if let Some(budget) = budget
            && i % CLOCK_EVERY == 0
        {
            budget.in_time()?;
        }
        let mut unseen = !*word;
        let end = (w as u64 + 1) * 64;
        if end > u64::from(b.nodes) {
            unseen &= (1u64 << (b.nodes % 64)) - 1;
        }
        while unseen != 0 {
            let bit = unseen & unseen.wrapping_neg();
            unseen &= unseen - 1;
            let v = (w * 64) as Dense + bit.trailing_zeros();
            let parent =
                b.inn.neighbors(v).iter().any(|&u| b.in_frontier[u as usize / 64] & (1u64 << (u % 64)) != 0);
            if !parent {
                continue;
            }
            if *word == 0 {
                found.touched.push(w as u32);
            }
            *word |= bit;
            if passes(b.snap, b.f, v)? {
                found.nodes.push(v);
                found.count += 1;
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use quiver_engine::{CatalogChange, Direction, Store};

    use super::*;

    /// Random graphs, dense enough that late levels touch most nodes: every reach searched
    /// bottom-up wherever it can be equals the one searched top-down, with and without a
    /// filter, from every start and to every depth.
    #[test]
    fn bottom_up_levels_reach_what_top_down_levels_reach() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut txn = store.write().unwrap();
        txn.alter(CatalogChange::AddType { name: "P".into() }, false).unwrap();
        txn.alter(CatalogChange::AddEdge { source: 0, name: "knows".into(), target: 0, list: true }, false)
            .unwrap();
        let uids: Vec<u64> = (0..300).map(|_| txn.create_node(0, None).unwrap()).collect();
        // A skewed graph (low uids are hubs) from a fixed linear congruential sequence.
        let mut x = 12345u64;
        let mut next = |n: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        for _ in 0..1200 {
            let hub_bound = next(300) + 1;
            let (a, b) = (next(hub_bound), next(300));
            txn.add_edge(0, uids[a as usize], uids[b as usize]).unwrap();
        }
        txn.commit().unwrap();
        let snap = store.snapshot();
        let adj = snap.adjacency(0, Direction::Out);
        let budget = Budget::new(usize::MAX, None);
        let odd: Vec<u64> = uids.iter().copied().filter(|u| u % 2 == 1).collect();
        let not_odd = Filter::Not(Box::new(Filter::Ids(odd)));
        let mut reaching = 0;
        let top_down = Tuning { bottom_up_above: u64::MAX, min_part_words: 1024 };
        let bottom_up = Tuning { bottom_up_above: 0, min_part_words: 1024 };
        // (Five words of 64 nodes: one part per thread, each of a word or more.)
        let in_parts = Tuning { bottom_up_above: 0, min_part_words: 1 };
        for f in [None, Some(&not_odd)] {
            for start in (0..snap.dense_len()).step_by(7) {
                for depth in 1..=4 {
                    let down = reach_with(&snap, &budget, &adj, 0, start, depth, f, None, top_down).unwrap();
                    let up = reach_with(&snap, &budget, &adj, 0, start, depth, f, None, bottom_up).unwrap();
                    assert_eq!(up, down, "start {start}, depth {depth}, filtered {}", f.is_some());
                    let split = reach_with(&snap, &budget, &adj, 0, start, depth, f, None, in_parts).unwrap();
                    assert_eq!(
                        split,
                        down,
                        "in parts: start {start}, depth {depth}, filtered {}",
                        f.is_some()
                    );
                    reaching += usize::from(down > 0);
                }
            }
        }
        assert!(reaching > 100, "the graph reaches far enough to compare: {reaching}");
        // Asked for the nodes, the search stays top-down and lists them in the order reached.
        let mut found = Vec::new();
        let n = reach_with(&snap, &budget, &adj, 0, 0, 3, None, Some(&mut found), bottom_up).unwrap();
        assert_eq!(found.len() as u64, n);
    }
}
