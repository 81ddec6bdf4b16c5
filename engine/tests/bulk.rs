//! A large transaction of additions is applied by rebuilding the index instead of through the
//! delta; it must give exactly the answers the ordinary path gives.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::ops::Bound;

use common::*;
use quiver_engine::{Direction, IndexKind, Options, Store, Value, WriteTxn};

const PEOPLE: u64 = 20_000;
const ORGS: u64 = 50;

fn person(i: u64) -> u64 {
    1000 + i
}

fn load(txn: &mut WriteTxn<'_>, range: std::ops::Range<u64>) {
    for i in range.clone() {
        txn.create_node(PERSON, Some(person(i))).unwrap();
    }
    fill(txn, range);
}

/// The people's values and edges.
fn fill(txn: &mut WriteTxn<'_>, range: std::ops::Range<u64>) {
    for i in range.clone() {
        let u = person(i);
        txn.set(u, NAME, Value::String(format!("person {i} w{}", i % 97))).unwrap();
        txn.set(u, AGE, Value::Int((i % 83) as i64)).unwrap();
        if i % 5 == 0 {
            txn.set(u, TAGS, Value::List(vec![Value::String(format!("t{}", i % 7))])).unwrap();
        }
    }
    for i in range {
        let u = person(i);
        for k in [1, 7, 1000] {
            if i >= k {
                txn.add_edge(KNOWS, u, person(i - k)).unwrap();
            }
        }
        txn.add_edge(STAFF, i % ORGS + 1, u).unwrap();
    }
}

fn build(dir: &std::path::Path, chunks: u64) -> Store {
    let store = Store::open_with(dir, Options { checkpoint_on_close: false, ..Options::default() }).unwrap();
    let mut txn = store.write().unwrap();
    define(&mut txn);
    for o in 1..=ORGS {
        txn.create_node(ORG, Some(o)).unwrap();
    }
    txn.commit().unwrap();
    let step = PEOPLE / chunks;
    for c in 0..chunks {
        let mut txn = store.write().unwrap();
        load(&mut txn, c * step..(c + 1) * step);
        txn.commit().unwrap();
    }
    store
}

fn answers(store: &Store) -> Vec<String> {
    let snap = store.snapshot();
    let mut out = vec![format!("nodes {}", snap.node_count())];
    let uids = |ds: &[u32]| -> Vec<u64> {
        let mut v: Vec<u64> = ds.iter().map(|&d| snap.uid(d)).collect();
        v.sort_unstable();
        v
    };
    for i in (0..PEOPLE).step_by(997).chain([PEOPLE - 1]) {
        let d = snap.dense(person(i)).unwrap();
        for e in [KNOWS, STAFF, ORG_OF] {
            for dir in [Direction::Out, Direction::In] {
                out.push(format!("{i} {e} {dir:?} {:?}", uids(snap.neighbors(e, dir, d))));
            }
        }
        for p in [NAME, AGE, TAGS] {
            out.push(format!("{i} {p} {:?}", snap.value(d, p).unwrap().map(|v| v.to_value())));
        }
    }
    for o in [1, ORGS] {
        out.push(format!(
            "org {o} staff {}",
            snap.neighbors(STAFF, Direction::Out, snap.dense(o).unwrap()).len()
        ));
    }
    let name = Value::String("person 4321 w53".into());
    out.push(format!("eq {:?}", uids(&snap.lookup_eq(NAME, &name).unwrap())));
    out.push(format!("tag {:?}", snap.lookup_eq(TAGS, &Value::String("t3".into())).unwrap().len()));
    out.push(format!("term {:?}", snap.search_text(NAME, IndexKind::Term, "w5", true).unwrap().len()));
    let range = snap.range(AGE, Bound::Included(&Value::Int(80)), Bound::Unbounded).unwrap();
    out.push(format!("range {:?}", range.iter().map(|&d| snap.uid(d)).collect::<Vec<_>>()));
    out
}

