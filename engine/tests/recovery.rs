//! What a crash or a damaged disk leaves, rebuilt byte by byte, and bad directories: each
//! either recovers exactly what was acknowledged or refuses with an error naming the file and
//! offset. Nothing panics.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use quiver_engine::{Direction, Error, FrameRead, Options, SEGMENT_HEADER, Store, Value, read_frame};

fn no_checkpoint() -> Options {
    Options { checkpoint_on_close: false, ..Options::default() }
}

/// Writes `n` commits (one person each, linked to the previous) and closes.
fn populate(dir: &Path, n: u64, opts: Options) -> Vec<u64> {
    let store = Store::open_with(dir, opts).unwrap();
    let mut txn = store.write().unwrap();
    define(&mut txn);
    txn.commit().unwrap();
    let mut uids = vec![];
    for i in 0..n {
        let mut txn = store.write().unwrap();
        let u = txn.create_node(PERSON, None).unwrap();
        txn.set(u, AGE, Value::Int(i as i64)).unwrap();
        if let Some(&p) = uids.last() {
            txn.add_edge(KNOWS, u, p).unwrap();
        }
        txn.commit().unwrap();
        uids.push(u);
    }
    store.close().unwrap();
    uids
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    files_with_extension(dir, "qlog")
}

/// Offsets of the frames in a segment, and where they end.
fn frames(bytes: &[u8]) -> (Vec<usize>, usize) {
    let mut at = SEGMENT_HEADER;
    let mut starts = vec![];
    while let FrameRead::Frame { next, .. } = read_frame(bytes, at) {
        starts.push(at);
        at = next;
    }
    (starts, at)
}

fn ages(store: &Store) -> Vec<i64> {
    let snap = store.snapshot();
    snap.nodes_of_type(PERSON)
        .into_iter()
        .map(|d| match snap.value(d, AGE).unwrap() {
            Some(v) => match v.to_value() {
                Value::Int(i) => i,
                other => panic!("{other:?}"),
            },
            None => panic!("a person without age"),
        })
        .collect()
}

#[test]
fn a_torn_tail_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 10, no_checkpoint());
    let seg = segments(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let (starts, end) = frames(&bytes);
    let last = *starts.last().unwrap();
    // Cut within the last frame, at a byte that is not already zero.
    let late = (last..end).rev().find(|&i| bytes[i] != 0).unwrap();
    for cut in [late, last + 20, last + 5] {
        let mut torn = bytes[..cut].to_vec();
        torn.resize(bytes.len(), 0); // the preallocated rest of the file stays zero
        std::fs::write(&seg, &torn).unwrap();
        let store = Store::open_with(dir.path(), no_checkpoint()).unwrap();
        assert_eq!(store.recovery_report().torn_tail, Some((seg.clone(), last as u64)), "cut at {cut}");
        assert_eq!(ages(&store), (0..9).collect::<Vec<_>>(), "the last commit is gone, the rest kept");
        drop(store);
        // The tail was zeroed on disk, so the next writer appends on clean ground.
        let after = std::fs::read(&seg).unwrap();
        assert!(after[last..].iter().all(|&b| b == 0));
        std::fs::write(&seg, &bytes).unwrap();
    }
    // A file truncated short of its preallocated size is just as recoverable.
    std::fs::write(&seg, &bytes[..last + 7]).unwrap();
    let store = Store::open_with(dir.path(), no_checkpoint()).unwrap();
    assert_eq!(ages(&store).len(), 9);
    let mut txn = store.write().unwrap();
    let u = txn.create_node(PERSON, None).unwrap();
    txn.set(u, AGE, Value::Int(99)).unwrap();
    txn.commit().unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(*ages(&store).last().unwrap(), 99);
}

#[test]
fn a_flipped_byte_in_the_middle_is_corruption_named_by_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 10, no_checkpoint());
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let (starts, _) = frames(&bytes);
    let victim = starts[4];
    bytes[victim + 14] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    let err = Store::open_with(dir.path(), no_checkpoint()).err().unwrap();
    match &err {
        Error::Corrupt { path, offset, reason } => {
            assert_eq!(path, &seg);
            assert_eq!(*offset, victim as u64);
            assert_eq!(reason, "payload checksum mismatch");
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        err.to_string(),
        format!("{} is corrupt at offset {victim}: payload checksum mismatch", seg.display())
    );
    // Salvage keeps what precedes the damage.
    let store = Store::open_with(dir.path(), Options { salvage: true, ..no_checkpoint() }).unwrap();
    assert!(store.recovery_report().salvaged.is_some());
    assert_eq!(ages(&store), vec![0, 1, 2]);
}

