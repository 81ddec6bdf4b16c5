//! Mutations per second with durable commits (fsync before the answer): one `addT` of a
//! single node, one `addT` of 1,000 nodes, and one `updateT` by filter.
//!
//! `cargo bench -p quiver-query --bench mutations`

#![allow(missing_docs, clippy::unwrap_used)]

/// The allocator the `quiver` binary uses (see src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quiver_query::Database;
use serde_json::{Value, json};

const SCHEMA: &str = "type Person { id: ID!  email: String @id  name: String! @search(by: [hash])  age: Int  knows: [Person] }";

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(SCHEMA).unwrap();
    let one = "mutation($p: [AddPersonInput!]!) { addPerson(input: $p) { numUids } }";
    let mut n = 0u64;
    let mut g = c.benchmark_group("mutations");
    g.throughput(Throughput::Elements(1));
    g.bench_function("add one node", |b| {
        b.iter(|| {
            n += 1;
            let r = db.execute(one, &json!({ "p": [{ "name": format!("p{n}"), "age": n % 90 }] }));
            assert!(r.is_ok(), "{}", r.json());
        })
    });
    g.throughput(Throughput::Elements(1000));
    g.bench_function("add 1,000 nodes", |b| {
        b.iter(|| {
            let batch: Vec<Value> = (0..1000)
                .map(|_| {
                    n += 1;
                    json!({ "name": format!("p{n}"), "age": n % 90, "knows": [{ "name": format!("q{n}") }] })
                })
                .collect();
            let r = db.execute(one, &json!({ "p": batch }));
            assert!(r.is_ok(), "{}", r.json());
        })
    });
    g.throughput(Throughput::Elements(1));
    let update = "mutation($name: String!, $age: Int) { updatePerson(input: {filter: {name: {eq: $name}}, set: {age: $age}}) { numUids } }";
    let mut i = 0u64;
    g.bench_function("update by filter", |b| {
        b.iter(|| {
            i = i % n + 1;
            let r = db.execute(update, &json!({ "name": format!("p{i}"), "age": i % 70 }));
            assert!(r.is_ok(), "{}", r.json());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
