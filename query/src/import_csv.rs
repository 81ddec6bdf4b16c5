//! CSV import (SPEC §5): nodes of one type, or edges of one field, per file.
//!
//! - **Nodes**: a header row of field names, then one node per row. An `id` column (the type's
//!   ID field) keeps that uid; without it each node gets a fresh uid above every uid in the
//!   file and the database. An empty cell leaves the field unset. A list field's cell is a JSON
//!   array (`["a", "b"]`, `[1, 2]`).
//! - **Edges** of `Type.field`: a header row of two cells naming how each end is found: the
//!   ID field's name (a uid such as `0x2a`) or the name of an `@id` field of that end's type
//!   (its value); then one edge per row, source first.
//!
//! Rows are applied in batches (one transaction each, [`ImportOptions::csv_batch_rows`]); a bad
//! row fails its batch whole, with an error naming the file, the line and the column.

use quiver_engine::{ScalarType, Snapshot, Value as EValue};
use rustc_hash::FxHashMap;

use crate::database::Database;
use crate::error::Error;
use crate::import::{ImportOptions, ImportProgress, ImportReport, ProgressFn};
use crate::plan::parse_uid;
use crate::schema::{FieldKind, Schema};

/// Where a row is, for errors.
struct At<'a> {
    file: &'a str,
    line: usize,
}

impl At<'_> {
    fn err(&self, field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Import {
            file: self.file.into(),
            line: self.line,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A CSV reader over `text` whose first row is the header.
fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text.as_bytes())
}

fn csv_error(file: &str, e: &csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line() as usize);
    Error::Import { file: file.into(), line, field: "-".into(), message: format!("bad CSV: {e}") }
}

/// The value of a cell for a field of `scalar` type (`list`: a JSON array of them).
fn cell_value(schema: &Schema, scalar: &ScalarType, list: bool, cell: &str) -> Result<EValue, String> {
    if list {
        let items: Vec<serde_json::Value> = serde_json::from_str(cell)
            .map_err(|_| format!("a list field's cell must be a JSON array, found {cell:?}"))?;
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let text = match item {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                cell_value(schema, scalar, false, &text).map_err(|e| format!("item {i}: {e}"))
            })
            .collect::<Result<_, _>>()
            .map(EValue::List);
    }
    let wrong = || format!("expected {scalar}, found {cell:?}");
    Ok(match scalar {
        ScalarType::String | ScalarType::Id => EValue::String(cell.to_string()),
        ScalarType::Int => EValue::Int(cell.trim().parse().map_err(|_| wrong())?),
        ScalarType::Float => {
            EValue::Float(cell.trim().parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(wrong)?)
        }
        ScalarType::Boolean => match cell.trim() {
            "true" => EValue::Boolean(true),
            "false" => EValue::Boolean(false),
            _ => return Err(wrong()),
        },
        ScalarType::DateTime => EValue::DateTime(crate::datetime::parse(cell.trim()).ok_or_else(wrong)?),
        ScalarType::Enum(e) => {
            if !schema.enum_def(e).is_some_and(|d| d.values.iter().any(|(n, _, _)| n == cell)) {
                return Err(format!("{cell:?} is not a value of enum {e}"));
            }
            EValue::String(cell.to_string())
        }
    })
}

/// What a column of a node file holds.
enum Column {
    Uid,
    Value { name: String, prop: quiver_engine::PropId, scalar: ScalarType, list: bool },
}

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
    /// Int keys in a table when they fill at least a quarter of their range, else hashed.
    fn ints(map: FxHashMap<i64, u64>) -> XidMap {
        let (Some(&lo), Some(&hi)) = (map.keys().min(), map.keys().max()) else { return XidMap::Int(map) };
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span > 4 * map.len() as u128 {
            return XidMap::Int(map);
        }
        let mut uids = vec![0u64; span as usize];
        for (k, uid) in map {
            uids[(k - lo) as usize] = uid;
        }
        if uids.iter().enumerate().all(|(i, &u)| u != 0 && u.wrapping_sub(i as u64) == uids[0]) {
            return XidMap::IntSequence { first: lo, len: span as u64, uid0: uids[0] };
        }
        XidMap::IntRange { first: lo, uids }
    }
}

