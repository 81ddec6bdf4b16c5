//! The open database: one writer at a time, snapshots for readers, group commit, checkpoints.
//!
//! # Durability
//!
//! A commit appends its frame to the active segment under the writer lock, applies it to the
//! writer's private state, releases the lock and waits until an fsync covers it. The first
//! waiter becomes the leader: it fsyncs the segment up to everything written so far, so commits
//! that arrived meanwhile share that fsync. Only then are their states published to readers, in
//! commit order, by one atomic pointer swap: a reader never sees a commit that could still be
//! lost. If an fsync fails, the commits it covered fail and the writer refuses all further
//! commits: after a failed fsync the kernel may have dropped the dirty pages, so a later fsync
//! that succeeds proves nothing about them. Reopening replays what really reached the disk.

use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::checkpoint::{self, LogPosition};
use crate::error::{Error, Result};
use crate::index::{SegmentSet, State};
use crate::io::{FileIo, OsIo};
use crate::manifest::Layout;
use crate::recovery::{self, RecoveryReport};
use crate::segment::{self, SegmentWriter};
use crate::snapshot::Snapshot;
use crate::txn::WriteTxn;

/// When a commit is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// After an fsync covers it (default). Concurrent commits share fsyncs.
    #[default]
    Fsync,
    /// As soon as it is written to the OS; for bulk loads, which end with [`Store::sync`].
    /// A crash may lose the commits since the last fsync (never part of one).
    None,
}

/// How a store is opened. Every field documents its default.
///
/// ```
/// use quiver_engine::{Durability, Options};
/// let opts = Options { durability: Durability::None, ..Options::default() };
/// assert_eq!(opts.segment_size, 64 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    /// Size at which the active segment is sealed and a new one started. Default 64 MiB.
    pub segment_size: u64,
    /// When commits are acknowledged. Default [`Durability::Fsync`].
    pub durability: Durability,
    /// Log bytes since the last checkpoint that trigger the next one. Default 64 MiB.
    pub checkpoint_bytes: u64,
    /// Time since the last checkpoint after which the next commit triggers one, if anything
    /// was written. Default 10 minutes.
    pub checkpoint_interval: Duration,
    /// Write a checkpoint when the store is closed or dropped. Default true.
    pub checkpoint_on_close: bool,
    /// On corruption in the log, keep what precedes it and discard the rest instead of refusing
    /// to open. Default false: corruption is an error naming the file and offset.
    pub salvage: bool,
    /// The I/O layer. Default the operating system's; tests inject faults here.
    pub io: Arc<dyn FileIo>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_size: 64 << 20,
            durability: Durability::Fsync,
            checkpoint_bytes: 64 << 20,
            checkpoint_interval: Duration::from_secs(600),
            checkpoint_on_close: true,
            salvage: false,
            io: Arc::new(OsIo),
        }
    }
}

pub(crate) struct Writer {
    pub log: SegmentWriter,
    pub latest: Arc<State>,
    pub generation: u64,
    pub poisoned: Option<String>,
}

struct SyncState {
    /// Last commit appended.
    written: u64,
    /// Last commit known durable.
    synced: u64,
    /// End offset, in the active segment, of what has been appended.
    written_end: u64,
    /// End offset, in the active segment, of what is known durable.
    synced_end: u64,
    leader: bool,
    failed: Option<String>,
    pending: VecDeque<Arc<State>>,
    file: Arc<File>,
}

pub(crate) struct Inner {
    pub layout: Layout,
    pub options: Options,
    published: ArcSwap<State>,
    writer: Mutex<Writer>,
    sync: Mutex<SyncState>,
    synced: Condvar,
    pub recovery: RecoveryReport,
    checkpoint_error: Mutex<Option<String>>,
    /// When the store was opened, and the last checkpoint in milliseconds after that: read by
    /// every commit without taking the writer lock.
    opened: Instant,
    last_checkpoint_ms: std::sync::atomic::AtomicU64,
    /// Commits acknowledged and fsyncs issued since open (for metrics).
    commits: AtomicU64,
    fsyncs: AtomicU64,
    /// Bulk loads under way ([`Store::bulk_load`]): automatic checkpoints wait for them.
    bulk_loads: std::sync::atomic::AtomicUsize,
    _lock: File,
}

