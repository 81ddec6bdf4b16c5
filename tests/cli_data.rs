//! `quiver import` (JSON and CSV), `export` and `query --addr` as processes: happy paths, a
//! round trip, and the errors a user meets.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{Server, expected, fixture_path};

fn quiver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver")).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Import's summary lines without their timings (` (0.01 s)`).
fn untimed(out: &str) -> String {
    out.lines().map(|l| format!("{}\n", l.rsplit_once(" (").map_or(l, |(a, _)| a))).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

const PEOPLE: &str = "type Person {\n  id: ID!\n  key: Int! @id\n  name: String\n  knows: [Person]\n}\n";

fn people_db(dir: &Path) -> String {
    let data = dir.join("db").to_str().unwrap().to_string();
    std::fs::write(dir.join("schema.graphql"), PEOPLE).unwrap();
    stdout(&quiver(&["schema", "set", "--data", &data, dir.join("schema.graphql").to_str().unwrap()]));
    data
}

#[test]
fn csv_import_by_file_name_and_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = people_db(dir.path());
    std::fs::write(dir.path().join("Person.csv"), "key,name\n1,Ada\n2,Bob\n").unwrap();
    std::fs::write(dir.path().join("Person.knows.csv"), "key,key\n1,2\n").unwrap();
    std::fs::write(dir.path().join("more.csv"), "key,name\n3,Cy\n").unwrap();
    std::fs::write(dir.path().join("links.csv"), "key,key\n3,1\n3,2\n").unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let out = stdout(&quiver(&["import", "--data", &data, &p("Person.csv"), &p("Person.knows.csv")]));
    assert_eq!(
        untimed(&out),
        format!(
            "{}: 2 nodes, 0 edges in 1 batches\n{}: 0 nodes, 1 edges in 1 batches\n",
            p("Person.csv"),
            p("Person.knows.csv")
        )
    );
    let nodes = format!("Person={}", p("more.csv"));
    let edges = format!("Person.knows={}", p("links.csv"));
    // One record per batch: off a terminal, a line per batch on stderr.
    let out =
        quiver(&["import", "--data", &data, "--nodes", &nodes, "--edges", &edges, "--batch-records", "1"]);
    assert_eq!(
        untimed(&stdout(&out)),
        format!(
            "{}: 1 nodes, 0 edges in 1 batches\n{}: 0 nodes, 2 edges in 2 batches\n",
            p("more.csv"),
            p("links.csv")
        )
    );
    let progress: Vec<String> =
        stderr(&out).lines().map(|l| l.split(" (").next().unwrap().to_string()).collect();
    assert_eq!(
        progress,
        [format!("{}: 1/2 records", p("links.csv")), format!("{}: 2/2 records", p("links.csv"))]
    );
    let out = stdout(&quiver(&["query", "--data", &data, "{ queryPerson { name knows { name } } }"]));
    assert_eq!(
        out,
        "{\"data\":{\"queryPerson\":[{\"name\":\"Ada\",\"knows\":[{\"name\":\"Bob\"}]},{\"name\":\"Bob\",\"knows\":[]},{\"name\":\"Cy\",\"knows\":[{\"name\":\"Ada\"},{\"name\":\"Bob\"}]}]}}\n"
    );
}

