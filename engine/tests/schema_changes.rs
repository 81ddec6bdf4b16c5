//! Catalog changes on a database that holds data: index sets rebuilt, retyping and drops that
//! need `force`, inverses paired after the fact. Each is checked live, after a checkpoint and
//! after a reopen, and `check()` agrees with a replay of the log.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use quiver_engine::{CatalogChange, Direction, Error, IndexKind, IndexSet, ScalarType, Store, Value};

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn people(store: &Store, names: &[&str]) -> Vec<u64> {
    let mut txn = store.write().unwrap();
    let uids = names
        .iter()
        .map(|n| {
            let u = txn.create_node(PERSON, None).unwrap();
            txn.set(u, NAME, s(n)).unwrap();
            txn.set(u, AGE, Value::Int(n.len() as i64)).unwrap();
            u
        })
        .collect();
    txn.commit().unwrap();
    uids
}

/// Runs `verify` now, after a checkpoint, and after a reopen; `check()` each time.
fn everywhere(dir: &std::path::Path, store: Store, verify: impl Fn(&Store)) {
    verify(&store);
    assert!(store.check().unwrap().is_ok());
    store.checkpoint().unwrap();
    verify(&store);
    drop(store);
    let store = Store::open(dir).unwrap();
    verify(&store);
    assert!(store.check().unwrap().is_ok());
}

#[test]
fn index_sets_can_change_on_a_property_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let uids = people(&store, &["ada lovelace", "alan turing"]);
    // Tags has exact only; age gets an equality index too, name loses its trigram index.
    let mut txn = store.write().unwrap();
    txn.alter(CatalogChange::SetIndexes { prop: AGE, indexes: IndexSet::RANGE | IndexSet::HASH }, false)
        .unwrap();
    txn.alter(CatalogChange::SetIndexes { prop: NAME, indexes: IndexSet::UNIQUE | IndexSet::TERM }, false)
        .unwrap();
    txn.commit().unwrap();
    everywhere(dir.path(), store, |store| {
        let snap = store.snapshot();
        let hit = snap.lookup_eq(AGE, &Value::Int(11)).unwrap();
        assert_eq!(hit.iter().map(|&d| snap.uid(d)).collect::<Vec<_>>(), vec![uids[1]]);
        let err = snap.search_text(NAME, IndexKind::Trigram, "ada", true).unwrap_err();
        assert_eq!(err.to_string(), "Person.name has no Trigram index");
        let hit = snap.search_text(NAME, IndexKind::Term, "turing", true).unwrap();
        assert_eq!(hit.iter().map(|&d| snap.uid(d)).collect::<Vec<_>>(), vec![uids[1]]);
    });
}

#[test]
fn retyping_a_property_with_data_needs_force_and_drops_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let uids = people(&store, &["ada"]);
    let retype = CatalogChange::RetypeProperty { prop: AGE, ty: ScalarType::String, list: false };
    let mut txn = store.write().unwrap();
    let err = txn.alter(retype.clone(), false).unwrap_err();
    assert_eq!(err.to_string(), "schema change refused: Person.age holds data; force the change to drop it");
    txn.alter(retype, true).unwrap();
    // In the same transaction the old Int value is gone and only a String is accepted.
    assert_eq!(txn.value(uids[0], AGE).unwrap(), None);
    assert!(txn.set(uids[0], AGE, Value::Int(3)).is_err());
    txn.set(uids[0], AGE, s("thirty-six")).unwrap();
    txn.commit().unwrap();
    everywhere(dir.path(), store, |store| {
        let snap = store.snapshot();
        let d = snap.dense(uids[0]).unwrap();
        assert_eq!(snap.value(d, AGE).unwrap().map(|v| v.to_value()), Some(s("thirty-six")));
        assert_eq!(snap.catalog().property(AGE).unwrap().ty, ScalarType::String);
    });
}

#[test]
fn dropping_a_type_or_an_edge_with_data_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_schema(dir.path());
    let uids = people(&store, &["a", "b"]);
    let mut txn = store.write().unwrap();
    txn.add_edge(KNOWS, uids[0], uids[1]).unwrap();
    let org = txn.create_node(ORG, Some(900)).unwrap();
    txn.add_edge(STAFF, org, uids[0]).unwrap();
    txn.commit().unwrap();

    let mut txn = store.write().unwrap();
    let err = txn.alter(CatalogChange::DropEdge { edge: KNOWS }, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "schema change refused: Person.knows holds data; force the change to drop it"
    );
    txn.alter(CatalogChange::DropEdge { edge: KNOWS }, true).unwrap();
    // Org is pointed to by Person.org: the catalog refuses until that edge goes.
    let err = txn.alter(CatalogChange::DropType { ty: ORG }, true).unwrap_err();
    assert!(matches!(err, Error::Catalog(_)), "{err}");
    txn.alter(CatalogChange::DropEdge { edge: ORG_OF }, true).unwrap();
    let err = txn.alter(CatalogChange::DropType { ty: ORG }, false).unwrap_err();
    assert_eq!(err.to_string(), "schema change refused: Org holds data; force the change to drop it");
    txn.alter(CatalogChange::DropType { ty: ORG }, true).unwrap();
    txn.commit().unwrap();
    everywhere(dir.path(), store, |store| {
        let snap = store.snapshot();
        assert!(snap.node(org).is_none(), "nodes of a dropped type are gone");
        assert!(snap.node(uids[0]).is_some());
        assert!(snap.catalog().edge(KNOWS).is_err());
        assert_eq!(snap.catalog().type_id("Org"), None);
        assert_eq!(snap.node_count(), 2);
    });
    // The name is free for a new type and the uid for a new node.
    let store = Store::open(dir.path()).unwrap();
    let mut txn = store.write().unwrap();
    txn.alter(CatalogChange::AddType { name: "Org".into() }, false).unwrap();
    let ty = txn.catalog().type_id("Org").unwrap();
    assert_eq!(txn.create_node(ty, Some(900)).unwrap(), 900);
    txn.commit().unwrap();
    assert!(store.check().unwrap().is_ok());
}

#[test]
fn pairing_inverses_mirrors_existing_edges() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut txn = store.write().unwrap();
    txn.alter(CatalogChange::AddType { name: "Author".into() }, false).unwrap();
    txn.alter(CatalogChange::AddType { name: "Book".into() }, false).unwrap();
    txn.alter(CatalogChange::AddEdge { source: 0, name: "wrote".into(), target: 1, list: true }, false)
        .unwrap();
    txn.alter(CatalogChange::AddEdge { source: 1, name: "by".into(), target: 0, list: true }, false).unwrap();
    let (a, b1, b2) = (
        txn.create_node(0, None).unwrap(),
        txn.create_node(1, None).unwrap(),
        txn.create_node(1, None).unwrap(),
    );
    txn.add_edge(0, a, b1).unwrap();
    txn.add_edge(1, b2, a).unwrap();
    txn.commit().unwrap();
    let mut txn = store.write().unwrap();
    txn.alter(CatalogChange::SetInverse { a: 0, b: 1 }, false).unwrap();
    txn.commit().unwrap();
    everywhere(dir.path(), store, |store| {
        assert_eq!(neighbors(store, 0, Direction::Out, a), vec![b1, b2]);
        assert_eq!(neighbors(store, 1, Direction::Out, b1), vec![a]);
        assert_eq!(neighbors(store, 1, Direction::Out, b2), vec![a]);
    });
}
