//! A data directory written by an older format version still opens, answers and checks.
//!
//! `tests/fixtures/format-v1` was written by the build before checkpoint format 2 (its
//! checkpoint holds both directions of every edge type; version 2 keeps only the
//! out-direction and builds the in-direction when first read). It holds the schema in
//! `schema.graphql.txt`, five people and two companies (JSON import), seven `knows` edges (CSV
//! import) and three `worksAt` edges with their `employees` inverses (two mutations), then the
//! checkpoint `quiver` wrote on close. Its log segment is cut after its last record (a segment
//! is preallocated to 64 MiB of zeros; the zeros add nothing).
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use quiver::Database;
use serde_json::Value;

/// The fixture, copied: opening a directory takes its lock and may write to it.
fn fixture_copy() -> tempfile::TempDir {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v1");
    let dir = tempfile::tempdir().unwrap();
    for file in ["CURRENT", "g1-000000000005.qidx", "g1-00000001.qlog"] {
        std::fs::copy(from.join(file), dir.path().join(file)).unwrap();
    }
    dir
}

fn checkpoint_versions(dir: &Path) -> Vec<(String, u32)> {
    versions(dir, "qidx")
}

/// The format version in the header of each file named `*.{extension}`.
fn versions(dir: &Path, extension: &str) -> Vec<(String, u32)> {
    let mut found: Vec<(String, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
            (p.file_name().unwrap().to_string_lossy().into_owned(), version)
        })
        .collect();
    found.sort();
    found
}

const QUERY: &str = r#"{
  queryCompany { name employees { key } }
  queryPerson { key knows { key } worksAt { name } }
  shortestPath(from: "0x7", to: "0x6", via: ["knows"])
}"#;

const ANSWER: &str = concat!(
    r#"{"data":{"queryCompany":[{"name":"Acme","employees":[{"key":1},{"key":2}]},"#,
    r#"{"name":"Globex","employees":[{"key":4}]}],"#,
    r#""queryPerson":[{"key":1,"knows":[{"key":2},{"key":3}],"worksAt":{"name":"Acme"}},"#,
    r#"{"key":2,"knows":[{"key":3},{"key":5}],"worksAt":{"name":"Acme"}},"#,
    r#"{"key":3,"knows":[{"key":4}],"worksAt":null},"#,
    r#"{"key":4,"knows":[{"key":5}],"worksAt":{"name":"Globex"}},"#,
    r#"{"key":5,"knows":[{"key":1}],"worksAt":null}],"#,
    r#""shortestPath":["0x7","0x3","0x5","0x6"]}}"#
);

#[test]
fn a_version_1_directory_opens_from_its_checkpoint_answers_and_checks() {
    let dir = fixture_copy();
    assert_eq!(checkpoint_versions(dir.path()), [("g1-000000000005.qidx".to_string(), 1)]);
    let db = Database::open(dir.path()).unwrap();
    let used = db.store().recovery_report().checkpoint.clone();
    assert_eq!(used, Some(dir.path().join("g1-000000000005.qidx")), "opened from the v1 checkpoint");
    assert_eq!(db.execute(QUERY, &Value::Null).json(), ANSWER);
    let report = db.check().unwrap();
    assert_eq!((report.nodes, report.edges), (7, 13));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_version_1_directory_takes_writes_and_reopens_from_a_version_2_checkpoint() {
    let dir = fixture_copy();
    let db = Database::open(dir.path()).unwrap();
    // Ed (0x7) now knows Di (0x6) directly; a sixth person knows Ada.
    let r = db.execute(
        r#"mutation {
          updatePerson(input: {filter: {key: {eq: 5}}, set: {knows: [{id: "0x6"}]}}) { numUids }
          addPerson(input: [{key: 6, name: "Fa", knows: [{id: "0x3"}]}]) { numUids }
        }"#,
        &Value::Null,
    );
    assert_eq!(r.json(), r#"{"data":{"updatePerson":{"numUids":1},"addPerson":{"numUids":1}}}"#);
    db.close().unwrap();
    // (The mutation is one transaction: commit 6.)
    assert_eq!(checkpoint_versions(dir.path()), [("g1-000000000006.qidx".to_string(), 2)]);
    // The version 1 segment was sealed, not written in: commit 6 began a version 2 segment.
    let v1 = std::fs::read(dir.path().join("g1-00000001.qlog")).unwrap();
    let fixture = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v1/g1-00000001.qlog"),
    )
    .unwrap();
    // (The fixture's file ends in zeros after its records; the sealed one in its seal.)
    let used = fixture.iter().rposition(|&b| b != 0).unwrap() + 1;
    assert!(v1.len() > used, "sealed");
    assert_eq!(&v1[..used], &fixture[..used], "the old segment's records are untouched");
    assert_eq!(
        versions(dir.path(), "qlog"),
        [("g1-00000001.qlog".to_string(), 1), ("g1-00000002.qlog".to_string(), 2)]
    );

    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.store().recovery_report().checkpoint, Some(dir.path().join("g1-000000000006.qidx")));
    let r = db.execute(
        r#"{
          queryPerson(filter: {key: {in: [5, 6]}}) { key knows { key } }
          shortestPath(from: "0x8", to: "0x6", via: ["knows"])
        }"#,
        &Value::Null,
    );
    // The path runs from Fa through Ada and Cy: shortestPath reads the in-direction, built
    // here from the version 2 checkpoint's out-direction.
    assert_eq!(
        r.json(),
        concat!(
            r#"{"data":{"queryPerson":[{"key":5,"knows":[{"key":1},{"key":4}]},{"key":6,"knows":[{"key":1}]}],"#,
            r#""shortestPath":["0x8","0x3","0x5","0x6"]}}"#
        )
    );
    let report = db.check().unwrap();
    assert_eq!((report.nodes, report.edges), (8, 15));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
