//! Model-based property test: random sequences of writes, commits, rollbacks, reopens,
//! checkpoints and compactions against a plain in-memory model. After every step the engine
//! (its committed snapshot, and the open transaction's own view) and the model agree on nodes,
//! neighbors in both directions, property values and index lookups.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use common::*;
use proptest::prelude::*;
use quiver_engine::{Direction, EdgeId, IndexKind, PropId, Snapshot, TypeId, Value, WriteTxn};

#[derive(Clone, Debug)]
enum Step {
    Create { ty: TypeId, uid: Option<u64> },
    Delete { node: usize },
    Set { node: usize, prop: PropId, value: u8 },
    Remove { node: usize, prop: PropId },
    AddEdge { edge: EdgeId, src: usize, dst: usize },
    RemoveEdge { edge: EdgeId, src: usize, dst: usize },
    Commit,
    Rollback,
    Reopen,
    Checkpoint,
    Compact,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2u32, prop::option::weighted(0.3, 1..12u64)).prop_map(|(ty, uid)| Step::Create { ty, uid }),
        1 => any::<usize>().prop_map(|node| Step::Delete { node }),
        4 => (any::<usize>(), 0..4u32, any::<u8>()).prop_map(|(node, prop, value)| Step::Set { node, prop, value }),
        1 => (any::<usize>(), 0..4u32).prop_map(|(node, prop)| Step::Remove { node, prop }),
        6 => (0..4u32, any::<usize>(), any::<usize>()).prop_map(|(edge, src, dst)| Step::AddEdge { edge, src, dst }),
        2 => (0..4u32, any::<usize>(), any::<usize>()).prop_map(|(edge, src, dst)| Step::RemoveEdge { edge, src, dst }),
        3 => Just(Step::Commit),
        1 => Just(Step::Rollback),
        1 => Just(Step::Reopen),
        1 => Just(Step::Checkpoint),
        1 => Just(Step::Compact),
    ]
}

/// The value a (property, byte) pair stands for: small domains so that collisions happen.
fn value_for(prop: PropId, b: u8) -> Value {
    let words = ["ada", "alan", "grace", "edsger", "barbara"];
    match prop {
        NAME => Value::String(format!("{} {}", words[b as usize % 5], b % 7)),
        AGE => Value::Int(i64::from(b % 9) - 3),
        TAGS => Value::List(
            (0..b % 3).map(|i| Value::String(words[(b as usize + i as usize) % 5].into())).collect(),
        ),
        _ => Value::String(format!("org {}", b % 4)),
    }
}

const OWNER: [TypeId; 4] = [PERSON, PERSON, PERSON, ORG];
/// (source, target, list, inverse) per edge id.
const EDGES: [(TypeId, TypeId, bool, Option<EdgeId>); 4] = [
    (PERSON, PERSON, true, None),
    (PERSON, PERSON, false, None),
    (ORG, PERSON, true, Some(ORG_OF)),
    (PERSON, ORG, false, Some(STAFF)),
];

#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    nodes: BTreeMap<u64, TypeId>,
    props: BTreeMap<(u64, PropId), Value>,
    edges: BTreeSet<(EdgeId, u64, u64)>,
    next_uid: u64,
}

impl Model {
    fn pick(&self, i: usize) -> Option<u64> {
        if self.nodes.is_empty() { None } else { self.nodes.keys().nth(i % self.nodes.len()).copied() }
    }

    fn create(&mut self, ty: TypeId, uid: Option<u64>) -> Result<u64, ()> {
        let uid = match uid {
            Some(u) if self.nodes.contains_key(&u) => return Err(()),
            Some(u) => u,
            None => self.next_uid.max(1),
        };
        self.next_uid = self.next_uid.max(uid + 1);
        self.nodes.insert(uid, ty);
        Ok(uid)
    }

    fn delete(&mut self, uid: u64) {
        self.nodes.remove(&uid);
        self.props.retain(|(u, _), _| *u != uid);
        self.edges.retain(|&(_, s, d)| s != uid && d != uid);
    }

    fn set(&mut self, uid: u64, prop: PropId, v: Value) -> Result<(), ()> {
        if self.nodes.get(&uid) != Some(&OWNER[prop as usize]) {
            return Err(());
        }
        if prop == NAME && self.props.iter().any(|((u, p), x)| *p == NAME && *u != uid && *x == v) {
            return Err(());
        }
        self.props.insert((uid, prop), v);
        Ok(())
    }

    fn remove(&mut self, uid: u64, prop: PropId) -> Result<(), ()> {
        if self.nodes.get(&uid) != Some(&OWNER[prop as usize]) {
            return Err(());
        }
        self.props.remove(&(uid, prop));
        Ok(())
    }

    fn check_edge(&self, e: EdgeId, s: u64, d: u64) -> Result<(), ()> {
        let (st, dt, _, _) = EDGES[e as usize];
        if self.nodes.get(&s) == Some(&st) && self.nodes.get(&d) == Some(&dt) { Ok(()) } else { Err(()) }
    }

