//! Reading and maintaining posting arrays (secondary indexes) across base and delta.

use crate::catalog::PropId;
use crate::index::{Dense, IndexKind, PostingDelta, State};

impl State {
    /// Entries of `(prop, kind)` with key in `lo..=hi`, as `(key, node)` sorted.
    pub fn postings(&self, prop: PropId, kind: IndexKind, lo: u64, hi: u64) -> Vec<(u64, Dense)> {
        let delta = self.delta.postings.get(&(prop, kind));
        let mut out = Vec::new();
        if !delta.is_some_and(|d| d.base_void)
            && let Some(p) = self.base.postings.get(&(prop, kind))
        {
            for i in p.key_range(lo, hi) {
                let entry = (p.keys[i], p.nodes[i]);
                if delta.is_none_or(|d| !d.removed.contains(&entry)) {
                    out.push(entry);
                }
            }
        }
        if let Some(d) = delta {
            let before = out.len();
            out.extend(d.added.range((lo, 0)..=(hi, Dense::MAX)).copied());
            if before > 0 && out.len() > before {
                out.sort_unstable();
                out.dedup();
            }
        }
        out
    }

    /// Files `node` under `keys` of `(prop, kind)`.
    pub(crate) fn post(&mut self, prop: PropId, kind: IndexKind, node: Dense, keys: &[u64]) {
        if keys.is_empty() {
            return;
        }
        let d = self.delta.postings.entry((prop, kind)).or_default();
        for &k in keys {
            // A base entry that was removed comes back by un-removing it.
            if !d.base_void && d.removed.remove(&(k, node)).is_some() {
                continue;
            }
            d.added.insert((k, node));
        }
    }

    /// Removes `node` from `keys` of `(prop, kind)`.
    pub(crate) fn unpost(&mut self, prop: PropId, kind: IndexKind, node: Dense, keys: &[u64]) {
        if keys.is_empty() {
            return;
        }
        let in_base = |k: u64, base_void: bool| -> bool {
            !base_void
                && self
                    .base
                    .postings
                    .get(&(prop, kind))
                    .is_some_and(|p| p.key_range(k, k).any(|i| p.nodes[i] == node))
        };
        let base_void = self.delta.postings.get(&(prop, kind)).is_some_and(|d| d.base_void);
        let base_hits: Vec<bool> = keys.iter().map(|&k| in_base(k, base_void)).collect();
        let d: &mut PostingDelta = self.delta.postings.entry((prop, kind)).or_default();
        for (&k, in_base) in keys.iter().zip(base_hits) {
            d.added.remove(&(k, node));
            if in_base {
                d.removed.insert((k, node));
            }
        }
    }
}
