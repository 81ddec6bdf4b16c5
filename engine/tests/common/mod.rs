//! Shared fixtures for the engine's integration tests.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use quiver_engine::{CatalogChange, EdgeId, IndexSet, PropId, ScalarType, Store, TypeId, WriteTxn};

/// Ids of the test schema, in the order `define` creates them.
pub const PERSON: TypeId = 0;
pub const ORG: TypeId = 1;
pub const NAME: PropId = 0; // Person.name: String @id, term, fulltext, trigram
pub const AGE: PropId = 1; // Person.age: Int, range
pub const TAGS: PropId = 2; // Person.tags: [String], exact
pub const TITLE: PropId = 3; // Org.title: String, hash
pub const KNOWS: EdgeId = 0; // Person.knows: [Person]
pub const BEST: EdgeId = 1; // Person.best: Person (singular)
pub const STAFF: EdgeId = 2; // Org.staff: [Person] @hasInverse(field: org)
pub const ORG_OF: EdgeId = 3; // Person.org: Org (singular)

pub fn define(txn: &mut WriteTxn<'_>) {
    let changes = [
        CatalogChange::AddType { name: "Person".into() },
        CatalogChange::AddType { name: "Org".into() },
        CatalogChange::AddProperty {
            owner: PERSON,
            name: "name".into(),
            ty: ScalarType::String,
            list: false,
            indexes: IndexSet::UNIQUE | IndexSet::TERM | IndexSet::FULLTEXT | IndexSet::TRIGRAM,
        },
        CatalogChange::AddProperty {
            owner: PERSON,
            name: "age".into(),
            ty: ScalarType::Int,
            list: false,
            indexes: IndexSet::RANGE,
        },
        CatalogChange::AddProperty {
            owner: PERSON,
            name: "tags".into(),
            ty: ScalarType::String,
            list: true,
            indexes: IndexSet::EXACT,
        },
        CatalogChange::AddProperty {
            owner: ORG,
            name: "title".into(),
            ty: ScalarType::String,
            list: false,
            indexes: IndexSet::HASH,
        },
        CatalogChange::AddEdge { source: PERSON, name: "knows".into(), target: PERSON, list: true },
        CatalogChange::AddEdge { source: PERSON, name: "best".into(), target: PERSON, list: false },
        CatalogChange::AddEdge { source: ORG, name: "staff".into(), target: PERSON, list: true },
        CatalogChange::AddEdge { source: PERSON, name: "org".into(), target: ORG, list: false },
        CatalogChange::SetInverse { a: STAFF, b: ORG_OF },
    ];
    for c in changes {
        txn.alter(c, false).expect("schema");
    }
}

pub fn open_with_schema(dir: &std::path::Path) -> Store {
    let store = Store::open(dir).expect("open");
    if store.snapshot().catalog().types.is_empty() {
        let mut txn = store.write().expect("write");
        define(&mut txn);
        txn.commit().expect("commit schema");
    }
    store
}

/// Uids of the neighbors of `uid`, sorted.
pub fn neighbors(store: &Store, edge: EdgeId, dir: quiver_engine::Direction, uid: u64) -> Vec<u64> {
    let snap = store.snapshot();
    let Some(d) = snap.dense(uid) else { return vec![] };
    let mut v: Vec<u64> = snap.neighbors(edge, dir, d).iter().map(|&t| snap.uid(t)).collect();
    v.sort_unstable();
    v
}

/// The files of `dir` named `*.{extension}` (`qlog` segments, `qidx` checkpoints), sorted.
pub fn files_with_extension(dir: &std::path::Path, extension: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .collect();
    files.sort();
    files
}
