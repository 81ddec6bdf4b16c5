#![allow(clippy::unwrap_used, missing_docs)]
//! `fAggregate(depth:, distinct:)` on a self-typed list edge: exact cases, and a property test
//! against naive enumeration on random graphs.

use proptest::prelude::*;
use quiver_query::Database;
use serde_json::{Value, json};

const SCHEMA: &str = "type N { id: ID!  k: Int  out: [N] }";

fn graph(n: u64, edges: &[(u64, u64)], k: impl Fn(u64) -> i64) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(SCHEMA).unwrap();
    let nodes: Vec<Value> = (1..=n)
        .map(|i| {
            let out: Vec<Value> = edges
                .iter()
                .filter(|(a, _)| *a == i)
                .map(|(_, b)| json!({"id": format!("{b:#x}")}))
                .collect();
            json!({"id": format!("{i:#x}"), "k": k(i), "out": out})
        })
        .collect();
    db.import_json("g.json", &json!({ "N": nodes }).to_string()).unwrap();
    (dir, db)
}

fn count(db: &Database, node: u64, args: &str) -> Value {
    let args = if args.is_empty() { String::new() } else { format!("({args})") };
    let r = db.execute(
        &format!("{{ getN(id: \"{node:#x}\") {{ outAggregate{args} {{ count }} }} }}"),
        &Value::Null,
    );
    let v: Value = serde_json::from_str(r.json()).unwrap();
    v["data"]["getN"]["outAggregate"]["count"].clone()
}