/// The bytes a file takes on disk: its allocated blocks where the platform says (segments are
/// preallocated, so their length overstates them), else its length.
fn allocated(m: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::blocks(m) * 512
    }
    #[cfg(not(unix))]
    {
        m.len()
    }
}

/// What a store has done since it was opened, for monitoring.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let store = quiver_engine::Store::open(dir.path()).unwrap();
/// assert_eq!(store.activity().commits, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// Transactions committed (written to the log; acknowledged once an fsync covers them).
    pub commits: u64,
    /// Fsyncs of the log; with group commit, fewer than commits under concurrency.
    pub fsyncs: u64,
    /// Bytes the data directory's files take on disk (segments, checkpoints, manifest).
    pub disk_bytes: u64,
}

/// An open data directory: the storage engine's handle. Cheap to clone; safe to share.
///
/// ```
/// use quiver_engine::{CatalogChange, Store};
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path()).unwrap();
/// let mut txn = store.write().unwrap();
/// txn.alter(CatalogChange::AddType { name: "Person".into() }, false).unwrap();
/// let person = txn.catalog().type_id("Person").unwrap();
/// let uid = txn.create_node(person, None).unwrap();
/// txn.commit().unwrap();
/// assert!(store.snapshot().node(uid).is_some());
/// ```
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data consistent before anything that can panic, so a
    // poisoned lock still guards valid data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    /// Opens (creating if missing) the database in `dir` with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(dir, Options::default())
    }

    /// Opens the database in `dir`.
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<Store> {
        let layout = Layout { dir: dir.as_ref().to_path_buf() };
        let opened = recovery::open(&layout, &options)?;
        let state = Arc::new(opened.state);
        let sync = SyncState {
            written: state.seq,
            synced: state.seq,
            written_end: opened.writer.end,
            synced_end: opened.writer.end,
            leader: false,
            failed: None,
            pending: VecDeque::new(),
            file: opened.writer.file(),
        };
        let inner = Inner {
            layout,
            published: ArcSwap::new(Arc::clone(&state)),
            writer: Mutex::new(Writer {
                log: opened.writer,
                latest: state,
                generation: opened.generation,
                poisoned: None,
            }),
            sync: Mutex::new(sync),
            synced: Condvar::new(),
            recovery: opened.report,
            checkpoint_error: Mutex::new(None),
            bulk_loads: Default::default(),
            opened: Instant::now(),
            last_checkpoint_ms: std::sync::atomic::AtomicU64::new(0),
            commits: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
            options,
            _lock: opened.lock,
        };
        Ok(Store { inner: Arc::new(inner) })
    }

    /// A consistent view of every commit acknowledged so far. Cheap: no data is copied.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::new(self.inner.published.load_full())
    }

    /// Starts the write transaction, waiting for the current one to finish.
    pub fn write(&self) -> Result<WriteTxn<'_>> {
        let w = lock(&self.inner.writer);
        self.refuse_if_poisoned(&w)?;
        Ok(WriteTxn::new(self, w))
    }

    fn refuse_if_poisoned(&self, w: &Writer) -> Result<()> {
        let cause = w.poisoned.clone().or_else(|| lock(&self.inner.sync).failed.clone());
        match cause {
            Some(cause) => Err(Error::Poisoned { cause }),
            None => Ok(()),
        }
    }

    /// What recovery found when this store was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// Commits and fsyncs since open, and the bytes on disk.
    pub fn activity(&self) -> Activity {
        let disk_bytes = std::fs::read_dir(&self.inner.layout.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| allocated(&m))
                    .sum()
            })
            .unwrap_or(0);
        Activity {
            commits: self.inner.commits.load(Ordering::Relaxed),
            fsyncs: self.inner.fsyncs.load(Ordering::Relaxed),
            disk_bytes,
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.layout.dir
    }

    /// Fsyncs everything written so far (for [`Durability::None`] bulk loads).
    pub fn sync(&self) -> Result<()> {
        let w = lock(&self.inner.writer);
        let seq = w.latest.seq;
        drop(w);
        self.wait_durable(seq, None)
    }

    /// Writes a checkpoint now.
    pub fn checkpoint(&self) -> Result<()> {
        let mut w = lock(&self.inner.writer);
        self.checkpoint_locked(&mut w)
    }

    /// Checkpoints (unless disabled) and closes. Dropping the last handle does the same but
    /// cannot report errors.
    pub fn close(self) -> Result<()> {
        if self.inner.options.checkpoint_on_close {
            let mut w = lock(&self.inner.writer);
            if w.poisoned.is_none() && w.latest.delta.log_bytes > 0 {
                self.checkpoint_locked(&mut w)?;
            }
        }
        Ok(())
    }

    // ---- commit path (called by WriteTxn) ----

    /// Hands a written, applied commit to the durability machinery and, when `wait`, waits per
    /// the options (else the caller calls [`Store::await_durable`] before acknowledging it).
    pub(crate) fn finish_commit(
        &self,
        mut w: MutexGuard<'_, Writer>,
        state: Arc<State>,
        wait: bool,
    ) -> Result<()> {
        let seq = state.seq;
        w.latest = Arc::clone(&state);
        self.inner.commits.fetch_add(1, Ordering::Relaxed);
        match self.inner.options.durability {
            Durability::None => {
                {
                    let mut s = lock(&self.inner.sync);
                    s.written = seq;
                    s.written_end = w.log.end;
                }
                self.inner.published.store(state);
                drop(w);
            }
            Durability::Fsync => {
                {
                    let mut s = lock(&self.inner.sync);
                    s.written = seq;
                    s.written_end = w.log.end;
                    s.pending.push_back(state);
                }
                drop(w);
                if !wait {
                    return Ok(());
                }
                self.wait_durable(seq, None)?;
            }
        }
        self.maybe_checkpoint();
        Ok(())
    }

    /// Waits until commit `seq` (from [`WriteTxn::commit_deferred`]) is durable and visible to
    /// readers, sharing an fsync with every commit written meanwhile. An error means it was
    /// not made durable and never will be: it must not be acknowledged.
    pub fn await_durable(&self, seq: u64) -> Result<()> {
        if self.inner.options.durability == Durability::Fsync {
            self.wait_durable(seq, None)?;
        }
        self.maybe_checkpoint();
        Ok(())
    }

    /// Waits until commit `seq` is on disk, leading an fsync if nobody is. `held` is the writer
    /// when the caller holds its lock.
    fn wait_durable(&self, seq: u64, held: Option<&mut Writer>) -> Result<()> {
        let inner = &self.inner;
        let mut s = lock(&inner.sync);
        loop {
            if s.synced >= seq {
                return Ok(());
            }
            if let Some(cause) = &s.failed {
                return Err(Error::Poisoned { cause: cause.clone() });
            }
            if s.leader {
                s = inner.synced.wait(s).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            s.leader = true;
            let (target, target_end, file) = (s.written, s.written_end, Arc::clone(&s.file));
            drop(s);
            let result = inner.options.io.sync(&file);
            inner.fsyncs.fetch_add(1, Ordering::Relaxed);
            s = lock(&inner.sync);
            s.leader = false;
            if let Err(e) = result {
                let cause = format!("fsync failed: {e}");
                s.failed = Some(cause.clone());
                s.pending.clear();
                let durable_end = s.synced_end;
                inner.synced.notify_all();
                drop(s);
                // Waiters are told first; then the commits that were not made durable are wiped
                // from the segment so that a reopen does not resurrect what was refused.
                match held {
                    Some(w) => self.abandon_unsynced(w, durable_end, &cause),
                    None => self.abandon_unsynced(&mut lock(&inner.writer), durable_end, &cause),
                }
                return Err(Error::Poisoned { cause });
            }
            s.synced = s.synced.max(target);
            if Arc::ptr_eq(&file, &s.file) {
                s.synced_end = s.synced_end.max(target_end);
            }
            self.publish_synced(&mut s);
            inner.synced.notify_all();
        }
    }

    /// After a failed fsync: refuse further commits and, with `Durability::Fsync`, zero what was
    /// appended after the last durable offset (best effort; the writer is poisoned either way).
    /// Those commits were refused to their callers and never shown to readers. With
    /// `Durability::None` they were acknowledged and are visible, so they stay: a failed fsync
    /// there is what the setting accepts from a crash.
    fn abandon_unsynced(&self, w: &mut Writer, durable_end: u64, cause: &str) {
        w.poisoned = Some(cause.to_string());
        if self.inner.options.durability == Durability::Fsync {
            let _ = w.log.wipe_from(durable_end);
        }
    }

    fn publish_synced(&self, s: &mut SyncState) {
        let mut newest = None;
        while s.pending.front().is_some_and(|st| st.seq <= s.synced) {
            newest = s.pending.pop_front();
        }
        if let Some(state) = newest {
            self.inner.published.store(state);
        }
    }

    /// Checkpoints when due. The commit that triggers it is durable whatever happens here, so a
    /// failure is not that commit's: it is kept for [`Store::last_checkpoint_error`] and the
    /// next commit tries again (the log stays the source of truth meanwhile).
    fn maybe_checkpoint(&self) {
        if self.inner.bulk_loads.load(Ordering::Acquire) > 0 {
            return;
        }
        let o = &self.inner.options;
        let log_bytes = self.inner.published.load().delta.log_bytes;
        let since = self.inner.opened.elapsed().saturating_sub(Duration::from_millis(
            self.inner.last_checkpoint_ms.load(std::sync::atomic::Ordering::Relaxed),
        ));
        let due = log_bytes >= o.checkpoint_bytes;
        let timed = log_bytes > 0 && since >= o.checkpoint_interval;
        if due || timed {
            let result = self.checkpoint();
            *lock(&self.inner.checkpoint_error) = result.err().map(|e| e.to_string());
        }
    }

    /// Marks a bulk load (an import of many transactions) until the returned guard drops:
    /// automatic checkpoints wait until then, and the guard's drop makes the one that is due.
    /// A load of 16 M edges in batches writes one checkpoint instead of one per 64 MiB of log
    /// (each a copy of the whole index); a crash meanwhile replays the load's records.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = quiver_engine::Store::open(dir.path()).unwrap();
    /// {
    ///     let _load = store.bulk_load();
    ///     // ... many commits ...
    /// }
    /// ```
    pub fn bulk_load(&self) -> BulkLoad<'_> {
        self.inner.bulk_loads.fetch_add(1, Ordering::AcqRel);
        BulkLoad { store: self }
    }

    /// Why the last automatic checkpoint failed, if it did (cleared by the next that succeeds).
    pub fn last_checkpoint_error(&self) -> Option<String> {
        lock(&self.inner.checkpoint_error).clone()
    }

    /// Starts the next segment and seals the active one (writer lock held; see
    /// [`segment::roll`]). Any failure here poisons the writer: the log's shape is no longer
    /// known.
    pub(crate) fn roll(&self, w: &mut Writer, need: u64) -> Result<()> {
        let result = self.roll_inner(w, need);
        if let Err(e) = &result {
            w.poisoned = Some(format!("starting a new segment failed: {e}"));
        }
        result
    }

    fn roll_inner(&self, w: &mut Writer, need: u64) -> Result<()> {
        let inner = &self.inner;
        let seq = w.log.segment.seq + 1;
        let path = inner.layout.segment(w.generation, seq);
        let capacity = segment::capacity_for(need, inner.options.segment_size);
        let sealed = segment::roll(&mut w.log, &path, capacity, &|| inner.layout.sync_dir())?;
        let mut state = (*w.latest).clone();
        let mut set: Vec<_> = state.segments.0.clone();
        if let Some(slot) = set.iter_mut().find(|s| s.seq == sealed.seq) {
            *slot = sealed;
        }
        set.push(Arc::clone(&w.log.segment));
        state.segments = Arc::new(SegmentSet(set));
        let state = Arc::new(state);
        w.latest = Arc::clone(&state);
        let mut s = lock(&inner.sync);
        // The seal fsynced everything written to the old segment.
        s.synced = s.written;
        s.written_end = w.log.end;
        s.synced_end = w.log.end;
        s.file = w.log.file();
        s.pending.clear();
        inner.published.store(state);
        inner.synced.notify_all();
        Ok(())
    }

    pub(crate) fn checkpoint_locked(&self, w: &mut Writer) -> Result<()> {
        self.refuse_if_poisoned(w)?;
        // Everything the checkpoint covers must be durable and published first.
        let seq = w.latest.seq;
        self.wait_durable(seq, Some(w))?;
        self.publish(Arc::clone(&w.latest));
        let fresh = write_checkpoint(&self.inner.layout, &self.inner.options, w)?;
        let ms = self.inner.opened.elapsed().as_millis() as u64;
        self.inner.last_checkpoint_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
        let mut s = lock(&self.inner.sync);
        s.pending.clear();
        self.inner.published.store(fresh);
        Ok(())
    }

    /// The writer, with everything written made durable and published, for maintenance that
    /// must see the whole log (compaction, check).
    pub(crate) fn writer_for_maintenance(&self) -> Result<MutexGuard<'_, Writer>> {
        let mut w = lock(&self.inner.writer);
        self.refuse_if_poisoned(&w)?;
        let seq = w.latest.seq;
        self.wait_durable(seq, Some(&mut w))?;
        let mut s = lock(&self.inner.sync);
        s.pending.clear();
        self.inner.published.store(Arc::clone(&w.latest));
        drop(s);
        Ok(w)
    }

    /// Points group commit at a new active segment file (after compaction), all of it durable.
    pub(crate) fn switch_sync_file(&self, file: Arc<File>, end: u64) {
        let mut s = lock(&self.inner.sync);
        s.file = file;
        s.written_end = end;
        s.synced_end = end;
    }

    pub(crate) fn publish(&self, state: Arc<State>) {
        self.inner.published.store(state);
    }
}