#[test]
fn import_errors_name_the_file_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = people_db(dir.path());
    let missing = dir.path().join("nope.json");
    let out = quiver(&["import", "--data", &data, missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("error: importing {0}: {0}: No such file or directory (os error 2)\n", missing.display())
    );
    std::fs::write(dir.path().join("Person.csv"), "key,name\n1,Ada\nx,Bob\n").unwrap();
    let file = dir.path().join("Person.csv");
    let out = quiver(&["import", "--data", &data, file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("error: importing {0}: {0}:3: key: expected Int, found \"x\"\n", file.display())
    );
    // Files that are not UTF-8: a node file's first bad byte; an edge file's cell and line
    // (an edge file is not checked whole before it is read).
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, b"key,name\n1,Ada\n2,B\xffb\n").unwrap();
    let out = quiver(&["import", "--data", &data, "--nodes", &format!("Person={}", bad.display())]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), format!("error: importing {0}: {0}: not UTF-8 at byte 18\n", bad.display()));
    std::fs::write(dir.path().join("good.csv"), "key,name\n1,Ada\n2,Bob\n").unwrap();
    let good = dir.path().join("good.csv");
    stdout(&quiver(&["import", "--data", &data, "--nodes", &format!("Person={}", good.display())]));
    std::fs::write(&bad, b"key,key\n1,2\n2,\xff1\n").unwrap();
    let out = quiver(&["import", "--data", &data, "--edges", &format!("Person.knows={}", bad.display())]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("error: importing {0}: {0}:3: key: the cell is not UTF-8: \"\u{fffd}1\"\n", bad.display())
    );
    let out = quiver(&["import", "--data", &data, "--nodes", "Person"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "error: --nodes takes NAME=FILE, not \"Person\"\n");
    // Usage errors are 2.
    assert_eq!(quiver(&["import", "--data", &data]).status.code(), Some(2));
    assert_eq!(quiver(&["import", "--bogus"]).status.code(), Some(2));
}

#[test]
fn export_then_import_into_a_fresh_directory_gives_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a").to_str().unwrap().to_string();
    let fixture = |n: &str| fixture_path(n).to_str().unwrap().to_string();
    stdout(&quiver(&["schema", "set", "--data", &data, &fixture("schema.graphql")]));
    stdout(&quiver(&["import", "--data", &data, &fixture("data.json")]));
    let backup = dir.path().join("backup.json");
    let out = stdout(&quiver(&["export", "--data", &data, "--output", backup.to_str().unwrap()]));
    assert_eq!(out, format!("{}: 25 nodes, 33 edges\n", backup.display()));
    // To stdout, the same bytes.
    let to_stdout = stdout(&quiver(&["export", "--data", &data]));
    assert_eq!(to_stdout, std::fs::read_to_string(&backup).unwrap());

    let fresh = dir.path().join("b").to_str().unwrap().to_string();
    stdout(&quiver(&["schema", "set", "--data", &fresh, &fixture("schema.graphql")]));
    stdout(&quiver(&["import", "--data", &fresh, backup.to_str().unwrap()]));
    let query = std::fs::read_to_string(fixture_path("query.graphql")).unwrap();
    assert_eq!(stdout(&quiver(&["query", "--data", &fresh, &query])), expected() + "\n");
    assert_eq!(stdout(&quiver(&["export", "--data", &fresh])), to_stdout);

    let out = quiver(&["export", "--data", dir.path().join("none").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn query_through_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let fixture = |n: &str| fixture_path(n).to_str().unwrap().to_string();
    let d = data.to_str().unwrap();
    stdout(&quiver(&["schema", "set", "--data", d, &fixture("schema.graphql")]));
    stdout(&quiver(&["import", "--data", d, &fixture("data.json")]));
    let server = Server::start(&data, &[]);
    let query = std::fs::read_to_string(fixture_path("query.graphql")).unwrap();
    assert_eq!(stdout(&quiver(&["query", "--addr", &server.tcp, &query])), expected() + "\n");
    let out = quiver(&[
        "query",
        "--addr",
        &server.tcp,
        "query($n: Int!) { queryProduct(first: $n) { name } }",
        "--vars",
        "{\"n\": 1}",
    ]);
    assert_eq!(stdout(&out), "{\"data\":{\"queryProduct\":[{\"name\":\"Chelated Magnesium\"}]}}\n");
    let out = quiver(&["query", "--addr", &server.tcp, "{ nope }"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("{\"errors\":[{\"message\":\"Cannot query field \\\"nope\\\"")
    );
    drop(server);
    let out = quiver(&["query", "--addr", "127.0.0.1:1", "{ __typename }"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: connecting to 127.0.0.1:1: connection: "), "{}", stderr(&out));
}
