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
        let u = person(i);
        txn.create_node(PERSON, Some(u)).unwrap();
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
    let n: u64 = 40_000;
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
    }
    for u in 1..=n {
        txn.add_edges(KNOWS, u, &targets(u)).unwrap();
    }
    txn.commit().unwrap();
    assert_eq!(store.snapshot().stats().delta_lists, 0, "the bulk record went into the base");
    let check = |store: &Store| {
        for u in (1..=n).step_by(1999).chain([n]) {
            assert_eq!(neighbors(store, KNOWS, Direction::Out, u), targets(u), "out of {u}");
            let mut inn: Vec<u64> = (1..=n).filter(|&v| targets(v).contains(&u)).collect();
            inn.sort_unstable();
            assert_eq!(neighbors(store, KNOWS, Direction::In, u), inn, "in of {u}");
            let snap = store.snapshot();
            let d = snap.dense(u).unwrap();
            assert_eq!(snap.value(d, AGE).unwrap().map(|v| v.to_value()), Some(Value::Int(u as i64)));
        }
        assert!(store.snapshot().dense(n + 1).is_none());
        assert!(store.check().unwrap().is_ok());
    };
    check(&store);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    check(&store);
}
