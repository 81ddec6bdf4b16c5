#![allow(clippy::unwrap_used, missing_docs)]
//! JSON and NDJSON import: uids, references in any order, and each kind of bad record, which
//! names file, line and field and leaves nothing of its batch behind.

mod common;

use quiver_query::{Database, ImportReport};
use serde_json::Value;

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&common::fixture("people.graphql")).unwrap();
    (dir, db)
}

fn q(db: &Database, query: &str) -> String {
    db.execute(query, &Value::Null).json().to_string()
}

#[test]
fn references_in_any_order_and_fresh_uids_above_the_file() {
    let (_d, db) = db();
    let text = r#"{
  "Person": [
    {"name": "Fresh One", "knows": [{"id": "0x20"}, {"name": "Fresh Two"}], "employer": {"id": "0x30"}},
    {"id": "0x20", "name": "Later", "knows": [{"id": "0x5"}]},
    {"id": "0x5", "name": "Five"}
  ],
  "Company": [{"id": "0x30", "name": "Co", "code": 1}]
}"#;
    let r = db.import_json("a.json", text).unwrap();
    assert_eq!(r, ImportReport { nodes: 5, edges: 4, batches: 1 });
    // Fresh uids start above 0x30, the largest in the file, in document order.
    assert_eq!(
        q(&db, "{ queryPerson { id name knows { id } employer { id staff { id } } } }"),
        r#"{"data":{"queryPerson":[{"id":"0x5","name":"Five","knows":[],"employer":null},{"id":"0x20","name":"Later","knows":[{"id":"0x5"}],"employer":null},{"id":"0x31","name":"Fresh One","knows":[{"id":"0x20"},{"id":"0x32"}],"employer":{"id":"0x30","staff":[{"id":"0x31"}]}},{"id":"0x32","name":"Fresh Two","knows":[],"employer":null}]}}"#
    );
    // A second import references what is stored, and allocates above it.
    db.import_json("b.json", r#"{"Person": [{"name": "Next", "knows": [{"id": "0x5"}]}]}"#).unwrap();
    assert_eq!(
        q(&db, r#"{ queryPerson(filter: {name: {eq: "Next"}}) { id knows { name } } }"#),
        r#"{"data":{"queryPerson":[{"id":"0x33","knows":[{"name":"Five"}]}]}}"#
    );
}

#[test]
fn ndjson_streams_with_typename() {
    let (_d, db) = db();
    let text = "{\"__typename\": \"Person\", \"id\": \"0x1\", \"name\": \"A\", \"knows\": [{\"id\": \"0x2\"}]}\n\n{\"__typename\": \"Person\", \"id\": \"0x2\", \"name\": \"B\", \"tags\": \"one\"}\n";
    let r = db.import_ndjson("p.ndjson", text).unwrap();
    assert_eq!(r, ImportReport { nodes: 2, edges: 1, batches: 1 });
    assert_eq!(
        q(&db, "{ queryPerson { id knows { name tags } } }"),
        r#"{"data":{"queryPerson":[{"id":"0x1","knows":[{"name":"B","tags":["one"]}]},{"id":"0x2","knows":[]}]}}"#
    );
}

#[test]
fn import_file_picks_the_format_by_extension() {
    let (d, db) = db();
    let path = d.path().join("x.jsonl");
    std::fs::write(&path, "{\"__typename\": \"Company\", \"name\": \"C\", \"code\": 3}\n").unwrap();
    assert_eq!(db.import_file(&path).unwrap().nodes, 1);
    let e = db.import_file(&d.path().join("missing.json")).unwrap_err();
    assert!(e.to_string().ends_with("missing.json: No such file or directory (os error 2)"), "{e}");
}

fn refused(text: &str) -> String {
    let (_d, db) = db();
    db.import_json("good.json", r#"{"Company": [{"id": "0x9", "name": "Kept", "code": 1}]}"#).unwrap();
    let before = q(&db, "{ queryPerson { id } queryCompany { id name } }");
    let e = db.import_json("bad.json", text).unwrap_err().to_string();
    assert_eq!(
        q(&db, "{ queryPerson { id } queryCompany { id name } }"),
        before,
        "a failed batch left something behind"
    );
    e
}

#[test]
fn bad_records_name_file_line_and_field_and_apply_nothing() {
    let cases = [
        (
            "{\"Person\": [\n  {\"name\": \"x\",}\n]}",
            "bad.json:2: -: bad JSON: trailing comma at line 2 column 16",
        ),
        ("{\"Robot\": [{\"name\": \"x\"}]}", "bad.json:1: Robot: unknown type Robot"),
        (
            "{\"Person\": [\n  {\"name\": \"ok\"},\n  {\"name\": \"x\", \"height\": 3}\n]}",
            "bad.json:3: Person.height: Person has no field height",
        ),
        (
            "{\"Person\": [\n  {\"name\": \"x\", \"age\": \"old\"}\n]}",
            "bad.json:2: Person.age: expected Int, found \"old\"",
        ),
        (
            "{\"Person\": [{\"name\": \"x\", \"age\": 1.5}]}",
            "bad.json:1: Person.age: expected Int, found 1.5",
        ),
        (
            "{\"Person\": [{\"name\": \"x\", \"born\": \"soon\"}]}",
            "bad.json:1: Person.born: expected DateTime, found \"soon\"",
        ),
        (
            "{\"Person\": [{\"name\": \"x\", \"tier\": \"TIN\"}]}",
            "bad.json:1: Person.tier: \"TIN\" is not a value of enum Tier",
        ),
        (
            "{\"Person\": [{\"name\": \"x\", \"knows\": [{\"id\": \"0x77\"}]}]}",
            "bad.json:1: Person.knows[0]: dangling reference: no node 0x77 in the database or the file",
        ),
        (
            "{\"Person\": [{\"name\": \"x\", \"employer\": {\"id\": \"0x9\", \"name\": \"Renamed\"}, \"knows\": [{\"id\": \"zz\"}]}]}",
            "bad.json:1: Person.knows[0].id: \"zz\" is not a uid such as \"0x2a\"",
        ),
        (
            "{\"Person\": [{\"name\": \"x\", \"employer\": [{\"id\": \"0x9\"}]}]}",
            "bad.json:1: Person.employer: expected one object, found a list",
        ),
        (
            "{\"Person\": [{\"id\": \"0x9\", \"name\": \"x\"}]}",
            "bad.json:1: Person: 0x9 is a Company, not a Person",
        ),
        ("{\"Person\": [{\"age\": 3}]}", "bad.json:1: Person.name: required field name is missing"),
        (
            "{\"Person\": [{\"name\": \"x\", \"email\": \"a@b\"}, {\"name\": \"y\", \"email\": \"a@b\"}]}",
            "bad.json:1: Person.email:",
        ),
        ("{\"Person\": {\"name\": \"x\"}}", "bad.json:1: Person: each type maps to an array of objects"),
        (
            "{\"Named\": [{\"name\": \"x\"}]}",
            "bad.json:1: Named: Named is an interface: say which type with \"__typename\"",
        ),
    ];
    for (text, want) in cases {
        let got = refused(text);
        assert!(got.starts_with(want), "for {text}\n  want {want}\n  got  {got}");
    }
}

#[test]
fn interface_records_take_typename() {
    let (_d, db) = db();
    db.import_json("n.json", r#"{"Named": [{"__typename": "Company", "name": "C", "code": 4}, {"__typename": "Person", "name": "P"}]}"#).unwrap();
    assert_eq!(
        q(&db, "{ queryNamed { __typename name } }"),
        r#"{"data":{"queryNamed":[{"__typename":"Company","name":"C"},{"__typename":"Person","name":"P"}]}}"#
    );
    let e = db.import_json("n.json", r#"{"Named": [{"__typename": "Note", "text": "t"}]}"#).unwrap_err();
    assert_eq!(e.to_string(), "n.json:1: Named: Note is not a Named");
}

#[test]
fn batches_commit_one_by_one_and_references_cross_them() {
    let (_d, db) = db();
    let opts = quiver_query::ImportOptions { batch_records: 2, ..Default::default() };
    // The first batch references 0x3, defined in the second.
    let text = "{\"__typename\": \"Person\", \"id\": \"0x1\", \"name\": \"A\", \"knows\": [{\"id\": \"0x3\"}]}\n\
                {\"__typename\": \"Person\", \"id\": \"0x2\", \"name\": \"B\"}\n\
                {\"__typename\": \"Person\", \"id\": \"0x3\", \"name\": \"C\", \"age\": 3}\n";
    let r = db.import_ndjson_with("p.ndjson", text, &opts, &mut |_| {}).unwrap();
    assert_eq!(r, ImportReport { nodes: 3, edges: 1, batches: 2 });
    assert_eq!(
        q(&db, "{ getPerson(id: \"0x1\") { knows { name age } } }"),
        r#"{"data":{"getPerson":{"knows":[{"name":"C","age":3}]}}}"#
    );

    // A bad record in the second batch: the first batch stays, nothing of the second.
    let text = "{\"__typename\": \"Person\", \"id\": \"0x10\", \"name\": \"D\"}\n\
                {\"__typename\": \"Person\", \"id\": \"0x11\", \"name\": \"E\"}\n\
                {\"__typename\": \"Person\", \"id\": \"0x12\", \"name\": \"F\"}\n\
                {\"__typename\": \"Person\", \"id\": \"0x13\", \"name\": 5}\n";
    let e = db.import_ndjson_with("q.ndjson", text, &opts, &mut |_| {}).unwrap_err();
    assert_eq!(e.to_string(), "q.ndjson:4: Person.name: expected String, found 5");
    assert_eq!(
        q(&db, "{ queryPerson(filter: {id: [\"0x10\", \"0x11\", \"0x12\"]}) { name } }"),
        r#"{"data":{"queryPerson":[{"name":"D"},{"name":"E"}]}}"#
    );

    // Bad JSON on a line is found before anything is applied.
    let e = db
        .import_ndjson_with(
            "r.ndjson",
            "{\"__typename\": \"Person\", \"name\": \"G\"}\n{oops\n",
            &opts,
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "r.ndjson:2: -: bad JSON: key must be a string at line 1 column 2");
    assert_eq!(
        q(&db, "{ queryPerson(filter: {name: {eq: \"G\"}}) { name } }"),
        r#"{"data":{"queryPerson":[]}}"#
    );
}

#[test]
fn edges_to_an_interface_import_export_and_keep_one_target_when_singular() {
    let (_d, db) = common::people();
    // A reference to a stored node needs no __typename; its type is known.
    db.import_json("a.json", r#"{"Person": [{"id": "0x4", "name": "Dee Dee", "favorite": {"id": "0x10"}}]}"#)
        .unwrap();
    // A singular edge to an interface keeps one target across the implementers' edge types.
    db.import_json("b.json", r#"{"Person": [{"id": "0x1", "name": "Ada Lovelace", "favorite": {"__typename": "Person", "id": "0x2"}}]}"#).unwrap();
    assert_eq!(
        q(
            &db,
            "{ queryPerson(filter: {has: favorite}) { id favorite { __typename ... on Person { id } ... on Company { id } } } }"
        ),
        r#"{"data":{"queryPerson":[{"id":"0x1","favorite":{"__typename":"Person","id":"0x2"}},{"id":"0x2","favorite":{"__typename":"Person","id":"0x1"}},{"id":"0x4","favorite":{"__typename":"Company","id":"0x10"}}]}}"#
    );
    // A reference to a node not stored yet must say its type.
    let e = db.import_json("c.json", r#"{"Person": [{"id": "0x4", "name": "Dee Dee", "favorite": {"id": "0x50"}}, {"id": "0x50", "name": "New"}]}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "c.json:1: Person.favorite: Named is an interface: say which type with \"__typename\""
    );
    let e = db.import_json("d.json", r#"{"Person": [{"id": "0x4", "name": "Dee Dee", "favorite": {"__typename": "Note", "id": "0x51"}}]}"#).unwrap_err();
    assert_eq!(e.to_string(), "d.json:1: Person.favorite: Note is not a Named");

    // Export writes __typename on edges to an interface, and imports back to the same answers.
    let mut out = Vec::new();
    db.export_json(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(r#""favorite":{"__typename":"Company","id":"0x10"}"#), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let copy = Database::open(dir.path()).unwrap();
    copy.set_schema(&common::fixture("people.graphql")).unwrap();
    copy.import_json("export.json", &text).unwrap();
    let all = "{ queryNamed { __typename name ... on Person { id email nick bio motto age score born active tier tags knows { id } employer { id } favorite { ...Id } } ... on Company { id code founded staff { id } partners { ...Id } } } } fragment Id on Named { __typename ... on Person { id } ... on Company { id } }";
    assert_eq!(q(&copy, all), q(&db, all));
    let mut again = Vec::new();
    copy.export_json(&mut again).unwrap();
    assert_eq!(String::from_utf8(again).unwrap(), text);
}

/// A node nested under an edge with an inverse gets that inverse from its parent: a required
/// inverse field need not be written again; any other required field still must.
#[test]
fn a_nested_node_gets_its_required_inverse_from_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let db = quiver_query::Database::open(dir.path()).unwrap();
    db.set_schema(
        "type Product { id: ID!  name: String!  reviews: [Review] @hasInverse(field: product) }\n\
         type Review { id: ID!  product: Product!  rating: Int! }",
    )
    .unwrap();
    let r = db
        .import_json("p.json", r#"{"Product": [{"name": "P", "reviews": [{"rating": 5}, {"rating": 3}]}]}"#)
        .unwrap();
    assert_eq!((r.nodes, r.edges), (3, 2));
    let answer = db.execute("{ queryReview { rating product { name } } }", &serde_json::Value::Null);
    assert_eq!(
        answer.json(),
        r#"{"data":{"queryReview":[{"rating":5,"product":{"name":"P"}},{"rating":3,"product":{"name":"P"}}]}}"#
    );
    let e = db.import_json("q.json", r#"{"Product": [{"name": "Q", "reviews": [{}]}]}"#).unwrap_err();
    assert_eq!(e.to_string(), "q.json:1: Product.reviews[0].rating: required field rating is missing");
    let e = db.import_json("r.json", r#"{"Review": [{"rating": 1}]}"#).unwrap_err();
    assert_eq!(e.to_string(), "r.json:1: Review.product: required field product is missing");
}

/// `import_file_with` reports progress after each batch, for JSON and NDJSON alike.
#[test]
fn import_progress_is_reported_after_each_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = quiver_query::Database::open(dir.path().join("db")).unwrap();
    db.set_schema("type Person { id: ID!  name: String  knows: [Person] }").unwrap();
    let ndjson: String = (0..5)
        .map(|i| {
            format!(
                "{{\"__typename\": \"Person\", \"name\": \"p{i}\", \"knows\": [{{\"name\": \"q{i}\"}}]}}\n"
            )
        })
        .collect();
    let file = dir.path().join("people.ndjson");
    std::fs::write(&file, ndjson).unwrap();
    let mut seen = Vec::new();
    let opts = quiver_query::ImportOptions { batch_records: 2, ..Default::default() };
    let r = db
        .import_file_with(&file, &opts, &mut |p| seen.push((p.records, p.total, p.nodes, p.edges)))
        .unwrap();
    assert_eq!((r.nodes, r.edges, r.batches), (10, 5, 3));
    assert_eq!(seen, [(2, 5, 4, 2), (4, 5, 8, 4), (5, 5, 10, 5)]);
}
