//! Shared by the query tests: the people fixture and the case-file runner.
#![allow(dead_code)]

use std::path::PathBuf;

use quiver_query::Database;

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name))
        .unwrap()
}

/// A database with the people schema and data.
pub fn people() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&fixture("people.graphql")).unwrap();
    db.import_json("people.json", &fixture("people.json")).unwrap();
    (dir, db)
}

/// Runs a case file: blocks of `### name`, a query (optionally followed by `vars: {json}` on
/// its own line), `---`, and the exact expected response on one line. With `QUIVER_BLESS=1`
/// the file is rewritten with the actual responses, for review as a diff.
pub fn run_cases(file: &str, db: &Database) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let bless = std::env::var("QUIVER_BLESS").is_ok_and(|v| v == "1");
    let mut out = String::new();
    let mut failures = Vec::new();
    let mut count = 0;
    for block in text.split("### ").skip(1) {
        let (name, rest) = block.split_once('\n').unwrap();
        let (query, expected) = rest.split_once("\n---\n").unwrap_or_else(|| panic!("case {name}: no ---"));
        let expected = expected.trim();
        let (query, vars) = match query.rsplit_once("\nvars: ") {
            Some((q, v)) => (q, serde_json::from_str(v).unwrap()),
            None => (query, serde_json::Value::Null),
        };
        let actual = db.execute(query, &vars);
        count += 1;
        if actual.json() != expected {
            failures.push(format!("case {name}:\n  expected {expected}\n  actual   {}", actual.json()));
        }
        out.push_str(&format!(
            "### {name}\n{}\n---\n{}\n\n",
            rest.split_once("\n---\n").unwrap().0,
            actual.json()
        ));
    }
    if bless {
        std::fs::write(&path, out.trim_end().to_string() + "\n").unwrap();
        return;
    }
    assert!(count > 0, "no cases in {file}");
    assert!(failures.is_empty(), "{} of {count} cases differ:\n{}", failures.len(), failures.join("\n"));
}
