//! Building a base's adjacency: per edge type and direction, the old state's lists, renumbered,
//! merged with a record's additions and written out in node order.
//!
//! The old lists are read in place (from the old base's CSR or the delta) and copied once, so
//! the cost is one sequential pass over what the state holds plus a counting sort of only what
//! the record adds. When the renumbering keeps every old node's number (a bulk record of edges
//! between existing nodes, or a checkpoint after commits that created none) old lists are
//! copied slice by slice; when it keeps their order they are mapped; otherwise each mapped list
//! is sorted again.

use crate::catalog::EdgeId;
use crate::index::{Csr, Dense, Direction, State};
use crate::snapshot::AdjacencyView;

/// A dense number that does not survive (deleted node), or a node with no old number.
pub(super) const DEAD: u32 = u32::MAX;

/// How old dense numbers map to new ones across a rebuild.
pub(super) struct Renumber {
    /// Old dense -> new dense; `DEAD` for nodes that do not survive. Empty for
    /// [`Renumber::identity`].
    pub new_of_old: Vec<u32>,
    /// New dense -> old dense; `DEAD` for nodes the record creates. Empty for
    /// [`Renumber::identity`].
    pub old_of_new: Vec<u32>,
    /// How many old numbers there were.
    old_len: u32,
    /// Whether `new_of_old` increases over surviving nodes, so old lists stay sorted.
    pub monotone: bool,
    /// Whether every old node survives with its own number.
    pub identity: bool,
}

impl Renumber {
    /// Every one of `len` nodes keeps its number (and no node is added): no tables.
    pub fn identity(len: u32) -> Renumber {
        Renumber {
            new_of_old: Vec::new(),
            old_of_new: Vec::new(),
            old_len: len,
            monotone: true,
            identity: true,
        }
    }

    /// From the new order: `old_of_new[n]` is the old number of new node `n` (or `DEAD`), and
    /// there were `old_len` old numbers.
    pub fn new(old_of_new: Vec<u32>, old_len: u32) -> Renumber {
        let mut new_of_old = vec![DEAD; old_len as usize];
        for (n, &o) in old_of_new.iter().enumerate() {
            if o != DEAD {
                new_of_old[o as usize] = n as u32;
            }
        }
        let mut last = None;
        let monotone = new_of_old.iter().filter(|&&n| n != DEAD).all(|&n| {
            let up = last.is_none_or(|l| n > l);
            last = Some(n);
            up
        });
        let identity = new_of_old.iter().enumerate().all(|(o, &n)| n == o as u32);
        Renumber { new_of_old, old_of_new, old_len, monotone, identity }
    }

    /// The old number of new node `new`, or `DEAD` for a node the record creates.
    #[inline]
    pub fn old_of(&self, new: Dense) -> Dense {
        if self.identity && new < self.old_len {
            return new;
        }
        self.old_of_new.get(new as usize).copied().unwrap_or(DEAD)
    }

    /// The new number of old node `old`, or `DEAD` for one that does not survive.
    #[inline]
    pub fn new_of(&self, old: Dense) -> Dense {
        if self.identity {
            return old;
        }
        self.new_of_old.get(old as usize).copied().unwrap_or(DEAD)
    }
}

/// Calls its argument once per (node, neighbor) pair a record adds along one edge type.
pub(super) type PairVisitor<'a> = dyn Fn(&mut dyn FnMut(u32, u32)) -> Result<(), String> + 'a;

/// Builds one CSR over a dense range in two passes over the same pairs: count, then place;
/// each list is then sorted and its duplicates squeezed out.
///
/// Pairs arriving grouped by node (the out-direction: a record adds edges per source) are
/// counted per node and placed directly. Pairs arriving in no order (the
/// in-direction) would miss the cache on nearly every count and placement over a large range,
/// so they are counted per bucket of nodes (a cache-sized slice of the arrays), sorted into
/// their buckets, and each bucket is then counted and placed on its own.
pub(super) struct CsrBuilder {
    first: u32,
    offsets: Vec<u64>,
    /// In-direction: log2 of the nodes per bucket, and the pairs counted per bucket.
    buckets: Option<(u32, Vec<usize>)>,
}