#[test]
fn a_flipped_length_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 5, no_checkpoint());
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let (starts, _) = frames(&bytes);
    bytes[starts[2] + 3] ^= 0x01; // the length's top byte: it would point past the end
    std::fs::write(&seg, &bytes).unwrap();
    let err = Store::open_with(dir.path(), no_checkpoint()).err().unwrap();
    assert!(
        matches!(&err, Error::Corrupt { offset, reason, .. } if *offset == starts[2] as u64 && reason == "frame header checksum mismatch"),
        "{err}"
    );
}

#[test]
fn a_missing_or_corrupt_checkpoint_falls_back_to_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let uids = populate(dir.path(), 30, Options::default());
    let answers = |store: &Store| {
        let links: Vec<Vec<u32>> = {
            let snap = store.snapshot();
            uids.iter()
                .map(|&u| snap.neighbors(KNOWS, Direction::In, snap.dense(u).unwrap()).to_vec())
                .collect()
        };
        (ages(store), links)
    };
    let store = Store::open(dir.path()).unwrap();
    assert!(store.recovery_report().checkpoint.is_some());
    assert_eq!(store.recovery_report().replayed, 0, "a fresh checkpoint leaves nothing to replay");
    let expected = answers(&store);
    drop(store);

    let ckpt: PathBuf = files_with_extension(dir.path(), "qidx").swap_remove(0);
    let mut bytes = std::fs::read(&ckpt).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&ckpt, &bytes).unwrap();
    let store = Store::open_with(dir.path(), no_checkpoint()).unwrap();
    let report = store.recovery_report().clone();
    assert!(report.checkpoint.is_none());
    assert!(report.bad_checkpoints[0].contains("checksum mismatch"), "{:?}", report.bad_checkpoints);
    assert_eq!(report.replayed, 31);
    assert_eq!(answers(&store), expected);
    drop(store);

    std::fs::remove_file(&ckpt).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.recovery_report().checkpoint.is_none());
    assert_eq!(store.recovery_report().replayed, 31);
    assert_eq!(answers(&store), expected);
}

#[test]
fn a_directory_of_garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is not a Quiver data directory: it holds {} but no CURRENT file",
            dir.path().display(),
            dir.path().join("notes.txt").display()
        )
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("CURRENT"), b"garbage garbage garbage!").unwrap();
    assert!(
        matches!(Store::open(dir.path()), Err(Error::NotQuiverFile { path }) if path.ends_with("CURRENT"))
    );

    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 1, no_checkpoint());
    let seg = segments(dir.path()).pop().unwrap();
    std::fs::write(&seg, vec![0xAB; 4096]).unwrap();
    assert!(matches!(Store::open(dir.path()), Err(Error::NotQuiverFile { path }) if path == seg));
}

#[test]
fn a_future_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 1, no_checkpoint());
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[8] = 3;
    let crc = crc32(&bytes[0..24]);
    bytes[24..28].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!("{} has format version 3; this build reads versions 1 to 2", seg.display())
    );
}

fn crc32(b: &[u8]) -> u32 {
    // The same CRC32 (IEEE) the engine uses, computed bit by bit.
    let mut crc = !0u32;
    for &byte in b {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn zero_length_and_truncated_headers_are_refused() {
    for len in [0usize, 10] {
        let dir = tempfile::tempdir().unwrap();
        populate(dir.path(), 1, no_checkpoint());
        let seg = segments(dir.path()).pop().unwrap();
        let bytes = std::fs::read(&seg).unwrap();
        std::fs::write(&seg, &bytes[..len]).unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!("{} is corrupt at offset 0: truncated header: {len} of 32 bytes", seg.display())
        );
    }
}

#[test]
fn a_missing_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 200, Options { segment_size: 1024, ..no_checkpoint() });
    let segs = segments(dir.path());
    assert!(segs.len() >= 3);
    std::fs::remove_file(&segs[1]).unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(err.to_string().contains("log segment 2 is missing"), "{err}");
}

#[test]
fn an_unusable_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = Store::open(&file).err().unwrap();
    assert!(matches!(&err, Error::Io { path, .. } if path == &file), "{err}");
    let err = Store::open(file.join("sub")).err().unwrap();
    assert!(matches!(err, Error::Io { .. }), "{err}");

    // Permissions bind only when not running as root.
    if effective_uid() != 0 {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        let err = Store::open(&ro).err().unwrap();
        assert!(matches!(&err, Error::Io { path, .. } if path == &ro.join("LOCK")), "{err}");
    }
}

fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process just created is its effective uid.
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid()
}