impl Database {
    /// Imports nodes of type `ty` from CSV text (see the module's documentation); `name` is
    /// used in errors.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = quiver_query::Database::open(dir.path()).unwrap();
    /// db.set_schema("type Person { id: ID!  key: Int! @id  name: String  knows: [Person] }").unwrap();
    /// db.import_csv_nodes("people.csv", "Person", "key,name\n1,Ada\n2,Bob\n").unwrap();
    /// db.import_csv_edges("knows.csv", "Person.knows", "key,key\n1,2\n").unwrap();
    /// let r = db.execute("{ queryPerson(filter: {key: {eq: 1}}) { name knows { name } } }", &serde_json::Value::Null);
    /// assert_eq!(r.json(), r#"{"data":{"queryPerson":[{"name":"Ada","knows":[{"name":"Bob"}]}]}}"#);
    /// ```
    pub fn import_csv_nodes(&self, name: &str, ty: &str, text: &str) -> Result<ImportReport, Error> {
        self.import_csv_nodes_with(name, ty, text, &ImportOptions::default(), &mut |_| {})
    }

    /// [`Database::import_csv_nodes`] with options, calling `progress` after each batch.
    pub fn import_csv_nodes_with(
        &self,
        file: &str,
        ty: &str,
        text: &str,
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ImportReport, Error> {
        // Automatic checkpoints wait for the end of the import (declared first: dropped last).
        let _load = self.store().bulk_load();
        let loaded = self.loaded()?;
        let schema = &loaded.schema;
        let at = At { file, line: 1 };
        let t = schema.type_index(ty).ok_or_else(|| at.err("-", format!("unknown type {ty}")))?;
        let def = &schema.types[t];
        let engine_ty =
            def.engine.ok_or_else(|| at.err("-", format!("{ty} is an interface: name an object type")))?;
        let mut rows = reader(text);
        let header = rows.headers().map_err(|e| csv_error(file, &e))?.clone();
        let mut columns = Vec::with_capacity(header.len());
        for name in header.iter() {
            let Some((_, f)) = schema.field(t, name) else {
                return Err(at.err(name, format!("{ty} has no field {name}")));
            };
            columns.push(match &f.kind {
                FieldKind::Id => Column::Uid,
                FieldKind::Scalar { scalar, list, prop: Some(prop), .. } => {
                    Column::Value { name: name.to_string(), prop: *prop, scalar: scalar.clone(), list: *list }
                }
                FieldKind::Edge { .. } => {
                    return Err(
                        at.err(name, format!("{name} is an edge: import it from an edge file ({ty}.{name})"))
                    );
                }
                FieldKind::Scalar { .. } => return Err(at.err(name, "field is not bound to the catalog")),
            });
        }
        // Required fields must have a column.
        for f in &def.fields {
            let required = f.ty.is_non_null() && f.kind != FieldKind::Id;
            if required && !header.iter().any(|h| h == f.name) {
                return Err(at.err(&f.name, format!("required field {} has no column", f.name)));
            }
        }
        let value_columns = columns.iter().filter(|c| matches!(c, Column::Value { .. })).count();
        let unique_columns = header
            .iter()
            .filter(|name| matches!(schema.field(t, name), Some((_, f)) if matches!(f.kind, FieldKind::Scalar { xid: true, .. })))
            .count();
        // Fresh uids go above every uid the file names (a first pass over the id column, when
        // there is one) and every uid stored.
        let uid_col = columns.iter().position(|c| matches!(c, Column::Uid));
        let mut record = csv::StringRecord::new();
        let mut max_named = 0;
        if let Some(c) = uid_col {
            let mut scan = reader(text);
            while scan.read_record(&mut record).map_err(|e| csv_error(file, &e))? {
                max_named = max_named.max(record.get(c).and_then(parse_uid).unwrap_or(0));
            }
        }
        let mut next_fresh = max_named.saturating_add(1).max(self.store().snapshot().next_uid());
        // Rows are read one at a time into one record.
        let total = data_rows(text);
        let per_batch = options.csv_batch_rows.max(1) as u64;
        let mut report = ImportReport::default();
        let mut txn: Option<quiver_engine::WriteTxn<'_>> = None;
        let mut in_batch = 0u64;
        loop {
            let more = rows.read_record(&mut record).map_err(|e| csv_error(file, &e))?;
            if (!more || in_batch == per_batch)
                && let Some(t) = txn.take()
            {
                t.commit()?;
                report.batches += 1;
                in_batch = 0;
                progress(&ImportProgress { records: report.nodes, total, nodes: report.nodes, edges: 0 });
            }
            if !more {
                break;
            }
            let txn = match &mut txn {
                Some(t) => t,
                None => {
                    let open = txn.insert(self.store().write()?);
                    // This batch's rows are known: its tables grow once.
                    let rows = (total.saturating_sub(report.nodes) as usize).min(per_batch as usize);
                    open.reserve(rows, rows * value_columns, rows * unique_columns);
                    open
                }
            };
            let at = At { file, line: record.position().map_or(0, |p| p.line() as usize) };
            let uid = match uid_col.map(|c| &record[c]) {
                Some(cell) if !cell.is_empty() => parse_uid(cell).filter(|u| *u != 0).ok_or_else(|| {
                    at.err(&header[uid_col.unwrap_or(0)], format!("{cell:?} is not a uid such as 0x2a"))
                })?,
                _ => {
                    next_fresh += 1;
                    next_fresh - 1
                }
            };
            txn.create_node(engine_ty, Some(uid)).map_err(|e| at.err("-", e.to_string()))?;
            for (column, cell) in columns.iter().zip(record.iter()) {
                let Column::Value { name, prop, scalar, list } = column else { continue };
                if cell.is_empty() {
                    let required = schema.field(t, name).is_some_and(|(_, f)| f.ty.is_non_null());
                    if required {
                        return Err(at.err(name, format!("required field {name} is empty")));
                    }
                    continue;
                }
                let value = cell_value(schema, scalar, *list, cell).map_err(|m| at.err(name, m))?;
                txn.set(uid, *prop, value).map_err(|e| at.err(name, e.to_string()))?;
            }
            report.nodes += 1;
            in_batch += 1;
        }
        Ok(report)
    }

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
        let mut rows = reader(text);
        let header = rows.headers().map_err(|e| csv_error(file, &e))?.clone();
        if header.len() != 2 {
            return Err(
                at.err("-", format!("an edge file has two columns (source, target), not {}", header.len()))
            );
        }
        let snap = self.store().snapshot();
        let per_batch = options.csv_batch_rows.max(1) as u64;
        // Rows are read and their ends resolved on a thread of their own, a chunk ahead, while
        // this one links them and commits the batches: the two halves take about as long.
        std::thread::scope(|scope| {
            let (chunks, arrivals) = std::sync::mpsc::sync_channel(2);
            let reading =
                EdgeRows { schema, snap: &snap, file, types: [t, target], header: &header, per_batch };
            std::thread::Builder::new()
                .name("quiver-csv".into())
                .spawn_scoped(scope, move || reading.send_all(rows, &chunks))
                .map_err(|e| Error::Io { path: file.into(), error: e })?;
            let total = data_rows(text);
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
}

impl EdgeRows<'_> {
    /// Sends what was read before the error (earlier batches are committed as they would be
    /// without it; the failing one is dropped with the error), then the error.
    fn fail(&self, chunk: EdgeChunk, e: Error, out: &std::sync::mpsc::SyncSender<Result<EdgeChunk, Error>>) {
        if out.send(Ok(chunk)).is_ok() {
            let _ = out.send(Err(e));
        }
    }

    /// Reads every row, resolves both ends and sends them in chunks; stops at the first error
    /// (sent last) or when the receiving side has gone.
    fn send_all(
        &self,
        mut rows: csv::Reader<&[u8]>,
        out: &std::sync::mpsc::SyncSender<Result<EdgeChunk, Error>>,
    ) {
        let mut chunk = EdgeChunk::default();
        let at = At { file: self.file, line: 1 };
        let ends = [0, 1].map(|i| end_key(self.schema, self.snap, self.types[i], &self.header[i], &at));
        let ends = match ends {
            [Ok(source), Ok(target)] => [source, target],
            [Err(e), _] | [_, Err(e)] => return self.fail(chunk, e, out),
        };
        let mut record = csv::StringRecord::new();
        let mut key = Vec::new();
        // The cell of the source being grouped.
        let mut source = String::new();
        let mut in_batch = 0u64;
        loop {
            let more = match rows.read_record(&mut record) {
                Ok(more) => more,
                Err(e) => return self.fail(chunk, csv_error(self.file, &e), out),
            };
            if !more {
                if let Some(last) = chunk.groups.last_mut() {
                    last.ends_batch = true;
                }
                let _ = out.send(Ok(chunk));
                return;
            }
            let line = record.position().map_or(0, |p| p.line() as usize);
            let at = At { file: self.file, line };
            let resolved = (|| -> Result<(), Error> {
                let (header, snap) = (self.header, self.snap);
                let same = chunk.groups.last().is_some_and(|g| !g.ends_batch) && source == record[0];
                if !same {
                    let src = resolve(self.schema, &ends[0], &record[0], &header[0], snap, &mut key, &at)?;
                    chunk.groups.push(EdgeGroup { src, line, rows: 0, ends_batch: false });
                    source.clear();
                    source.push_str(&record[0]);
                }
                chunk.dsts.push(resolve(self.schema, &ends[1], &record[1], &header[1], snap, &mut key, &at)?);
                Ok(())
            })();
            if let Err(e) = resolved {
                return self.fail(chunk, e, out);
            }
            // A group was pushed above unless the row joined the last one.
            let Some(group) = chunk.groups.last_mut() else { return };
            group.rows += 1;
            in_batch += 1;
            if in_batch == self.per_batch {
                group.ends_batch = true;
                in_batch = 0;
            }
            if chunk.dsts.len() >= CHUNK_ROWS {
                // A full chunk goes; a source running on continues in a new group.
                if out.send(Ok(std::mem::take(&mut chunk))).is_err() {
                    return;
                }
            }
        }
    }
}

/// Rows after the header (for progress): lines, less the empty ones the reader skips. Counted
/// byte by byte (the compiler vectorizes it): at scale 20 a line iterator took a second.
fn data_rows(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let ends = bytes.iter().filter(|&&b| b == b'\n').count();
    let unterminated = usize::from(bytes.last().is_some_and(|&b| b != b'\n'));
    // An empty line: a line end right after another (`\n\n`, or `\n\r\n` with CRLF endings).
    let empty = bytes
        .iter()
        .zip(&bytes[1.min(bytes.len())..])
        .filter(|&(&a, &b)| a == b'\n' && (b == b'\n' || b == b'\r'))
        .count();
    (ends + unterminated).saturating_sub(empty + 1) as u64
}

/// How the column `name` finds nodes of type `ty`.
fn end_key(schema: &Schema, snap: &Snapshot, ty: usize, name: &str, at: &At<'_>) -> Result<EndKey, Error> {
    let def = &schema.types[ty];
    match schema.field(ty, name).map(|(_, f)| &f.kind) {
        Some(FieldKind::Id) => Ok(EndKey::Uid),
        Some(FieldKind::Scalar { xid: true, scalar, .. }) => {
            // Every stored node of the type (or of its implementers), by that value.
            let (mut ints, mut encoded) = (FxHashMap::default(), FxHashMap::default());
            let mut buf = Vec::new();
            for &concrete in schema.concrete(ty) {
                let Some(engine_ty) = schema.types[concrete].engine else { continue };
                let Some((_, f)) = schema.field(concrete, name) else { continue };
                let FieldKind::Scalar { prop: Some(p), .. } = f.kind else { continue };
                for d in snap.nodes_of_type(engine_ty) {
                    let Some(v) = snap.value(d, p)? else { continue };
                    let uid = snap.uid(d);
                    match (scalar, v) {
                        (ScalarType::Int, quiver_engine::ValueView::Int(i)) => {
                            ints.entry(i).or_insert(uid);
                        }
                        _ => {
                            buf.clear();
                            v.to_value().encode_into(&mut buf);
                            encoded.entry(buf.as_slice().into()).or_insert(uid);
                        }
                    }
                }
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
    cell: &str,
    column: &str,
    snap: &Snapshot,
    key: &mut Vec<u8>,
    at: &At<'_>,
) -> Result<u64, Error> {
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
            let int = || -> Result<i64, Error> {
                cell.trim().parse().map_err(|_| at.err(column, format!("expected Int, found {cell:?}")))
            };
            match by_value {
                XidMap::IntSequence { first, len, uid0 } => {
                    let offset = int()?.checked_sub(*first).and_then(|o| u64::try_from(o).ok());
                    offset.filter(|o| o < len).map(|o| uid0 + o).ok_or_else(missing)
                }
                XidMap::IntRange { first, uids } => {
                    let offset = int()?.checked_sub(*first).and_then(|o| usize::try_from(o).ok());
                    offset.and_then(|o| uids.get(o).copied()).filter(|&u| u != 0).ok_or_else(missing)
                }
                XidMap::Int(map) => map.get(&int()?).copied().ok_or_else(missing),
                XidMap::Encoded(map) => {
                    let value = cell_value(schema, scalar, false, cell).map_err(|m| at.err(column, m))?;
                    key.clear();
                    value.encode_into(key);
                    map.get(key.as_slice()).copied().ok_or_else(missing)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::data_rows;

    #[test]
    fn data_rows_count_lines_the_reader_yields() {
        assert_eq!(data_rows(""), 0);
        assert_eq!(data_rows("key\n"), 0);
        assert_eq!(data_rows("key\n1\n2\n"), 2);
        assert_eq!(data_rows("key\n1\n2"), 2, "no line end at the end");
        assert_eq!(data_rows("key\n1\n\n2\n\n"), 2, "empty lines");
        assert_eq!(data_rows("key\r\n1\r\n\r\n2\r\n"), 2, "CRLF");
    }
}
