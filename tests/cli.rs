//! The `quiver` binary as a process: exit codes and messages.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::{Command, Output};

use quiver::engine::{CatalogChange, Options, Store};

fn quiver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver")).args(args).output().unwrap()
}

fn make_db(dir: &std::path::Path) {
    let store = Store::open_with(dir, Options { checkpoint_on_close: false, ..Options::default() }).unwrap();
    let mut txn = store.write().unwrap();
    txn.alter(CatalogChange::AddType { name: "Person".into() }, false).unwrap();
    txn.alter(CatalogChange::AddEdge { source: 0, name: "knows".into(), target: 0, list: true }, false)
        .unwrap();
    txn.commit().unwrap();
    let mut txn = store.write().unwrap();
    let a = txn.create_node(0, None).unwrap();
    let b = txn.create_node(0, None).unwrap();
    txn.add_edge(0, a, b).unwrap();
    txn.commit().unwrap();
}

#[test]
fn check_reports_a_healthy_directory() {
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    let out = quiver(&["check", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("1 segments, 2 records,"), "{stdout}");
    assert!(stdout.ends_with("2 nodes, 1 edges\n"), "{stdout}");
}

#[test]
fn check_exits_3_naming_the_corrupt_file() {
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    let seg = dir.path().join("g1-00000001.qlog");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[32 + 13] ^= 0xff; // inside the first frame, with the second after it
    std::fs::write(&seg, &bytes).unwrap();
    let out = quiver(&["check", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(&format!("{} is corrupt at offset 32", seg.display())), "{stderr}");
    // Every command that opens the directory says the same, with exit code 3.
    let d = dir.path().to_str().unwrap();
    for args in [
        &["query", "--data", d, "{ __typename }"][..],
        &["export", "--data", d],
        &["schema", "get", "--data", d],
        &["shell", "--data", d],
        &["compact", "--data", d],
        &["serve", "--data", d, "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"],
    ] {
        let out = quiver(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(&format!("{} is corrupt at offset 32", seg.display())), "{args:?}: {stderr}");
    }
}

#[test]
fn compact_rewrites_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    let out = quiver(&["compact", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().contains("(generation 2)"));
    assert!(dir.path().join("g2-00000001.qlog").exists());
    assert!(!dir.path().join("g1-00000001.qlog").exists());
    let out = quiver(&["check", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().ends_with("2 nodes, 1 edges\n"));
}

#[test]
fn user_errors_exit_1_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let out = quiver(&["check", "--data", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("error: {} holds no Quiver database\n", missing.display())
    );
    assert!(!missing.exists(), "check must not create a database");
    let out = quiver(&["check", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = quiver(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_command_has_help_with_an_example() {
    for command in [
        &["schema", "set"][..],
        &["schema", "get"],
        &["import"],
        &["export"],
        &["query"],
        &["serve"],
        &["shell"],
        &["check"],
        &["compact"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = quiver(&args);
        assert_eq!(out.status.code(), Some(0), "{command:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("\nExample: quiver "), "{command:?} --help has no example:\n{help}");
    }
    // A bad flag is a usage error.
    assert_eq!(quiver(&["check", "--bogus"]).status.code(), Some(2));
}
