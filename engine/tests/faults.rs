//! Failures injected through the engine's I/O layer: each fails the commit with an error that
//! reaches the caller, the database stays readable, and after reopening the failed transaction
//! is absent and everything before it present.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::*;
use quiver_engine::{Error, Fault, FaultyIo, Options, Store, Value};

fn open(dir: &std::path::Path, io: &Arc<FaultyIo>) -> Store {
    let store = Store::open_with(dir, Options { io: io.clone(), ..Options::default() }).unwrap();
    if store.snapshot().catalog().types.is_empty() {
        let mut txn = store.write().unwrap();
        define(&mut txn);
        txn.commit().unwrap();
    }
    store
}

fn add(store: &Store, name: &str) -> quiver_engine::Result<u64> {
    let mut txn = store.write()?;
    let u = txn.create_node(PERSON, None)?;
    txn.set(u, NAME, Value::String(name.into()))?;
    txn.commit()?;
    Ok(u)
}

fn names(store: &Store) -> Vec<String> {
    let snap = store.snapshot();
    let mut out: Vec<String> = snap
        .nodes_of_type(PERSON)
        .into_iter()
        .map(|d| match snap.value(d, NAME).unwrap().unwrap().to_value() {
            Value::String(s) => s,
            v => panic!("{v:?}"),
        })
        .collect();
    out.sort();
    out
}

/// Runs `fault` on the third commit and checks the contract; returns whether commits still work
/// afterwards without a reopen.
fn contract(fault: Fault) -> (String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(FaultyIo::default());
    let store = open(dir.path(), &io);
    add(&store, "one").unwrap();
    add(&store, "two").unwrap();
    io.arm(fault);
    let err = add(&store, "three").unwrap_err();
    io.clear();
    assert_eq!(names(&store), ["one", "two"], "{fault:?}: readers see what was acknowledged");
    let continues = add(&store, "four").is_ok();
    let expected: &[&str] = if continues { &["four", "one", "two"] } else { &["one", "two"] };
    assert_eq!(names(&store), expected);
    drop(store);
    let store = open(dir.path(), &io);
    assert_eq!(names(&store), expected, "{fault:?}: after reopen");
    add(&store, "five").unwrap();
    assert!(store.check().unwrap().is_ok());
    (err.to_string(), continues)
}

#[test]
fn a_failed_write_fails_the_commit_only() {
    let (err, continues) = contract(Fault::FailWrite);
    assert!(err.contains("injected write failure") && err.contains(".qlog"), "{err}");
    assert!(continues);
}

#[test]
fn a_short_write_is_wiped_and_fails_the_commit() {
    let (err, continues) = contract(Fault::ShortWrite(10));
    assert!(err.contains("injected write failure"), "{err}");
    assert!(continues);
}

#[test]
fn a_full_disk_fails_the_commit_until_space_returns() {
    let (err, continues) = contract(Fault::DiskFull);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(continues);
}

#[test]
fn a_failed_fsync_refuses_commits_until_reopen() {
    let (err, continues) = contract(Fault::FailSync);
    assert_eq!(
        err,
        "commits are refused since an fsync failed (fsync failed: injected fsync failure); reopen the database"
    );
    assert!(!continues, "after a failed fsync nothing more may be acknowledged");
}

#[test]
fn a_failed_fsync_fails_every_commit_it_covered() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(FaultyIo::default());
    let store = open(dir.path(), &io);
    add(&store, "zero").unwrap();
    io.arm(Fault::FailSync);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || add(&store, &format!("n{i}")).is_ok())
        })
        .collect();
    let acknowledged: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    // Commits before the failed fsync may have succeeded; none after it.
    assert!(matches!(store.write(), Err(Error::Poisoned { .. })));
    let seen = names(&store);
    let count = acknowledged.iter().filter(|&&ok| ok).count();
    assert_eq!(seen.len(), 1 + count, "readers see exactly the acknowledged commits: {seen:?}");
    drop(store);
    let store = open(dir.path(), &io);
    assert_eq!(names(&store), seen, "reopen shows exactly the acknowledged commits");
}

#[test]
fn concurrent_commits_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(FaultyIo::default());
    let store = open(dir.path(), &io);
    let before = io.sync_count();
    let threads = 8;
    let per_thread = 40;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    add(&store, &format!("t{t} i{i}")).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let commits = threads * per_thread;
    let syncs = io.sync_count() - before;
    assert_eq!(names(&store).len(), commits as usize);
    assert!(syncs < commits, "{commits} commits took {syncs} fsyncs: none were shared");
    assert!(syncs > 0);
}

#[test]
fn a_failed_automatic_checkpoint_does_not_fail_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { checkpoint_bytes: 1, ..Options::default() };
    let store = Store::open_with(dir.path(), opts).unwrap();
    let mut txn = store.write().unwrap();
    define(&mut txn);
    txn.commit().unwrap();
    // The checkpoint after commit 2 cannot create its temporary file.
    let blocker = dir.path().join("g1-000000000002.qidx.tmp");
    std::fs::create_dir(&blocker).unwrap();
    add(&store, "kept").unwrap();
    let err = store.last_checkpoint_error().expect("the checkpoint failed");
    assert!(err.contains("g1-000000000002.qidx.tmp"), "{err}");
    assert_eq!(names(&store), ["kept"]);
    std::fs::remove_dir(&blocker).unwrap();
    add(&store, "also").unwrap();
    assert_eq!(store.last_checkpoint_error(), None);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recovery_report().replayed, 0, "the last checkpoint covers everything");
    assert_eq!(names(&store), ["also", "kept"]);
}

#[test]
fn without_durability_a_failed_sync_keeps_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(FaultyIo::default());
    let opts = Options { io: io.clone(), durability: quiver_engine::Durability::None, ..Options::default() };
    let store = Store::open_with(dir.path(), opts).unwrap();
    let mut txn = store.write().unwrap();
    define(&mut txn);
    txn.commit().unwrap();
    add(&store, "bulk").unwrap();
    io.arm(Fault::FailSync);
    assert!(matches!(store.sync(), Err(Error::Poisoned { .. })));
    // Readers still see (and can read) the acknowledged commit; no more commits are taken.
    assert_eq!(names(&store), ["bulk"]);
    assert!(matches!(store.write(), Err(Error::Poisoned { .. })));
    drop(store);
    let store = open(dir.path(), &io);
    assert_eq!(names(&store), ["bulk"], "in the same boot the page cache still holds it");
}
