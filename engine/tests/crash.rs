//! Crash safety with real processes: a child process commits numbered transactions from three
//! threads and prints each acknowledged one; the parent kills it with SIGKILL at a random
//! moment, reopens the directory and checks that every acknowledged transaction is there whole
//! and that no transaction is there in part.
//!
//! The default run does 50 kill cycles; `cargo test --release -p quiver-engine --test crash --
//! --ignored --nocapture` does 1,000 (`QUIVER_CRASH_CYCLES` changes that; 23 minutes here, 750,000
//! acknowledged commits: every cycle verifies the whole, growing database, and every 100th replays the whole
//! log for `check()`).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use quiver_engine::{Direction, Options, Store, Value};

const THREADS: u64 = 3;
const STRIDE: u64 = 1 << 32;

fn child_options() -> Options {
    // Small segments and checkpoints so that kills land during rolls and checkpoints too.
    Options { segment_size: 64 << 10, checkpoint_bytes: 256 << 10, ..Options::default() }
}

/// The child: runs only when the parent sets QUIVER_CRASH_DIR.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("QUIVER_CRASH_DIR") else { return };
    let store = Store::open_with(&dir, child_options()).unwrap();
    if store.snapshot().catalog().types.is_empty() {
        let mut txn = store.write().unwrap();
        define(&mut txn);
        txn.commit().unwrap();
    }
    let _threads: Vec<_> = (1..=THREADS)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let snap = store.snapshot();
                let mut k = 1;
                while snap.node(t * STRIDE + k).is_some() {
                    k += 1;
                }
                loop {
                    let uid = t * STRIDE + k;
                    let mut txn = store.write().unwrap();
                    txn.create_node(PERSON, Some(uid)).unwrap();
                    txn.set(uid, AGE, Value::Int(k as i64)).unwrap();
                    txn.set(uid, NAME, Value::String(format!("t{t} k{k} {}", "x".repeat((k % 50) as usize))))
                        .unwrap();
                    if k > 1 {
                        txn.add_edge(KNOWS, uid, uid - 1).unwrap();
                    }
                    txn.commit().unwrap();
                    println!("ack {t} {k}");
                    k += 1;
                }
            })
        })
        .collect();
    // The writers never stop: the parent kills the process.
    loop {
        std::thread::park();
    }
}

fn run_cycles(cycles: usize, check_every: usize) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("QUIVER_CRASH_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("ack ") {
                    let mut it = rest.split(' ').map(|x| x.parse::<u64>().unwrap());
                    let _ = tx.send((it.next().unwrap(), it.next().unwrap()));
                }
            }
        });
        // Wait for the child to make progress, then kill it at a random moment.
        let first = rx.recv_timeout(Duration::from_secs(30)).expect("child acknowledged nothing");
        acked.entry(first.0).and_modify(|k| *k = (*k).max(first.1)).or_insert(first.1);
        std::thread::sleep(Duration::from_millis(rand::random_range(0..150)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        for (t, k) in rx.try_iter() {
            let e = acked.entry(t).or_insert(0);
            *e = (*e).max(k);
        }

        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("cycle {cycle}: reopen failed: {e}"));
        let snap = store.snapshot();
        for t in 1..=THREADS {
            let mut k = 1;
            while let Some(d) = snap.dense(t * STRIDE + k) {
                // Present means present whole.
                let age = snap.value(d, AGE).unwrap().map(|v| v.to_value());
                assert_eq!(age, Some(Value::Int(k as i64)), "cycle {cycle}: t{t} k{k} age");
                let name = snap.value(d, NAME).unwrap().map(|v| v.to_value());
                let want = format!("t{t} k{k} {}", "x".repeat((k % 50) as usize));
                assert_eq!(name, Some(Value::String(want)), "cycle {cycle}: t{t} k{k} name");
                let out: Vec<u64> =
                    snap.neighbors(KNOWS, Direction::Out, d).iter().map(|&x| snap.uid(x)).collect();
                let want: Vec<u64> = if k > 1 { vec![t * STRIDE + k - 1] } else { vec![] };
                assert_eq!(out, want, "cycle {cycle}: t{t} k{k} edge");
                k += 1;
            }
            let present = k - 1;
            let acknowledged = acked.get(&t).copied().unwrap_or(0);
            assert!(
                present >= acknowledged,
                "cycle {cycle}: thread {t} acknowledged {acknowledged} transactions, {present} survived"
            );
            // Nothing beyond the prefix: no gaps, no stray later transaction.
            assert!(snap.node(t * STRIDE + k + 1).is_none(), "cycle {cycle}: t{t} has a gap at {k}");
        }
        if cycle % check_every == check_every - 1 {
            eprintln!("cycle {cycle}: {acked:?} acknowledged, all present");
            let report = store.check().unwrap();
            assert!(report.is_ok(), "cycle {cycle}: {:?}", report.problems);
        }
    }
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    if std::env::var("QUIVER_CRASH_DIR").is_ok() {
        return;
    }
    run_cycles(50, 10);
}

/// `QUIVER_CRASH_CYCLES` sets the number of cycles (default 1,000).
#[test]
#[ignore]
fn acknowledged_commits_survive_sigkill_long() {
    let cycles = std::env::var("QUIVER_CRASH_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000);
    run_cycles(cycles, 100);
}
