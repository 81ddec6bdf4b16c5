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
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The header of a file of kind `magic` with number `number`.
pub fn encode(magic: &[u8; 8], number: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(magic);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&number.to_le_bytes());
    let crc = crc32fast::hash(&h[0..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks that `bytes` start with a valid header of kind `magic`; returns the file's number.
pub fn check(path: &Path, bytes: &[u8], magic: &[u8; 8]) -> Result<u64> {
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
    let version = le32(&bytes[8..12]);
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.into(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[16..24]);
    Ok(u64::from_le_bytes(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"QUIVSEG\0";

    #[test]
    fn round_trip_and_every_refusal() {
        let p = Path::new("x.qlog");
        let h = encode(MAGIC, 42);
        assert_eq!(check(p, &h, MAGIC).unwrap(), 42);
        assert!(matches!(check(p, &h, b"QUIVIDX\0"), Err(Error::NotQuiverFile { .. })));
        assert!(matches!(
            check(p, b"garbage!garbage!garbage!garbage!", MAGIC),
            Err(Error::NotQuiverFile { .. })
        ));
        assert!(matches!(check(p, &h[..10], MAGIC), Err(Error::Corrupt { offset: 0, .. })));
        assert!(matches!(check(p, &[], MAGIC), Err(Error::Corrupt { .. })));
        let mut future = h;
        future[8] = 9;
        let crc = crc32fast::hash(&future[0..24]);
        future[24..28].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            check(p, &future, MAGIC),
            Err(Error::UnsupportedVersion { found: 9, supported: 1, .. })
        ));
        let mut flipped = h;
        flipped[17] ^= 1;
        assert_eq!(
            check(p, &flipped, MAGIC).unwrap_err().to_string(),
            "x.qlog is corrupt at offset 0: header checksum mismatch"
        );
    }
}
