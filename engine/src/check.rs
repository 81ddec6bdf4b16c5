//! Verification: every record's checksum, and the index against a fresh replay of the log.

use std::sync::Arc;

use crate::catalog::{EdgeId, PropId};
use crate::checkpoint::LogPosition;
use crate::index::{Direction, IndexKind, SegmentSet, State};
use crate::record::{FrameRead, LogRecord, decode_payload, read_frame};
use crate::recovery::{RecoveryReport, replay};
use crate::segment::SEGMENT_HEADER;
use crate::store::Store;

/// What [`Store::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Segments read.
    pub segments: u64,
    /// Frames whose checksums were verified.
    pub records: u64,
    /// Bytes of log verified.
    pub bytes: u64,
    /// Live nodes.
    pub nodes: u64,
    /// Edges (out direction, all edge types).
    pub edges: u64,
    /// Every problem, each naming where it is.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Store {
    /// Verifies every record's checksum and compares the index (checkpoint plus delta) with
    /// one rebuilt by replaying the whole log. Writers wait meanwhile; readers do not.
    pub fn check(&self) -> crate::Result<CheckReport> {
        let w = self.writer_for_maintenance()?;
        let current = Arc::clone(&w.latest);
        let mut report = CheckReport::default();
        let segs = &current.segments.0;
        for seg in segs {
            report.segments += 1;
            let bytes = seg.bytes();
            let mut at = SEGMENT_HEADER;
            loop {
                match read_frame(bytes, at) {
                    FrameRead::Frame { payload, next } => {
                        report.records += 1;
                        report.bytes += (next - at) as u64;
                        match decode_payload(payload) {
                            Ok((LogRecord::Seal { .. }, _)) => break,
                            Ok(_) => {}
                            Err(why) => {
                                report.problems.push(format!("{} at offset {at}: {why}", seg.path.display()))
                            }
                        }
                        at = next;
                    }
                    FrameRead::End => break,
                    FrameRead::Torn(why) | FrameRead::Corrupt(why) => {
                        report.problems.push(format!("{} at offset {at}: {why}", seg.path.display()));
                        break;
                    }
                }
            }
        }

        let mut fresh =
            State { segments: Arc::new(SegmentSet(segs.clone())), next_uid: 1, ..State::default() };
        let from = LogPosition { segment: segs[0].seq, offset: SEGMENT_HEADER as u64 };
        let mut ignored = RecoveryReport::default();
        if let Err(e) = replay(&mut fresh, segs, from, false, &mut ignored) {
            report.problems.push(format!("replaying the log: {e}"));
            return Ok(report);
        }
        compare(&current, &fresh, &mut report);
        Ok(report)
    }
}

fn uid_list(s: &State, edge: EdgeId, dir: Direction, d: u32) -> Vec<u64> {
    let mut v: Vec<u64> = s.neighbors(edge, dir, d).iter().map(|&t| s.uid(t)).collect();
    v.sort_unstable();
    v
}

fn compare(index: &State, log: &State, report: &mut CheckReport) {
    let p = &mut report.problems;
    if index.seq != log.seq {
        p.push(format!("the index is at commit {}, the log at {}", index.seq, log.seq));
    }
    if index.catalog != log.catalog {
        p.push("the index's catalog differs from the log's".into());
    }
    let live = |s: &State| -> Vec<(u64, u32)> {
        let mut v: Vec<_> = (0..s.dense_len()).filter(|&d| s.is_live(d)).map(|d| (s.uid(d), d)).collect();
        v.sort_unstable();
        v
    };
    let (a, b) = (live(index), live(log));
    report.nodes = a.len() as u64;
    if a.len() != b.len() || a.iter().zip(&b).any(|(x, y)| x.0 != y.0) {
        p.push(format!("the index has {} live nodes, the log {}", a.len(), b.len()));
        return;
    }
    let catalog = &log.catalog;
    for (&(uid, da), &(_, db)) in a.iter().zip(&b) {
        if index.node_type(da) != log.node_type(db) {
            p.push(format!("node {uid:#x}: type differs"));
        }
        for (e, edge) in catalog.edges.iter().enumerate().filter(|(_, e)| !e.dropped) {
            let e = e as EdgeId;
            for dir in [Direction::Out, Direction::In] {
                let la = uid_list(index, e, dir, da);
                if dir == Direction::Out && edge.source == index.node_type(da) {
                    report.edges += la.len() as u64;
                }
                if la != uid_list(log, e, dir, db) {
                    p.push(format!("node {uid:#x}: {} ({dir:?}) differs", catalog.edge_name(e)));
                }
            }
        }
        for (pid, _) in catalog.properties.iter().enumerate().filter(|(_, p)| !p.dropped) {
            let pid = pid as PropId;
            let va = index.value_ref(pid, da).and_then(|r| index.value_bytes(r));
            let vb = log.value_ref(pid, db).and_then(|r| log.value_bytes(r));
            if va != vb {
                p.push(format!("node {uid:#x}: {} differs", catalog.property_name(pid)));
            }
        }
        if p.len() > 100 {
            p.push("(stopped after 100 problems)".into());
            return;
        }
    }
    for (pid, prop) in catalog.properties.iter().enumerate().filter(|(_, p)| !p.dropped) {
        let pid = pid as PropId;
        for kind in IndexKind::for_set(prop.indexes) {
            let entries = |s: &State| -> Vec<(u64, u64)> {
                let mut v: Vec<_> =
                    s.postings(pid, kind, 0, u64::MAX).into_iter().map(|(k, d)| (k, s.uid(d))).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            if entries(index) != entries(log) {
                p.push(format!(
                    "the {kind:?} index of {} differs from the values",
                    catalog.property_name(pid)
                ));
            }
        }
    }
}
