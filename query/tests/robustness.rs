#![allow(clippy::unwrap_used, missing_docs)]
//! Hostile input never panics the parser, the validator or the executor, and the database
//! stays usable.

mod common;

use proptest::prelude::*;
use quiver_query::{Database, ParseLimits, parse_executable, parse_schema};
use serde_json::Value;

const VALID: &[&str] = &[
    r#"query Q($id: ID!, $n: Int = 2) { getPerson(id: $id) { name knows(first: $n, order: {desc: age}) { ...F } } } fragment F on Person { id age __typename }"#,
    r#"{ queryNamed(filter: {or: [{name: {anyofterms: "a b"}}, {not: {has: [name]}}]}) { name ... on Person { employer { staffAggregate { count } } } } }"#,
    r#"{ aggregatePerson(filter: {age: {between: {min: 1, max: 90}}}) { count ageAvg nameMin } queryPerson @cascade { bio tags } }"#,
    r#"{ queryPerson(filter: {name: {regexp: "/^A.*e$/i"}, born: {ge: "1800-01-01"}}, first: 3, offset: 1) { id born score active tier } }"#,
];

const MUTATION: &str = r#"mutation M($p: [AddPersonInput!]!) { a: addPerson(input: $p) { person { id name } numUids } b: updatePerson(input: {filter: {name: {eq: "Ada Lovelace"}}, set: {age: 40, knows: [{id: "0x2"}]}, remove: {tags: ["math"]}}) { numUids } c: deletePerson(filter: {age: {gt: 100}}) { msg } d: addCompany(input: [{name: "Z", code: 77, staff: [{name: "W", email: "w@x"}]}], upsert: true) { company { code } } }"#;

/// A database of its own for mutations, so that the read tests' answers stay fixed.
fn writable() -> &'static (tempfile::TempDir, Database) {
    static DB: std::sync::OnceLock<(tempfile::TempDir, Database)> = std::sync::OnceLock::new();
    DB.get_or_init(common::people)
}

fn people() -> &'static (tempfile::TempDir, Database) {
    static DB: std::sync::OnceLock<(tempfile::TempDir, Database)> = std::sync::OnceLock::new();
    DB.get_or_init(common::people)
}

/// A valid document with a few bytes changed, inserted or removed.
fn mutated() -> impl Strategy<Value = String> {
    (0..VALID.len(), edits()).prop_map(|(i, e)| mutate(VALID[i].as_bytes(), e))
}

/// The people schema with a few bytes changed, inserted or removed.
fn mutated_schema() -> impl Strategy<Value = String> {
    let sdl = common::fixture("people.graphql");
    edits().prop_map(move |e| mutate(sdl.as_bytes(), e))
}

/// Up to five edits: (position, byte, kind: replace, insert or remove).
fn edits() -> impl Strategy<Value = Vec<(u16, u8, u8)>> {
    prop::collection::vec((any::<u16>(), any::<u8>(), 0u8..3), 1..6)
}

