//! SPEC §8's traversal classes through `Database::execute` beside the engine-level kernels of
//! the storage bench (same R-MAT graph, same seeds): path1-3 as `knowsAggregate(depth: k)`, reach2-3
//! as `knowsAggregate(depth: k, distinct: true)`, one query per seed with the seed's key as a
//! variable (so each query is parsed once, then validated, planned and run).
//!
//! `cargo bench -p quiver-query --bench traversal` (scale 16; `QUIVER_BENCH_SCALE=20`).

#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../../engine/benches/support/rmat.rs"]
#[allow(dead_code)]
mod rmat;

/// The allocator the `quiver` binary uses (see src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use quiver_engine::{AdjacencyView, Direction, Durability, Options, Value as EValue};
use quiver_query::Database;
use rmat::{Adjacency, Scratch, reach, rmat, seeds, walks};
use serde_json::{Value, json};

struct EngineAdj<'a>(AdjacencyView<'a>);

impl Adjacency for EngineAdj<'_> {
    fn neighbors(&self, v: u32) -> &[u32] {
        self.0.neighbors(v)
    }
}

fn scale() -> u32 {
    std::env::var("QUIVER_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(16)
}

fn bench(c: &mut Criterion) {
    let g = rmat(scale(), 16, 0x5eed);
    let seeds = seeds(&g, 100, 7);
    let dir = tempfile::tempdir().unwrap();
    {
        let db =
            Database::open_with(dir.path(), Options { durability: Durability::None, ..Options::default() })
                .unwrap();
        db.set_schema("type Person { id: ID!  key: Int! @id  knows: [Person] }").unwrap();
        // The schema made type 0, property 0 (key) and edge 0 (knows): load through the engine.
        let mut txn = db.store().write().unwrap();
        for v in 0..g.vertices {
            txn.create_node(0, Some(u64::from(v) + 1)).unwrap();
            txn.set(u64::from(v) + 1, 0, EValue::Int(i64::from(v))).unwrap();
        }
        let mut targets = Vec::new();
        for run in g.edges.chunk_by(|a, b| a.0 == b.0) {
            targets.clear();
            targets.extend(run.iter().map(|&(_, v)| u64::from(v) + 1));
            txn.add_edges(0, u64::from(run[0].0) + 1, &targets).unwrap();
        }
        txn.commit().unwrap();
        db.store().sync().unwrap();
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let snap = db.store().snapshot();
    let adj = EngineAdj(snap.adjacency(0, Direction::Out));
    let mut scratch = Scratch::new(g.vertices);

    for (class, depth, distinct) in [
        ("path1", 1, false),
        ("path2", 2, false),
        ("path3", 3, false),
        ("reach2", 2, true),
        ("reach3", 3, true),
    ] {
        let query = format!(
            "query($k: Int!) {{ getPerson(key: $k) {{ knowsAggregate(depth: {depth}, distinct: {distinct}) {{ count }} }} }}"
        );
        let vars: Vec<Value> = seeds.iter().map(|&s| json!({ "k": s })).collect();
        let count = |v: &Value| -> u64 {
            let r = db.execute(&query, v);
            let parsed: Value = serde_json::from_str(r.json()).unwrap();
            parsed["data"]["getPerson"]["knowsAggregate"]["count"]
                .as_u64()
                .unwrap_or_else(|| panic!("{}", r.json()))
        };
        let kernel = |s: u32, scratch: &mut Scratch| {
            if distinct { reach(&adj, s, depth, scratch).0 } else { walks(&adj, s, depth, scratch).0 }
        };
        // Both give the same count for every seed (dense numbers are uid - 1 here).
        for (&s, v) in seeds.iter().zip(&vars) {
            assert_eq!(count(v), kernel(s, &mut scratch), "{class} from seed {s}");
        }
        let mut group = c.benchmark_group(format!("execute/{class}"));
        group.sample_size(10);
        group.bench_function(BenchmarkId::new("execute", "100 seeds"), |b| {
            b.iter(|| vars.iter().map(|v| db.execute(&query, v).json().len()).sum::<usize>())
        });
        group.bench_function(BenchmarkId::new("engine", "100 seeds"), |b| {
            b.iter(|| seeds.iter().map(|&s| kernel(s, &mut scratch)).sum::<u64>())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
