#![allow(clippy::unwrap_used, missing_docs)]
//! GraphQL over HTTP against a server in this process, with small limits: slow bodies, idle
//! keep-alive connections and oversized bodies concern their own connection only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use quiver_query::Database;

fn server(config: quiver_server::ServerConfig) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema("type Person { id: ID!  name: String }").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let listeners = quiver_server::Listeners { tcp: None, http: Some(listener) };
            quiver_server::run(listeners, db, config, std::future::pending()).await.unwrap();
        });
    });
    (rx.recv().unwrap(), dir)
}

/// Sends `head` and `body`, and reads the whole answer (the server closes after it, or the
/// request says `Connection: close`).
fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn post(body: &str) -> Vec<u8> {
    format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_slow_body_times_out_while_others_are_served() {
    let config =
        quiver_server::ServerConfig { frame_timeout: Duration::from_millis(500), ..Default::default() };
    let (addr, _dir) = server(config);
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    slow.write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"qu").unwrap();
    // Meanwhile another client is answered.
    let answer = exchange(addr, &post(r#"{"query": "{ aggregatePerson { count } }"}"#));
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"data":{"aggregatePerson":{"count":0}}}"#), "{answer}");
    let mut out = String::new();
    let _ = slow.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out}");
    assert!(
        out.ends_with(r#"{"errors":[{"message":"the request body took longer than 0.5 s to arrive"}]}"#),
        "{out}"
    );
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[test]
fn idle_keep_alive_connections_and_silent_ones_are_closed_after_the_handshake_timeout() {
    let config =
        quiver_server::ServerConfig { handshake_timeout: Duration::from_millis(300), ..Default::default() };
    let (addr, _dir) = server(config);
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let _ = silent.read_to_end(&mut out);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(5));
    // A keep-alive connection, after one answered request.
    let mut kept = TcpStream::connect(addr).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = r#"{"query": "{ __typename }"}"#;
    let req = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    kept.write_all(req.as_bytes()).unwrap();
    let started = Instant::now();
    let mut all = String::new();
    let _ = kept.read_to_string(&mut all);
    assert!(all.ends_with(r#"{"data":{"__typename":"Query"}}"#), "{all}");
    assert!(started.elapsed() >= Duration::from_millis(250), "closed after {:?}", started.elapsed());
}

#[test]
fn an_oversized_body_is_413_and_the_server_goes_on() {
    let config = quiver_server::ServerConfig { max_frame: 1000, ..Default::default() };
    let (addr, _dir) = server(config);
    let big = format!(r#"{{"query": "{{ __typename }}", "pad": "{}"}}"#, "x".repeat(2000));
    let out = exchange(addr, &post(&big));
    assert!(out.starts_with("HTTP/1.1 413 Payload Too Large\r\n"), "{out}");
    assert!(
        out.ends_with(r#"{"errors":[{"message":"the request body is over the limit of 1000 bytes"}]}"#),
        "{out}"
    );
    let out = exchange(addr, &post(r#"{"query": "{ __typename }"}"#));
    assert!(out.ends_with(r#"{"data":{"__typename":"Query"}}"#), "{out}");
}
