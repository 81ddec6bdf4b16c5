//! The engine's behaviour, one capability per test.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::ops::Bound;

use common::*;
use quiver_engine::{CatalogChange, Direction, Error, IndexKind, Options, Store, Value};

fn s(x: &str) -> Value {
    Value::String(x.into())
}

#[test]
fn nodes_props_and_edges_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b);
    {
        let store = open_with_schema(dir.path());
        let mut txn = store.write().unwrap();
        a = txn.create_node(PERSON, None).unwrap();
        b = txn.create_node(PERSON, Some(0x28caba09)).unwrap();
        txn.set(a, NAME, s("Ada")).unwrap();
        txn.set(a, AGE, Value::Int(36)).unwrap();
        txn.set(b, TAGS, Value::List(vec![s("x"), s("y"), s("x")])).unwrap();
        txn.add_edge(KNOWS, a, b).unwrap();
        txn.add_edge(KNOWS, b, a).unwrap();
        txn.commit().unwrap();
        store.close().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(store.recovery_report().checkpoint.is_some(), "close writes a checkpoint");
    let snap = store.snapshot();
    let da = snap.dense(a).unwrap();
    assert_eq!(snap.value(da, NAME).unwrap().unwrap().to_value(), s("Ada"));
    assert_eq!(snap.value(da, AGE).unwrap().unwrap().to_value(), Value::Int(36));
    let db = snap.dense(b).unwrap();
    assert_eq!(snap.value(db, TAGS).unwrap().unwrap().to_value(), Value::List(vec![s("x"), s("y"), s("x")]));
    assert_eq!(neighbors(&store, KNOWS, Direction::Out, a), vec![0x28caba09]);
    assert_eq!(neighbors(&store, KNOWS, Direction::In, a), vec![0x28caba09]);
    // Fresh uids go above every uid seen.
    let mut txn = store.write().unwrap();
    assert_eq!(txn.create_node(PERSON, None).unwrap(), 0x28caba0a);
}

#[test]
fn unique_values_are_enforced_and_released() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let a = txn.create_node(PERSON, None).unwrap();
    let b = txn.create_node(PERSON, None).unwrap();
    txn.set(a, NAME, s("Ada")).unwrap();
    let err = txn.set(b, NAME, s("Ada")).unwrap_err();
    assert_eq!(err.to_string(), format!("Person.name = \"Ada\" is already taken by node {a:#x}"));
    // A node created here gives up a key it took here, to another node, and a removed key too.
    let c = txn.create_node(PERSON, None).unwrap();
    txn.set(c, NAME, s("Cy")).unwrap();
    txn.set(c, NAME, s("Cyd")).unwrap();
    txn.set(b, NAME, s("Cy")).unwrap();
    let d = txn.create_node(PERSON, None).unwrap();
    txn.set(d, NAME, s("Dee")).unwrap();
    txn.remove(d, NAME).unwrap();
    let e = txn.create_node(PERSON, None).unwrap();
    txn.set(e, NAME, s("Dee")).unwrap();
    txn.commit().unwrap();
    let snap = store.snapshot();
    let holder =
        |name: &str| snap.lookup_eq(NAME, &s(name)).unwrap().iter().map(|&d| snap.uid(d)).collect::<Vec<_>>();
    assert_eq!((holder("Cy"), holder("Cyd"), holder("Dee")), (vec![b], vec![c], vec![e]));

    let mut txn = store.write().unwrap();
    assert!(matches!(txn.set(b, NAME, s("Ada")), Err(Error::UniqueViolation { holder, .. }) if holder == a));
    txn.set(a, NAME, s("Ada Lovelace")).unwrap();
    txn.set(b, NAME, s("Ada")).unwrap();
    txn.commit().unwrap();
    let snap = store.snapshot();
    assert_eq!(snap.lookup_eq(NAME, &s("Ada")).unwrap(), vec![snap.dense(b).unwrap()]);
    assert_eq!(snap.lookup_eq(NAME, &s("Ada Lovelace")).unwrap(), vec![snap.dense(a).unwrap()]);
}

