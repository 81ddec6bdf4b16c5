//! Load generator for `quiver serve`: the customer-360 query from 1, 8 and 64 concurrent
//! clients over the native protocol and over HTTP (keep-alive), then mutations per second from
//! 1 and 64 writers (group commit). The server is the release binary as a child process; the
//! generator runs on the same machine and shares its cores (both figures say so).
//!
//! ```text
//! cargo bench --bench server_load                       # 5 s per setting
//! cargo bench --bench server_load -- --seconds 10 --clients 1,8,64
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/customer360").join(name),
    )
    .unwrap()
}

struct Served {
    child: Child,
    http: String,
    tcp: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["serve", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("QUIVER_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = |name: &str| words[words.iter().position(|w| *w == name).unwrap() + 1].to_string();
    Served { http: at("http"), tcp: at("tcp"), child }
}

/// A keep-alive HTTP/1.1 connection posting GraphQL requests.
struct HttpConn {
    stream: BufReader<TcpStream>,
    host: String,
    body: Vec<u8>,
}

impl HttpConn {
    async fn connect(addr: &str) -> HttpConn {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        HttpConn { stream: BufReader::new(s), host: addr.to_string(), body: Vec::new() }
    }

    async fn post(&mut self, payload: &str) -> &[u8] {
        let req = format!(
            "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/graphql-response+json\r\nContent-Length: {}\r\n\r\n{payload}",
            self.host,
            payload.len()
        );
        self.stream.get_mut().write_all(req.as_bytes()).await.unwrap();
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        self.body.resize(length, 0);
        self.stream.read_exact(&mut self.body).await.unwrap();
        &self.body
    }
}

/// Round trips per second and latency percentiles.
struct Measured {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn summarize(mut lat: Vec<Duration>, took: Duration) -> Measured {
    lat.sort();
    let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    Measured { per_second: lat.len() as f64 / took.as_secs_f64(), p50: at(0.50), p99: at(0.99) }
}

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Tcp,
    Http,
}

/// `clients` tasks sending `payload(i)` one after another for `seconds`.
async fn drive(
    served: &Served,
    transport: Transport,
    clients: usize,
    seconds: u64,
    request: fn(u64, usize) -> (String, Value),
    check: fn(&str),
) -> Measured {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (tcp, http) = (served.tcp.clone(), served.http.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(1 << 16);
            let mut i = 0u64;
            match transport {
                Transport::Tcp => {
                    let mut c = quiver::Client::connect(tcp.as_str(), None).await.unwrap();
                    while Instant::now() < deadline {
                        let (q, vars) = request(i, client);
                        let t = Instant::now();
                        let r = c.query(&q, &vars).await.unwrap();
                        lat.push(t.elapsed());
                        check(r.json());
                        i += 1;
                    }
                }
                Transport::Http => {
                    let mut c = HttpConn::connect(&http).await;
                    while Instant::now() < deadline {
                        let (q, vars) = request(i, client);
                        let payload = json!({ "query": q, "variables": vars }).to_string();
                        let t = Instant::now();
                        let body = c.post(&payload).await;
                        lat.push(t.elapsed());
                        check(std::str::from_utf8(body).unwrap());
                        i += 1;
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    summarize(all, started.elapsed())
}

fn args() -> (u64, Vec<usize>) {
    let mut seconds = 5;
    let mut clients = vec![1, 8, 64];
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => seconds = it.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--clients" => {
                clients = it
                    .next()
                    .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
                    .unwrap_or(clients)
            }
            _ => {} // cargo bench passes --bench
        }
    }
    (seconds, clients)
}

fn main() {
    let (seconds, clients) = args();
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&dir.path().join("db"));
    let mut client = quiver::blocking::Client::connect(served.tcp.as_str(), None).unwrap();
    let items = "\ntype Item {\n  id: ID!\n  key: String! @id\n}\n";
    client.admin("schema.set", json!({ "sdl": fixture("schema.graphql") + items })).unwrap();
    client.admin("import", json!({ "data": fixture("data.json") })).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("the generator shares the machine's {} cores with the server", num_cores());
    println!("{:<10} {:>7} {:>12} {:>10} {:>10}", "what", "clients", "per second", "p50 us", "p99 us");
    let print = |what: &str, n: usize, m: &Measured| {
        println!(
            "{what:<10} {n:>7} {:>12.0} {:>10.1} {:>10.1}",
            m.per_second,
            m.p50.as_secs_f64() * 1e6,
            m.p99.as_secs_f64() * 1e6
        );
    };
    fn c360(_: u64, _: usize) -> (String, Value) {
        (QUERY.with(|q| q.clone()), Value::Null)
    }
    fn c360_check(body: &str) {
        EXPECTED.with(|e| assert_eq!(body, e.as_str()));
    }
    for (name, transport) in [("c360 tcp", Transport::Tcp), ("c360 http", Transport::Http)] {
        for &n in &clients {
            let m = runtime.block_on(drive(&served, transport, n, seconds, c360, c360_check));
            print(name, n, &m);
        }
    }
    fn add(i: u64, client: usize) -> (String, Value) {
        let m = "mutation($k: String!) { addItem(input: [{key: $k}]) { numUids } }";
        (m.to_string(), json!({ "k": format!("c{client}-{i}-{:?}", Instant::now()) }))
    }
    fn add_check(body: &str) {
        assert!(body.ends_with(r#"{"addItem":{"numUids":1}}}"#), "{body}");
    }
    let mut rates = Vec::new();
    for n in [1, 64] {
        let before = client.admin("stats", json!({})).unwrap();
        let m = runtime.block_on(drive(&served, Transport::Tcp, n, seconds, add, add_check));
        let after = client.admin("stats", json!({})).unwrap();
        let delta = |k: &str| after[k].as_u64().unwrap() - before[k].as_u64().unwrap();
        print("add tcp", n, &m);
        println!("           commits {} fsyncs {}", delta("commits"), delta("fsyncs"));
        rates.push(m.per_second);
    }
    println!(
        "group commit: {:.1}x the mutations/s of one writer (one fsync per commit)",
        rates[1] / rates[0]
    );
}

thread_local! {
    static QUERY: String = fixture("query.graphql");
    static EXPECTED: String = {
        let v: Value = serde_json::from_str(&fixture("expected.json")).unwrap();
        serde_json::to_string(&v).unwrap()
    };
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