#[test]
fn a_bulk_transaction_answers_like_small_ones() {
    let (bulk_dir, small_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bulk = build(bulk_dir.path(), 1);
    assert_eq!(bulk.snapshot().stats().delta_lists, 0, "the bulk record went into the base");
    let small = build(small_dir.path(), 40);
    assert!(small.snapshot().stats().delta_lists > 0, "small records go through the delta");
    let expected = answers(&small);
    assert_eq!(answers(&bulk), expected);
    assert!(bulk.check().unwrap().is_ok());

    // Replay (no checkpoint was written) goes through the same path and agrees.
    drop(bulk);
    let bulk = Store::open(bulk_dir.path()).unwrap();
    assert_eq!(bulk.recovery_report().replayed, 2);
    assert_eq!(answers(&bulk), expected);
    // Ordinary commits on top of a bulk-built base.
    let mut txn = bulk.write().unwrap();
    txn.delete_node(person(5)).unwrap();
    txn.add_edge(KNOWS, person(6), person(7)).unwrap();
    txn.commit().unwrap();
    assert_eq!(common::neighbors(&bulk, KNOWS, Direction::Out, person(6)), vec![person(7)]);
    assert!(bulk.check().unwrap().is_ok());
}

/// One type, contiguous uids, into an empty store: the rebuild maps uids by offset.
#[test]
fn a_bulk_load_of_contiguous_uids_into_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    // (Over 65,536 names: their several indexes are built on threads of their own.)
    let n: u64 = 70_000;
    let name = |u: u64| Value::String(format!("person {u} group{}", u % 10));
    let targets = |i: u64| -> Vec<u64> {
        let mut t = vec![(i % n) + 1, (i * 7) % n + 1, (i * 7 + 3) % n + 1];
        t.sort_unstable();
        t.dedup();
        t
    };
    let store = Store::open(dir.path()).unwrap();
    let mut txn = store.write().unwrap();
    define(&mut txn);
    for u in 1..=n {
        txn.create_node(PERSON, Some(u)).unwrap();
        txn.set(u, AGE, Value::Int(u as i64)).unwrap();
        txn.set(u, NAME, name(u)).unwrap();
    }
    for u in 1..=n {
        txn.add_edges(KNOWS, u, &targets(u)).unwrap();
    }
    txn.commit().unwrap();
    assert_eq!(store.snapshot().stats().delta_lists, 0, "the bulk record went into the base");
    let dense_of = |store: &Store, us: &[u64]| -> Vec<u32> {
        let snap = store.snapshot();
        let mut ds: Vec<u32> = us.iter().map(|&u| snap.dense(u).unwrap()).collect();
        ds.sort_unstable();
        ds
    };
    let check = |store: &Store| {
        for u in (1..=n).step_by(1999).chain([n]) {
            assert_eq!(neighbors(store, KNOWS, Direction::Out, u), targets(u), "out of {u}");
            let mut inn: Vec<u64> = (1..=n).filter(|&v| targets(v).contains(&u)).collect();
            inn.sort_unstable();
            assert_eq!(neighbors(store, KNOWS, Direction::In, u), inn, "in of {u}");
            let snap = store.snapshot();
            let d = snap.dense(u).unwrap();
            assert_eq!(snap.value(d, AGE).unwrap().map(|v| v.to_value()), Some(Value::Int(u as i64)));
            assert_eq!(snap.lookup_eq(NAME, &name(u)).unwrap(), [d], "name of {u}");
            let mut by_term = snap.search_text(NAME, IndexKind::Term, &u.to_string(), true).unwrap();
            by_term.sort_unstable();
            assert_eq!(by_term, dense_of(store, &[u]), "term {u}");
        }
        let group3: Vec<u64> = (1..=n).filter(|u| u % 10 == 3).collect();
        let mut found = store.snapshot().search_text(NAME, IndexKind::Term, "group3", true).unwrap();
        found.sort_unstable();
        assert_eq!(found, dense_of(store, &group3));
        assert!(store.snapshot().dense(n + 1).is_none());
        assert!(store.check().unwrap().is_ok());
    };
    check(&store);
    store.close().unwrap();
    // Closing wrote one checkpoint, and the last handle's drop did not write another.
    assert_eq!(files_with_extension(dir.path(), "qidx").len(), 1);
    let store = Store::open(dir.path()).unwrap();
    assert!(store.recovery_report().checkpoint.is_some());
    assert_eq!(store.recovery_report().replayed, 0);
    check(&store);
}

