//! Reading an input file for an import: mapped in place rather than copied into memory.

use std::path::Path;

use crate::error::Error;

/// Calls `f` with the bytes of the file at `path`, read in place by a memory map
/// ([`quiver_engine::MappedFile`]: the file must not be written while it is imported),
/// without checking them (for [`crate::Database::import_csv_edge_bytes`], which checks each cell).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("knows.csv");
/// std::fs::write(&path, b"key,key\n1,2\n").unwrap();
/// assert_eq!(quiver_query::map_input(&path, |bytes| Ok(bytes.len())).unwrap(), 12);
/// let err = quiver_query::map_input(&dir.path().join("missing.csv"), |b| Ok(b.len())).unwrap_err();
/// assert!(err.to_string().contains("missing.csv"), "{err}");
/// ```
pub fn map_input<R>(path: &Path, f: impl FnOnce(&[u8]) -> Result<R, Error>) -> Result<R, Error> {
    let input = quiver_engine::MappedFile::open(path)
        .map_err(|error| Error::Io { path: path.display().to_string(), error })?;
    f(input.bytes())
}

/// Calls `f` with the text of the file at `path`, mapped as by [`map_input`] and checked to be
/// UTF-8, with an error naming the first byte that is not.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("people.csv");
/// std::fs::write(&path, "key\n1\n").unwrap();
/// assert_eq!(quiver_query::read_input(&path, |text| Ok(text.len())).unwrap(), 6);
/// std::fs::write(&path, b"key\n\xff\n").unwrap();
/// let err = quiver_query::read_input(&path, |text| Ok(text.len())).unwrap_err();
/// assert!(err.to_string().contains("not UTF-8 at byte 4"), "{err}");
/// ```
pub fn read_input<R>(path: &Path, f: impl FnOnce(&str) -> Result<R, Error>) -> Result<R, Error> {
    map_input(path, |bytes| {
        // (simdutf8: std's check took 0.19 s of a scale-20 load's 223 MB edge file.)
        let text = simdutf8::compat::from_utf8(bytes).map_err(|e| Error::Io {
            path: path.display().to_string(),
            error: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 at byte {}", e.valid_up_to()),
            ),
        })?;
        f(text)
    })
}