fn mutate(base: &[u8], edits: Vec<(u16, u8, u8)>) -> String {
    let mut b = base.to_vec();
    for (at, byte, kind) in edits {
        let at = usize::from(at) % (b.len() + 1);
        match kind {
            0 if at < b.len() => b[at] = byte,
            1 => b.insert(at, byte),
            _ if at < b.len() => {
                b.remove(at);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(s in ".{0,200}") {
        let _ = parse_executable(&s, &ParseLimits::default());
        let _ = parse_schema(&s, &ParseLimits::default());
        let r = people().1.execute(&s, &Value::Null);
        prop_assert!(r.json().starts_with('{'), "{}", r.json());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let s = String::from_utf8_lossy(&bytes);
        let r = people().1.execute(&s, &Value::Null);
        prop_assert!(serde_json::from_str::<Value>(r.json()).is_ok());
        let _ = quiver_query::schema::Schema::parse(&s).map(|schema| quiver_query::schema::api::Api::build(&schema));
    }

    #[test]
    fn mutated_schemas_never_panic(sdl in mutated_schema()) {
        if let Ok(schema) = quiver_query::schema::Schema::parse(&sdl) {
            let _ = quiver_query::schema::api::Api::build(&schema);
        }
    }

    #[test]
    fn mutated_mutations_never_panic(doc in edits().prop_map(|e| mutate(MUTATION.as_bytes(), e))) {
        let r = writable().1.execute(&doc, &serde_json::json!({"p": [{"name": "V", "age": 3}]}));
        prop_assert!(serde_json::from_str::<Value>(r.json()).is_ok());
    }

    #[test]
    fn mutated_documents_never_panic(doc in mutated(), vars in prop::option::of(r#"\{"id": "0x[0-9a-f]{1,3}", "n": -?[0-9]{1,3}\}"#)) {
        let vars: Value = vars.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or(Value::Null);
        let r = people().1.execute(&doc, &vars);
        let parsed: Value = serde_json::from_str(r.json()).unwrap();
        prop_assert!(parsed.get("data").is_some() || parsed.get("errors").is_some());
    }
}

#[test]
fn valid_documents_run() {
    let vars = serde_json::json!({"id": "0x1"});
    for doc in VALID {
        let r = people().1.execute(doc, &vars);
        assert!(r.is_ok(), "{doc}: {}", r.json());
    }
}

#[test]
fn a_document_nested_100000_levels_gets_a_depth_error() {
    let doc = format!("{}{}", "{ a ".repeat(100_000), "}".repeat(100_000));
    let r = people().1.execute(&doc, &Value::Null);
    assert_eq!(
        r.json(),
        r#"{"errors":[{"message":"the document nests deeper than 64 levels at 1:257","locations":[{"line":1,"column":257}]}]}"#
    );
    let values = format!("{{ queryPerson(filter: {}) {{ id }} }}", "[".repeat(100_000));
    assert!(people().1.execute(&values, &Value::Null).json().contains("nests deeper than 64 levels"));
    let sdl = format!("type A {{ a: {} }}", "[".repeat(100_000));
    assert_eq!(
        parse_schema(&sdl, &ParseLimits::default()).unwrap_err().to_string(),
        "the document nests deeper than 64 levels at 1:76"
    );
    // The database still answers.
    assert!(people().1.execute("{ queryPerson { id } }", &Value::Null).is_ok());
}

#[test]
fn oversized_documents_are_refused() {
    let doc = format!("{{ queryPerson {{ {} }} }}", "id ".repeat(400_000));
    assert_eq!(
        people().1.execute(&doc, &Value::Null).json(),
        r#"{"errors":[{"message":"the document is 1200020 bytes, more than the limit of 1048576"}]}"#
    );
}

/// The deepest document the limits allow goes through every stage on a small (1 MiB) stack,
/// even unoptimized: the depth limit, checked before parsing, is what keeps recursion bounded.
#[test]
fn the_deepest_allowed_document_runs_on_a_small_stack() {
    let depth = ParseLimits::default().max_depth;
    // From Dee, who knows nobody: deep, not wide.
    let selection = format!(
        "{{ getPerson(id: \"0x4\") {}{}",
        "{ knows ".repeat(depth - 3),
        "{ id ".to_string() + &"}".repeat(depth - 1)
    );
    let filter = format!(
        "{{ queryPerson(filter: {}{{age: {{eq: 1}}}}{}) {{ id }} }}",
        "{not: ".repeat(depth - 4),
        "}".repeat(depth - 4)
    );
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let db = &people().1;
            let r = db.execute(&selection, &Value::Null);
            assert!(r.is_ok(), "{}", &r.json()[..r.json().len().min(300)]);
            let r = db.execute(&filter, &Value::Null);
            assert!(r.is_ok(), "{}", &r.json()[..r.json().len().min(300)]);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_query_that_explodes_hits_the_node_limit() {
    let db =
        people().1.clone().with_limits(quiver_query::QueryLimits { max_nodes: 1_000, ..Default::default() });
    let chain = format!(
        "{{ queryPerson {}{} total: aggregatePerson {{ count }} }}",
        "{ knows ".repeat(40),
        "{ id ".to_string() + &"}".repeat(41)
    );
    assert_eq!(
        db.execute(&chain, &Value::Null).json(),
        r#"{"data":{"queryPerson":null,"total":{"count":4}},"errors":[{"message":"the query produces more than 1000 nodes; narrow it with filters or first","locations":[{"line":1,"column":3}],"path":["queryPerson"]}]}"#
    );
    // Under the limit, the same shape answers.
    assert!(db.execute("{ queryPerson { knows { knows { id } } } }", &Value::Null).is_ok());
}

#[test]
fn the_mutation_being_mutated_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&common::fixture("people.graphql")).unwrap();
    db.import_json("people.json", &common::fixture("people.json")).unwrap();
    let r = db.execute(MUTATION, &serde_json::json!({"p": [{"name": "V", "age": 3}]}));
    assert!(r.is_ok(), "{}", r.json());
    assert!(r.json().contains(r#""d":{"company":[{"code":77}]}"#), "{}", r.json());
}

#[test]
fn a_query_out_of_time_stops_and_says_so() {
    let limits =
        quiver_query::QueryLimits { max_time: Some(std::time::Duration::ZERO), ..Default::default() };
    let db = people().1.clone().with_limits(limits);
    assert_eq!(
        db.execute("{ queryPerson { name } n: aggregatePerson { count } }", &Value::Null).json(),
        r#"{"data":{"queryPerson":null,"n":{"count":4}},"errors":[{"message":"the query ran longer than 0 ms and was stopped","locations":[{"line":1,"column":3}],"path":["queryPerson"]}]}"#
    );
    assert!(
        db.execute("{ getPerson(id: \"0x1\") { knowsAggregate(depth: 3) { count } } }", &Value::Null)
            .json()
            .contains("ran longer than 0 ms")
    );
    assert!(
        db.execute(r#"{ shortestPath(from: "0x1", to: "0x3", via: ["knows"]) }"#, &Value::Null)
            .json()
            .contains("ran longer than 0 ms")
    );
    // The default leaves room.
    assert!(people().1.execute("{ queryPerson { name } }", &Value::Null).is_ok());
}
