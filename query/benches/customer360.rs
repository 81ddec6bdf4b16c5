//! The customer-360 query end to end: parse and validate; execute on the fixture; execute per
//! customer on a generated data set (100,000 customers by default, `QUIVER_C360_CUSTOMERS` to
//! change); and the import rate of that data set.
//!
//! `cargo bench -p quiver-query --bench customer360`

#![allow(missing_docs, clippy::unwrap_used)]

mod support;

/// The allocator the `quiver` binary uses (see src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quiver_query::{Database, ParseLimits, parse_executable};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/customer360").join(name),
    )
    .unwrap()
}

fn customers() -> u64 {
    std::env::var("QUIVER_C360_CUSTOMERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

fn bench(c: &mut Criterion) {
    let query = fixture("query.graphql");
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&fixture("schema.graphql")).unwrap();
    db.import_json("data.json", &fixture("data.json")).unwrap();
    let expected =
        serde_json::to_string(&serde_json::from_str::<Value>(&fixture("expected.json")).unwrap()).unwrap();
    assert_eq!(db.execute(&query, &Value::Null).json(), expected);

    let mut g = c.benchmark_group("c360");
    let schema = quiver_query::schema::Schema::parse(&fixture("schema.graphql")).unwrap();
    let api = quiver_query::schema::api::Api::build(&schema).unwrap();
    g.bench_function("parse", |b| b.iter(|| parse_executable(&query, &ParseLimits::default()).unwrap()));
    g.bench_function("parse_validate", |b| {
        b.iter(|| {
            let doc = parse_executable(&query, &ParseLimits::default()).unwrap();
            assert!(quiver_query::validate::validate(&api, &doc).is_empty());
            doc
        })
    });
    // A new text every time (a trailing comment with a counter): nothing comes from the cache
    // of prepared documents.
    let mut n = 0u64;
    g.bench_function("end_to_end_uncached/fixture", |b| {
        b.iter(|| {
            n += 1;
            db.execute(&format!("{query}# {n}"), &Value::Null)
        })
    });
    g.bench_function("end_to_end_cached/fixture", |b| b.iter(|| db.execute(&query, &Value::Null)));

    // The generated data set.
    let n = customers();
    let (text, nodes) = support::c360::generate(n, 42);
    let big_dir = tempfile::tempdir().unwrap();
    let big = Database::open(big_dir.path()).unwrap();
    big.set_schema(&fixture("schema.graphql")).unwrap();
    let t = Instant::now();
    let report = big.import_ndjson("generated.ndjson", &text).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "import of {n} customers: {} nodes, {} edges in {:.2} s = {:.0} nodes/s ({} batches)",
        report.nodes,
        report.edges,
        secs,
        report.nodes as f64 / secs,
        report.batches
    );
    assert_eq!(report.nodes, nodes);
    let by_id = query
        .replace("queryCustomer(filter: {id: \"0x28caba09\"})", "queryCustomer(filter: {id: $id})")
        .replace("query MyQuery", "query MyQuery($id: [ID!])");
    let mut rng = support::c360::Rng::new(7);
    let sample: usize = (0..100)
        .map(|_| {
            let id = format!("{:#x}", support::c360::customer_uid(rng.below(n)));
            big.execute(&by_id, &json!({ "id": id })).json().len()
        })
        .sum();
    eprintln!("the per-customer answer averages {} bytes", sample / 100);
    g.bench_function(format!("end_to_end_cached/{n}_customers"), |b| {
        b.iter(|| {
            let id = format!("{:#x}", support::c360::customer_uid(rng.below(n)));
            let r = big.execute(&by_id, &json!({ "id": id }));
            debug_assert!(r.is_ok());
            r
        })
    });
    g.finish();

    let mut g = c.benchmark_group("c360_import");
    g.sample_size(10).measurement_time(Duration::from_secs(1)).throughput(Throughput::Elements(nodes));
    g.bench_function(format!("ndjson/{n}_customers"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let d = tempfile::tempdir().unwrap();
                let db = Database::open(d.path()).unwrap();
                db.set_schema(&fixture("schema.graphql")).unwrap();
                let t = Instant::now();
                db.import_ndjson("generated.ndjson", &text).unwrap();
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
