//! Edge files: the edge half of the CSV import (see the parent module).

use quiver_engine::{ScalarType, Snapshot};
use rustc_hash::FxHashMap;

use super::rows::{PairRows, RowError};
use super::{At, batch_ends, cell_value, csv_error, data_rows, reader};
use crate::database::Database;
use crate::error::Error;
use crate::import::{ImportOptions, ImportProgress, ImportReport, ProgressFn};
use crate::plan::parse_uid;
use crate::schema::{FieldKind, Schema};

/// How one end of an edge is found.
enum EndKey {
    Uid,
    /// By an `@id` field's value: the uid of each stored value, built once per import.
    Xid {
        field: String,
        scalar: ScalarType,
        by_value: XidMap,
    },
}

/// Stored `@id` values to uids: Int keys as integers, others by their encoding (exact: equal
/// values encode alike).
enum XidMap {
    /// Int keys filling a range `[first, first + len)` whose nodes have the uids `uid0 + key -
    /// first` (nodes imported in key order with fresh uids): found by arithmetic, no table.
    IntSequence {
        first: i64,
        len: u64,
        uid0: u64,
    },
    /// Int keys filling most of a range `[first, first + len)`: the uid at `key - first` (0
    /// where no node has that key; 0 is never a uid).
    IntRange {
        first: i64,
        uids: Vec<u64>,
    },
    Int(FxHashMap<i64, u64>),
    Encoded(FxHashMap<Box<[u8]>, u64>),
}

impl XidMap {
    /// Int keys (with their uids, the first of equal keys winning): by arithmetic when they
    /// and their uids run in step, in a table when they fill at least a quarter of their
    /// range, else hashed.
    fn ints(pairs: Vec<(i64, u64)>) -> XidMap {
        if let Some(&(first, uid0)) = pairs.first()
            && pairs.iter().enumerate().all(|(i, &(k, u))| {
                k.wrapping_sub(first) as u64 == i as u64 && u.wrapping_sub(uid0) == i as u64
            })
        {
            return XidMap::IntSequence { first, len: pairs.len() as u64, uid0 };
        }
        let (Some(lo), Some(hi)) = (pairs.iter().map(|p| p.0).min(), pairs.iter().map(|p| p.0).max()) else {
            return XidMap::Int(FxHashMap::default());
        };
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span > 4 * pairs.len() as u128 {
            let mut map = FxHashMap::with_capacity_and_hasher(pairs.len(), Default::default());
            for (k, uid) in pairs {
                map.entry(k).or_insert(uid);
            }
            return XidMap::Int(map);
        }
        let mut uids = vec![0u64; span as usize];
        for (k, uid) in pairs {
            let slot = &mut uids[(k - lo) as usize];
            if *slot == 0 {
                *slot = uid;
            }
        }
        XidMap::IntRange { first: lo, uids }
    }

    /// The uid of Int key `key` (`Some(None)` when no node has it), or `None` when the keys
    /// are not Ints.
    fn get_int(&self, key: i64) -> Option<Option<u64>> {
        Some(match self {
            XidMap::IntSequence { first, len, uid0 } => {
                let offset = key.checked_sub(*first).and_then(|o| u64::try_from(o).ok());
                offset.filter(|o| o < len).map(|o| uid0 + o)
            }
            XidMap::IntRange { first, uids } => {
                let offset = key.checked_sub(*first).and_then(|o| usize::try_from(o).ok());
                offset.and_then(|o| uids.get(o).copied()).filter(|&u| u != 0)
            }
            XidMap::Int(map) => map.get(&key).copied(),
            XidMap::Encoded(_) => return None,
        })
    }
}

impl Database {
    /// Imports edges of `Type.field` from CSV text (see the module's documentation); `name`
    /// is used in errors.
    pub fn import_csv_edges(&self, name: &str, edge: &str, text: &str) -> Result<ImportReport, Error> {
        self.import_csv_edges_with(name, edge, text, &ImportOptions::default(), &mut |_| {})
    }

