#![allow(clippy::unwrap_used, missing_docs)]
//! The standard introspection query (graphql-js's) over the customer-360 schema, and the schema
//! rebuilt from its answer: every generated type, field, argument and input with its type.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use quiver_query::Database;
use serde_json::Value;

fn fixture(path: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// A type reference from introspection, written as SDL writes it.
fn type_ref(t: &Value) -> String {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_ref(&t["ofType"])),
        "LIST" => format!("[{}]", type_ref(&t["ofType"])),
        _ => t["name"].as_str().unwrap().to_string(),
    }
}

/// The schema rebuilt from introspection: per type, its kind and its members as
/// `name(args): Type` (fields) or `name: Type = default` (input fields) or names (enums).
fn rebuild(answer: &Value) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for t in answer["data"]["__schema"]["types"].as_array().unwrap() {
        let kind = t["kind"].as_str().unwrap().to_string();
        let mut members = Vec::new();
        for f in t["fields"].as_array().into_iter().flatten() {
            let args: Vec<String> = f["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| format!("{}: {}", a["name"].as_str().unwrap(), type_ref(&a["type"])))
                .collect();
            let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
            members.push(format!("{}{args}: {}", f["name"].as_str().unwrap(), type_ref(&f["type"])));
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            let default = f["defaultValue"].as_str().map(|d| format!(" = {d}")).unwrap_or_default();
            members.push(format!("{}: {}{default}", f["name"].as_str().unwrap(), type_ref(&f["type"])));
        }
        for v in t["enumValues"].as_array().into_iter().flatten() {
            members.push(v["name"].as_str().unwrap().to_string());
        }
        out.insert(t["name"].as_str().unwrap().to_string(), (kind, members));
    }
    out
}

#[test]
fn the_standard_introspection_query_describes_the_generated_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&fixture("../tests/fixtures/customer360/schema.graphql")).unwrap();
    let r = db.execute(&fixture("tests/fixtures/introspection.graphql"), &Value::Null);
    assert!(r.is_ok(), "{}", &r.json()[..r.json().len().min(500)]);
    let answer: Value = serde_json::from_str(r.json()).unwrap();
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query");
    let schema = rebuild(&answer);
    let members =
        |t: &str| -> Vec<String> { schema.get(t).unwrap_or_else(|| panic!("no type {t}")).1.clone() };

    let query = members("Query");
    for want in [
        "getCustomer(id: ID!): Customer",
        "queryCustomer(filter: CustomerFilter, order: CustomerOrder, first: Int, offset: Int): [Customer]",
        "aggregateCustomer(filter: CustomerFilter): CustomerAggregateResult",
        "getReview(id: ID!): Review",
        "queryProduct(filter: ProductFilter, order: ProductOrder, first: Int, offset: Int): [Product]",
        "shortestPath(from: ID!, to: ID!, via: [String!]!, maxDepth: Int): [ID!]",
    ] {
        assert!(query.contains(&want.to_string()), "Query lacks {want}: {query:#?}");
    }
    assert!(!query.iter().any(|f| f.starts_with("__")), "meta-fields are not listed");
    assert_eq!(
        members("Product"),
        [
            "id: ID!",
            "name: String!",
            "category: String!",
            "price: Float!",
            "reviews(filter: ReviewFilter, order: ReviewOrder, first: Int, offset: Int): [Review]",
            "reviewsAggregate(filter: ReviewFilter): ReviewAggregateResult",
        ]
    );
    assert_eq!(
        members("ProductFilter"),
        [
            "id: [ID!]",
            "price: FloatFilter",
            "has: [ProductHasFilter]",
            "and: [ProductFilter]",
            "or: [ProductFilter]",
            "not: ProductFilter"
        ]
    );
    assert_eq!(
        members("ProductOrder"),
        ["asc: ProductOrderable", "desc: ProductOrderable", "then: ProductOrder"]
    );
    assert_eq!(members("ProductOrderable"), ["name", "category", "price"]);
    assert_eq!(members("ProductHasFilter"), ["name", "category", "price", "reviews"]);
    assert_eq!(
        members("ProductAggregateResult"),
        [
            "count: Int",
            "nameMin: String",
            "nameMax: String",
            "categoryMin: String",
            "categoryMax: String",
            "priceMin: Float",
            "priceMax: Float",
            "priceSum: Float",
            "priceAvg: Float"
        ]
    );
    assert_eq!(
        members("FloatFilter"),
        [
            "eq: Float",
            "in: [Float]",
            "le: Float",
            "lt: Float",
            "ge: Float",
            "gt: Float",
            "between: FloatRange"
        ]
    );
    assert_eq!(members("DateTimeRange"), ["min: DateTime!", "max: DateTime!"]);
    assert_eq!(schema["Customer"].0, "OBJECT");
    assert_eq!(schema["CustomerFilter"].0, "INPUT_OBJECT");
    assert_eq!(schema["CustomerOrderable"].0, "ENUM");
    assert_eq!(schema["DateTime"].0, "SCALAR");
    assert_eq!(
        schema["__TypeKind"].1,
        ["SCALAR", "OBJECT", "INTERFACE", "UNION", "ENUM", "INPUT_OBJECT", "LIST", "NON_NULL"]
    );
    let directives: Vec<&str> = answer["data"]["__schema"]["directives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(directives, ["include", "skip", "cascade", "recurse", "deprecated"]);
}