#[test]
fn inverse_and_singular_edges_are_kept_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let (p, q) = (txn.create_node(PERSON, None).unwrap(), txn.create_node(PERSON, None).unwrap());
    let (o1, o2) = (txn.create_node(ORG, None).unwrap(), txn.create_node(ORG, None).unwrap());
    txn.add_edge(STAFF, o1, p).unwrap();
    txn.add_edge(ORG_OF, q, o1).unwrap();
    txn.commit().unwrap();
    assert_eq!(neighbors(&store, STAFF, Direction::Out, o1), vec![p, q]);
    assert_eq!(neighbors(&store, ORG_OF, Direction::Out, p), vec![o1]);
    assert_eq!(neighbors(&store, ORG_OF, Direction::Out, q), vec![o1]);

    // p moves to o2: its singular org is replaced, and o1 loses it from staff.
    let mut txn = store.write().unwrap();
    txn.add_edge(STAFF, o2, p).unwrap();
    txn.add_edge(BEST, p, q).unwrap();
    txn.add_edge(BEST, p, p).unwrap();
    txn.commit().unwrap();
    assert_eq!(neighbors(&store, ORG_OF, Direction::Out, p), vec![o2]);
    assert_eq!(neighbors(&store, STAFF, Direction::Out, o1), vec![q]);
    assert_eq!(neighbors(&store, STAFF, Direction::Out, o2), vec![p]);
    assert_eq!(neighbors(&store, BEST, Direction::Out, p), vec![p]);
    assert_eq!(neighbors(&store, BEST, Direction::In, q), Vec::<u64>::new());

    let mut txn = store.write().unwrap();
    txn.remove_edge(ORG_OF, q, o1).unwrap();
    txn.commit().unwrap();
    assert_eq!(neighbors(&store, STAFF, Direction::Out, o1), Vec::<u64>::new());
}

#[test]
fn deleting_a_node_removes_every_edge_to_and_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let a = txn.create_node(PERSON, None).unwrap();
    let b = txn.create_node(PERSON, None).unwrap();
    let o = txn.create_node(ORG, None).unwrap();
    txn.set(b, NAME, s("Bob")).unwrap();
    txn.add_edge(KNOWS, a, b).unwrap();
    txn.add_edge(KNOWS, b, a).unwrap();
    txn.add_edge(KNOWS, b, b).unwrap();
    txn.add_edge(STAFF, o, b).unwrap();
    txn.commit().unwrap();
    store.checkpoint().unwrap();

    let mut txn = store.write().unwrap();
    txn.delete_node(b).unwrap();
    assert_eq!(txn.neighbors(KNOWS, Direction::Out, a).unwrap(), Vec::<u64>::new());
    txn.commit().unwrap();
    let snap = store.snapshot();
    assert!(snap.node(b).is_none());
    assert_eq!(neighbors(&store, KNOWS, Direction::Out, a), Vec::<u64>::new());
    assert_eq!(neighbors(&store, KNOWS, Direction::In, a), Vec::<u64>::new());
    assert_eq!(neighbors(&store, STAFF, Direction::Out, o), Vec::<u64>::new());
    assert!(snap.lookup_eq(NAME, &s("Bob")).unwrap().is_empty());
    // The name is free again.
    let mut txn = store.write().unwrap();
    let c = txn.create_node(PERSON, None).unwrap();
    txn.set(c, NAME, s("Bob")).unwrap();
    txn.commit().unwrap();
    assert!(store.check().unwrap().is_ok());
}

#[test]
fn rollback_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let seq = store.snapshot().seq();
    let mut txn = store.write().unwrap();
    let a = txn.create_node(PERSON, None).unwrap();
    txn.set(a, NAME, s("Ghost")).unwrap();
    txn.rollback();
    let snap = store.snapshot();
    assert_eq!(snap.seq(), seq);
    assert!(snap.node(a).is_none());
    assert!(snap.lookup_eq(NAME, &s("Ghost")).unwrap().is_empty());
}

#[test]
fn snapshots_do_not_move() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let a = txn.create_node(PERSON, None).unwrap();
    txn.set(a, AGE, Value::Int(1)).unwrap();
    txn.commit().unwrap();
    let before = store.snapshot();
    let mut txn = store.write().unwrap();
    txn.set(a, AGE, Value::Int(2)).unwrap();
    let b = txn.create_node(PERSON, None).unwrap();
    txn.add_edge(KNOWS, a, b).unwrap();
    txn.commit().unwrap();
    store.checkpoint().unwrap();
    store.compact().unwrap();
    let da = before.dense(a).unwrap();
    assert_eq!(before.value(da, AGE).unwrap().unwrap().to_value(), Value::Int(1));
    assert!(before.node(b).is_none());
    assert!(before.neighbors(KNOWS, Direction::Out, da).is_empty());
    let now = store.snapshot();
    let da = now.dense(a).unwrap();
    assert_eq!(now.value(da, AGE).unwrap().unwrap().to_value(), Value::Int(2));
}

