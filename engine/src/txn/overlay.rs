//! What a transaction remembers about its own changes, for reads through it.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::catalog::{EdgeId, TypeId};
use crate::index::Direction;
use crate::record::Op;

#[derive(Default)]
pub(super) struct EdgeChange {
    pub(super) added: FxHashSet<u64>,
    pub(super) removed: FxHashSet<u64>,
}

/// What the transaction has changed about edges, built from its ops when first needed and
/// only for the edge types asked about: a bulk load that reads one singular edge type does not
/// pay for mirroring every other edge it adds.
#[derive(Default)]
pub(super) struct EdgeOverlay {
    /// Every edge type has read at least this many ops of the transaction into `lists`.
    floor: usize,
    /// Per edge type, how many ops it has read (never below `floor`; missing means `floor`).
    upto: Vec<usize>,
    pub(super) lists: FxHashMap<(EdgeId, Direction, u64), EdgeChange>,
}

impl EdgeOverlay {
    /// How many ops have been read for `edge`.
    pub(super) fn upto(&self, edge: EdgeId) -> usize {
        self.upto.get(edge as usize).copied().unwrap_or(0).max(self.floor)
    }

    /// Reads the ops not yet read for `edge` (all edge types when `None`).
    pub(super) fn sync(&mut self, ops: &[Op], edge: Option<EdgeId>) {
        let from = match edge {
            Some(e) => self.upto(e),
            None => self.floor,
        };
        for (i, op) in ops.iter().enumerate().skip(from) {
            let (e, src, dsts, present) = match op {
                Op::AddEdges { edge, src, dsts } => (*edge, *src, dsts, true),
                Op::RemoveEdges { edge, src, dsts } => (*edge, *src, dsts, false),
                _ => continue,
            };
            if edge.is_some_and(|want| want != e) || i < self.upto(e) {
                continue;
            }
            for &d in &dsts.0 {
                self.set(e, src, d, present);
            }
        }
        self.mark(ops.len(), edge);
    }

    /// Records that every op before `len` has been read for `edge` (all when `None`).
    pub(super) fn mark(&mut self, len: usize, edge: Option<EdgeId>) {
        match edge {
            Some(e) => {
                if self.upto.len() <= e as usize {
                    self.upto.resize(e as usize + 1, 0);
                }
                self.upto[e as usize] = len;
            }
            None => {
                self.floor = len;
                self.upto.clear();
            }
        }
    }

    pub(super) fn set(&mut self, edge: EdgeId, src: u64, dst: u64, present: bool) {
        for (dir, a, b) in [(Direction::Out, src, dst), (Direction::In, dst, src)] {
            let c = self.lists.entry((edge, dir, a)).or_default();
            if present {
                c.removed.remove(&b);
                c.added.insert(b);
            } else {
                c.added.remove(&b);
                c.removed.insert(b);
            }
        }
    }
}

/// Marks a deleted node in [`TouchedNodes::run`].
const GONE: u32 = u32::MAX;

/// Nodes this transaction created (`Some(type)`) or deleted (`None`). Creations with ascending,
/// contiguous uids (what a bulk load does) go into a plain array, the rest into a hash map, so
/// that the lookups every edge makes stay cheap.
#[derive(Default)]
pub(super) struct TouchedNodes {
    run_start: u64,
    run: Vec<u32>,
    others: FxHashMap<u64, Option<TypeId>>,
}

impl TouchedNodes {
    fn run_index(&self, uid: u64) -> Option<usize> {
        let i = usize::try_from(uid.checked_sub(self.run_start)?).ok()?;
        (i < self.run.len()).then_some(i)
    }

    /// What the transaction did to `uid`, if anything.
    #[inline]
    pub(super) fn get(&self, uid: u64) -> Option<Option<TypeId>> {
        match self.run_index(uid) {
            Some(i) => Some(Some(self.run[i]).filter(|&t| t != GONE)),
            None if self.others.is_empty() => None,
            None => self.others.get(&uid).copied(),
        }
    }

    /// Whether the transaction created or deleted `uid`.
    pub(super) fn contains(&self, uid: u64) -> bool {
        self.get(uid).is_some()
    }

    /// Records a creation (`Some(type)`) or deletion (`None`).
    pub(super) fn insert(&mut self, uid: u64, ty: Option<TypeId>) {
        if let Some(i) = self.run_index(uid) {
            self.run[i] = ty.unwrap_or(GONE);
            return;
        }
        let extends = self.run.is_empty() || uid == self.run_start + self.run.len() as u64;
        if let Some(t) = ty
            && t != GONE
            && extends
            && !self.others.contains_key(&uid)
        {
            if self.run.is_empty() {
                self.run_start = uid;
            }
            self.run.push(t);
            return;
        }
        self.others.insert(uid, ty);
    }

    /// Whether the transaction created or deleted no node.
    pub(super) fn is_empty(&self) -> bool {
        self.run.is_empty() && self.others.is_empty()
    }

    /// Room for `nodes` more creations in sequence.
    pub(super) fn reserve(&mut self, nodes: usize) {
        self.run.reserve(nodes);
    }

    /// Every node touched, with what happened to it.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, Option<TypeId>)> + '_ {
        let run = self
            .run
            .iter()
            .enumerate()
            .map(|(i, &t)| (self.run_start + i as u64, Some(t).filter(|&t| t != GONE)));
        run.chain(self.others.iter().map(|(&u, &t)| (u, t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touched_nodes_agree_with_a_map() {
        let mut t = TouchedNodes::default();
        let mut model: FxHashMap<u64, Option<TypeId>> = FxHashMap::default();
        let steps: [(u64, Option<TypeId>); 9] = [
            (5, Some(1)),
            (6, Some(2)),
            (7, Some(1)),
            (6, None),
            (20, Some(3)),
            (8, Some(4)),
            (4, Some(0)),
            (8, None),
            (21, Some(1)),
        ];
        for (uid, ty) in steps {
            t.insert(uid, ty);
            model.insert(uid, ty);
            for probe in 0..30 {
                assert_eq!(t.get(probe), model.get(&probe).copied(), "uid {probe} after {uid}");
            }
        }
        let mut all: Vec<_> = t.iter().collect();
        all.sort_unstable();
        let mut want: Vec<_> = model.into_iter().collect();
        want.sort_unstable();
        assert_eq!(all, want);
    }
}