impl CsrBuilder {
    /// A builder for one direction over the dense range `[first, end)`: pairs are (source,
    /// target) either way, and the in-direction lists sources by target.
    pub fn new((first, end): (u32, u32), dir: Direction) -> Self {
        let nodes = (end - first) as usize;
        let buckets = (dir == Direction::In).then(|| {
            let shift = (usize::BITS - nodes.leading_zeros()).saturating_sub(6);
            (shift, vec![0; (nodes >> shift) + 1])
        });
        CsrBuilder { first, offsets: vec![0; nodes + 1], buckets }
    }

    #[inline]
    pub fn count(&mut self, node: u32) {
        let i = (node - self.first) as usize;
        match &mut self.buckets {
            Some((shift, sizes)) => sizes[i >> *shift] += 1,
            None => self.offsets[i + 1] += 1,
        }
    }

    /// Places every pair `count` saw and sorts each list.
    pub fn place_all(mut self, visit: &PairVisitor<'_>) -> Result<Csr, String> {
        let first = self.first;
        let Some((shift, sizes)) = self.buckets.take() else {
            for i in 1..self.offsets.len() {
                self.offsets[i] += self.offsets[i - 1];
            }
            let mut fill = self.offsets.clone();
            let mut targets = vec![0; *self.offsets.last().unwrap_or(&0) as usize];
            visit(&mut |node, nbr| {
                let slot = &mut fill[(node - first) as usize];
                targets[*slot as usize] = nbr;
                *slot += 1;
            })?;
            return Ok(self.finish(targets));
        };
        let mut buckets: Vec<Vec<(u32, u32)>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
        visit(&mut |nbr, node| {
            buckets[((node - first) as usize) >> shift].push((node, nbr));
        })?;
        let nodes = self.offsets.len() - 1;
        let mut targets = vec![0; sizes.iter().sum()];
        let mut fill = Vec::new();
        for (b, bucket) in buckets.into_iter().enumerate() {
            let (lo, hi) = ((b << shift).min(nodes), ((b + 1) << shift).min(nodes));
            for &(node, _) in &bucket {
                self.offsets[(node - first) as usize + 1] += 1;
            }
            for i in lo..hi {
                self.offsets[i + 1] += self.offsets[i];
            }
            fill.clear();
            fill.extend_from_slice(&self.offsets[lo..hi]);
            for (node, nbr) in bucket {
                let slot = &mut fill[(node - first) as usize - lo];
                targets[*slot as usize] = nbr;
                *slot += 1;
            }
        }
        Ok(self.finish(targets))
    }

    fn finish(mut self, mut targets: Vec<u32>) -> Csr {
        let mut write = 0usize;
        let mut start = 0usize;
        for i in 1..self.offsets.len() {
            let end = self.offsets[i] as usize;
            let list = &mut targets[start..end];
            if !list.is_sorted() {
                list.sort_unstable();
            }
            let mut prev = None;
            for j in start..end {
                let t = targets[j];
                if prev != Some(t) {
                    targets[write] = t;
                    write += 1;
                    prev = Some(t);
                }
            }
            start = end;
            self.offsets[i] = write as u64;
        }
        targets.truncate(write);
        targets.shrink_to_fit();
        Csr { first: self.first, offsets: self.offsets.into(), targets: targets.into() }
    }
}