#[test]
fn walks_and_reach_on_a_small_graph() {
    // 1 -> 2, 1 -> 3, 2 -> 3, 3 -> 1, 3 -> 3 (a self-loop), 4 alone.
    let (_d, db) = graph(4, &[(1, 2), (1, 3), (2, 3), (3, 1), (3, 3)], |i| i as i64);
    let c = |node, args: &str| count(&db, node, args);
    assert_eq!(c(1, ""), json!(2));
    assert_eq!(c(1, "depth: 0"), json!(1));
    assert_eq!(c(1, "depth: 1"), json!(2));
    // Walks of 2 from 1: 1-2-3, 1-3-1, 1-3-3.
    assert_eq!(c(1, "depth: 2"), json!(3));
    // Walks of 3: 1-2-3-1, 1-2-3-3, 1-3-1-2, 1-3-1-3, 1-3-3-1, 1-3-3-3.
    assert_eq!(c(1, "depth: 3"), json!(6));
    // Distinct within 1: {2, 3}; within 2: {2, 3, 1} (the start, reached by a cycle).
    assert_eq!(c(1, "depth: 1, distinct: true"), json!(2));
    assert_eq!(c(1, "depth: 2, distinct: true"), json!(3));
    assert_eq!(c(1, "depth: 0, distinct: true"), json!(0));
    // A self-loop is a cycle: 3 reaches itself in one step.
    assert_eq!(c(3, "depth: 1, distinct: true"), json!(2));
    assert_eq!(c(4, "depth: 3"), json!(0));
    assert_eq!(c(4, "depth: 3, distinct: true"), json!(0));
    // The filter prunes every node stepped on: without node 2 (k = 2).
    assert!(c(1, "depth: 3, filter: {k: {ne: 2}}").is_null(), "ne is no operator: a validation error");
    // 1-3-1-3, 1-3-3-1, 1-3-3-3 (1-3-1-2 steps on 2).
    assert_eq!(c(1, "depth: 3, filter: {not: {k: {eq: 2}}}"), json!(3));
    assert_eq!(c(1, "depth: 2, distinct: true, filter: {not: {k: {eq: 2}}}"), json!(2));
    // Reductions over the nodes where the walks end (distinct ends) or those reached.
    let r = db.execute("{ getN(id: \"0x1\") { a: outAggregate(depth: 2) { count kMin kMax } b: outAggregate(depth: 2, distinct: true) { count kSum } } }", &Value::Null);
    assert_eq!(r.json(), r#"{"data":{"getN":{"a":{"count":3,"kMin":1,"kMax":3},"b":{"count":3,"kSum":6}}}}"#);
    // Bounds.
    let r = db.execute("{ getN(id: \"0x1\") { outAggregate(depth: 65) { count } } }", &Value::Null);
    assert_eq!(
        r.json(),
        r#"{"errors":[{"message":"depth must be between 0 and 64, not 65","locations":[{"line":1,"column":41}]}]}"#
    );
    let r = db.execute("{ getN(id: \"0x1\") { outAggregate(depth: -1) { count } } }", &Value::Null);
    assert_eq!(
        r.json(),
        r#"{"errors":[{"message":"depth must be between 0 and 64, not -1","locations":[{"line":1,"column":41}]}]}"#
    );
}

#[test]
fn walk_counts_that_overflow_an_int_are_errors() {
    // A complete graph of 8 nodes with self-loops: 8^depth walks; 8^21 = 2^63 > i64::MAX.
    let edges: Vec<(u64, u64)> = (1..=8).flat_map(|a| (1..=8).map(move |b| (a, b))).collect();
    let (_d, db) = graph(8, &edges, |_| 0);
    assert_eq!(count(&db, 1, "depth: 20"), json!(8u64.pow(20)));
    let r = db.execute("{ getN(id: \"0x1\") { outAggregate(depth: 21) { count } } }", &Value::Null);
    assert_eq!(
        r.json(),
        r#"{"data":{"getN":null},"errors":[{"message":"the walk count does not fit an Int (2^63 - 1)","locations":[{"line":1,"column":3}],"path":["getN"]}]}"#
    );
}

/// Walks of exactly `depth` edges from `start`, by enumeration.
fn naive_walks(edges: &[(u64, u64)], start: u64, depth: usize, ok: &dyn Fn(u64) -> bool) -> u64 {
    if depth == 0 {
        return 1;
    }
    edges
        .iter()
        .filter(|(a, b)| *a == start && ok(*b))
        .map(|(_, b)| naive_walks(edges, *b, depth - 1, ok))
        .sum()
}

/// Distinct nodes reachable by walks of 1..=depth edges.
fn naive_reach(edges: &[(u64, u64)], start: u64, depth: usize, ok: &dyn Fn(u64) -> bool) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    let mut frontier = vec![start];
    for _ in 0..depth {
        let mut next = Vec::new();
        for u in frontier {
            for (_, b) in edges.iter().filter(|(a, b)| *a == u && ok(*b)) {
                if seen.insert(*b) {
                    next.push(*b);
                }
            }
        }
        frontier = next;
    }
    seen.len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn counts_equal_naive_enumeration(
        n in 1u64..10,
        raw in prop::collection::btree_set((1u64..10, 1u64..10), 0..40),
        threshold in 0i64..4,
    ) {
        let edges: Vec<(u64, u64)> = raw.into_iter().filter(|(a, b)| *a <= n && *b <= n).collect();
        let (_d, db) = graph(n, &edges, |i| (i % 4) as i64);
        let all = |_: u64| true;
        let kept = |i: u64| (i % 4) as i64 >= threshold;
        for start in 1..=n {
            for depth in 1..=4usize {
                prop_assert_eq!(count(&db, start, &format!("depth: {depth}")), json!(naive_walks(&edges, start, depth, &all)));
                prop_assert_eq!(count(&db, start, &format!("depth: {depth}, distinct: true")), json!(naive_reach(&edges, start, depth, &all)));
                let f = format!("filter: {{k: {{ge: {threshold}}}}}");
                prop_assert_eq!(count(&db, start, &format!("depth: {depth}, {f}")), json!(naive_walks(&edges, start, depth, &kept)));
                prop_assert_eq!(count(&db, start, &format!("depth: {depth}, distinct: true, {f}")), json!(naive_reach(&edges, start, depth, &kept)));
            }
        }
    }
}

#[test]
fn wide_levels_take_the_dense_paths() {
    // 1 -> 2..=5001; each of those -> two of the sinks 5002..=5004; each sink -> 1.
    let mut edges: Vec<(u64, u64)> = (2..=5001).map(|i| (1, i)).collect();
    for i in 2..=5001u64 {
        edges.push((i, 5002 + i % 3));
        edges.push((i, 5002 + (i + 1) % 3));
    }
    edges.extend((5002..=5004).map(|s| (s, 1)));
    let (_d, db) = graph(5004, &edges, |i| i as i64);
    let c = |args: &str| count(&db, 1, args);
    assert_eq!(c("depth: 1"), json!(5000));
    assert_eq!(c("depth: 2"), json!(10_000));
    assert_eq!(c("depth: 3"), json!(10_000));
    assert_eq!(c("depth: 4"), json!(50_000_000));
    assert_eq!(c("depth: 1, distinct: true"), json!(5000));
    assert_eq!(c("depth: 2, distinct: true"), json!(5003));
    assert_eq!(c("depth: 4, distinct: true"), json!(5004));
    // Pruning one sink (k = 5003) removes a third of the second step's walks.
    let f = "filter: {not: {k: {eq: 5003}}}";
    let third = (2..=5001u64).filter(|i| i % 3 == 1 || (i + 1) % 3 == 1).count() as u64;
    assert_eq!(c(&format!("depth: 2, {f}")), json!(10_000 - third));
    assert_eq!(c(&format!("depth: 4, distinct: true, {f}")), json!(5003));
}

