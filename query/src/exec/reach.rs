//! Distinct reach (`fAggregate(depth:, distinct: true)`, SPEC §4): a breadth-first search over
//! a visited bitmap, each level searched the cheapest of three ways for its frontier: top-down
//! on the calling thread when it is small, top-down split across threads when its out-edges
//! are many, bottom-up (each unseen node looking for a parent in the frontier) when they are
//! more than a few times the nodes.

use quiver_engine::{AdjacencyView, Dense, Direction, EdgeId, Snapshot};

use super::traverse::{CLOCK_EVERY, Scratch, passes, with_scratch};
use super::{Budget, R};
use crate::plan::Filter;

/// The number of distinct nodes reachable from `start` by walks of 1..=`depth` edges along
/// `edge`, every node stepped on passing `f` (the start counts only when a cycle reaches it):
/// a breadth-first search with a bitmap. With `found`, the nodes too, in the order reached.
///
/// A level whose frontier has many out-edges is searched across threads, top-down in parts;
/// one with more than a few times as many out-edges as nodes is searched bottom-up, as
/// Graph500 searches do: instead of following every frontier node's edges, each node not yet
/// seen looks along the in-direction for one parent in the frontier and stops at the first.
/// Late levels of a reach over a small-world graph touch most nodes, and most find a parent
/// at once. (When the nodes are wanted in the order reached, the search stays top-down on the
/// calling thread.)
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
    let tuning = Tuning::for_graph(snap.dense_len(), snap.holds_in_direction(edge));
    reach_with(snap, budget, &adj, edge, start, depth, f, found, tuning)
}

/// How each level is searched: bottom-up, top-down in parts, or top-down on this thread.
#[derive(Clone, Copy)]
struct Tuning {
    /// Out-edges of a frontier above which its level is searched bottom-up: a bottom-up level
    /// costs about a look at every node (its in-list's bounds and first entries), a top-down
    /// one a look at every out-edge of the frontier.
    bottom_up_above: u64,
    /// Out-edges of a frontier from which a top-down level is split across threads: each part
    /// then pays for a bitmap's worth of merging and a thread's start.
    split_from: u64,
    /// Threads a level is split across at most.
    parts: usize,
    /// Words of the visited bitmap (64 nodes each) a part of a bottom-up level has at least.
    min_part_words: usize,
}