/// Writes a checkpoint of the writer's state (which must be durable), maps it, makes it the
/// writer's state and removes older checkpoints. Returns the new state.
fn write_checkpoint(layout: &Layout, options: &Options, w: &mut Writer) -> Result<Arc<State>> {
    let state = Arc::clone(&w.latest);
    let path = layout.checkpoint(w.generation, state.seq);
    let tmp = path.with_extension("qidx.tmp");
    let at = LogPosition { segment: w.log.segment.seq, offset: w.log.end };
    let io = &*options.io;
    // The in-direction lists the base holds: the checkpoint leaves them out, and the base read
    // back keeps these rather than build them again.
    let held_in = state.with_full_base(|base| {
        checkpoint::write(&tmp, base, state.seq, state.next_uid, at, &state.catalog, io)?;
        Ok::<_, Error>(base.adjacency.iter().map(|l| l.built_in().cloned()).collect::<Vec<_>>())
    })?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    layout.sync_dir()?;
    let mut loaded = checkpoint::load_written(&path)?;
    for (lists, inn) in loaded.base.adjacency.iter_mut().zip(&held_in) {
        if let Some(inn) = inn {
            lists.adopt_in(inn);
        }
    }
    let fresh = Arc::new(state.with_base(Arc::new(loaded.base)));
    w.latest = Arc::clone(&fresh);
    for (seq, old) in layout.list(w.generation)?.checkpoints {
        if seq != state.seq {
            // A leftover older checkpoint is harmless: the newest valid one wins on open.
            let _ = std::fs::remove_file(old);
        }
    }
    Ok(fresh)
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Store::close does this when the caller wants to see errors; here it is best effort,
        // and skipping it only makes the next open replay more of the log.
        let w = self.writer.get_mut().unwrap_or_else(|p| p.into_inner());
        if self.options.checkpoint_on_close
            && w.poisoned.is_none()
            && w.latest.delta.log_bytes > 0
            && w.log.sync().is_ok()
        {
            let _ = write_checkpoint(&self.layout, &self.options, w);
        }
    }
}

/// A bulk load under way; see [`Store::bulk_load`].
#[must_use = "automatic checkpoints wait only while the guard lives"]
pub struct BulkLoad<'s> {
    store: &'s Store,
}

impl Drop for BulkLoad<'_> {
    fn drop(&mut self) {
        if self.store.inner.bulk_loads.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.store.maybe_checkpoint();
        }
    }
}
