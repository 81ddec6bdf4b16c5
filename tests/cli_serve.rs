//! `quiver serve` as a process: it says where it listens, answers over TCP, and on SIGTERM
//! finishes, checkpoints and exits 0; it refuses a non-loopback address without --insecure.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

mod support;

use support::{Server, fixture_path as fixture};

fn frame(s: &mut TcpStream, body: &str) -> String {
    s.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut out = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let quiver = env!("CARGO_BIN_EXE_quiver");
    let d = data.to_str().unwrap();
    assert!(
        Command::new(quiver)
            .args(["schema", "set", "--data", d, fixture("schema.graphql").to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        Command::new(quiver)
            .args(["import", "--data", d, fixture("data.json").to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );

    let server = Server::start(&data, &[]);
    let (line, addr) = (server.line.clone(), server.tcp.clone());
    assert!(line.starts_with(&format!("quiver: serving {d} (25 nodes) on http 127.0.0.1:")), "{line}");
    assert!(line.contains(" and tcp 127.0.0.1:"), "{line}");

    let mut s = TcpStream::connect(&addr).unwrap();
    assert_eq!(frame(&mut s, r#"{"hello": "quiver/1"}"#), r#"{"hello":"quiver/1","server":"quiver 0.1.0"}"#);
    let m = r#"{"id": 1, "query": "mutation { addProduct(input: [{name: \"New\", category: \"x\", price: 1.5}]) { numUids } }"}"#;
    assert_eq!(frame(&mut s, m), r#"{"id":1,"data":{"addProduct":{"numUids":1}}}"#);

    assert_eq!(server.signal("TERM"), (Some(0), "quiver: stopped\n".to_string()));
    // The acknowledged mutation is there after the restart.
    let q =
        Command::new(quiver).args(["query", "--data", d, "{ aggregateProduct { count } }"]).output().unwrap();
    assert_eq!(String::from_utf8(q.stdout).unwrap(), "{\"data\":{\"aggregateProduct\":{\"count\":5}}}\n");
}

#[test]
fn serve_refuses_a_reachable_address_without_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["serve", "--data", dir.path().to_str().unwrap(), "--tcp", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: refusing to listen on 0.0.0.0:0 without tokens: other machines could reach it (pass --insecure to allow)\n"
    );
}

#[test]
fn serve_with_tokens_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "# who may do what\nread:reader-token\n").unwrap();
    let db = dir.path().join("db");
    let server = Server::start(&db, &["--tokens", tokens.to_str().unwrap()]);
    let addr = server.tcp.clone();
    let mut s = TcpStream::connect(&addr).unwrap();
    assert!(
        frame(&mut s, r#"{"hello": "quiver/1", "token": "wrong-token"}"#)
            .contains("\"code\":\"unauthorized\"")
    );
    let mut s = TcpStream::connect(&addr).unwrap();
    assert_eq!(
        frame(&mut s, r#"{"hello": "quiver/1", "token": "reader-token"}"#),
        r#"{"hello":"quiver/1","server":"quiver 0.1.0"}"#
    );
    assert_eq!(server.signal("TERM").0, Some(0));

    let bad = dir.path().join("bad");
    std::fs::write(&bad, "root:abcdefgh\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["serve", "--data", dir.path().join("db").to_str().unwrap(), "--tokens"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("token entry 1: unknown role \"root\""));
}

#[test]
fn serve_demo_loads_the_example_on_an_empty_directory_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut server = Server::start(&data, &["--demo"]);
    let mut second = String::new();
    std::io::BufRead::read_line(&mut server.out, &mut second).unwrap();
    assert_eq!(second, "quiver: demo loaded: the customer-360 example and 300 generated customers.\n");
    let mut third = String::new();
    std::io::BufRead::read_line(&mut server.out, &mut third).unwrap();
    assert_eq!(third, format!("quiver: open http://{}/ to explore it, or try:\n", server.http));
    let query = std::fs::read_to_string(fixture("query.graphql")).unwrap();
    let r = support::graphql(&server.http, None, &query, serde_json::Value::Null);
    assert_eq!(r.body, support::expected());
    let r = support::graphql(&server.http, None, "{ aggregateCustomer { count } }", serde_json::Value::Null);
    assert_eq!(r.body, r#"{"data":{"aggregateCustomer":{"count":302}}}"#);
    let prefix = format!("quiver: serving {} (4348 nodes) on http ", data.display());
    assert!(server.line.starts_with(&prefix), "{}", server.line);
    assert_eq!(server.signal("TERM").0, Some(0));
    // Again: the directory holds data now, and is served as it is.
    let server = Server::start(&data, &["--demo"]);
    assert!(server.line.starts_with(&prefix), "{}", server.line);
    let r = support::graphql(&server.http, None, "{ aggregateCustomer { count } }", serde_json::Value::Null);
    assert_eq!(r.body, r#"{"data":{"aggregateCustomer":{"count":302}}}"#);
}
