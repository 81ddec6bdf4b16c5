//! What a transaction remembers about its own changes, for reads through it.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::catalog::EdgeId;
use crate::index::Direction;

/// Nodes that took a unique value's key in this transaction (almost always one: a second
/// holder of the same key means a hash collision between different values).
#[derive(Default)]
pub(super) struct Holders {
    first: Option<u64>,
    more: Vec<u64>,
}

impl Holders {
    pub(super) fn push(&mut self, uid: u64) {
        if self.first.is_none() { self.first = Some(uid) } else { self.more.push(uid) }
    }

    pub(super) fn remove(&mut self, uid: u64) {
        if self.first == Some(uid) {
            self.first = self.more.pop();
        } else {
            self.more.retain(|&u| u != uid);
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }
}

#[derive(Default)]
pub(super) struct EdgeChange {
    pub(super) added: FxHashSet<u64>,
    pub(super) removed: FxHashSet<u64>,
}

/// What the transaction has changed about edges, built from its ops when first needed.
#[derive(Default)]
pub(super) struct EdgeOverlay {
    pub(super) upto: usize,
    pub(super) lists: FxHashMap<(EdgeId, Direction, u64), EdgeChange>,
}

impl EdgeOverlay {
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