/// The in-direction of `out` over the target range `range`: every (source, target) pair of
/// `out` placed by target. Sources are visited in increasing order, so each list comes out
/// sorted (and free of duplicates, as `out`'s lists are). A target outside `range` (which a
/// valid `out` never holds) is left out.
///
/// A counting sort in place: the offsets serve as the write cursors, so that beyond the result
/// (8 bytes a node, 4 an edge) nothing is allocated: it is built the first time a query reads
/// the in-direction, whose memory then counts toward what querying takes.
pub(super) fn transpose(out: &Csr, (first, end): (u32, u32)) -> Csr {
    let nodes = end.saturating_sub(first) as usize;
    let index = |t: u32| t.checked_sub(first).map(|i| i as usize).filter(|&i| i < nodes);
    let mut offsets = vec![0u64; nodes + 1];
    for i in out.targets.iter().filter_map(|&t| index(t)) {
        offsets[i + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    let mut targets = vec![0u32; offsets[nodes] as usize];
    // `offsets[i]`, the start of list `i`, is its cursor while it fills ...
    for (i, pair) in out.offsets.windows(2).enumerate() {
        let source = out.first + i as u32;
        for t in out.targets[pair[0] as usize..pair[1] as usize].iter().filter_map(|&t| index(t)) {
            targets[offsets[t] as usize] = source;
            offsets[t] += 1;
        }
    }
    // ... and ends at the list's end, the start of the next: shifted back by one.
    offsets.copy_within(..nodes, 1);
    offsets[0] = 0;
    Csr { first, offsets: offsets.into(), targets: targets.into() }
}

/// The list of `node` in a CSR, empty when it lies outside the CSR's range.
fn list_of(csr: &Csr, node: Dense) -> &[u32] {
    let i = node.wrapping_sub(csr.first) as usize;
    match csr.offsets.get(i..i.wrapping_add(2)) {
        Some(&[a, b]) => &csr.targets[a as usize..b as usize],
        _ => &[],
    }
}

/// Appends the union of two sorted, duplicate-free lists to `out`, sorted.
fn merge_into(out: &mut Vec<u32>, a: &[u32], b: &[u32]) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// The lists of one edge type and direction a rebuild reads: the base's, except those the
/// delta replaced, which are found through a bitmap and a sorted table rather than a lookup
/// in the delta's hash trie for every node (a third of a closing checkpoint's rebuild after an
/// import whose last batch went to the delta).
struct OldLists<'a> {
    base: AdjacencyView<'a>,
    /// Bit `n` set: node `n`'s list is in `replaced`.
    in_delta: Vec<u64>,
    replaced: Vec<(Dense, &'a [u32])>,
}

impl<'a> OldLists<'a> {
    fn new(state: &'a State, edge: EdgeId, dir: Direction) -> OldLists<'a> {
        let base = state.adjacency(edge, dir).base_only();
        let touched = state.delta.touched.get(&(edge, dir)).is_some_and(|&n| n > 0);
        let mut replaced: Vec<(Dense, &[u32])> = Vec::new();
        if touched {
            replaced.extend(
                state
                    .delta
                    .adjacency
                    .iter()
                    .filter(|(k, _)| k.0 == edge && k.1 == dir)
                    .map(|(k, l)| (k.2, &l[..])),
            );
            replaced.sort_unstable_by_key(|r| r.0);
        }
        let mut in_delta =
            vec![0u64; if replaced.is_empty() { 0 } else { state.dense_len() as usize / 64 + 1 }];
        for &(n, _) in &replaced {
            in_delta[n as usize / 64] |= 1 << (n % 64);
        }
        OldLists { base, in_delta, replaced }
    }

    fn neighbors(&self, node: Dense) -> &'a [u32] {
        let bit = self.in_delta.get(node as usize / 64).is_some_and(|w| w & (1 << (node % 64)) != 0);
        if bit && let Ok(i) = self.replaced.binary_search_by_key(&node, |r| r.0) {
            return self.replaced[i].1;
        }
        self.base.neighbors(node)
    }
}

/// One direction of one edge type over the new dense range `range`: each node's old list
/// (read from `state` along `old_edge`, when the edge existed before) renumbered and merged
/// with its list in `added` (new numbers, sorted, duplicate-free).
pub(super) fn merge_direction(
    state: &State,
    old_edge: Option<EdgeId>,
    dir: Direction,
    range: (u32, u32),
    renumber: &Renumber,
    added: &Csr,
) -> Csr {
    let old = OldRenumbered::new(state, old_edge, dir, renumber);
    let mut offsets = Vec::with_capacity((range.1 - range.0) as usize + 1);
    let mut targets = Vec::with_capacity(old.total + added.targets.len());
    offsets.push(0u64);
    let mut scratch = Vec::new();
    for node in range.0..range.1 {
        let old = old.list(node, &mut scratch);
        let add = list_of(added, node);
        if add.is_empty() {
            targets.extend_from_slice(old);
        } else {
            merge_into(&mut targets, old, add);
        }
        offsets.push(targets.len() as u64);
    }
    targets.shrink_to_fit();
    Csr { first: range.0, offsets: offsets.into(), targets: targets.into() }
}

/// The out-direction of one edge type over `sources` with a record's additions merged into
/// the old lists in one pass, for additions in the order a canonical record holds them
/// (`record::canonicalize`): grouped by source in increasing uid order, each group's targets
/// increasing. Dense numbers keep that order, since the nodes of one type are numbered in uid
/// order, so each group is merged as it comes. (Building the additions' own CSR first, as
/// `CsrBuilder` does for additions in any order, took half of the rebuild for a batch of an
/// edge import: a counting pass, a placing pass and 16 bytes of scratch a node.)
///
/// `adds` yields (source uid, target uids) with the number of targets in all. `Ok(None)` when
/// the additions are not in that order or do not fit `sources` and `targets`: the general
/// path then takes over (and names a misfit). A uid `resolve` does not know is its error.
pub(super) fn merge_sorted_out<'o>(
    state: &State,
    old_edge: Option<EdgeId>,
    (sources, targets_range): ((u32, u32), (u32, u32)),
    renumber: &Renumber,
    (adds, added): (impl Iterator<Item = (u64, &'o [u64])>, usize),
    resolve: &dyn Fn(u64) -> Result<u32, String>,
) -> Result<Option<Csr>, String> {
    let old = OldRenumbered::new(state, old_edge, Direction::Out, renumber);
    let mut offsets = Vec::with_capacity((sources.1 - sources.0) as usize + 1);
    let mut targets = Vec::with_capacity(old.total + added);
    offsets.push(0u64);
    let (mut scratch, mut list, mut held) = (Vec::new(), Vec::new(), Vec::new());
    // The next node whose list is to be written.
    let mut node = sources.0;
    let mut old_only_until = |end: u32, node: &mut u32, targets: &mut Vec<u32>, offsets: &mut Vec<u64>| {
        while *node < end {
            targets.extend_from_slice(old.list(*node, &mut scratch));
            offsets.push(targets.len() as u64);
            *node += 1;
        }
    };
    for (src, dsts) in adds {
        let s = resolve(src)?;
        // (A source before `node` came earlier or twice.)
        if s < node || s >= sources.1 {
            return Ok(None);
        }
        old_only_until(s, &mut node, &mut targets, &mut offsets);
        list.clear();
        for &dst in dsts {
            let t = resolve(dst)?;
            if !(targets_range.0..targets_range.1).contains(&t) || list.last().is_some_and(|&l| l >= t) {
                return Ok(None);
            }
            list.push(t);
        }
        merge_into(&mut targets, old.list(s, &mut held), &list);
        offsets.push(targets.len() as u64);
        node = s + 1;
    }
    old_only_until(sources.1, &mut node, &mut targets, &mut offsets);
    targets.shrink_to_fit();
    Ok(Some(Csr { first: sources.0, offsets: offsets.into(), targets: targets.into() }))
}

/// The lists of one edge type and direction before a rebuild, in the rebuild's new numbers.
struct OldRenumbered<'a> {
    lists: Option<OldLists<'a>>,
    renumber: &'a Renumber,
    /// Targets the old lists hold in all (room to reserve).
    total: usize,
}

impl<'a> OldRenumbered<'a> {
    /// The lists of `edge` (when it existed before) in direction `dir`.
    fn new(state: &'a State, edge: Option<EdgeId>, dir: Direction, renumber: &'a Renumber) -> Self {
        OldRenumbered {
            lists: edge.map(|e| OldLists::new(state, e, dir)),
            renumber,
            total: edge.and_then(|e| state.base.csr(e, dir)).map_or(0, |c| c.targets.len()),
        }
    }

    /// The old list of the node numbered `node` now, sorted, renumbered into `scratch` when
    /// the numbers changed.
    fn list<'s>(&self, node: Dense, scratch: &'s mut Vec<u32>) -> &'s [u32]
    where
        'a: 's,
    {
        let renumber = self.renumber;
        let old_node = renumber.old_of(node);
        let old: &[u32] = match &self.lists {
            Some(lists) if old_node != DEAD => lists.neighbors(old_node),
            _ => &[],
        };
        if renumber.identity {
            return old;
        }
        scratch.clear();
        scratch.extend(old.iter().map(|&t| renumber.new_of(t)).filter(|&t| t != DEAD));
        if !renumber.monotone {
            scratch.sort_unstable();
        }
        scratch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_order_and_drops_duplicates() {
        let mut out = vec![9];
        merge_into(&mut out, &[1, 4, 6], &[2, 4, 7, 8]);
        assert_eq!(out, [9, 1, 2, 4, 6, 7, 8]);
        out.clear();
        merge_into(&mut out, &[], &[3]);
        merge_into(&mut out, &[5], &[]);
        assert_eq!(out, [3, 5]);
    }

    #[test]
    fn renumbering_is_classified() {
        let same = Renumber::new(vec![0, 1, 2], 3);
        assert!(same.identity && same.monotone);
        assert_eq!((same.old_of(2), same.new_of(1)), (2, 1));
        // Old numbers kept, a node appended: it has no old number.
        let grown = Renumber::new(vec![0, 1, DEAD], 2);
        assert!(grown.identity);
        assert_eq!((grown.old_of(1), grown.old_of(2)), (1, DEAD));
        let kept = Renumber::identity(3);
        assert_eq!((kept.old_of(2), kept.new_of(0)), (2, 0));
        // Old 1 deleted, a new node appended: order kept, numbers not.
        let shifted = Renumber::new(vec![0, 2, DEAD], 3);
        assert!(!shifted.identity && shifted.monotone);
        assert_eq!(shifted.new_of_old, [0, DEAD, 1]);
        assert_eq!((shifted.new_of(1), shifted.new_of(2), shifted.old_of(1)), (DEAD, 1, 2));
        // A node created since the base sorts before base nodes of a later type.
        let moved = Renumber::new(vec![0, 2, 1], 3);
        assert!(!moved.identity && !moved.monotone);
    }

    #[test]
    fn a_transpose_lists_sources_by_target() {
        // Sources 2..5 over targets 0..4: 2 -> [0, 3], 3 -> [], 4 -> [0, 1, 3].
        let out = Csr { first: 2, offsets: vec![0, 2, 2, 5].into(), targets: vec![0, 3, 0, 1, 3].into() };
        let inn = transpose(&out, (0, 4));
        assert_eq!(inn.first, 0);
        let lists: Vec<&[u32]> = (0..4).map(|t| list_of(&inn, t)).collect();
        assert_eq!(lists, [&[2, 4][..], &[4][..], &[][..], &[2, 4][..]]);
        assert_eq!(inn.offsets.len(), 5);
        // A range starting at 1: the pairs into 0 (outside it) are left out.
        let inn = transpose(&out, (1, 4));
        let lists: Vec<&[u32]> = (1..4).map(|t| list_of(&inn, t)).collect();
        assert_eq!(lists, [&[4][..], &[][..], &[2, 4][..]]);
        assert_eq!(inn.targets.len(), 3);
        let empty = transpose(&Csr::default(), (7, 7));
        assert_eq!((empty.offsets.len(), empty.targets.len()), (1, 0));
    }

    #[test]
    fn a_builder_sorts_and_dedups_each_list() {
        let pairs = [(3u32, 7u32), (1, 9), (3, 2), (3, 7), (2, 1)];
        let visit = |f: &mut dyn FnMut(u32, u32)| -> Result<(), String> {
            pairs.iter().for_each(|&(a, b)| f(a, b));
            Ok(())
        };
        let mut out = CsrBuilder::new((1, 4), Direction::Out);
        pairs.iter().for_each(|&(a, _)| out.count(a));
        let csr = out.place_all(&visit).unwrap();
        assert_eq!((list_of(&csr, 1), list_of(&csr, 2), list_of(&csr, 3)), (&[9][..], &[1][..], &[2, 7][..]));
        assert_eq!(list_of(&csr, 0), &[] as &[u32]);
        assert_eq!(list_of(&csr, 4), &[] as &[u32]);
        // The in-direction (bucketed): sources by target.
        let mut inn = CsrBuilder::new((0, 10), Direction::In);
        pairs.iter().for_each(|&(_, b)| inn.count(b));
        let csr = inn.place_all(&visit).unwrap();
        assert_eq!((list_of(&csr, 7), list_of(&csr, 9), list_of(&csr, 1)), (&[3][..], &[1][..], &[2][..]));
        assert_eq!(csr.targets.len(), 4, "the duplicate 3 -> 7 squeezed out");
    }
}
