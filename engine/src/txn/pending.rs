//! What a transaction remembers about the values it sets, for reads through it: each
//! (node, property)'s pending value, and which nodes took each unique key.
//!
//! Both are kept lean because a bulk import's batch puts a million nodes through them: the
//! values of nodes whose uids run in sequence sit in plain columns rather than in a hash map,
//! and a unique key's holder is one word.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;

use crate::catalog::PropId;
use crate::index::tokens::eq_key;
use crate::value::ValueView;

/// Where a pending value's encoding sits in the transaction's values area: (offset, length).
pub(super) type Slot = (u32, u32);

/// Column entries that are not slots. A slot's offset is below `u32::MAX`: the values area
/// is at most `MAX_PAYLOAD` (`u32::MAX`) bytes and every encoding takes at least one.
const ABSENT: Slot = (u32::MAX, 0);
const REMOVED: Slot = (u32::MAX, 1);

/// (node, property) -> the value the transaction set (`Some(slot)`) or removed (`None`).
///
/// Uids in one window `[start, start + window)`, grown one uid at a time from the first uid
/// given a value (an import's fresh nodes, numbered in sequence), have their entries in one
/// column per property; every other uid's go to a hash map.
#[derive(Default)]
pub(super) struct PendingValues {
    start: u64,
    window: u64,
    /// Per property id, entries by `uid - start` (`ABSENT` past a column's end).
    columns: Vec<Vec<Slot>>,
    others: FxHashMap<(u64, PropId), Option<Slot>>,
    /// Room each new column starts with ([`PendingValues::reserve`]).
    hint: usize,
}

impl PendingValues {
    fn column_index(&self, uid: u64) -> Option<usize> {
        uid.checked_sub(self.start).filter(|&i| i < self.window).map(|i| i as usize)
    }

    /// The transaction's entry for `uid`'s `prop`: `None` when it has none.
    #[inline]
    pub(super) fn get(&self, uid: u64, prop: PropId) -> Option<Option<Slot>> {
        if let Some(i) = self.column_index(uid) {
            match self.columns.get(prop as usize).and_then(|c| c.get(i)).copied().unwrap_or(ABSENT) {
                ABSENT => {}
                REMOVED => return Some(None),
                slot => return Some(Some(slot)),
            }
        }
        if self.others.is_empty() { None } else { self.others.get(&(uid, prop)).copied() }
    }

    /// Whether the transaction set or removed `uid`'s `prop`.
    pub(super) fn contains(&self, uid: u64, prop: PropId) -> bool {
        self.get(uid, prop).is_some()
    }

    /// Records that the transaction set (`Some`) or removed (`None`) `uid`'s `prop`; returns
    /// the entry this replaces.
    pub(super) fn insert(&mut self, uid: u64, prop: PropId, value: Option<Slot>) -> Option<Option<Slot>> {
        if self.window == 0 {
            self.start = uid;
        }
        if uid.checked_sub(self.start) == Some(self.window) {
            self.window += 1;
        }
        let Some(i) = self.column_index(uid) else { return self.others.insert((uid, prop), value) };
        if self.columns.len() <= prop as usize {
            self.columns.resize_with(prop as usize + 1, Vec::new);
        }
        let column = &mut self.columns[prop as usize];
        if column.len() <= i {
            if column.capacity() == 0 {
                column.reserve(self.hint);
            }
            column.resize(i + 1, ABSENT);
        }
        let old = std::mem::replace(&mut column[i], value.unwrap_or(REMOVED));
        // An entry made before the window reached this uid is in the map: it goes now.
        let earlier = if self.others.is_empty() { None } else { self.others.remove(&(uid, prop)) };
        match old {
            ABSENT => earlier,
            REMOVED => Some(None),
            slot => Some(Some(slot)),
        }
    }

    /// Room for `values` more entries of nodes in sequence.
    pub(super) fn reserve(&mut self, values: usize) {
        self.hint = self.hint.max(values);
        for column in &mut self.columns {
            column.reserve(values);
        }
    }
}

/// (unique property, key of a value) -> the nodes whose value in this transaction took that
/// key: almost always one, so one word each, the rare others (a hash collision between two
/// values, or a holder that has since changed its value) apart. Readers check each holder's
/// current value.
///
/// Int values taken in step with uids (value `v`, `v + 1`, ... by uid `u`, `u + 1`, ...: an
/// import's nodes numbered in sequence with sequential keys) are held as one run per property
/// instead: a hash map of a million keys misses the cache (and the TLB) on every insert, which
/// took 0.3 s of a scale-20 node import.
#[derive(Default)]
pub(super) struct UniqueKeys {
    first: FxHashMap<(PropId, u64), u64>,
    more: FxHashMap<(PropId, u64), Vec<u64>>,
    /// The latest run of Int values per property (few properties are unique).
    runs: Vec<(PropId, IntRun)>,
    /// Room the maps take on their first insert ([`UniqueKeys::reserve`]).
    hint: usize,
}

