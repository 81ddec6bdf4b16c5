//! `quiver serve` under load and under crashes: acknowledged mutations survive SIGKILL and
//! SIGTERM, and 50 clients over TCP and HTTP for 10 seconds see no error and the counts they
//! were told.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, expected, fixture, graphql, http};

const ITEMS: &str = "\ntype Item {\n  id: ID!\n  key: String! @id\n  batch: String! @search(by: [hash])\n}\n";

fn set_schema(server: &Server, sdl: &str) {
    let r = http(&server.http, "POST", "/admin/schema", &[], sdl.as_bytes());
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"ok":true}"#));
}

/// Every item key stored, and how many items each batch has.
fn stored(server: &Server) -> (HashSet<String>, std::collections::HashMap<String, usize>) {
    let mut c = quiver::blocking::Client::connect(server.tcp.as_str(), None).unwrap();
    let r = c.query("{ queryItem { key batch } }", &Value::Null).unwrap().value();
    let mut keys = HashSet::new();
    let mut batches = std::collections::HashMap::new();
    for item in r["data"]["queryItem"].as_array().unwrap() {
        keys.insert(item["key"].as_str().unwrap().to_string());
        *batches.entry(item["batch"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    (keys, batches)
}

/// Four clients add items (three per mutation, one transaction each) as fast as they are
/// acknowledged while the server is killed (SIGKILL) or stopped (SIGTERM), five times over.
/// After each restart every acknowledged item is there; the only others are from the one
/// mutation per client that was in flight at a SIGKILL, whole or not at all; after a SIGTERM
/// the in-flight ones were answered or never ran, so the stored items are exactly the
/// acknowledged ones.
#[test]
fn acknowledged_mutations_survive_sigkill_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let mut acked: HashSet<String> = HashSet::new();
    let mut in_doubt: HashSet<String> = HashSet::new();
    for (round, signal) in ["KILL", "TERM", "KILL", "KILL", "TERM"].into_iter().enumerate() {
        let server = Server::start(&data, &[]);
        if round == 0 {
            set_schema(&server, ITEMS);
        }
        let (keys, batches) = stored(&server);
        assert!(acked.is_subset(&keys), "round {round}: acknowledged items lost");
        assert!(
            keys.is_subset(&acked.union(&in_doubt).cloned().collect()),
            "round {round}: items never sent"
        );
        assert!(batches.values().all(|&n| n == 3), "round {round}: a mutation half applied: {batches:?}");
        acked = keys;
        in_doubt.clear();

        let writers: Vec<_> = (0..4)
            .map(|client| {
                let tcp = server.tcp.clone();
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    let mut in_flight = Vec::new();
                    let Ok(mut c) = quiver::blocking::Client::connect(tcp.as_str(), None) else {
                        return (acked, in_flight);
                    };
                    for i in 0.. {
                        let batch = format!("r{round}-c{client}-m{i}");
                        let keys: Vec<String> = (0..3).map(|k| format!("{batch}-{k}")).collect();
                        let input: Vec<Value> =
                            keys.iter().map(|k| json!({"key": k, "batch": batch})).collect();
                        let m = "mutation($in: [AddItemInput!]!) { addItem(input: $in) { numUids } }";
                        match c.query(m, &json!({ "in": input })) {
                            Ok(r) => {
                                assert_eq!(r.json(), r#"{"data":{"addItem":{"numUids":3}}}"#);
                                acked.extend(keys);
                            }
                            Err(_) => {
                                in_flight.extend(keys);
                                break;
                            }
                        }
                    }
                    (acked, in_flight)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        let (code, _) = server.signal(signal);
        assert_eq!(code, if signal == "TERM" { Some(0) } else { None });
        let mut sent_in_round = 0;
        for w in writers {
            let (a, f) = w.join().unwrap();
            sent_in_round += a.len();
            acked.extend(a);
            if signal == "KILL" {
                in_doubt.extend(f);
            }
        }
        assert!(sent_in_round > 0, "round {round}: no mutation was acknowledged");
    }
    let server = Server::start(&data, &[]);
    let (keys, _) = stored(&server);
    assert!(acked.is_subset(&keys));
    assert!(keys.is_subset(&acked.union(&in_doubt).cloned().collect()));
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_quiver"));
    drop(server);
    let out = { check }.args(["check", "--data"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// A tiny deterministic generator per client.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Fifty clients (40 over TCP with the Rust client, 10 over HTTP) for ten seconds: half of
/// their requests are the customer-360 query (which must answer exactly, while the items
/// change beside it), the rest add items or delete their own. No request fails, and the final
/// count of items is what the clients were told they added minus what they deleted.
#[test]
fn fifty_clients_for_ten_seconds_see_no_error_and_consistent_counts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("db"), &[]);
    set_schema(&server, &(fixture("schema.graphql") + ITEMS));
    let r = http(&server.http, "POST", "/admin/import", &[], fixture("data.json").as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);

    let net = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicI64::new(0));
    let query = fixture("query.graphql");
    let want = expected();
    let clients: Vec<_> = (0..50u64)
        .map(|client| {
            let (tcp, http_addr) = (server.tcp.clone(), server.http.clone());
            let (net, stop, requests, query, want) =
                (Arc::clone(&net), Arc::clone(&stop), Arc::clone(&requests), query.clone(), want.clone());
            std::thread::spawn(move || {
                let over_http = client >= 40;
                let mut tcp_client = if over_http {
                    None
                } else {
                    Some(quiver::blocking::Client::connect(tcp.as_str(), None).unwrap())
                };
                let mut run = |q: &str, vars: Value| -> String {
                    match &mut tcp_client {
                        Some(c) => c.query(q, &vars).unwrap().json().to_string(),
                        None => {
                            let r = graphql(&http_addr, None, q, vars);
                            assert_eq!(r.status, 200, "{}", r.body);
                            r.body
                        }
                    }
                };
                let mut rng = Lcg(client + 1);
                let mut mine: Vec<String> = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    match rng.below(10) {
                        0..=4 => assert_eq!(run(&query, Value::Null), want),
                        5..=8 => {
                            let n = 1 + rng.below(3) as usize;
                            let batch = format!("c{client}-{i}");
                            let keys: Vec<String> = (0..n).map(|k| format!("{batch}-{k}")).collect();
                            let input: Vec<Value> =
                                keys.iter().map(|k| json!({"key": k, "batch": batch})).collect();
                            let m = "mutation($in: [AddItemInput!]!) { addItem(input: $in) { numUids } }";
                            let r: Value = serde_json::from_str(&run(m, json!({ "in": input }))).unwrap();
                            assert!(r.get("errors").is_none(), "{r}");
                            net.fetch_add(
                                r["data"]["addItem"]["numUids"].as_i64().unwrap(),
                                Ordering::Relaxed,
                            );
                            mine.extend(keys);
                        }
                        _ => {
                            let Some(key) = mine.pop() else { continue };
                            let m =
                                "mutation($k: String!) { deleteItem(filter: {key: {eq: $k}}) { numUids } }";
                            let r: Value = serde_json::from_str(&run(m, json!({ "k": key }))).unwrap();
                            assert!(r.get("errors").is_none(), "{r}");
                            assert_eq!(r["data"]["deleteItem"]["numUids"], 1);
                            net.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    requests.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let took = started.elapsed();
    let told = net.load(Ordering::Relaxed);
    let r = graphql(&server.http, None, "{ aggregateItem { count } }", Value::Null);
    assert_eq!(r.body, format!(r#"{{"data":{{"aggregateItem":{{"count":{told}}}}}}}"#));
    let metrics = http(&server.http, "GET", "/metrics", &[], b"").body;
    for kind in ["request", "field", "protocol", "timeout"] {
        for transport in ["tcp", "http"] {
            let line = format!("quiver_errors_total{{transport=\"{transport}\",kind=\"{kind}\"}} 0");
            assert!(metrics.lines().any(|l| l == line), "{line} not in\n{metrics}");
        }
    }
    eprintln!("{} requests in {took:?}; {told} items", requests.load(Ordering::Relaxed));
}
