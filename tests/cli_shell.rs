//! `quiver shell` driven through stdin: a multi-line query, variables, `:schema`, an error,
//! `:history`, on a data directory and through a server.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::{Server, fixture_path};

fn shell(args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .arg("shell")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const INPUT: &str = "\
{
  getCustomer(id: \"0x28caba09\") {
    name
  }
}
:vars {\"n\": 1}
query($n: Int) { queryProduct(first: $n) { name } }
{ nope }
:schema
:history
:bogus
:quit
{ never run }
";

fn expected_stdout(schema: &str) -> String {
    format!(
        "{}\n{}\n{}\n{schema}{}\n",
        "{\n  \"data\": {\n    \"getCustomer\": {\n      \"name\": \"John Doe\"\n    }\n  }\n}",
        "{\n  \"data\": {\n    \"queryProduct\": [\n      {\n        \"name\": \"Chelated Magnesium\"\n      }\n    ]\n  }\n}",
        "{\n  \"errors\": [\n    {\n      \"message\": \"Cannot query field \\\"nope\\\" on type \\\"Query\\\".\",\n      \"locations\": [\n        {\n          \"line\": 1,\n          \"column\": 3\n        }\n      ],\n      \"path\": [\n        \"nope\"\n      ]\n    }\n  ]\n}",
        "   1  {\n        getCustomer(id: \"0x28caba09\") {\n          name\n        }\n      }\n   2  query($n: Int) { queryProduct(first: $n) { name } }\n   3  { nope }",
    )
}

fn loaded() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let db = quiver::Database::open(&data).unwrap();
    db.set_schema(&std::fs::read_to_string(fixture_path("schema.graphql")).unwrap()).unwrap();
    db.import_file(&fixture_path("data.json")).unwrap();
    db.close().unwrap();
    (dir, data)
}

#[test]
fn the_shell_on_a_data_directory() {
    let (_dir, data) = loaded();
    let (code, stdout, stderr) = shell(&["--data", data.to_str().unwrap()], INPUT);
    assert_eq!(code, 0, "{stderr}");
    let schema = std::fs::read_to_string(fixture_path("schema.graphql")).unwrap();
    assert_eq!(stdout, expected_stdout(&schema));
    assert_eq!(stderr, "error: unknown command :bogus: :help lists them\n");
}

#[test]
fn the_shell_through_a_server() {
    let (_dir, data) = loaded();
    let server = Server::start(&data, &[]);
    let (code, stdout, stderr) = shell(&["--addr", &server.tcp], INPUT);
    assert_eq!(code, 0, "{stderr}");
    let schema = std::fs::read_to_string(fixture_path("schema.graphql")).unwrap();
    assert_eq!(stdout, expected_stdout(&schema));
}

#[test]
fn the_shell_needs_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = shell(&["--data", dir.path().join("none").to_str().unwrap()], "");
    assert_eq!(code, 1);
    assert!(stderr.starts_with("error: "), "{stderr}");
}