#[test]
fn secondary_indexes_answer_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let people = [("Ada Lovelace", 36, "math"), ("Alan Turing", 41, "code"), ("Grace Hopper", 85, "code")];
    let mut uids = vec![];
    for (name, age, tag) in people {
        let u = txn.create_node(PERSON, None).unwrap();
        txn.set(u, NAME, s(name)).unwrap();
        txn.set(u, AGE, Value::Int(age)).unwrap();
        txn.set(u, TAGS, Value::List(vec![s(tag), s("people")])).unwrap();
        uids.push(u);
    }
    txn.commit().unwrap();
    for round in 0..2 {
        let snap = store.snapshot();
        let names = |ds: Vec<u32>| -> Vec<u64> { ds.into_iter().map(|d| snap.uid(d)).collect() };
        let r = snap.range(AGE, Bound::Included(&Value::Int(40)), Bound::Unbounded).unwrap();
        assert_eq!(names(r), vec![uids[1], uids[2]], "round {round}");
        let r = snap.range(AGE, Bound::Unbounded, Bound::Excluded(&Value::Int(41))).unwrap();
        assert_eq!(names(r), vec![uids[0]]);
        let r = snap.lookup_eq(TAGS, &s("code")).unwrap();
        assert_eq!(names(r), vec![uids[1], uids[2]]);
        let r = snap.search_text(NAME, IndexKind::Term, "alan GRACE", false).unwrap();
        assert_eq!(names(r), vec![uids[1], uids[2]]);
        let r = snap.search_text(NAME, IndexKind::Term, "alan GRACE", true).unwrap();
        assert!(r.is_empty());
        let r = snap.search_text(NAME, IndexKind::Fulltext, "the hoppers", true).unwrap();
        assert_eq!(names(r), vec![uids[2]]);
        let r = snap.search_text(NAME, IndexKind::Trigram, "ring", true).unwrap();
        assert_eq!(names(r), vec![uids[1]]);
        let err = snap.range(NAME, Bound::Unbounded, Bound::Unbounded).unwrap_err();
        assert_eq!(err.to_string(), "Person.name has no Order index");
        store.checkpoint().unwrap();
    }
}

#[test]
fn catalog_drops_need_force_when_data_exists() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let a = txn.create_node(PERSON, None).unwrap();
    txn.set(a, AGE, Value::Int(3)).unwrap();
    txn.commit().unwrap();

    let mut txn = store.write().unwrap();
    let err = txn.alter(CatalogChange::DropProperty { prop: AGE }, false).unwrap_err();
    assert_eq!(err.to_string(), "schema change refused: Person.age holds data; force the change to drop it");
    // Dropping an empty one is fine.
    txn.alter(CatalogChange::DropProperty { prop: TAGS }, false).unwrap();
    txn.alter(CatalogChange::DropProperty { prop: AGE }, true).unwrap();
    txn.alter(
        CatalogChange::AddProperty {
            owner: PERSON,
            name: "age".into(),
            ty: quiver_engine::ScalarType::String,
            list: false,
            indexes: quiver_engine::IndexSet::NONE,
        },
        false,
    )
    .unwrap();
    txn.commit().unwrap();
    let snap = store.snapshot();
    let new_age = snap.catalog().property_id(PERSON, "age").unwrap();
    assert_ne!(new_age, AGE);
    assert!(snap.value(snap.dense(a).unwrap(), new_age).unwrap().is_none());
    assert!(store.check().unwrap().is_ok());
}