    fn unlink(&mut self, e: EdgeId, s: u64, d: u64) {
        self.edges.remove(&(e, s, d));
        if let Some(inv) = EDGES[e as usize].3 {
            self.edges.remove(&(inv, d, s));
        }
    }

    fn add_edge(&mut self, e: EdgeId, s: u64, d: u64) -> Result<(), ()> {
        self.check_edge(e, s, d)?;
        let (_, _, list, inv) = EDGES[e as usize];
        if !list {
            let old: Vec<u64> = self.out(e, s).into_iter().filter(|&o| o != d).collect();
            for o in old {
                self.unlink(e, s, o);
            }
        }
        if let Some(inv) = inv {
            if !EDGES[inv as usize].2 {
                let old: Vec<u64> = self.out(inv, d).into_iter().filter(|&o| o != s).collect();
                for o in old {
                    self.unlink(inv, d, o);
                }
            }
            self.edges.insert((inv, d, s));
        }
        self.edges.insert((e, s, d));
        Ok(())
    }

    fn remove_edge(&mut self, e: EdgeId, s: u64, d: u64) -> Result<(), ()> {
        self.check_edge(e, s, d)?;
        self.unlink(e, s, d);
        Ok(())
    }

    fn out(&self, e: EdgeId, s: u64) -> Vec<u64> {
        self.edges.iter().filter(|&&(x, a, _)| x == e && a == s).map(|&(_, _, b)| b).collect()
    }

    fn inn(&self, e: EdgeId, d: u64) -> Vec<u64> {
        self.edges.iter().filter(|&&(x, _, b)| x == e && b == d).map(|&(_, a, _)| a).collect()
    }
}

fn uids(snap: &Snapshot, ds: &[u32]) -> Vec<u64> {
    let mut v: Vec<u64> = ds.iter().map(|&d| snap.uid(d)).collect();
    v.sort_unstable();
    v
}

fn verify_snapshot(snap: &Snapshot, m: &Model) {
    assert_eq!(snap.node_count(), m.nodes.len() as u64, "node count");
    for ty in [PERSON, ORG] {
        let want: Vec<u64> = m.nodes.iter().filter(|(_, t)| **t == ty).map(|(u, _)| *u).collect();
        let got: Vec<u64> = snap.nodes_of_type(ty).iter().map(|&d| snap.uid(d)).collect();
        assert_eq!(got, want, "nodes of type {ty} (in uid order)");
    }
    for (&uid, &ty) in &m.nodes {
        let d = snap.dense(uid).unwrap_or_else(|| panic!("node {uid:#x} missing"));
        assert_eq!(snap.node_type(d), ty);
        for e in 0..4u32 {
            assert_eq!(uids(snap, snap.neighbors(e, Direction::Out, d)), m.out(e, uid), "out {e} of {uid}");
            assert_eq!(uids(snap, snap.neighbors(e, Direction::In, d)), m.inn(e, uid), "in {e} of {uid}");
        }
        for p in 0..4u32 {
            let got = snap.value(d, p).unwrap().map(|v| v.to_value());
            assert_eq!(got.as_ref(), m.props.get(&(uid, p)), "prop {p} of {uid}");
        }
    }
    // Index lookups.
    for b in 0..35u8 {
        let v = value_for(NAME, b);
        let want: Vec<u64> =
            m.props.iter().filter(|((_, p), x)| *p == NAME && **x == v).map(|((u, _), _)| *u).collect();
        assert_eq!(uids(snap, &snap.lookup_eq(NAME, &v).unwrap()), want, "name = {v}");
    }
    for w in ["ada", "grace", "barbara"] {
        let tag = Value::String(w.into());
        let want: Vec<u64> = m
            .props
            .iter()
            .filter(|((_, p), x)| *p == TAGS && matches!(x, Value::List(items) if items.contains(&tag)))
            .map(|((u, _), _)| *u)
            .collect();
        assert_eq!(uids(snap, &snap.lookup_eq(TAGS, &tag).unwrap()), want, "tags has {w}");
        let want: Vec<u64> = m
            .props
            .iter()
            .filter(|((_, p), x)| *p == NAME && matches!(x, Value::String(s) if s.starts_with(w)))
            .map(|((u, _), _)| *u)
            .collect();
        assert_eq!(uids(snap, &snap.search_text(NAME, IndexKind::Term, w, false).unwrap()), want, "term {w}");
    }
    let mut by_age: Vec<(i64, u64)> = m
        .props
        .iter()
        .filter_map(|((u, p), x)| match x {
            Value::Int(a) if *p == AGE && *a >= 0 => Some((*a, *u)),
            _ => None,
        })
        .collect();
    by_age.sort_unstable();
    let got: Vec<u64> = snap
        .range(AGE, Bound::Included(&Value::Int(0)), Bound::Unbounded)
        .unwrap()
        .iter()
        .map(|&d| snap.uid(d))
        .collect();
    assert_eq!(got, by_age.iter().map(|x| x.1).collect::<Vec<_>>(), "age >= 0 in order");
}