/// Int values `first + i` held by uids `uid0 + i`, for `i < len`.
#[derive(Debug, Clone, Copy)]
struct IntRun {
    first: i64,
    uid0: u64,
    len: u64,
}

impl IntRun {
    /// Where `value` is in the run.
    fn index(&self, value: i64) -> Option<u64> {
        let i = u64::try_from(i128::from(value) - i128::from(self.first)).ok()?;
        (i < self.len).then_some(i)
    }

    /// Whether `uid` taking `value` continues the run.
    fn continued_by(&self, value: i64, uid: u64) -> bool {
        i128::from(value) == i128::from(self.first) + i128::from(self.len)
            && u128::from(uid) == u128::from(self.uid0) + u128::from(self.len)
    }
}

impl UniqueKeys {
    /// Records that `uid` took `key` of `prop`; `int` is the value when it is an Int.
    pub(super) fn push(&mut self, prop: PropId, key: u64, uid: u64, int: Option<i64>) {
        if let Some(value) = int {
            match self.runs.iter_mut().find(|(p, _)| *p == prop) {
                Some((_, run)) if run.continued_by(value, uid) => {
                    run.len += 1;
                    return;
                }
                None => {
                    self.runs.push((prop, IntRun { first: value, uid0: uid, len: 1 }));
                    return;
                }
                Some(_) => {}
            }
        }
        self.insert(prop, key, uid);
    }

    fn insert(&mut self, prop: PropId, key: u64, uid: u64) {
        if self.first.capacity() == 0 {
            self.first.reserve(self.hint);
        }
        match self.first.entry((prop, key)) {
            Entry::Vacant(free) => {
                free.insert(uid);
            }
            Entry::Occupied(_) => self.more.entry((prop, key)).or_default().push(uid),
        }
    }

    /// Releases `uid`'s hold on `key` of `prop` (`int`: the value when it is an Int).
    pub(super) fn remove(&mut self, prop: PropId, key: u64, uid: u64, int: Option<i64>) {
        let in_run = int.and_then(|value| {
            let at = self.runs.iter().position(|(p, _)| *p == prop)?;
            let i = self.runs[at].1.index(value)?;
            (self.runs[at].1.uid0 + i == uid).then_some((at, i))
        });
        if let Some((at, i)) = in_run {
            let run = &mut self.runs[at].1;
            if i + 1 == run.len {
                run.len -= 1;
            } else {
                // From inside the run: the others move to the maps (rare: a node created and
                // given a key by this transaction changes it again).
                let (_, run) = self.runs.swap_remove(at);
                for j in (0..run.len).filter(|&j| j != i) {
                    let value = run.first + j as i64;
                    self.insert(prop, eq_key(&ValueView::Int(value)), run.uid0 + j);
                }
            }
            return;
        }
        let k = (prop, key);
        if self.first.get(&k) == Some(&uid) {
            match self.more.get_mut(&k).and_then(Vec::pop) {
                Some(next) => self.first.insert(k, next),
                None => self.first.remove(&k),
            };
        } else if let Some(more) = self.more.get_mut(&k) {
            more.retain(|&u| u != uid);
        }
        if self.more.get(&k).is_some_and(Vec::is_empty) {
            self.more.remove(&k);
        }
    }