    /// [`Database::import_csv_edges`] with options, calling `progress` after each batch.
    pub fn import_csv_edges_with(
        &self,
        file: &str,
        edge: &str,
        text: &str,
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ImportReport, Error> {
        self.import_csv_edge_bytes(file, edge, text.as_bytes(), options, progress)
    }

    /// [`Database::import_csv_edges_with`] over the file's bytes, which need not be checked to
    /// be UTF-8 first: each cell read as text is checked, and one that is not UTF-8 is an
    /// error naming its line and column (what [`crate::map_input`] is for: a large edge file
    /// is read once instead of twice).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = quiver_query::Database::open(dir.path()).unwrap();
    /// db.set_schema("type P { id: ID!  name: String! @id  knows: [P] }").unwrap();
    /// db.import_csv_nodes("p.csv", "P", "name\nAda\nBob\n").unwrap();
    /// let options = quiver_query::ImportOptions::default();
    /// let report = db.import_csv_edge_bytes("k.csv", "P.knows", b"name,name\nAda,Bob\n", &options, &mut |_| {});
    /// assert_eq!(report.unwrap().edges, 1);
    /// let err = db.import_csv_edge_bytes("k.csv", "P.knows", b"name,name\nAda,B\xffb\n", &options, &mut |_| {});
    /// assert_eq!(err.unwrap_err().to_string(), "k.csv:2: name: the cell is not UTF-8: \"B\u{FFFD}b\"");
    /// ```
    pub fn import_csv_edge_bytes(
        &self,
        file: &str,
        edge: &str,
        text: &[u8],
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ImportReport, Error> {
        // Automatic checkpoints wait for the end of the import (declared first: dropped last).
        let _load = self.store().bulk_load();
        let loaded = self.loaded()?;
        let schema = &loaded.schema;
        let at = At { file, line: 1 };
        let Some((ty, field)) = edge.split_once('.') else {
            return Err(at.err("-", format!("{edge:?}: name the edge as Type.field")));
        };
        let t = schema.type_index(ty).ok_or_else(|| at.err("-", format!("unknown type {ty}")))?;
        let (target, list, stored) = match schema.field(t, field).map(|(_, f)| &f.kind) {
            Some(FieldKind::Edge { target, list, edges, .. }) if !edges.is_empty() => (*target, *list, edges),
            Some(_) => return Err(at.err(field, format!("{ty}.{field} is not an edge field"))),
            None => return Err(at.err(field, format!("{ty} has no field {field}"))),
        };
        let header = reader(text).headers().map_err(|e| csv_error(file, &e))?.clone();
        if header.len() != 2 {
            return Err(
                at.err("-", format!("an edge file has two columns (source, target), not {}", header.len()))
            );
        }
        let snap = self.store().snapshot();
        let per_batch = options.csv_batch_rows.max(1) as u64;
        // Rows are read and their ends resolved on a thread of their own, a chunk ahead, while
        // this one links them and commits the batches: the two halves take about as long.
        // It may run up to 2 M rows ahead (or a batch, when smaller), so that reading goes on
        // while a batch commits; emptied chunks come back to it to be filled again (fresh
        // memory costs the kernel's zeroing, and a batch ahead is 62 chunks at the default).
        // The rows are counted on this thread while the reader starts (a pass over the whole
        // file): it needs the count only at its first batch's end.
        let counted = std::sync::OnceLock::new();
        std::thread::scope(|scope| {
            let ahead = (per_batch as usize).div_ceil(CHUNK_ROWS).clamp(2, 32);
            let (chunks, arrivals) = std::sync::mpsc::sync_channel(ahead);
            let (recycle, returned) = std::sync::mpsc::channel();
            let reading = EdgeRows {
                schema,
                snap: &snap,
                file,
                types: [t, target],
                header: &header,
                per_batch,
                total: &counted,
            };
            std::thread::Builder::new()
                .name("quiver-csv".into())
                .spawn_scoped(scope, move || reading.send_all(text, &chunks, &returned))
                .map_err(|e| Error::Io { path: file.into(), error: e })?;
            let total = *counted.get_or_init(|| data_rows(text));
            let mut report = ImportReport::default();
            let mut txn = None;
            let mut done = 0u64;
            for chunk in arrivals {
                let chunk: EdgeChunk = chunk?;
                let mut dsts = chunk.dsts.as_slice();
                for group in &chunk.groups {
                    let (these, rest) = dsts.split_at(group.rows);
                    dsts = rest;
                    let open = match &mut txn {
                        Some(t) => t,
                        None => txn.insert(self.store().write()?),
                    };
                    let at = At { file, line: group.line };
                    crate::mutate::link(open, stored, list, group.src, these)
                        .map_err(|e| at.err(field, e.to_string()))?;
                    report.edges += these.len() as u64;
                    done += group.rows as u64;
                    if group.ends_batch
                        && let Some(t) = txn.take()
                    {
                        t.commit()?;
                        report.batches += 1;
                        progress(&ImportProgress { records: done, total, nodes: 0, edges: report.edges });
                    }
                }
                // The reader may have finished (and gone): then the chunk is simply dropped.
                let _ = recycle.send(chunk);
            }
            Ok(report)
        })
    }
}

/// Consecutive rows of one source (within one batch), as the reading thread sends them.
struct EdgeGroup {
    src: u64,
    /// Line of its first row.
    line: usize,
    rows: usize,
    /// The batch ends with this group.
    ends_batch: bool,
}

/// Groups of rows, their targets in order.
#[derive(Default)]
struct EdgeChunk {
    groups: Vec<EdgeGroup>,
    dsts: Vec<u64>,
}

/// Rows a chunk holds before it is sent.
const CHUNK_ROWS: usize = 1 << 16;

/// What the reading thread of an edge import needs.
struct EdgeRows<'a> {
    schema: &'a Schema,
    snap: &'a Snapshot,
    file: &'a str,
    /// The source's and the target's schema types.
    types: [usize; 2],
    header: &'a csv::StringRecord,
    per_batch: u64,
    /// Rows in the file (for where the last batch ends), once counted.
    total: &'a std::sync::OnceLock<u64>,
}

impl EdgeRows<'_> {
    /// Sends what was read before the error (earlier batches are committed as they would be
    /// without it; the failing one is dropped with the error), then the error.
    fn fail(&self, chunk: EdgeChunk, e: Error, out: &std::sync::mpsc::SyncSender<Result<EdgeChunk, Error>>) {
        if out.send(Ok(chunk)).is_ok() {
            let _ = out.send(Err(e));
        }
    }

