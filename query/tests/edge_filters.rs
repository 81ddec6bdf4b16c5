#![allow(clippy::unwrap_used, missing_docs)]
//! Filters on an edge of a node with many neighbours go through the index once per level;
//! the answers must be those of testing every neighbour.

mod common;

use quiver_query::Database;
use serde_json::{Value, json};

fn hub() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&common::fixture("people.graphql")).unwrap();
    let people: Vec<Value> = (0..3000u64)
        .map(|i| {
            let mut p = json!({"id": format!("{:#x}", 0x100 + i), "name": format!("p{i}"), "age": i % 50});
            if i % 7 == 0 {
                p["nick"] = json!(format!("n{}", i % 3));
            }
            p
        })
        .collect();
    let knows: Vec<Value> =
        (0..3000u64).filter(|i| i % 3 != 1).map(|i| json!({"id": format!("{:#x}", 0x100 + i)})).collect();
    let mut all = vec![json!({"id": "0x1", "name": "hub", "knows": knows})];
    all.extend(people);
    db.import_json("hub.json", &json!({"Person": all}).to_string()).unwrap();
    (dir, db)
}

fn ids(db: &Database, filter: &str) -> Vec<u64> {
    let r = db.execute(
        &format!("{{ getPerson(id: \"0x1\") {{ knows(filter: {filter}) {{ id }} }} }}"),
        &Value::Null,
    );
    let v: Value = serde_json::from_str(r.json()).unwrap();
    v["data"]["getPerson"]["knows"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.json()))
        .iter()
        .map(|x| u64::from_str_radix(&x["id"].as_str().unwrap()[2..], 16).unwrap())
        .collect()
}

fn expect(pred: impl Fn(u64) -> bool) -> Vec<u64> {
    (0..3000u64).filter(|i| i % 3 != 1 && pred(*i)).map(|i| 0x100 + i).collect()
}

#[test]
fn indexed_edge_filters_match_testing_each_neighbour() {
    let (_d, db) = hub();
    assert_eq!(ids(&db, "{age: {ge: 45}}"), expect(|i| i % 50 >= 45));
    assert_eq!(ids(&db, "{age: {eq: 7}}"), expect(|i| i % 50 == 7));
    assert_eq!(ids(&db, "{nick: {eq: \"n2\"}}"), expect(|i| i % 7 == 0 && i % 3 == 2));
    assert_eq!(
        ids(&db, "{nick: {in: [\"n0\", \"n2\"]}, age: {lt: 10}}"),
        expect(|i| i % 7 == 0 && i % 3 != 1 && i % 50 < 10)
    );
    assert_eq!(
        ids(&db, "{or: [{age: {eq: 1}}, {nick: {eq: \"n0\"}}]}"),
        expect(|i| i % 50 == 1 || (i % 7 == 0 && i % 3 == 0))
    );
    // Not answerable by an index: every neighbour is tested.
    assert_eq!(ids(&db, "{not: {age: {ge: 2}}}"), expect(|i| i % 50 < 2));
    assert_eq!(ids(&db, "{has: [nick], age: {le: 3}}"), expect(|i| i % 7 == 0 && i % 50 <= 3));
    // Ordering (as strings: p999, p99, p899...) and pagination still apply after the filter.
    let r = db.execute("{ getPerson(id: \"0x1\") { knows(filter: {age: {eq: 49}}, order: {desc: name}, first: 2, offset: 1) { name } } }", &Value::Null);
    assert_eq!(r.json(), r#"{"data":{"getPerson":{"knows":[{"name":"p99"},{"name":"p899"}]}}}"#);
}
