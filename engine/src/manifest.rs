//! The data directory's layout and its `CURRENT` file.
//!
//! ```text
//! DIR/LOCK                       held (flock) by the process that has the directory open
//! DIR/CURRENT                    which generation is live (below)
//! DIR/g<gen>-<seq>.qlog          log segments of generation <gen>, <seq> = 1, 2, ...
//! DIR/g<gen>-<seq>.qidx          checkpoint covering the log up to commit <seq>
//! ```
//!
//! A generation is one complete log. Compaction writes the next generation beside the live one
//! and switches by replacing `CURRENT` atomically (write a temporary file, fsync, rename,
//! fsync the directory); files of any other generation are leftovers and are removed on open.
//!
//! `CURRENT` is just the 32-byte file header (`header`) with magic "QUIVCUR\0", numbered by
//! the live generation.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::header;
use crate::io::{FileIo, write_all_at};

const CURRENT_MAGIC: [u8; 8] = *b"QUIVCUR\0";
/// `CURRENT`'s format: unchanged since the first.
const CURRENT_VERSION: header::Version = header::Version { writes: 1, oldest: 1 };

/// Paths of one data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The directory.
    pub dir: PathBuf,
}

/// The files of one generation, sorted by sequence number.
#[derive(Debug, Default)]
pub struct Listing {
    /// Log segments.
    pub segments: Vec<(u64, PathBuf)>,
    /// Checkpoints.
    pub checkpoints: Vec<(u64, PathBuf)>,
    /// Files of other generations and temporary files, to be removed.
    pub stale: Vec<PathBuf>,
}

impl Layout {
    /// The lock file.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("LOCK")
    }

    /// The `CURRENT` file.
    pub fn current(&self) -> PathBuf {
        self.dir.join("CURRENT")
    }

    /// Segment `seq` of generation `gen`.
    pub fn segment(&self, generation: u64, seq: u64) -> PathBuf {
        self.dir.join(format!("g{generation}-{seq:08}.qlog"))
    }

    /// The checkpoint of generation `gen` covering commits up to `seq`.
    pub fn checkpoint(&self, generation: u64, seq: u64) -> PathBuf {
        self.dir.join(format!("g{generation}-{seq:012}.qidx"))
    }

    /// Reads `CURRENT`: `None` when the directory holds no database yet.
    pub fn read_current(&self) -> Result<Option<u64>> {
        let path = self.current();
        match fs::read(&path) {
            Ok(bytes) => header::check(&path, &bytes, &CURRENT_MAGIC, CURRENT_VERSION).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Makes `generation` the live one, atomically and durably.
    pub fn write_current(&self, generation: u64, io: &dyn FileIo) -> Result<()> {
        let tmp = self.dir.join("CURRENT.tmp");
        self.write_file_durably(&tmp, &header::encode(&CURRENT_MAGIC, CURRENT_VERSION, generation), io)?;
        let path = self.current();
        fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        self.sync_dir()
    }

    /// Writes a whole new file and fsyncs it (not the directory).
    pub fn write_file_durably(&self, path: &Path, bytes: &[u8], io: &dyn FileIo) -> Result<()> {
        let err = |e| Error::io(path, e);
        let file = File::create(path).map_err(err)?;
        write_all_at(io, &file, bytes, 0).map_err(|(_, e)| err(e))?;
        io.sync(&file).map_err(err)
    }

    /// Fsyncs the directory so that creations, renames and deletions in it are durable.
    pub fn sync_dir(&self) -> Result<()> {
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(&self.dir, e))
    }

    /// The files of `generation`, and everything else of ours that is stale.
    pub fn list(&self, generation: u64) -> Result<Listing> {
        let mut listing = Listing::default();
        let entries = fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".tmp") {
                listing.stale.push(entry.path());
                continue;
            }
            let Some((g, seq, ext)) = parse_name(name) else { continue };
            if g != generation {
                listing.stale.push(entry.path());
            } else if ext == "qlog" {
                listing.segments.push((seq, entry.path()));
            } else {
                listing.checkpoints.push((seq, entry.path()));
            }
        }
        listing.segments.sort();
        listing.checkpoints.sort();
        Ok(listing)
    }

    /// Whether the directory holds anything besides the lock file (for a directory without
    /// `CURRENT`, that means it is not ours).
    pub fn has_foreign_files(&self) -> Result<Option<PathBuf>> {
        let entries = fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            if entry.file_name() != "LOCK" {
                return Ok(Some(entry.path()));
            }
        }
        Ok(None)
    }
}

/// `g<gen>-<seq>.<ext>` with ext `qlog` or `qidx`.
fn parse_name(name: &str) -> Option<(u64, u64, &str)> {
    let rest = name.strip_prefix('g')?;
    let (stem, ext) = rest.rsplit_once('.')?;
    if ext != "qlog" && ext != "qidx" {
        return None;
    }
    let (g, seq) = stem.split_once('-')?;
    Some((g.parse().ok()?, seq.parse().ok()?, ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let l = Layout { dir: PathBuf::from("/d") };
        let seg = l.segment(3, 17);
        assert_eq!(seg, Path::new("/d/g3-00000017.qlog"));
        let name = seg.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_name(name), Some((3, 17, "qlog")));
        let ck = l.checkpoint(3, 9);
        assert_eq!(parse_name(ck.file_name().unwrap().to_str().unwrap()), Some((3, 9, "qidx")));
        assert_eq!(parse_name("g3-x.qlog"), None);
        assert_eq!(parse_name("notes.txt"), None);
    }
}
