//! The 32-byte header every Quiver file begins with (segments, checkpoints, `CURRENT`).
//!
//! ```text
//! offset  size  field
//!      0     8  magic: what kind of file ("QUIVSEG\0", "QUIVIDX\0", "QUIVCUR\0")
//!      8     4  format version (u32 LE)
//!     12     4  reserved, zero
//!     16     8  the file's number (u64 LE): segment sequence, commit covered, generation
//!     24     4  CRC32 of bytes 0..24
//!     28     4  reserved, zero
//! ```

use std::path::Path;

use crate::error::{Error, Result};

/// Bytes in a file header.
pub const HEADER_LEN: usize = 32;
/// The newest format version this build writes (checkpoints: version 2 leaves the
/// in-direction lists out; segments: version 2 adds column steps for runs of new nodes). Each kind of file has its own version, and a build reads every
/// version of a kind from 1 up to the one it writes.
pub const FORMAT_VERSION: u32 = 2;

/// The format version of one kind of file.
#[derive(Debug, Clone, Copy)]
pub struct Version {
    /// What this build writes.
    pub writes: u32,
    /// The oldest this build still reads.
    pub oldest: u32,
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The header of a file of kind `magic`, format `version.writes`, with number `number`.
pub fn encode(magic: &[u8; 8], version: Version, number: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(magic);
    h[8..12].copy_from_slice(&version.writes.to_le_bytes());
    h[16..24].copy_from_slice(&number.to_le_bytes());
    let crc = crc32fast::hash(&h[0..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks that `bytes` start with a valid header of kind `magic` in a format `version` reads;
/// returns the file's number.
pub fn check(path: &Path, bytes: &[u8], magic: &[u8; 8], version: Version) -> Result<u64> {
    if !bytes.starts_with(magic) {
        if magic.starts_with(&bytes[..bytes.len().min(8)]) {
            return Err(Error::corrupt(
                path,
                0,
                format!("truncated header: {} of {HEADER_LEN} bytes", bytes.len()),
            ));
        }
        return Err(Error::NotQuiverFile { path: path.into() });
    }
    if bytes.len() < HEADER_LEN {
        return Err(Error::corrupt(
            path,
            0,
            format!("truncated header: {} of {HEADER_LEN} bytes", bytes.len()),
        ));
    }
    if crc32fast::hash(&bytes[0..24]) != le32(&bytes[24..28]) {
        return Err(Error::corrupt(path, 0, "header checksum mismatch"));
    }
    let found = le32(&bytes[8..12]);
    if !(version.oldest..=version.writes).contains(&found) {
        return Err(Error::UnsupportedVersion {
            path: path.into(),
            found,
            oldest: version.oldest,
            supported: version.writes,
        });
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[16..24]);
    Ok(u64::from_le_bytes(n))
}

/// The format version of a file whose header [`check`] accepted.
pub fn version_of(bytes: &[u8]) -> u32 {
    le32(&bytes[8..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"QUIVSEG\0";
    const V1: Version = Version { writes: 1, oldest: 1 };

    #[test]
    fn round_trip_and_every_refusal() {
        let p = Path::new("x.qlog");
        let h = encode(MAGIC, V1, 42);
        assert_eq!(check(p, &h, MAGIC, V1).unwrap(), 42);
        assert!(matches!(check(p, &h, b"QUIVIDX\0", V1), Err(Error::NotQuiverFile { .. })));
        assert!(matches!(
            check(p, b"garbage!garbage!garbage!garbage!", MAGIC, V1),
            Err(Error::NotQuiverFile { .. })
        ));
        assert!(matches!(check(p, &h[..10], MAGIC, V1), Err(Error::Corrupt { offset: 0, .. })));
        assert!(matches!(check(p, &[], MAGIC, V1), Err(Error::Corrupt { .. })));
        let mut future = h;
        future[8] = 9;
        let crc = crc32fast::hash(&future[0..24]);
        future[24..28].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            check(p, &future, MAGIC, V1),
            Err(Error::UnsupportedVersion { found: 9, supported: 1, .. })
        ));
        let mut flipped = h;
        flipped[17] ^= 1;
        assert_eq!(
            check(p, &flipped, MAGIC, V1).unwrap_err().to_string(),
            "x.qlog is corrupt at offset 0: header checksum mismatch"
        );
    }

    #[test]
    fn a_build_reads_every_version_from_the_oldest_it_knows() {
        let p = Path::new("x.qidx");
        let v2 = Version { writes: 2, oldest: 1 };
        assert_eq!(check(p, &encode(MAGIC, V1, 7), MAGIC, v2).unwrap(), 7, "an older file");
        assert_eq!(check(p, &encode(MAGIC, v2, 8), MAGIC, v2).unwrap(), 8);
        let err = check(p, &encode(MAGIC, v2, 9), MAGIC, V1).unwrap_err();
        assert!(matches!(err, Error::UnsupportedVersion { found: 2, oldest: 1, supported: 1, .. }), "{err}");
        assert_eq!(err.to_string(), "x.qidx has format version 2; this build reads versions 1 to 1");
    }
}