    /// The nodes holding `key` of `prop` (`int`: the value when it is an Int).
    pub(super) fn holders(&self, prop: PropId, key: u64, int: Option<i64>) -> impl Iterator<Item = u64> + '_ {
        let k = (prop, key);
        let more = if self.more.is_empty() { None } else { self.more.get(&k) };
        let in_run = int.and_then(|value| {
            let (_, run) = self.runs.iter().find(|(p, _)| *p == prop)?;
            run.index(value).map(|i| run.uid0 + i)
        });
        let first = if self.first.is_empty() { None } else { self.first.get(&k).copied() };
        first.into_iter().chain(more.into_iter().flatten().copied()).chain(in_run)
    }

    /// Room for `keys` more holders (taken when the maps are first needed: keys that come as a
    /// run take none).
    pub(super) fn reserve(&mut self, keys: usize) {
        self.hint = self.hint.max(keys);
        if self.first.capacity() > 0 {
            self.first.reserve(keys);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_values_agree_with_a_map() {
        let mut pending = PendingValues::default();
        pending.reserve(4);
        let mut model: FxHashMap<(u64, PropId), Option<Slot>> = FxHashMap::default();
        // A run from 10 up, uids outside it, a uid entered before the window reached it
        // (13 at first lies past the window's end), removals and overwrites.
        let steps: [(u64, PropId, Option<Slot>); 12] = [
            (10, 0, Some((0, 2))),
            (11, 1, Some((2, 2))),
            (13, 0, Some((4, 1))),
            (3, 0, Some((5, 1))),
            (12, 0, None),
            (13, 1, Some((6, 3))),
            (13, 0, Some((9, 1))),
            (10, 0, None),
            (11, 1, Some((10, 1))),
            (3, 0, None),
            (14, 2, Some((11, 4))),
            (13, 0, None),
        ];
        for (uid, prop, value) in steps {
            assert_eq!(
                pending.insert(uid, prop, value),
                model.insert((uid, prop), value),
                "insert {uid} {prop}"
            );
            for probe in 0..20 {
                for p in 0..4 {
                    assert_eq!(
                        pending.get(probe, p),
                        model.get(&(probe, p)).copied(),
                        "{probe} {p} after {uid}"
                    );
                    assert_eq!(pending.contains(probe, p), model.contains_key(&(probe, p)));
                }
            }
        }
    }

    /// Int keys pushed in step with their uids, out of step, twice, and released from a run's
    /// end and from inside it: the holders of every value are always what a plain map says.
    #[test]
    fn int_keys_in_runs_have_the_holders_a_map_has() {
        use std::collections::BTreeMap;
        let key = |v: i64| eq_key(&ValueView::Int(v));
        let mut keys = UniqueKeys::default();
        keys.reserve(100);
        let mut model: BTreeMap<(PropId, i64), Vec<u64>> = BTreeMap::new();
        let mut step = |keys: &mut UniqueKeys, push: bool, prop: PropId, v: i64, uid: u64| {
            let held = model.entry((prop, v)).or_default();
            if push {
                keys.push(prop, key(v), uid, Some(v));
                held.push(uid);
            } else {
                keys.remove(prop, key(v), uid, Some(v));
                held.retain(|&u| u != uid);
            }
            for ((p, v), want) in &model {
                let mut got: Vec<u64> = keys.holders(*p, key(*v), Some(*v)).collect();
                got.sort_unstable();
                let mut want = want.clone();
                want.sort_unstable();
                assert_eq!(
                    got,
                    want,
                    "holders of {v} ({p}) after {} {v} by {uid}",
                    if push { "push" } else { "remove" }
                );
            }
        };
        // A run of 0..50 by uids 100..150 (prop 0), one of 7.. by 10.. (prop 1) beside it.
        for i in 0..50 {
            step(&mut keys, true, 0, i, 100 + i as u64);
            step(&mut keys, true, 1, 7 + i, 10 + i as u64);
        }
        assert!(keys.first.is_empty(), "runs take no map entries");
        step(&mut keys, true, 0, 20, 500); // a value the run holds, by another node
        step(&mut keys, true, 0, 51, 150); // out of step (50 skipped)
        step(&mut keys, false, 0, 49, 149); // the run's end
        step(&mut keys, true, 0, 49, 149); // and back
        step(&mut keys, false, 0, 10, 110); // inside: the run goes to the maps
        step(&mut keys, true, 0, 10, 110);
        step(&mut keys, false, 0, 20, 120);
        step(&mut keys, false, 1, 7, 10);
        step(&mut keys, false, 1, 30, 999); // not a holder
        step(&mut keys, true, 2, i64::MAX, u64::MAX - 1); // a run at the ends of both ranges
        step(&mut keys, true, 2, i64::MIN, u64::MAX);
        assert!(keys.runs.iter().all(|(p, r)| *p != 0 || r.len <= 1), "{:?}", keys.runs);
    }

    #[test]
    fn unique_keys_keep_every_holder_until_released() {
        let mut keys = UniqueKeys::default();
        let holders = |k: &UniqueKeys, key| {
            let mut h: Vec<u64> = k.holders(0, key, None).collect();
            h.sort_unstable();
            h
        };
        keys.push(0, 7, 1, None);
        keys.push(0, 7, 2, None);
        keys.push(0, 7, 3, None);
        keys.push(1, 7, 9, None);
        assert_eq!(holders(&keys, 7), [1, 2, 3]);
        keys.remove(0, 7, 1, None);
        assert_eq!(holders(&keys, 7), [2, 3]);
        keys.remove(0, 7, 3, None);
        keys.remove(0, 7, 5, None);
        assert_eq!(holders(&keys, 7), [2]);
        keys.remove(0, 7, 2, None);
        assert!(holders(&keys, 7).is_empty());
        assert!(keys.more.is_empty());
        assert_eq!(keys.holders(1, 7, None).collect::<Vec<_>>(), [9]);
    }
}
