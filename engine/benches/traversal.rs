//! Storage-engine benchmarks on a Graph500 R-MAT graph: bulk load, open after a checkpoint,
//! bytes per edge, and traversal throughput through the engine's snapshot adjacency beside a
//! plain `Vec` CSR.
//!
//! `cargo bench -p quiver-engine --bench traversal` runs scale 16; set `QUIVER_BENCH_SCALE=20`
//! for the full-size graph (16 million edges). Load, open and size figures are printed once per
//! run; traversal classes are criterion benchmarks with edges traversed as throughput.

#![allow(missing_docs, clippy::unwrap_used)]

#[path = "support/rmat.rs"]
mod rmat;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use quiver_engine::{
    AdjacencyView, CatalogChange, Direction, Durability, IndexSet, Options, ScalarType, Store, Value,
};
use rmat::{Adjacency, Graph, PlainCsr, Scratch, reach, rmat, seeds, walks};

struct EngineAdj<'a>(AdjacencyView<'a>);

impl Adjacency for EngineAdj<'_> {
    #[inline]
    fn neighbors(&self, v: u32) -> &[u32] {
        self.0.neighbors(v)
    }
}

fn scale() -> u32 {
    std::env::var("QUIVER_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(16)
}

/// Loads the graph in one transaction; returns the total time and its phases.
fn bulk_load(dir: &std::path::Path, g: &Graph) -> (Duration, String) {
    let opts = Options { durability: Durability::None, checkpoint_bytes: u64::MAX, ..Options::default() };
    let start = Instant::now();
    let store = Store::open_with(dir, opts).unwrap();
    let mut txn = store.write().unwrap();
    txn.alter(CatalogChange::AddType { name: "Person".into() }, false).unwrap();
    let key = CatalogChange::AddProperty {
        owner: 0,
        name: "key".into(),
        ty: ScalarType::Int,
        list: false,
        indexes: IndexSet::UNIQUE,
    };
    txn.alter(key, false).unwrap();
    txn.alter(CatalogChange::AddEdge { source: 0, name: "knows".into(), target: 0, list: true }, false)
        .unwrap();
    for v in 0..g.vertices {
        txn.create_node(0, Some(u64::from(v) + 1)).unwrap();
        txn.set(u64::from(v) + 1, 0, Value::Int(i64::from(v))).unwrap();
    }
    let nodes = start.elapsed();
    let mut targets = Vec::new();
    for run in g.edges.chunk_by(|a, b| a.0 == b.0) {
        targets.clear();
        targets.extend(run.iter().map(|&(_, v)| u64::from(v) + 1));
        txn.add_edges(0, u64::from(run[0].0) + 1, &targets).unwrap();
    }
    let edges = start.elapsed();
    txn.commit().unwrap();
    let commit = start.elapsed();
    store.sync().unwrap();
    store.close().unwrap();
    let total = start.elapsed();
    let phases = format!(
        "nodes {:.2} s, edges {:.2} s, commit {:.2} s, fsync + checkpoint {:.2} s",
        nodes.as_secs_f64(),
        (edges - nodes).as_secs_f64(),
        (commit - edges).as_secs_f64(),
        (total - commit).as_secs_f64()
    );
    (total, phases)
}

fn disk_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().metadata().unwrap().blocks() * 512).sum()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn benches(c: &mut Criterion) {
    let scale = scale();
    let g = rmat(scale, 16, 0x5eed);
    let edges = g.edges.len() as u64;
    let seeds = seeds(&g, 100, 7);
    let plain = PlainCsr::out(&g);
    let dir = tempfile::tempdir().unwrap();

    let (load, phases) = bulk_load(dir.path(), &g);
    let on_disk = disk_bytes(dir.path());
    let rss_before = rss_bytes();
    let t = Instant::now();
    let store = Store::open(dir.path()).unwrap();
    let open = t.elapsed();
    assert_eq!(store.recovery_report().replayed, 0, "the checkpoint covers the whole load");
    let snap = store.snapshot();
    let adj = EngineAdj(snap.adjacency(0, Direction::Out));
    let inn = snap.adjacency(0, Direction::In);
    // Touch both directions so that resident memory covers the whole adjacency.
    let mut touched = 0u64;
    for v in 0..g.vertices {
        touched += adj.neighbors(v).len() as u64 + inn.neighbors(v).len() as u64;
    }
    assert_eq!(touched, 2 * edges);
    let resident = rss_bytes().saturating_sub(rss_before);
    let stats = snap.stats();
    println!(
        "R-MAT scale {scale}: {} vertices, {edges} edges\n\
         bulk load (incl. final fsync and checkpoint): {:.2} s = {:.0} edges/s ({phases})\n\
         open after checkpoint: {:.1} ms\n\
         on disk: {:.1} MiB = {:.1} bytes/edge\n\
         adjacency (both directions, mapped): {:.2} bytes/edge; process RSS growth {:.2} bytes/edge",
        g.vertices,
        load.as_secs_f64(),
        edges as f64 / load.as_secs_f64(),
        open.as_secs_f64() * 1e3,
        on_disk as f64 / (1 << 20) as f64,
        on_disk as f64 / edges as f64,
        stats.adjacency_bytes as f64 / edges as f64,
        resident as f64 / edges as f64,
    );

    for (i, &s) in seeds.iter().enumerate().take(3) {
        assert_eq!(snap.dense(u64::from(s) + 1), Some(s), "seed {i}: dense numbers follow uids");
    }
    let mut scratch = Scratch::new(g.vertices);
    let classes: [(&str, bool, u32); 5] = [
        ("path1", false, 1),
        ("path2", false, 2),
        ("path3", false, 3),
        ("reach2", true, 2),
        ("reach3", true, 3),
    ];
    for (name, distinct, depth) in classes {
        let kernel = if distinct { reach::<PlainCsr> } else { walks::<PlainCsr> };
        let mut expected = Vec::new();
        let mut traversed = 0;
        for &s in &seeds {
            let (n, t) = kernel(&plain, s, depth, &mut scratch);
            expected.push(n);
            traversed += t;
        }
        let ekernel = if distinct { reach::<EngineAdj<'_>> } else { walks::<EngineAdj<'_>> };
        let got: Vec<u64> = seeds.iter().map(|&s| ekernel(&adj, s, depth, &mut scratch).0).collect();
        assert_eq!(got, expected, "{name}: the engine and the plain CSR disagree");

        let mut group = c.benchmark_group(format!("scale{scale}/{name}"));
        group.throughput(Throughput::Elements(traversed));
        group.sample_size(if depth == 3 { 10 } else { 30 });
        group.bench_function(BenchmarkId::new("engine", "100 seeds"), |b| {
            b.iter(|| seeds.iter().map(|&s| ekernel(&adj, s, depth, &mut scratch).0).sum::<u64>())
        });
        group.bench_function(BenchmarkId::new("plain-csr", "100 seeds"), |b| {
            b.iter(|| seeds.iter().map(|&s| kernel(&plain, s, depth, &mut scratch).0).sum::<u64>())
        });
        group.finish();
    }

    drop(snap);
    drop(store);
    let mut group = c.benchmark_group(format!("scale{scale}/open"));
    group.sample_size(10);
    group.bench_function("open after checkpoint", |b| {
        b.iter(|| Store::open(dir.path()).unwrap().snapshot().seq())
    });
    group.finish();
}

criterion_group!(traversal, benches);
criterion_main!(traversal);
