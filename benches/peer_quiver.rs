//! Quiver's side of the peer comparison (benches/peers/peers.py runs it): loads an R-MAT graph
//! written by `rmat_csv` with the CSV import, then times every query class of SPEC §8 from the
//! 100 seeds embedded (`Database::execute`), through the TCP server, and on a plain in-memory
//! CSR with the best algorithm per class (the limit). Prints one JSON object.
//!
//! ```text
//! cargo bench --bench rmat_csv -- --scale 16 --out target/rmat16
//! cargo bench --bench peer_quiver -- --dir target/rmat16 --runs 3
//! ```
#![allow(clippy::unwrap_used, missing_docs, dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../engine/benches/support/rmat.rs"]
mod rmat;

/// The classes: name, depth, distinct.
const CLASSES: [(&str, u32, bool); 5] =
    [("path1", 1, false), ("path2", 2, false), ("path3", 3, false), ("reach2", 2, true), ("reach3", 3, true)];

fn query(depth: u32, distinct: bool) -> String {
    format!(
        "query($k: Int!) {{ getPerson(key: $k) {{ knowsAggregate(depth: {depth}, distinct: {distinct}) {{ count }} }} }}"
    )
}

/// The count in `{"data":{"getPerson":{"knowsAggregate":{"count":N}}}}`.
fn count(json: &str) -> u64 {
    let at = json.find("\"count\":").unwrap_or_else(|| panic!("no count in {json}")) + 8;
    json[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Bytes the directory's files take on disk: allocated blocks, as `du` counts (segments are
/// preallocated, so their length overstates them).
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.blocks() * 512)
                .sum()
        })
        .unwrap_or(0)
}

/// The process's peak resident set so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs every class `runs` times over `seeds` with `run_one`; per class the median total time
/// and the counts of the first run.
fn time_classes(
    seeds: &[u32],
    runs: usize,
    mut run_one: impl FnMut(&str, u32) -> u64,
) -> Vec<(Duration, Vec<u64>)> {
    CLASSES
        .iter()
        .map(|&(_, depth, distinct)| {
            let q = query(depth, distinct);
            let mut counts = Vec::new();
            let mut times = Vec::new();
            for run in 0..runs {
                let started = Instant::now();
                let got: Vec<u64> = seeds.iter().map(|&s| run_one(&q, s)).collect();
                times.push(started.elapsed());
                if run == 0 {
                    counts = got;
                }
            }
            (median(times), counts)
        })
        .collect()
}