impl Tuning {
    /// For a graph of `nodes` nodes, whose in-direction is held built or not. At R-MAT scale
    /// 20 a bottom-up level costs about 16 ns a node over the threads there are, a top-down
    /// one 2.7 ns an out-edge on one thread and 0.6-0.9 ns split over 2: they cross at about
    /// six out-edges a node on one CPU and ten on two. Bottom-up reads the in-direction, which
    /// when not held is built first (0.3 s and 64 MB at that scale, the saving of dozens of
    /// levels): with threads to split top-down levels over, only levels of 16 out-edges a node
    /// or more, where bottom-up saves about a third, then go bottom-up. (On one CPU the saving
    /// is larger, and six stays the rule.)
    fn for_graph(nodes: u32, in_direction_held: bool) -> Tuning {
        let words = u64::from(nodes).div_ceil(64);
        let parts = threads();
        let per_node = match (parts > 1, in_direction_held) {
            (false, _) => 6,
            (true, true) => 10,
            (true, false) => 16,
        };
        Tuning {
            bottom_up_above: u64::from(nodes) * per_node,
            split_from: (words * 4).max(1 << 16),
            parts,
            min_part_words: 1024,
        }
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
                // (Wanted in the order reached, the nodes are found top-down on this thread.)
                let out_edges = match found {
                    Some(_) => 0,
                    None => s.frontier.iter().map(|&u| adj.degree(u) as u64).sum::<u64>(),
                };
                if out_edges > tuning.bottom_up_above {
                    let inn = inward.get_or_insert_with(|| snap.adjacency(edge, Direction::In));
                    count += level_up(s, snap, budget, inn, nodes, f, (tuning.parts, tuning.min_part_words))?;
                } else if out_edges >= tuning.split_from && tuning.parts > 1 {
                    count += level_split(s, snap, budget, adj, f, nodes, (tuning.parts, out_edges))?;
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

/// Reads the clock at every `CLOCK_EVERY`th step `i` of a loop, when the loop has the budget
/// (only the calling thread's part of a level does: the others are bounded by their share).
#[inline]
fn on_the_clock(budget: Option<&Budget>, i: usize) -> R<()> {
    match budget {
        Some(budget) if i.is_multiple_of(CLOCK_EVERY) => budget.in_time(),
        _ => Ok(()),
    }
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
        on_the_clock(Some(budget), i)?;
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

/// One level top-down, split across threads: the frontier is cut into `parts` runs of about
/// equal out-edges, and each run's out-neighbors are marked in a bitmap of its own (one store
/// an edge, no test, no branch: a shared bitmap would need atomics, and testing before setting
/// is a branch mispredicted about half the time). Then the bitmaps are merged into `seen` word
/// by word: the nodes not seen before are the level's, those passing `f` counted and kept as
/// the next frontier, in dense order. The part bitmaps are all zero again when it returns.
/// (The clock is read by the calling thread's part; a part is bounded by its share of edges.)
fn level_split(
    s: &mut Scratch,
    snap: &Snapshot,
    budget: &Budget,
    adj: &AdjacencyView<'_>,
    f: Option<&Filter>,
    nodes: u32,
    (parts, out_edges): (usize, u64),
) -> R<u64> {
    let words = (nodes as usize).div_ceil(64);
    if s.marks.len() < parts {
        s.marks.resize_with(parts, Vec::new);
    }
    for m in &mut s.marks[..parts] {
        if m.len() < words {
            m.resize(words, 0);
        }
    }
    // Cut where a run's out-edges reach its share.
    let share = out_edges.div_ceil(parts as u64).max(1);
    let mut cuts = Vec::with_capacity(parts + 1);
    cuts.push(0);
    let mut edges = 0u64;
    for (i, &u) in s.frontier.iter().enumerate() {
        edges += adj.degree(u) as u64;
        if edges >= share * cuts.len() as u64 && cuts.len() < parts {
            cuts.push(i + 1);
        }
    }
    while cuts.len() <= parts {
        cuts.push(s.frontier.len());
    }
    let Scratch { frontier, next_frontier, seen, touched, marks, .. } = s;
    let (frontier, marks) = (&frontier[..], &mut marks[..parts]);
    let marked = {
        let (mine, others) = marks.split_at_mut(1);
        std::thread::scope(|scope| {
            let spawned: Vec<_> = others
                .iter_mut()
                .enumerate()
                // (A run may be empty when one node holds several shares.)
                .filter(|&(i, _)| cuts[i + 1] < cuts[i + 2])
                .map(|(i, m)| {
                    let run = &frontier[cuts[i + 1]..cuts[i + 2]];
                    scope.spawn(move || mark(run, adj, m, None))
                })
                .collect();
            let mut result = mark(&frontier[cuts[0]..cuts[1]], adj, &mut mine[0], Some(budget));
            for t in spawned {
                // (A part's panic is a bug; it surfaces here rather than being lost.)
                let r = t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                result = result.and(r);
            }
            result
        })
    };
    if let Err(e) = marked {
        for m in marks.iter_mut() {
            m[..words].fill(0);
        }
        return Err(e);
    }
    let mut count = 0;
    for w in 0..words {
        let mut new = 0;
        for m in marks.iter_mut() {
            new |= m[w];
            m[w] = 0;
        }
        new &= !seen[w];
        if new == 0 {
            continue;
        }
        if seen[w] == 0 {
            touched.push(w as u32);
        }
        seen[w] |= new;
        while new != 0 {
            let v = (w * 64) as Dense + new.trailing_zeros();
            new &= new - 1;
            match passes(snap, f, v) {
                Ok(true) => {
                    next_frontier.push(v);
                    count += 1;
                }
                Ok(false) => {}
                Err(e) => {
                    // The part bitmaps are zero up to this word: the rest too.
                    for m in marks.iter_mut() {
                        m[w..words].fill(0);
                    }
                    return Err(e);
                }
            }
        }
    }
    Ok(count)
}

/// Marks the out-neighbors of `run` in `marks`.
fn mark(run: &[Dense], adj: &AdjacencyView<'_>, marks: &mut [u64], budget: Option<&Budget>) -> R<()> {
    for (i, &u) in run.iter().enumerate() {
        on_the_clock(budget, i)?;
        for &t in adj.neighbors(u) {
            marks[t as usize / 64] |= 1u64 << (t % 64);
        }
    }
    Ok(())
}

/// One level bottom-up: every node not yet seen with an in-neighbor in the frontier (the same
/// nodes [`level_down`] finds, in dense order). The nodes are split into contiguous parts of at
/// least `min_part_words` bitmap words, searched on up to `parts` threads: each part writes only its own words
/// of the visited bitmap, and the parts' findings are joined in order. (The clock is read by
/// the calling thread's part only; a part is bounded by its share of the nodes.)
fn level_up(
    s: &mut Scratch,
    snap: &Snapshot,
    budget: &Budget,
    inn: &AdjacencyView<'_>,
    nodes: u32,
    f: Option<&Filter>,
    (parts, min_part_words): (usize, usize),
) -> R<u64> {
    for &u in &s.frontier {
        s.in_frontier[u as usize / 64] |= 1u64 << (u % 64);
    }
    let words = (nodes as usize).div_ceil(64);
    let parts = parts.min(words.div_ceil(min_part_words.max(1))).max(1);
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

/// Threads a level is split across: as many as run at once, at most 8.
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
        on_the_clock(budget, i)?;
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

#[cfg(test)]
mod tests {
    use quiver_engine::{CatalogChange, Direction, Store};

    use super::*;
    use crate::exec::ExecError;

    /// Random graphs, dense enough that late levels touch most nodes: every reach searched
    /// bottom-up wherever it can, or top-down split in three parts, equals the one searched
    /// top-down on one thread, with and without a filter, from every start and to every depth.
    /// (Each search starts from the scratch the one before left: one that left bits behind
    /// fails the next.) A split search stopped by the clock leaves the scratch clean too.
    #[test]
    fn every_way_of_searching_a_level_reaches_what_top_down_reaches() {
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
        let on_one =
            Tuning { bottom_up_above: u64::MAX, split_from: u64::MAX, parts: 1, min_part_words: 1024 };
        let top_down = Tuning { split_from: 0, parts: 3, ..on_one };
        let bottom_up = Tuning { bottom_up_above: 0, ..on_one };
        // (Five words of 64 nodes: three parts, each of a word or more.)
        let in_parts = Tuning { bottom_up_above: 0, parts: 3, min_part_words: 1, ..on_one };
        for f in [None, Some(&not_odd)] {
            for start in (0..snap.dense_len()).step_by(7) {
                for depth in 1..=4 {
                    let down = reach_with(&snap, &budget, &adj, 0, start, depth, f, None, on_one).unwrap();
                    let split = reach_with(&snap, &budget, &adj, 0, start, depth, f, None, top_down).unwrap();
                    assert_eq!(split, down, "split: start {start}, depth {depth}, filtered {}", f.is_some());
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
        // Out of time, the calling thread's part stops at once while the other two mark all of
        // theirs: their bitmaps are zeroed all the same.
        let late = Budget::new(usize::MAX, Some(std::time::Duration::ZERO));
        let nodes = snap.dense_len();
        with_scratch(nodes, |s| {
            s.frontier.extend(0..nodes);
            let out_edges = s.frontier.iter().map(|&u| adj.degree(u) as u64).sum();
            let stopped = level_split(s, &snap, &late, &adj, None, nodes, (3, out_edges));
            assert!(matches!(stopped, Err(ExecError::TimedOut(_))), "{stopped:?}");
            assert_eq!(s.marks.len(), 3);
            assert!(s.marks.iter().all(|m| m.iter().all(|&w| w == 0)), "a part's bitmap was left set");
            s.clear_seen();
        });
        // Asked for the nodes, the search stays top-down and lists them in the order reached.
        let mut found = Vec::new();
        let n = reach_with(&snap, &budget, &adj, 0, 0, 3, None, Some(&mut found), bottom_up).unwrap();
        assert_eq!(found.len() as u64, n);
    }
}
