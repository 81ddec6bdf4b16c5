//! The floor under any durable load of an R-MAT edge file on this machine: reading the file's
//! integers on every core, grouping them by source into one CSR (a counting sort, also on every
//! core) and writing the CSR's targets to a file with an fsync, and nothing else a database
//! does: no log, no checkpoint, no key lookups (the file's keys are the vertex numbers
//! themselves), no checks. Then the same pairs grouped by target (the in-direction, which the
//! SPEC's index also holds) and written to a second file: `both_directions_total_seconds` is
//! the floor of a load that leaves both directions on disk. docs/BENCHMARKS.md compares the
//! load target of issue 7 (three times faster than DuckDB) with both. Prints one JSON object;
//! times are the median of `--runs`.
//!
//! ```text
//! cargo bench --bench rmat_csv -- --scale 20 --out target/rmat20
//! cargo bench --bench load_floor -- --dir target/rmat20 --runs 5
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The (source, target) pairs of the rows in `text` (whole lines of two integers).
fn parse(text: &[u8]) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(text.len() / 12);
    let (mut src, mut value) = (0u32, 0u32);
    for &b in text {
        match b {
            b'0'..=b'9' => value = value * 10 + u32::from(b - b'0'),
            b',' => (src, value) = (value, 0),
            b'\n' => {
                out.push((src, value));
                value = 0;
            }
            _ => {}
        }
    }
    out
}

/// `text` cut into `parts` pieces at line ends.
fn pieces(text: &[u8], parts: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for p in 1..=parts {
        let mut end = (text.len() * p / parts).max(start);
        while end < text.len() && text[end - 1] != b'\n' {
            end += 1;
        }
        out.push(&text[start..end]);
        start = end;
    }
    out
}

struct Times {
    parse: Duration,
    group: Duration,
    write: Duration,
    /// Grouping the same pairs by target (the in-direction the SPEC's index also holds).
    group_in: Duration,
    /// Writing and syncing both directions (into a second file, after the first).
    write_both: Duration,
}

/// One CSR of `parsed`'s pairs keyed by `key` and holding `value`: a counting sort on a thread
/// per part (each part counts its keys, the counts are summed into offsets, and each part
/// places its pairs at its own cursors: disjoint slots, so no two parts write one).
fn group(parsed: &[Vec<(u32, u32)>], vertices: usize, by_target: bool) -> (Vec<u64>, Vec<u32>) {
    let split = move |&(src, dst): &(u32, u32)| if by_target { (dst, src) } else { (src, dst) };
    let counts: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = parsed
            .iter()
            .map(|pairs| {
                s.spawn(move || {
                    let mut c = vec![0u32; vertices];
                    for pair in pairs {
                        c[split(pair).0 as usize] += 1;
                    }
                    c
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut offsets = vec![0u64; vertices + 1];
    let mut cursors: Vec<Vec<u64>> = vec![vec![0; vertices]; parsed.len()];
    let mut at = 0u64;
    for v in 0..vertices {
        offsets[v] = at;
        for (part, c) in counts.iter().enumerate() {
            cursors[part][v] = at;
            at += u64::from(c[v]);
        }
    }
    offsets[vertices] = at;
    let targets: Vec<AtomicU32> = (0..at).map(|_| AtomicU32::new(0)).collect();
    std::thread::scope(|s| {
        for (pairs, mut cursor) in parsed.iter().zip(cursors) {
            let targets = &targets;
            s.spawn(move || {
                for pair in pairs {
                    let (key, value) = split(pair);
                    let slot = &mut cursor[key as usize];
                    targets[*slot as usize].store(value, Ordering::Relaxed);
                    *slot += 1;
                }
            });
        }
    });
    (offsets, targets.into_iter().map(AtomicU32::into_inner).collect())
}

/// Writes `csr` into a new file at `path` and fsyncs it.
fn write_synced(path: &std::path::Path, (offsets, targets): &(Vec<u64>, Vec<u32>)) {
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(bytemuck::cast_slice(offsets)).unwrap();
    file.write_all(bytemuck::cast_slice(targets)).unwrap();
    file.sync_all().unwrap();
}

fn run(edges: &[u8], vertices: usize, threads: usize, out: &std::path::Path) -> Times {
    let started = Instant::now();
    // The header is the first line.
    let body = &edges[edges.iter().position(|&b| b == b'\n').unwrap() + 1..];
    let parsed: Vec<Vec<(u32, u32)>> = std::thread::scope(|s| {
        let handles: Vec<_> = pieces(body, threads).into_iter().map(|p| s.spawn(move || parse(p))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let parse_done = started.elapsed();
    let outward = group(&parsed, vertices, false);
    let group_done = started.elapsed();
    write_synced(&out.with_extension("out"), &outward);
    let write_done = started.elapsed();
    let inward = group(&parsed, vertices, true);
    let group_in_done = started.elapsed();
    write_synced(&out.with_extension("in"), &inward);
    let write_in_done = started.elapsed();
    Times {
        parse: parse_done,
        group: group_done - parse_done,
        write: write_done - group_done,
        group_in: group_in_done - write_done,
        write_both: (write_done - group_done) + (write_in_done - group_in_done),
    }
}

fn median(mut d: Vec<Duration>) -> f64 {
    d.sort();
    d[d.len() / 2].as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let dir = PathBuf::from(arg("--dir").unwrap_or_else(|| "target/rmat20".into()));
    let runs: usize = arg("--runs").map_or(3, |r| r.parse().unwrap());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let edges = quiver::engine::MappedFile::open(&dir.join("edges.csv")).unwrap();
    let vertices = std::fs::read_to_string(dir.join("nodes.csv")).unwrap().lines().count() - 1;
    let scratch = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for r in 0..runs {
        all.push(run(edges.bytes(), vertices, threads, &scratch.path().join(format!("csr{r}"))));
    }
    let total: Vec<Duration> = all.iter().map(|t| t.parse + t.group + t.write).collect();
    let both: Vec<Duration> = all.iter().map(|t| t.parse + t.group + t.group_in + t.write_both).collect();
    let field = |f: fn(&Times) -> Duration| median(all.iter().map(f).collect());
    println!(
        "{}",
        serde_json::json!({
            "threads": threads,
            "edges_bytes": edges.bytes().len(),
            "parse_seconds": field(|t| t.parse),
            "group_seconds": field(|t| t.group),
            "write_fsync_seconds": field(|t| t.write),
            "total_seconds": median(total),
            "group_in_seconds": field(|t| t.group_in),
            "write_fsync_both_seconds": field(|t| t.write_both),
            "both_directions_total_seconds": median(both),
        })
    );
}