fn verify_txn(txn: &mut WriteTxn<'_>, m: &Model) {
    for (&uid, &ty) in &m.nodes {
        assert_eq!(txn.node_type(uid), Some(ty));
        for e in 0..4u32 {
            assert_eq!(txn.neighbors(e, Direction::Out, uid).unwrap(), m.out(e, uid), "txn out {e} of {uid}");
            assert_eq!(txn.neighbors(e, Direction::In, uid).unwrap(), m.inn(e, uid), "txn in {e} of {uid}");
        }
        for p in 0..4u32 {
            if OWNER[p as usize] == ty {
                assert_eq!(
                    txn.value(uid, p).unwrap().as_ref(),
                    m.props.get(&(uid, p)),
                    "txn prop {p} of {uid}"
                );
            }
        }
    }
}

fn run(steps: Vec<Step>) {
    let dir = tempfile::tempdir().unwrap();
    let mut committed = Model { next_uid: 1, ..Model::default() };
    let mut i = 0;
    while i < steps.len() {
        let store = open_with_schema(dir.path());
        verify_snapshot(&store.snapshot(), &committed);
        let mut txn: Option<WriteTxn<'_>> = None;
        let mut pending = committed.clone();
        while i < steps.len() {
            let step = steps[i].clone();
            i += 1;
            match step {
                Step::Reopen => break,
                Step::Commit => {
                    if let Some(t) = txn.take() {
                        t.commit().unwrap();
                        committed = pending.clone();
                    }
                }
                Step::Rollback => {
                    txn = None;
                    pending = committed.clone();
                }
                Step::Checkpoint | Step::Compact => {
                    txn = None;
                    pending = committed.clone();
                    if matches!(step, Step::Checkpoint) {
                        store.checkpoint().unwrap();
                    } else {
                        store.compact().unwrap();
                    }
                }
                data => {
                    let t = txn.get_or_insert_with(|| store.write().unwrap());
                    apply(t, &mut pending, data);
                }
            }
            verify_snapshot(&store.snapshot(), &committed);
            if let Some(t) = txn.as_mut() {
                verify_txn(t, &pending);
            }
        }
        drop(txn);
        if i == steps.len() {
            assert!(store.check().unwrap().is_ok(), "{:?}", store.check().unwrap().problems);
        }
    }
}

fn apply(t: &mut WriteTxn<'_>, m: &mut Model, step: Step) {
    match step {
        Step::Create { ty, uid } => {
            let want = m.create(ty, uid);
            let got = t.create_node(ty, uid);
            assert_eq!(got.as_ref().ok(), want.as_ref().ok(), "create {ty} {uid:?}: {got:?}");
        }
        Step::Delete { node } => {
            if let Some(uid) = m.pick(node) {
                m.delete(uid);
                t.delete_node(uid).unwrap();
            }
        }
        Step::Set { node, prop, value } => {
            if let Some(uid) = m.pick(node) {
                let v = value_for(prop, value);
                let want = m.set(uid, prop, v.clone());
                let got = t.set(uid, prop, v);
                assert_eq!(got.is_ok(), want.is_ok(), "set {prop} on {uid}: {got:?}");
            }
        }
        Step::Remove { node, prop } => {
            if let Some(uid) = m.pick(node) {
                let want = m.remove(uid, prop);
                assert_eq!(t.remove(uid, prop).is_ok(), want.is_ok());
            }
        }
        Step::AddEdge { edge, src, dst } | Step::RemoveEdge { edge, src, dst } => {
            if let (Some(s), Some(d)) = (m.pick(src), m.pick(dst)) {
                let add = matches!(step, Step::AddEdge { .. });
                let want = if add { m.add_edge(edge, s, d) } else { m.remove_edge(edge, s, d) };
                let got = if add { t.add_edge(edge, s, d) } else { t.remove_edge(edge, s, d) };
                assert_eq!(got.is_ok(), want.is_ok(), "edge {edge} {s}->{d} add={add}: {got:?}");
            }
        }
        _ => unreachable!("not a data step"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_model(steps in prop::collection::vec(step(), 1..70)) {
        run(steps);
    }
}

/// The same, many more cases: `cargo test -p quiver-engine --test model -- --ignored`.
#[test]
#[ignore]
fn engine_agrees_with_the_model_long() {
    let mut runner =
        proptest::test_runner::TestRunner::new(ProptestConfig { cases: 2000, ..ProptestConfig::default() });
    runner
        .run(&prop::collection::vec(step(), 1..200), |steps| {
            run(steps);
            Ok(())
        })
        .unwrap();
}