fn path(db: &Database, from: u64, to: u64, extra: &str) -> Value {
    let r = db.execute(
        &format!("{{ shortestPath(from: \"{from:#x}\", to: \"{to:#x}\", via: [\"out\"]{extra}) }}"),
        &Value::Null,
    );
    let v: Value = serde_json::from_str(r.json()).unwrap();
    v.get("data").map_or_else(|| v.clone(), |d| d["shortestPath"].clone())
}

#[test]
fn shortest_paths() {
    // 1 -> 2 -> 3 -> 4, and a shortcut 1 -> 5 -> 4; 6 alone; 4 -> 4.
    let (_d, db) = graph(6, &[(1, 2), (2, 3), (3, 4), (1, 5), (5, 4), (4, 4)], |i| i as i64);
    assert_eq!(path(&db, 1, 4, ""), json!(["0x1", "0x5", "0x4"]));
    assert_eq!(path(&db, 2, 4, ""), json!(["0x2", "0x3", "0x4"]));
    assert_eq!(path(&db, 1, 1, ""), json!(["0x1"]));
    assert_eq!(path(&db, 4, 1, ""), Value::Null);
    assert_eq!(path(&db, 1, 6, ""), Value::Null);
    assert_eq!(path(&db, 2, 4, ", maxDepth: 1"), Value::Null);
    assert_eq!(path(&db, 2, 4, ", maxDepth: 2"), json!(["0x2", "0x3", "0x4"]));
    assert_eq!(path(&db, 1, 0x99, ""), Value::Null);
    let r = db.execute(r#"{ shortestPath(from: "0x1", to: "0x2", via: ["k"]) }"#, &Value::Null);
    assert_eq!(
        r.json(),
        r#"{"errors":[{"message":"via names k, which is no edge field","locations":[{"line":1,"column":46}]}]}"#
    );
    let r =
        db.execute(r#"{ shortestPath(from: "0x1", to: "0x2", via: ["out"], maxDepth: 99) }"#, &Value::Null);
    assert_eq!(
        r.json(),
        r#"{"errors":[{"message":"maxDepth must be between 0 and 64, not 99","locations":[{"line":1,"column":64}]}]}"#
    );
}

/// BFS distance, by the book.
fn naive_distance(edges: &[(u64, u64)], from: u64, to: u64) -> Option<usize> {
    let mut dist = std::collections::BTreeMap::from([(from, 0usize)]);
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(u) = queue.pop_front() {
        if u == to {
            return Some(dist[&u]);
        }
        for (_, b) in edges.iter().filter(|(a, _)| *a == u) {
            if !dist.contains_key(b) {
                dist.insert(*b, dist[&u] + 1);
                queue.push_back(*b);
            }
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn shortest_path_lengths_equal_bfs(
        n in 1u64..12,
        raw in prop::collection::btree_set((1u64..12, 1u64..12), 0..40),
    ) {
        let edges: Vec<(u64, u64)> = raw.into_iter().filter(|(a, b)| *a <= n && *b <= n).collect();
        let (_d, db) = graph(n, &edges, |_| 0);
        for from in 1..=n {
            for to in 1..=n {
                let got = path(&db, from, to, "");
                match naive_distance(&edges, from, to) {
                    None => prop_assert_eq!(got, Value::Null),
                    Some(d) => {
                        let uids: Vec<u64> = got.as_array().unwrap().iter()
                            .map(|x| u64::from_str_radix(&x.as_str().unwrap()[2..], 16).unwrap()).collect();
                        prop_assert_eq!(uids.len(), d + 1);
                        prop_assert_eq!((uids[0], uids[d]), (from, to));
                        for w in uids.windows(2) {
                            prop_assert!(edges.contains(&(w[0], w[1])), "{:?} is not an edge", w);
                        }
                    }
                }
            }
        }
    }
}