#[test]
fn wrong_types_and_missing_nodes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let p = txn.create_node(PERSON, None).unwrap();
    let o = txn.create_node(ORG, None).unwrap();
    assert_eq!(
        txn.set(p, AGE, s("old")).unwrap_err().to_string(),
        "Person.age holds Int, not a String value"
    );
    assert_eq!(
        txn.set(o, AGE, Value::Int(1)).unwrap_err().to_string(),
        format!("Person.age is not a field of node {o:#x}, which is a Org")
    );
    assert_eq!(
        txn.add_edge(KNOWS, p, o).unwrap_err().to_string(),
        format!("Person.knows goes from Person to Person; node {p:#x} is a Person and node {o:#x} a Org")
    );
    assert!(matches!(txn.add_edge(KNOWS, p, 999), Err(Error::NoSuchNode { uid: 999 })));
    assert!(matches!(txn.create_node(PERSON, Some(p)), Err(Error::NodeExists { .. })));
    assert!(txn.create_node(PERSON, Some(0)).is_err());
}

#[test]
fn a_second_open_is_refused_by_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
}

#[test]
fn compaction_returns_space_and_keeps_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut uids = vec![];
    for round in 0..20 {
        let mut txn = store.write().unwrap();
        if round == 0 {
            for _ in 0..50 {
                uids.push(txn.create_node(PERSON, None).unwrap());
            }
        }
        for (i, &u) in uids.iter().enumerate() {
            txn.set(u, AGE, Value::Int(round * 100 + i as i64)).unwrap();
            txn.set(u, NAME, s(&format!("person {i} round {round} {}", "x".repeat(100)))).unwrap();
        }
        txn.add_edge(KNOWS, uids[round as usize], uids[round as usize + 1]).unwrap();
        txn.commit().unwrap();
    }
    let mut txn = store.write().unwrap();
    txn.delete_node(uids[5]).unwrap();
    txn.commit().unwrap();
    let before = dir_bytes(dir.path());
    let r = store.compact().unwrap();
    assert!(r.bytes_after < r.bytes_before / 5, "{r:?}");
    assert!(dir_bytes(dir.path()) < before);
    assert!(store.check().unwrap().is_ok());
    let mut txn = store.write().unwrap();
    let fresh = txn.create_node(PERSON, None).unwrap();
    assert!(fresh > *uids.last().unwrap(), "uids are never reused");
    txn.add_edge(KNOWS, fresh, uids[0]).unwrap();
    txn.commit().unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(neighbors(&store, KNOWS, Direction::In, uids[0]), vec![fresh]);
    assert_eq!(neighbors(&store, KNOWS, Direction::Out, uids[4]), Vec::<u64>::new());
    let snap = store.snapshot();
    let d = snap.dense(uids[7]).unwrap();
    assert_eq!(snap.value(d, AGE).unwrap().unwrap().to_value(), Value::Int(1907));
    assert!(store.check().unwrap().is_ok());
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().metadata().unwrap().blocks() * 512).sum()
}

#[test]
fn segments_roll_and_replay_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let opts =
        || quiver_engine::Options { segment_size: 1024, checkpoint_on_close: false, ..Default::default() };
    let mut uids = vec![];
    {
        let store = Store::open_with(dir.path(), opts()).unwrap();
        let mut txn = store.write().unwrap();
        define(&mut txn);
        txn.commit().unwrap();
        for i in 0..200 {
            let mut txn = store.write().unwrap();
            let u = txn.create_node(PERSON, None).unwrap();
            txn.set(u, NAME, s(&format!("n{i}"))).unwrap();
            if let Some(&prev) = uids.last() {
                txn.add_edge(KNOWS, u, prev).unwrap();
            }
            uids.push(u);
            txn.commit().unwrap();
        }
    }
    let segs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_str().unwrap().ends_with(".qlog"));
    let n = segs.count();
    assert!(n > 3, "{n} segments");
    let store = Store::open_with(dir.path(), opts()).unwrap();
    assert_eq!(store.recovery_report().replayed, 201);
    let snap = store.snapshot();
    for (i, &u) in uids.iter().enumerate() {
        let d = snap.dense(u).unwrap();
        assert_eq!(snap.value(d, NAME).unwrap().unwrap().to_value(), s(&format!("n{i}")));
    }
    assert_eq!(neighbors(&store, KNOWS, Direction::Out, uids[150]), vec![uids[149]]);
    assert!(store.check().unwrap().is_ok());
}