    /// Reads every row, resolves both ends and sends them in chunks (taking emptied ones back
    /// from `returned` to fill again); stops at the first error (sent last) or when the
    /// receiving side has gone.
    fn send_all(
        &self,
        text: &[u8],
        out: &std::sync::mpsc::SyncSender<Result<EdgeChunk, Error>>,
        returned: &std::sync::mpsc::Receiver<EdgeChunk>,
    ) {
        let mut chunk = EdgeChunk::default();
        let at = At { file: self.file, line: 1 };
        let end = |i: usize| end_key(self.schema, self.snap, self.types[i], &self.header[i], &at);
        // Both columns name the same key (`key,key`, the common case): one table serves both.
        let same_key = self.types[0] == self.types[1] && self.header[0] == self.header[1];
        let (source, target) = match (end(0), (!same_key).then(|| end(1)).transpose()) {
            (Ok(source), Ok(target)) => (source, target),
            (Err(e), _) | (_, Err(e)) => return self.fail(chunk, e, out),
        };
        let ends = [&source, target.as_ref().unwrap_or(&source)];
        let mut rows = PairRows::new(text);
        let mut key = Vec::new();
        // The cell of the source being grouped.
        let mut source = Vec::new();
        let (mut in_batch, mut done) = (0u64, 0u64);
        loop {
            let row = match rows.next_row() {
                Ok(Some(row)) => row,
                Ok(None) => {
                    if let Some(last) = chunk.groups.last_mut() {
                        last.ends_batch = true;
                    }
                    let _ = out.send(Ok(chunk));
                    return;
                }
                Err(e) => return self.fail(chunk, self.row_error(e), out),
            };
            let at = At { file: self.file, line: row.line };
            let resolved = (|| -> Result<(), Error> {
                let (header, snap) = (self.header, self.snap);
                let same = chunk.groups.last().is_some_and(|g| !g.ends_batch) && source == row.source;
                if !same {
                    let src = resolve(self.schema, ends[0], row.source, &header[0], snap, &mut key, &at)?;
                    chunk.groups.push(EdgeGroup { src, line: row.line, rows: 0, ends_batch: false });
                    source.clear();
                    source.extend_from_slice(row.source);
                }
                chunk.dsts.push(resolve(self.schema, ends[1], row.target, &header[1], snap, &mut key, &at)?);
                Ok(())
            })();
            if let Err(e) = resolved {
                return self.fail(chunk, e, out);
            }
            // A group was pushed above unless the row joined the last one.
            let Some(group) = chunk.groups.last_mut() else { return };
            group.rows += 1;
            in_batch += 1;
            done += 1;
            if in_batch >= self.per_batch
                && batch_ends(in_batch, self.per_batch, self.total.wait().saturating_sub(done))
            {
                group.ends_batch = true;
                in_batch = 0;
            }
            if chunk.dsts.len() >= CHUNK_ROWS {
                // A full chunk goes; a source running on continues in a new group.
                let mut next = returned.try_recv().unwrap_or_default();
                next.groups.clear();
                next.dsts.clear();
                if out.send(Ok(std::mem::replace(&mut chunk, next))).is_err() {
                    return;
                }
            }
        }
    }

    fn row_error(&self, e: RowError) -> Error {
        match e {
            RowError::Fields { line, found } => At { file: self.file, line }
                .err("-", format!("bad CSV: a row of {found} cells; an edge file has two (source, target)")),
            RowError::Csv { line, message } => {
                At { file: self.file, line }.err("-", format!("bad CSV: {message}"))
            }
        }
    }
}