/// Edges alone, in several bulk records onto nodes that exist (what a CSV edge import makes),
/// with small commits between them that delete a node, create one whose type sorts before
/// nodes already in the base (so the next rebuild moves numbers out of order) and remove
/// edges: every list is what a plain model says, and values and indexes are kept, before and
/// after a checkpoint and a reopen.
///
/// Reading the in-direction builds it, and a rebuild then keeps both directions up (the general
/// path); left unread between the records, the out-direction alone is merged with each
/// record's additions in one pass.
#[test]
fn bulk_edge_records_merge_into_the_lists_already_held() {
    bulk_edge_records_merge(true);
}

#[test]
fn bulk_edge_records_merge_into_the_out_lists_alone() {
    bulk_edge_records_merge(false);
}

/// `between`: whether the in-direction is read between the records.
fn bulk_edge_records_merge(between: bool) {
    use std::collections::{BTreeMap, BTreeSet};
    let dir = tempfile::tempdir().unwrap();
    // Persons 2..=n+1; the newcomer takes uid 1, so it sorts first among them.
    let n: u64 = 12_000;
    let (newcomer, gone) = (1u64, 17u64);
    let people = || 2..=n + 1;
    let store =
        Store::open_with(dir.path(), Options { checkpoint_on_close: false, ..Options::default() }).unwrap();
    let mut model: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let mut txn = store.write().unwrap();
    define(&mut txn);
    for u in people() {
        txn.create_node(PERSON, Some(u)).unwrap();
        txn.set(u, AGE, Value::Int((u % 90) as i64)).unwrap();
    }
    for o in n + 2..=n + 6 {
        txn.create_node(ORG, Some(o)).unwrap();
        txn.add_edge(STAFF, o, o - n).unwrap();
    }
    txn.commit().unwrap();

    // The newcomer is created after round 0 (and round 3, which comes before it when it runs).
    let created = |round: u64| round == 1 || round == 2;
    let bulk = |store: &Store, model: &mut BTreeMap<u64, BTreeSet<u64>>, round: u64| {
        let mut txn = store.write().unwrap();
        for src in people().chain([newcomer]).filter(|&s| s != gone) {
            let mut dsts: Vec<u64> = (0..9)
                .map(|k| (src * 7919 + k * 104_729 + round * 15_485_863) % n + 2)
                .chain((created(round) && src % 100 == 0).then_some(newcomer))
                .filter(|&t| t != gone)
                .collect();
            dsts.sort_unstable();
            dsts.dedup();
            if !created(round) && src == newcomer {
                continue;
            }
            txn.add_edges(KNOWS, src, &dsts).unwrap();
            model.entry(src).or_default().extend(dsts);
        }
        txn.commit().unwrap();
        assert_eq!(store.snapshot().stats().delta_lists, 0, "round {round} went into the base");
    };
    let check = |store: &Store, model: &BTreeMap<u64, BTreeSet<u64>>, deleted: bool, read_in: bool| {
        let mut inn: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (&s, ts) in model {
            for &t in ts {
                inn.entry(t).or_default().push(s);
            }
        }
        for u in people().chain([newcomer]) {
            let out: Vec<u64> = model.get(&u).map(|s| s.iter().copied().collect()).unwrap_or_default();
            assert_eq!(neighbors(store, KNOWS, Direction::Out, u), out, "out of {u}");
            if read_in {
                assert_eq!(
                    neighbors(store, KNOWS, Direction::In, u),
                    inn.remove(&u).unwrap_or_default(),
                    "in of {u}"
                );
            }
        }
        // Lists are kept sorted by dense number (readers merge and search them).
        let snap = store.snapshot();
        let dirs: &[Direction] = if read_in { &[Direction::Out, Direction::In] } else { &[Direction::Out] };
        for d in 0..snap.dense_len() {
            for &dir in dirs {
                assert!(snap.neighbors(KNOWS, dir, d).is_sorted_by(|a, b| a < b), "{dir:?} list of {d}");
            }
        }
        assert_eq!(snap.dense(gone).is_none(), deleted);
        for u in [2, 89, 90, n + 1] {
            let d = snap.dense(u).unwrap();
            assert_eq!(snap.value(d, AGE).unwrap().map(|v| v.to_value()), Some(Value::Int((u % 90) as i64)));
        }
        let at_89: Vec<u64> = snap
            .range(AGE, Bound::Included(&Value::Int(89)), Bound::Unbounded)
            .unwrap()
            .iter()
            .map(|&d| snap.uid(d))
            .collect();
        assert_eq!(at_89, people().filter(|u| u % 90 == 89).collect::<Vec<_>>());
        for o in n + 2..=n + 6 {
            assert_eq!(neighbors(store, STAFF, Direction::Out, o), vec![o - n]);
            assert_eq!(neighbors(store, ORG_OF, Direction::Out, o - n), vec![o]);
        }
        if read_in {
            // (A check reads both directions.)
            assert!(store.check().unwrap().is_ok());
        }
    };

    bulk(&store, &mut model, 0);
    check(&store, &model, false, between);
    if !between {
        // Onto the lists of the first record, still unread in the in-direction (a deletion
        // reads it: the rounds below keep both directions up).
        bulk(&store, &mut model, 3);
        check(&store, &model, false, false);
    }
    // Between bulk records: a deletion, a Person created after the Orgs (at the next rebuild
    // it sorts before every node of the base) with edges both ways, an edge removed.
    let mut txn = store.write().unwrap();
    txn.delete_node(gone).unwrap();
    model.remove(&gone);
    model.values_mut().for_each(|ts| {
        ts.remove(&gone);
    });
    txn.create_node(PERSON, Some(newcomer)).unwrap();
    txn.set(newcomer, AGE, Value::Int(5)).unwrap();
    txn.add_edges(KNOWS, 5, &[newcomer]).unwrap();
    txn.add_edges(KNOWS, newcomer, &[9]).unwrap();
    model.entry(5).or_default().insert(newcomer);
    model.entry(newcomer).or_default().insert(9);
    let first = *model[&3].iter().next().unwrap();
    txn.remove_edge(KNOWS, 3, first).unwrap();
    model.get_mut(&3).unwrap().remove(&first);
    txn.commit().unwrap();
    check(&store, &model, true, between);
    bulk(&store, &mut model, 1);
    check(&store, &model, true, between);
    bulk(&store, &mut model, 2);
    check(&store, &model, true, between);
    store.checkpoint().unwrap();
    check(&store, &model, true, true);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    check(&store, &model, true, true);
}