#[test]
fn reads_inside_a_transaction_see_edges_added_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let (a, b) = (txn.create_node(PERSON, None).unwrap(), txn.create_node(PERSON, None).unwrap());
    txn.add_edge(KNOWS, a, a).unwrap();
    assert_eq!(txn.neighbors(KNOWS, Direction::Out, a).unwrap(), vec![a]);
    txn.add_edge(KNOWS, a, b).unwrap();
    assert_eq!(txn.neighbors(KNOWS, Direction::Out, a).unwrap(), vec![a, b]);
    assert_eq!(txn.neighbors(KNOWS, Direction::In, b).unwrap(), vec![a]);
    txn.commit().unwrap();
    assert_eq!(neighbors(&store, KNOWS, Direction::Out, a), vec![a, b]);
}

#[test]
fn add_edges_checks_like_add_edge() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let mut txn = store.write().unwrap();
    let p: Vec<u64> = (0..4).map(|_| txn.create_node(PERSON, None).unwrap()).collect();
    let o = txn.create_node(ORG, None).unwrap();
    txn.add_edges(KNOWS, p[0], &[p[1], p[2], p[1]]).unwrap();
    let err = txn.add_edges(KNOWS, p[0], &[p[3], o]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Person.knows goes from Person to Person; node {:#x} is a Person and node {o:#x} a Org",
            p[0]
        )
    );
    assert!(matches!(txn.add_edges(KNOWS, 4242, &[p[1]]), Err(Error::NoSuchNode { uid: 4242 })));
    // Edges with an inverse go through add_edge, inverse included.
    txn.add_edges(STAFF, o, &[p[0], p[1]]).unwrap();
    assert_eq!(txn.neighbors(ORG_OF, Direction::Out, p[1]).unwrap(), vec![o]);
    txn.commit().unwrap();
    // A refused call changes nothing: p[3] was not added.
    assert_eq!(neighbors(&store, KNOWS, Direction::Out, p[0]), vec![p[1], p[2]]);
}

/// Automatic checkpoints wait while a bulk load is under way and the guard's drop makes the
/// one that is due; without a guard each due commit checkpoints.
#[test]
fn automatic_checkpoints_wait_for_a_bulk_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), Options { checkpoint_bytes: 1, ..Options::default() }).unwrap();
    let add = |i: u64| {
        let mut txn = store.write().unwrap();
        txn.create_node(PERSON, Some(1000 + i)).unwrap();
        txn.commit().unwrap();
    };
    let mut txn = store.write().unwrap();
    define(&mut txn);
    txn.commit().unwrap();
    add(0);
    assert_eq!(store.snapshot().stats().log_bytes_since_checkpoint, 0, "each commit is due");
    {
        let _load = store.bulk_load();
        let nested = store.bulk_load();
        for i in 1..4 {
            add(i);
        }
        drop(nested);
        add(4);
        assert!(store.snapshot().stats().log_bytes_since_checkpoint > 0, "waiting for the load");
        assert!(store.snapshot().stats().delta_lists == 0 && store.snapshot().node_count() == 5);
    }
    assert_eq!(store.snapshot().stats().log_bytes_since_checkpoint, 0, "made when the load ended");
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!((store.recovery_report().replayed, store.snapshot().node_count()), (0, 5));
}

/// A checkpoint keeps the out-direction only; the first read of the in-direction builds it,
/// and snapshots say whether it is held.
#[test]
fn the_in_direction_is_held_once_read() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_with_schema(dir.path());
        let mut txn = store.write().unwrap();
        let a = txn.create_node(PERSON, None).unwrap();
        let b = txn.create_node(PERSON, None).unwrap();
        txn.add_edge(KNOWS, a, b).unwrap();
        txn.commit().unwrap();
        store.checkpoint().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let snap = store.snapshot();
    assert!(!snap.holds_in_direction(KNOWS));
    assert_eq!(snap.adjacency(KNOWS, Direction::Out).neighbors(0), [1]);
    assert!(!snap.holds_in_direction(KNOWS), "reading the out-direction builds nothing");
    assert_eq!(snap.adjacency(KNOWS, Direction::In).neighbors(1), [0]);
    assert!(snap.holds_in_direction(KNOWS));
    assert!(store.snapshot().holds_in_direction(KNOWS), "later snapshots share the base");
    assert!(!snap.holds_in_direction(STAFF) && !snap.holds_in_direction(99));
}
