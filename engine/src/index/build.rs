//! Folding a state's delta into a fresh base: renumbering nodes by type and uid, and laying
//! adjacency, values and postings out as sorted arrays. Checkpoints write what this builds.

use std::sync::Arc;

use crate::catalog::{EdgeId, PropId};
use crate::index::{Base, Csr, Dense, Direction, IndexKind, Postings, PropColumn, State};

const DEAD: u32 = u32::MAX;

impl State {
    /// Builds a base holding everything this state holds, with an empty delta.
    pub fn build_base(&self) -> Base {
        let catalog = &self.catalog;
        let old_len = self.dense_len();
        let mut live: Vec<(u32, u64, Dense)> =
            (0..old_len).filter(|&d| self.is_live(d)).map(|d| (self.node_type(d), self.uid(d), d)).collect();
        live.sort_unstable();
        let mut renumber = vec![DEAD; old_len as usize];
        let mut uids = Vec::with_capacity(live.len());
        let mut types = Vec::with_capacity(live.len());
        let mut ranges = vec![(0u32, 0u32); catalog.types.len()];
        for (new, &(ty, uid, old)) in live.iter().enumerate() {
            renumber[old as usize] = new as u32;
            uids.push(uid);
            types.push(ty);
            let r = &mut ranges[ty as usize];
            if r.0 == r.1 {
                *r = (new as u32, new as u32);
            }
            r.1 = new as u32 + 1;
        }
        let mut by_uid: Vec<(u64, u32)> = uids.iter().enumerate().map(|(i, &u)| (u, i as u32)).collect();
        by_uid.sort_unstable();

        let mut adjacency = vec![[Csr::default(), Csr::default()]; catalog.edges.len()];
        for (e, edge) in catalog.edges.iter().enumerate() {
            if edge.dropped {
                continue;
            }
            for dir in [Direction::Out, Direction::In] {
                let ty = if dir == Direction::Out { edge.source } else { edge.target };
                let (first, end) = ranges[ty as usize];
                let mut offsets = Vec::with_capacity((end - first) as usize + 1);
                let mut targets = Vec::new();
                offsets.push(0u64);
                for new in first..end {
                    let old = live[new as usize].2;
                    let start = targets.len();
                    targets.extend(
                        self.neighbors(e as EdgeId, dir, old)
                            .iter()
                            .map(|&t| renumber[t as usize])
                            .filter(|&t| t != DEAD),
                    );
                    targets[start..].sort_unstable();
                    offsets.push(targets.len() as u64);
                }
                adjacency[e][dir as usize] = Csr { first, offsets: offsets.into(), targets: targets.into() };
            }
        }

        let mut props = vec![PropColumn::default(); catalog.properties.len()];
        let mut postings = rustc_hash::FxHashMap::default();
        for (p, prop) in catalog.properties.iter().enumerate() {
            if prop.dropped {
                continue;
            }
            let p = p as PropId;
            let mut values: Vec<(u32, _)> = self
                .nodes_with(p)
                .into_iter()
                .map(|(n, r)| (renumber[n as usize], r))
                .filter(|&(n, _)| n != DEAD)
                .collect();
            values.sort_unstable_by_key(|&(n, _)| n);
            props[p as usize] = PropColumn {
                nodes: values.iter().map(|&(n, _)| n).collect::<Vec<_>>().into(),
                refs: values.iter().map(|&(_, r)| r).collect::<Vec<_>>().into(),
            };
            for kind in IndexKind::for_set(prop.indexes) {
                let mut entries: Vec<(u64, u32)> = self
                    .postings(p, kind, 0, u64::MAX)
                    .into_iter()
                    .map(|(k, n)| (k, renumber.get(n as usize).copied().unwrap_or(DEAD)))
                    .filter(|&(_, n)| n != DEAD)
                    .collect();
                entries.sort_unstable();
                entries.dedup();
                postings.insert(
                    (p, kind),
                    Postings {
                        keys: entries.iter().map(|e| e.0).collect::<Vec<_>>().into(),
                        nodes: entries.iter().map(|e| e.1).collect::<Vec<_>>().into(),
                    },
                );
            }
        }

        Base {
            uids: uids.into(),
            types: types.into(),
            sorted_uids: by_uid.iter().map(|e| e.0).collect::<Vec<_>>().into(),
            sorted_dense: by_uid.iter().map(|e| e.1).collect::<Vec<_>>().into(),
            adjacency,
            props,
            postings,
        }
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