/// How the column `name` finds nodes of type `ty`.
fn end_key(schema: &Schema, snap: &Snapshot, ty: usize, name: &str, at: &At<'_>) -> Result<EndKey, Error> {
    let def = &schema.types[ty];
    match schema.field(ty, name).map(|(_, f)| &f.kind) {
        Some(FieldKind::Id) => Ok(EndKey::Uid),
        Some(FieldKind::Scalar { xid: true, scalar, .. }) => {
            // Every stored node of the type (or of its implementers), by that value.
            let (mut ints, mut encoded) = (Vec::new(), FxHashMap::default());
            let mut buf = Vec::new();
            for &concrete in schema.concrete(ty) {
                let Some((_, f)) = schema.field(concrete, name) else { continue };
                let FieldKind::Scalar { prop: Some(p), .. } = f.kind else { continue };
                // (A property belongs to one type: every node holding it is of `concrete`.)
                snap.for_each_value(p, |d, v| {
                    let uid = snap.uid(d);
                    match (scalar, v) {
                        (ScalarType::Int, quiver_engine::ValueView::Int(i)) => ints.push((i, uid)),
                        (_, v) => {
                            buf.clear();
                            v.to_value().encode_into(&mut buf);
                            encoded.entry(buf.as_slice().into()).or_insert(uid);
                        }
                    }
                })?;
            }
            let by_value = if *scalar == ScalarType::Int { XidMap::ints(ints) } else { XidMap::Encoded(encoded) };
            Ok(EndKey::Xid { field: name.to_string(), scalar: scalar.clone(), by_value })
        }
        _ => Err(at.err(
            name,
            format!("{name} is neither the ID field nor an @id field of {}: the header names how each end is found", def.name),
        )),
    }
}

/// The uid a cell names (`key` is a reused buffer for the value's encoding).
fn resolve(
    schema: &Schema,
    end: &EndKey,
    cell: &[u8],
    column: &str,
    snap: &Snapshot,
    key: &mut Vec<u8>,
    at: &At<'_>,
) -> Result<u64, Error> {
    // Int keys in plain digits (most cells of most edge files) are read from the bytes.
    if let EndKey::Xid { field, by_value, .. } = end
        && let Some(int) = plain_int(cell)
        && let Some(found) = by_value.get_int(int)
    {
        return found.ok_or_else(|| at.err(column, format!("no node has {field} {int}")));
    }
    let cell = std::str::from_utf8(cell)
        .map_err(|_| at.err(column, format!("the cell is not UTF-8: {:?}", String::from_utf8_lossy(cell))))?;
    match end {
        EndKey::Uid => {
            let uid = parse_uid(cell)
                .ok_or_else(|| at.err(column, format!("{cell:?} is not a uid such as 0x2a")))?;
            if snap.node(uid).is_none() {
                return Err(at.err(column, format!("no node {uid:#x}")));
            }
            Ok(uid)
        }
        EndKey::Xid { field, scalar, by_value } => {
            let missing = || at.err(column, format!("no node has {field} {cell}"));
            if let XidMap::Encoded(map) = by_value {
                let value = cell_value(schema, scalar, false, cell).map_err(|m| at.err(column, m))?;
                key.clear();
                value.encode_into(key);
                return map.get(key.as_slice()).copied().ok_or_else(missing);
            }
            let int =
                parse_int(cell).ok_or_else(|| at.err(column, format!("expected Int, found {cell:?}")))?;
            by_value.get_int(int).flatten().ok_or_else(missing)
        }
    }
}

/// A cell of plain digits (and a minus sign), up to 18 of them: most of an edge file's cells,
/// read directly from the bytes. Anything else is `None` (for [`parse_int`] to read).
fn plain_int(cell: &[u8]) -> Option<i64> {
    let (negative, digits) = match cell {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, cell),
    };
    // Up to 18 digits cannot overflow.
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        let v = digits.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
        return Some(if negative { -v } else { v });
    }
    None
}

/// An Int cell as `str::parse` reads it after trimming.
fn parse_int(cell: &str) -> Option<i64> {
    plain_int(cell.as_bytes()).or_else(|| cell.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::parse_int;

    #[test]
    fn int_cells_read_as_str_parse_reads_them_trimmed() {
        for cell in [
            "0",
            "7",
            "-7",
            "+7",
            " 12 ",
            "-",
            "",
            "1e3",
            "x",
            "123456789012345678",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "0012",
            "--1",
            "1 2",
        ] {
            assert_eq!(parse_int(cell), cell.trim().parse::<i64>().ok(), "{cell:?}");
        }
    }
}