/// `add_edges` checks a batch of targets in the base at once: a target of another type, one
/// that does not exist, or one this transaction or an earlier commit deleted is still refused,
/// with the error the per-target check gives.
#[test]
fn a_batch_of_targets_is_refused_for_any_one_that_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut txn = store.write().unwrap();
    define(&mut txn);
    for u in 1..=10 {
        txn.create_node(PERSON, Some(u)).unwrap();
    }
    txn.create_node(ORG, Some(11)).unwrap();
    txn.commit().unwrap();
    store.checkpoint().unwrap();

    let mut txn = store.write().unwrap();
    txn.add_edges(KNOWS, 1, &[2, 3, 10]).unwrap();
    let err = txn.add_edges(KNOWS, 1, &[4, 11]).unwrap_err().to_string();
    assert!(err.contains("node 0xb a Org"), "{err}");
    let err = txn.add_edges(KNOWS, 1, &[4, 12]).unwrap_err().to_string();
    assert!(err.contains("0xc"), "{err}");
    txn.delete_node(5).unwrap();
    assert!(txn.add_edges(KNOWS, 1, &[4, 5]).is_err(), "deleted in this transaction");
    txn.commit().unwrap();

    let mut txn = store.write().unwrap();
    assert!(txn.add_edges(KNOWS, 1, &[4, 5]).is_err(), "deleted by an earlier commit");
    txn.add_edges(KNOWS, 1, &[4, 6]).unwrap();
    txn.commit().unwrap();
    assert_eq!(neighbors(&store, KNOWS, Direction::Out, 1), [2, 3, 4, 6, 10]);
}

/// The steps of every record in the log, in order.
fn logged_ops(dir: &std::path::Path) -> Vec<quiver_engine::Op> {
    let mut ops = Vec::new();
    for seg in files_with_extension(dir, "qlog") {
        let bytes = std::fs::read(seg).unwrap();
        let mut at = quiver_engine::SEGMENT_HEADER;
        while let quiver_engine::FrameRead::Frame { payload, next } = quiver_engine::read_frame(&bytes, at) {
            if let (quiver_engine::LogRecord::Txn { ops: more, .. }, _) =
                quiver_engine::decode_payload(payload).unwrap()
            {
                ops.extend(more);
            }
            at = next;
        }
    }
    ops
}

