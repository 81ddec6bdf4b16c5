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

#[test]
fn export_then_import_gives_identical_answers() {
    let a = tempfile::tempdir().unwrap();
    let db = Database::open(a.path()).unwrap();
    db.set_schema(&fixture("schema.graphql")).unwrap();
    db.import_json("data.json", &fixture("data.json")).unwrap();
    let mut out = Vec::new();
    let report = db.export_json(&mut out).unwrap();
    assert_eq!(report.nodes, 25);
    let text = String::from_utf8(out).unwrap();

    let b = tempfile::tempdir().unwrap();
    let db2 = Database::open(b.path()).unwrap();
    db2.set_schema(&fixture("schema.graphql")).unwrap();
    db2.import_json("export.json", &text).unwrap();
    let everything = "{ queryCustomer { id name orders { id amount products { id name reviews { id rating } } } \
        reviews { id product { id } } supportTickets { id created lastUpdated loyaltyProgram { id } product { id } } \
        siteDataResults { id date } socialMediaPosts { id tags posted } loyaltyPrograms { id joined level } } \
        queryProduct { id name price category reviews { id } } }";
    let left = db.execute(everything, &serde_json::Value::Null);
    assert!(left.is_ok(), "{}", left.json());
    assert_eq!(left.json(), db2.execute(everything, &serde_json::Value::Null).json());
    // And the export of the copy is byte for byte the export of the original.
    let mut again = Vec::new();
    db2.export_json(&mut again).unwrap();
    assert_eq!(String::from_utf8(again).unwrap(), text);
}

#[test]
fn threads_share_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&fixture("schema.graphql")).unwrap();
    db.import_json("data.json", &fixture("data.json")).unwrap();
    let (query, expected) = (fixture("query.graphql"), compact(&fixture("expected.json")));
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    assert_eq!(db.execute(&query, &serde_json::Value::Null).json(), expected);
                }
            });
        }
        // A writer alongside: readers see one snapshot each, so the answer never tears.
        s.spawn(|| {
            for i in 0..20 {
                let text =
                    format!(r#"{{"Product": [{{"name": "extra {i}", "category": "x", "price": 1.0}}]}}"#);
                db.import_json("more.json", &text).unwrap();
            }
        });
    });
    let r = db.execute("{ aggregateProduct { count } }", &serde_json::Value::Null);
    assert_eq!(r.json(), r#"{"data":{"aggregateProduct":{"count":24}}}"#);
}
