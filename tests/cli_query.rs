//! `quiver schema set`, `import` and `query` as processes, on the customer-360 fixture.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn quiver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver")).args(args).output().unwrap()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/customer360").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn load(dir: &Path, schema: &str) {
    let out = quiver(&["schema", "set", "--data", s(dir), s(&fixture(schema))]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = quiver(&["import", "--data", s(dir), s(&fixture("data.json"))]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("data.json: 25 nodes, 31 edges in 1 batches ("), "{stdout}");
}

#[test]
fn customer360_query_prints_exactly_the_expected_response() {
    let dir = tempfile::tempdir().unwrap();
    load(dir.path(), "schema.graphql");
    let query = std::fs::read_to_string(fixture("query.graphql")).unwrap();
    let out = quiver(&["query", "--data", s(dir.path()), &query]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), serde_json::to_string(&expected).unwrap() + "\n");

    let out = quiver(&["schema", "get", "--data", s(dir.path())]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        std::fs::read_to_string(fixture("schema.graphql")).unwrap()
    );
}

#[test]
fn seed_schema_query_exits_1_with_the_validation_error() {
    let dir = tempfile::tempdir().unwrap();
    load(dir.path(), "schema.seed.graphql");
    let query = std::fs::read_to_string(fixture("query.graphql")).unwrap();
    let out = quiver(&["query", "--data", s(dir.path()), &query]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"errors\":[{\"message\":\"Cannot query field \\\"reviews\\\" on type \\\"Product\\\".\",\"locations\":[{\"line\":13,\"column\":9}],\"path\":[\"queryCustomer\",\"orders\",\"products\",\"reviews\"]}]}\n"
    );
}

#[test]
fn variables_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    load(dir.path(), "schema.graphql");
    let q = "query($id: ID!) { getCustomer(id: $id) { name } }";
    let out = quiver(&["query", "--data", s(dir.path()), q, "--vars", r#"{"id": "0x28caba0a"}"#]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"data\":{\"getCustomer\":{\"name\":\"Jane Roe\"}}}\n"
    );
    assert_eq!(out.status.code(), Some(0));
    let out = quiver(&["query", "--data", s(dir.path()), q, "--vars", r#"{"id": 1.5}"#]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("Variable \\\"$id\\\" got invalid value 1.5"));
    let out = quiver(&["query", "--data", s(dir.path()), q, "--vars", "{nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("--vars is not valid JSON"));
}

#[test]
fn user_errors_exit_1_and_say_what() {
    let dir = tempfile::tempdir().unwrap();
    let out = quiver(&["query", "--data", s(dir.path()), "{ a }"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("holds no Quiver database"));

    let bad = dir.path().join("bad.graphql");
    std::fs::write(&bad, "type A {\n  b: Nope\n}").unwrap();
    let out = quiver(&["schema", "set", "--data", s(&dir.path().join("db")), s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("schema error at 2:3: A.b: unknown type Nope"));

    let out = quiver(&["import", "--data", s(&dir.path().join("db")), s(&dir.path().join("missing.json"))]);
    assert_eq!(out.status.code(), Some(1));
    let out = quiver(&["query", "--data", s(dir.path()), "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}
