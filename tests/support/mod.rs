//! What the end-to-end tests share: `quiver serve` as a child process on free loopback ports,
//! a minimal HTTP/1.1 client, and the fixtures.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A file of the customer-360 fixture.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap()
}

/// The path of a file of the customer-360 fixture.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/customer360").join(name)
}

/// The customer-360 answer, compact, keys in the fixture's order.
pub fn expected() -> String {
    let v: serde_json::Value = serde_json::from_str(&fixture("expected.json")).unwrap();
    serde_json::to_string(&v).unwrap()
}

/// `quiver serve` running on `data`, on free loopback ports.
pub struct Server {
    pub child: Child,
    pub out: BufReader<ChildStdout>,
    /// The first line it printed (where it listens).
    pub line: String,
    pub http: String,
    pub tcp: String,
}

impl Server {
    pub fn start(data: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        // "quiver: serving DIR (N nodes) on http ADDR and tcp ADDR"
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = |name: &str| {
            let i = words.iter().position(|w| *w == name).unwrap_or_else(|| panic!("no {name} in {line:?}"));
            words[i + 1].to_string()
        };
        let (http, tcp) = (at("http"), at("tcp"));
        Server { child, out, line, http, tcp }
    }

    /// Sends `signal` (TERM, KILL) and waits for the exit code (None when killed) and the
    /// rest of what it printed.
    pub fn signal(mut self, signal: &str) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        (status.code(), rest)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpReply {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    HttpReply { status, headers, body: body.to_string() }
}

/// A GraphQL POST with `Accept: application/graphql-response+json`.
pub fn graphql(addr: &str, token: Option<&str>, query: &str, variables: serde_json::Value) -> HttpReply {
    let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers =
        vec![("Content-Type", "application/json"), ("Accept", "application/graphql-response+json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    http(addr, "POST", "/graphql", &headers, body.as_bytes())
}

/// Percent-encodes everything but the unreserved characters (for URL parameters).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