/// Nodes created in uid order are logged as columns (one step per run and property), in
/// any other order node by node; both give the same answers, applied and replayed.
#[test]
fn nodes_created_in_sequence_are_logged_in_columns_and_answer_alike() {
    use quiver_engine::Op;
    let build = |dir: &std::path::Path, reversed: bool| {
        let store =
            Store::open_with(dir, Options { checkpoint_on_close: false, ..Options::default() }).unwrap();
        let mut txn = store.write().unwrap();
        define(&mut txn);
        for o in 1..=ORGS {
            txn.create_node(ORG, Some(o)).unwrap();
        }
        txn.commit().unwrap();
        // Two batches: the first large (applied by a rebuild), the second small (the delta).
        for range in [0..PEOPLE - 300, PEOPLE - 300..PEOPLE] {
            let mut txn = store.write().unwrap();
            if reversed {
                for i in range.clone().rev() {
                    txn.create_node(PERSON, Some(person(i))).unwrap();
                }
                fill(&mut txn, range);
            } else {
                load(&mut txn, range);
            }
            txn.commit().unwrap();
        }
        store
    };
    let (columns_dir, single_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let columns = build(columns_dir.path(), false);
    let single = build(single_dir.path(), true);
    let expected = answers(&single);
    assert_eq!(answers(&columns), expected);
    assert!(columns.check().unwrap().is_ok());

    let count = |ops: &[Op], what: fn(&Op) -> bool| ops.iter().filter(|op| what(op)).count();
    let ops = logged_ops(columns_dir.path());
    // Per batch: one run of people, one column for names and one for ages; tags (every fifth
    // person) one step each.
    assert_eq!(count(&ops, |op| matches!(op, Op::CreateNodes { ty: PERSON, .. })), 2);
    assert_eq!(count(&ops, |op| matches!(op, Op::SetProps(run) if run.prop == NAME || run.prop == AGE)), 4);
    assert_eq!(count(&ops, |op| matches!(op, Op::CreateNode { ty: PERSON, .. })), 0);
    let ops = logged_ops(single_dir.path());
    assert_eq!(count(&ops, |op| matches!(op, Op::CreateNodes { ty: PERSON, .. } | Op::SetProps(_))), 0);
    // (The organizations, 1..=50, are a run in both.)
    assert_eq!(count(&ops, |op| matches!(op, Op::CreateNodes { first: 1, count: ORGS, ty: ORG })), 1);
    assert_eq!(count(&ops, |op| matches!(op, Op::CreateNode { ty: PERSON, .. })), PEOPLE as usize);

    // Replayed from the log (no checkpoint was written): the same answers.
    drop(columns);
    let columns = Store::open(columns_dir.path()).unwrap();
    assert_eq!(columns.recovery_report().replayed, 3);
    assert_eq!(answers(&columns), expected);
}

/// A bulk record goes into the base even when it is a tenth of what the state holds: through
/// the delta, an import's later batches took ten times as long (see `BULK_SHARE`).
#[test]
fn a_bulk_record_small_next_to_what_is_held_goes_into_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::open_with(dir.path(), Options { checkpoint_on_close: false, ..Options::default() }).unwrap();
    let n = 100_000u64;
    let targets = |u: u64, round: u64| -> Vec<u64> {
        let mut t: Vec<u64> = (0..10).map(|k| (u * 31 + k * 7919 + round * 104_729) % n + 1).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let mut txn = store.write().unwrap();
    define(&mut txn);
    for u in 1..=n {
        txn.create_node(PERSON, Some(u)).unwrap();
    }
    let mut held = n as usize;
    for u in 1..=n {
        let t = targets(u, 0);
        held += t.len();
        txn.add_edges(KNOWS, u, &t).unwrap();
    }
    txn.commit().unwrap();
    // About 100,000 more edges: at least BULK_MIN_WORK, a tenth of what is held.
    let mut txn = store.write().unwrap();
    let mut added = 0;
    for u in 1..=n / 10 + 500 {
        let t = targets(u, 1);
        added += t.len();
        txn.add_edges(KNOWS, u, &t).unwrap();
    }
    txn.commit().unwrap();
    assert!(added >= 100_000 && added * 10 <= held, "{added} added to {held}");
    assert_eq!(store.snapshot().stats().delta_lists, 0, "the record went into the base");
    let mut want = targets(7, 0);
    want.extend(targets(7, 1));
    want.sort_unstable();
    want.dedup();
    assert_eq!(neighbors(&store, KNOWS, Direction::Out, 7), want);
}