fn main() {
    let mut dir = PathBuf::from("target/rmat16");
    let mut runs = 3;
    let mut tcp = true;
    // Reuse the database a previous run loaded (to measure a process that only queries).
    let mut skip_load = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = args.next().map(PathBuf::from).expect("--dir DIR"),
            "--runs" => runs = args.next().and_then(|s| s.parse().ok()).expect("--runs N"),
            "--no-tcp" => tcp = false,
            "--skip-load" => skip_load = true,
            _ => {}
        }
    }
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
    };
    let seeds: Vec<u32> = read("seeds.txt").lines().map(|l| l.trim().parse().unwrap()).collect();

    // Load, durable at the end (close checkpoints).
    let data = dir.join("quiver-db");
    let (mut load, mut loaded_nodes, mut loaded_edges) = (None, 0, 0);
    if !skip_load {
        let _ = std::fs::remove_dir_all(&data);
        let started = Instant::now();
        let db = quiver::Database::open(&data).unwrap();
        db.set_schema(&read("schema.graphql")).unwrap();
        // Read as `quiver import` reads them (in place, by a map).
        let input = |name: &str| dir.join(name);
        loaded_nodes = quiver::query::read_input(&input("nodes.csv"), |text| {
            db.import_csv_nodes("nodes.csv", "Person", text)
        })
        .unwrap()
        .nodes;
        loaded_edges = quiver::query::map_input(&input("edges.csv"), |bytes| {
            let options = quiver::query::ImportOptions::default();
            db.import_csv_edge_bytes("edges.csv", "Person.knows", bytes, &options, &mut |_| {})
        })
        .unwrap()
        .edges;
        db.close().unwrap();
        load = Some(started.elapsed().as_secs_f64());
    }
    let disk = disk_bytes(&data);

    // Peak RSS while querying, not while loading: reset the process's high-water mark (Linux
    // resets VmHWM on writing 5 to clear_refs) and reopen.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let db = quiver::Database::open(&data).unwrap();
    let open = started.elapsed();
    // Warm the maps and the document cache once.
    let _ = db.execute(&query(1, false), &json!({"k": seeds[0]}));
    let embedded = time_classes(&seeds, runs, |q, s| count(db.execute(q, &json!({ "k": s })).json()));
    let rss_embedded = peak_rss();

    let over_tcp = tcp.then(|| {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server_db = db.clone();
        let server = std::thread::spawn(move || {
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let shutdown = async {
                    let _ = stop_rx.await;
                };
                quiver::server::run_tcp(listener, server_db, Default::default(), shutdown).await.unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        let mut client = quiver::blocking::Client::connect(addr, None).unwrap();
        let _ = client.query(&query(1, false), &json!({"k": seeds[0]}));
        let timed =
            time_classes(&seeds, runs, |q, s| count(client.query(q, &json!({ "k": s })).unwrap().json()));
        // The 100 seeds of a class sent at once, answers read after (pipelining).
        let vars: Vec<Value> = seeds.iter().map(|s| json!({ "k": s })).collect();
        let pipelined: Vec<(Duration, Vec<u64>)> = CLASSES
            .iter()
            .map(|&(_, depth, distinct)| {
                let q = query(depth, distinct);
                let batch: Vec<(&str, &Value, Option<&str>)> =
                    vars.iter().map(|v| (q.as_str(), v, None)).collect();
                let mut times = Vec::new();
                let mut counts = Vec::new();
                for run in 0..runs {
                    let started = Instant::now();
                    let replies = client.pipeline(&batch).unwrap();
                    times.push(started.elapsed());
                    if run == 0 {
                        counts = replies.into_iter().map(|r| count(r.unwrap().json())).collect();
                    }
                }
                (median(times), counts)
            })
            .collect();
        drop(client);
        let _ = stop_tx.send(());
        server.join().unwrap();
        (timed, pipelined)
    });

    // The plain CSR limit: edges.csv read back into a sorted edge list.
    let mut list: Vec<(u32, u32)> = read("edges.csv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .map(|(a, b)| (a.trim().parse().unwrap(), b.trim().parse().unwrap()))
        .collect();
    list.sort_unstable();
    let vertices = list.iter().map(|&(a, b)| a.max(b)).max().map_or(0, |m| m + 1).max(loaded_nodes as u32);
    let edge_count = list.len() as u64;
    let graph = rmat::Graph { vertices, edges: list };
    let csr = rmat::PlainCsr::out(&graph);
    let mut scratch = rmat::Scratch::new(vertices);
    let mut traversed = Vec::new();
    let plain: Vec<(Duration, Vec<u64>)> = CLASSES
        .iter()
        .map(|&(_, depth, distinct)| {
            let mut times = Vec::new();
            let mut counts = Vec::new();
            let mut edges_scanned = 0;
            for run in 0..runs {
                let started = Instant::now();
                let mut got = Vec::with_capacity(seeds.len());
                let mut scanned = 0;
                for &s in &seeds {
                    let (c, t) = if distinct {
                        rmat::reach(&csr, s, depth, &mut scratch)
                    } else {
                        rmat::walks(&csr, s, depth, &mut scratch)
                    };
                    got.push(c);
                    scanned += t;
                }
                times.push(started.elapsed());
                if run == 0 {
                    counts = got;
                    edges_scanned = scanned;
                }
            }
            traversed.push(edges_scanned);
            (median(times), counts)
        })
        .collect();

    let class_json = |timed: &[(Duration, Vec<u64>)]| -> Value {
        let mut out = serde_json::Map::new();
        for (((name, _, _), (time, counts)), scanned) in CLASSES.iter().zip(timed).zip(&traversed) {
            let secs = time.as_secs_f64();
            out.insert(
                (*name).to_string(),
                json!({ "seconds": secs, "edges_traversed": scanned, "edges_per_second": *scanned as f64 / secs.max(1e-12), "counts": counts }),
            );
        }
        Value::Object(out)
    };
    let same = |timed: &[(Duration, Vec<u64>)]| timed.iter().zip(&plain).all(|((_, a), (_, b))| a == b);
    let report = json!({
        "system": "quiver",
        "vertices": vertices,
        "edges": if skip_load { edge_count } else { loaded_edges },
        "load_seconds": load,
        "open_seconds": open.as_secs_f64(),
        "disk_bytes": disk,
        "peak_rss_bytes_querying": rss_embedded,
        "threads": 2,
        "embedded": class_json(&embedded),
        "embedded_matches_csr": same(&embedded),
        "tcp": over_tcp.as_ref().map(|(t, _)| class_json(t)),
        "tcp_matches_csr": over_tcp.as_ref().map(|(t, _)| same(t)),
        "tcp_pipelined": over_tcp.as_ref().map(|(_, p)| class_json(p)),
        "tcp_pipelined_matches_csr": over_tcp.as_ref().map(|(_, p)| same(p)),
        "plain_csr": class_json(&plain),
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
