#![allow(clippy::unwrap_used, missing_docs)]
//! The customer-360 fixture end to end through `Database`.

use std::path::PathBuf;

use quiver_query::Database;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/customer360").join(name);
    std::fs::read_to_string(p).unwrap()
}

/// Expected JSON re-serialized compactly with its key order kept.
fn compact(json: &str) -> String {
    serde_json::to_string(&serde_json::from_str::<serde_json::Value>(json).unwrap()).unwrap()
}

#[test]
fn query_returns_exactly_the_expected_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&fixture("schema.graphql")).unwrap();
    let report = db.import_json("data.json", &fixture("data.json")).unwrap();
    assert_eq!(report.batches, 1);
    let r = db.execute(&fixture("query.graphql"), &serde_json::Value::Null);
    assert_eq!(r.json(), compact(&fixture("expected.json")));
    // The same after reopening (answers come from the checkpoint and log, not memory).
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    let r = db.execute(&fixture("query.graphql"), &serde_json::Value::Null);
    assert_eq!(r.json(), compact(&fixture("expected.json")));
    assert_eq!(db.schema(), fixture("schema.graphql"));
}

#[test]
fn seed_schema_fails_validation_naming_reviews_on_product() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&fixture("schema.seed.graphql")).unwrap();
    db.import_json("data.json", &fixture("data.json")).unwrap();
    let r = db.execute(&fixture("query.graphql"), &serde_json::Value::Null);
    assert_eq!(
        r.json(),
        r#"{"errors":[{"message":"Cannot query field \"reviews\" on type \"Product\".","locations":[{"line":13,"column":9}],"path":["queryCustomer","orders","products","reviews"]}]}"#
    );
}