#[test]
fn type_lookups_wrappers_interfaces_and_defaults() {
    let (_d, db) = common::people();
    let q = |s: &str| db.execute(s, &Value::Null).json().to_string();
    assert_eq!(
        q(r#"{ __type(name: "Named") { kind name description possibleTypes { name } fields { name } } }"#),
        r#"{"data":{"__type":{"kind":"INTERFACE","name":"Named","description":"Anything with a name.","possibleTypes":[{"name":"Person"},{"name":"Company"}],"fields":[{"name":"name"}]}}}"#
    );
    let person = q(
        r#"{ __type(name: "Person") { interfaces { name } f: fields { name type { kind name ofType { kind name ofType { kind name } } } } } }"#,
    );
    assert!(
        person.contains(r#"{"name":"tags","type":{"kind":"LIST","name":null,"ofType":{"kind":"SCALAR","name":"String","ofType":null}}}"#),
        "{person}"
    );
    let args = q(r#"{ __type(name: "Person") { fields { name args { name defaultValue } } } }"#);
    assert!(
        args.contains(r#"{"name":"knowsAggregate","args":[{"name":"filter","defaultValue":null},{"name":"depth","defaultValue":"1"},{"name":"distinct","defaultValue":"false"}]}"#),
        "{args}"
    );
    assert_eq!(
        q(r#"{ __type(name: "Tier") { enumValues { name } } t: __type(name: "Nope") { name } }"#),
        r#"{"data":{"__type":{"enumValues":[{"name":"GOLD"},{"name":"SILVER"},{"name":"BRONZE"}]},"t":null}}"#
    );
    assert_eq!(
        q("{ __schema { queryType { name __typename } mutationType { name } } __typename }"),
        r#"{"data":{"__schema":{"queryType":{"name":"Query","__typename":"__Type"},"mutationType":{"name":"Mutation"}},"__typename":"Query"}}"#
    );
    // Validation applies to introspection too.
    assert_eq!(
        q("{ __type { name } }"),
        r#"{"errors":[{"message":"Field \"Query.__type\" argument \"name\" of type \"String!\" is required, but it was not provided.","locations":[{"line":1,"column":3}],"path":["__type"]}]}"#
    );
}

/// The standard introspection query's answer over the customer-360 schema, in a file (the
/// directory holds it and the database).
fn introspection_answer() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    db.set_schema(&fixture("../tests/fixtures/customer360/schema.graphql")).unwrap();
    let answer = dir.path().join("introspection.json");
    std::fs::write(
        &answer,
        db.execute(&fixture("tests/fixtures/introspection.graphql"), &Value::Null).json(),
    )
    .unwrap();
    (dir, answer)
}

/// graphql-js (the reference implementation) rebuilds the schema from the introspection answer
/// and validates the customer-360 query against it. Installs `graphql@16` from npm into
/// `target/graphql-js` on first run (node and npm are required).
#[test]
fn graphql_js_accepts_the_introspection_answer() {
    use std::process::Command;
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tools = manifest.join("../target/graphql-js");
    if !tools.join("node_modules/graphql/package.json").exists() {
        std::fs::create_dir_all(&tools).unwrap();
        let out = Command::new("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .arg("graphql@16")
            .output()
            .expect("npm is needed to fetch graphql-js");
        assert!(
            out.status.success(),
            "npm install graphql@16 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (_dir, answer) = introspection_answer();
    let script = tools.join("check.mjs");
    std::fs::copy(manifest.join("tests/graphql_js/check.mjs"), &script).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .arg(&answer)
        .arg(manifest.join("../tests/fixtures/customer360/query.graphql"))
        .output()
        .expect("node is needed to run graphql-js");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "graphql-js refused: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["query"], "Query");
    assert_eq!(report["mutation"], "Mutation");
    assert_eq!(report["addCustomer"], "AddCustomerPayload");
    assert_eq!(report["problems"], serde_json::json!([]));
}

/// graphql-core (what the Python `gql` client is built on) does the same: installed from PyPI
/// into a virtual environment in `target/graphql-core` on first run (python3 is required).
#[test]
fn graphql_core_accepts_the_introspection_answer() {
    use std::process::Command;
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = manifest.join("../target/graphql-core");
    let python = venv.join("bin/python");
    if !python.exists() {
        let out =
            Command::new("python3").args(["-m", "venv"]).arg(&venv).output().expect("python3 is needed");
        assert!(out.status.success(), "python3 -m venv failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let probe = Command::new(&python).args(["-c", "import graphql"]).output().unwrap();
    if !probe.status.success() {
        let out = Command::new(&python)
            .args(["-m", "pip", "install", "-q", "graphql-core>=3.2,<3.4"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pip install graphql-core failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (_dir, answer) = introspection_answer();
    let out = Command::new(&python)
        .arg(manifest.join("tests/graphql_core/check.py"))
        .arg(&answer)
        .arg(manifest.join("../tests/fixtures/customer360/query.graphql"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "graphql-core refused: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["mutation"], "Mutation");
    assert_eq!(report["addCustomer"], "AddCustomerPayload");
    assert_eq!(report["problems"], serde_json::json!([]));
}
