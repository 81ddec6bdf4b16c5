//! JSON and NDJSON import (SPEC §5). A JSON file is an object keyed by type name, each an array
//! of node objects; an NDJSON file has one node object per line with `"__typename"`. Nested
//! objects are nodes of the field's type; `"id": "0x.."` keeps that uid and references the node
//! wherever it is defined (before or after, in this file or already stored); nodes without an
//! id get fresh uids above every uid in the file, in document order.
//!
//! Records are applied in batches, one transaction each: a bad record fails its batch whole,
//! with an error naming the file, the record's line and the field.

use std::path::Path;

use quiver_engine::{ScalarType, Value as EValue, WriteTxn};
use rustc_hash::FxHashSet;
use serde_json::{Map, Value as Json};

use crate::database::Database;
use crate::error::Error;
use crate::input::{map_input, read_input};
use crate::plan::parse_uid;
use crate::schema::{FieldKind, Schema};

/// How an import runs.
///
/// ```
/// let o = quiver_query::ImportOptions::default();
/// assert_eq!((o.batch_records, o.csv_batch_rows), (50_000, 4_000_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// JSON and NDJSON: top-level records per transaction (at least 1). Default 50,000.
    pub batch_records: usize,
    /// CSV: rows per transaction (at least 1); fewer than a quarter of this left at the end
    /// of a file join the last batch. Default 4,000,000: rows are small, and each bulk commit
    /// copies the adjacency it joins, so it costs more as the graph grows; larger batches save
    /// a little (R-MAT scale 20, 16 M edges, on 2 cores: 7.9-9.2 s in batches of 4,000,000,
    /// 7.3 s in one) but fail and report progress in larger steps.
    pub csv_batch_rows: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { batch_records: 50_000, csv_batch_rows: 4_000_000 }
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Nodes created.
    pub nodes: u64,
    /// Edges added.
    pub edges: u64,
    /// Transactions committed.
    pub batches: u64,
}

/// How far an import has come, reported after each committed batch.
///
/// ```
/// let p = quiver_query::ImportProgress { records: 10, total: 40, nodes: 12, edges: 3 };
/// assert_eq!(p.records * 4, p.total);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportProgress {
    /// Records (top-level objects, lines, rows) applied so far.
    pub records: u64,
    /// Records in the file.
    pub total: u64,
    /// Nodes created so far.
    pub nodes: u64,
    /// Edges added so far.
    pub edges: u64,
}

/// Called with the progress after each batch.
pub type ProgressFn<'a> = &'a mut dyn FnMut(&ImportProgress);

/// One top-level record: its type (if known from the file's structure), value and line.
#[derive(Clone)]
struct Record {
    ty: Option<String>,
    value: Json,
    line: usize,
}

impl Database {
    /// Imports a JSON document (`{"Type": [{...}, ...], ...}`); `name` is used in errors.
    pub fn import_json(&self, name: &str, text: &str) -> Result<ImportReport, Error> {
        self.import_json_with(name, text, &ImportOptions::default(), &mut |_| {})
    }

    /// [`Database::import_json`] with options, calling `progress` after each batch.
    pub fn import_json_with(
        &self,
        name: &str,
        text: &str,
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ImportReport, Error> {
        let doc: Map<String, Json> = serde_json::from_str(text).map_err(|e| Error::Import {
            file: name.to_string(),
            line: e.line(),
            field: "-".into(),
            message: format!("bad JSON: {e}"),
        })?;
        let starts = record_lines(text);
        let mut records = Vec::new();
        for (ty, items) in doc {
            let Json::Array(items) = items else {
                return Err(Error::Import {
                    file: name.into(),
                    line: 1,
                    field: ty,
                    message: "each type maps to an array of objects".into(),
                });
            };
            for value in items {
                let line = starts.get(records.len()).copied().unwrap_or(1);
                records.push(Record { ty: Some(ty.clone()), value, line });
            }
        }
        self.import_records(name, Source::Parsed(records), options, progress)
    }

    /// Imports NDJSON: one node object with `"__typename"` per line. Lines are parsed twice
    /// (once to find the uids the file defines, once per batch) so that only one batch of
    /// parsed records is held at a time.
    pub fn import_ndjson(&self, name: &str, text: &str) -> Result<ImportReport, Error> {
        self.import_ndjson_with(name, text, &ImportOptions::default(), &mut |_| {})
    }

    /// [`Database::import_ndjson`] with options, calling `progress` after each batch.
    pub fn import_ndjson_with(
        &self,
        name: &str,
        text: &str,
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ImportReport, Error> {
        let lines: Vec<(usize, &str)> =
            text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l)).collect();
        self.import_records(name, Source::Lines(lines), options, progress)
    }

    /// Imports a file: NDJSON when it ends in `.ndjson` or `.jsonl`; CSV when it ends in
    /// `.csv`, of nodes for `Type.csv` and of edges for `Type.field.csv`; JSON otherwise.
    pub fn import_file(&self, path: &Path) -> Result<ImportReport, Error> {
        self.import_file_with(path, &ImportOptions::default(), &mut |_| {})
    }

    /// [`Database::import_file`] with options, calling `progress` after each batch.
    pub fn import_file_with(
        &self,
        path: &Path,
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ImportReport, Error> {
        let name = path.display().to_string();
        let ext = path.extension().and_then(|e| e.to_str());
        // `Type.csv` holds nodes, `Type.field.csv` edges.
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if ext == Some("csv") && stem.contains('.') {
            return map_input(path, |bytes| {
                self.import_csv_edge_bytes(&name, stem, bytes, options, progress)
            });
        }
        read_input(path, |text| match ext {
            Some("ndjson" | "jsonl") => self.import_ndjson_with(&name, text, options, progress),
            Some("csv") => self.import_csv_nodes_with(&name, stem, text, options, progress),
            _ => self.import_json_with(&name, text, options, progress),
        })
    }

    fn import_records(
        &self,
        file: &str,
        source: Source<'_>,
        options: &ImportOptions,
        progress: ProgressFn<'_>,
    ) -> Result<ImportReport, Error> {
        // Automatic checkpoints wait for the end of the import (declared first: dropped last).
        let _load = self.store().bulk_load();
        let per_batch = options.batch_records.max(1);
        let loaded = self.loaded()?;
        // Pre-pass: the uids the file defines, and the largest uid it names.
        let mut defined = FxHashSet::default();
        let mut max_uid = 0u64;
        source.visit(file, &mut |r| {
            let ty = r.ty.as_deref().and_then(|t| loaded.schema.type_index(t));
            scan(&loaded.schema, &r.value, ty, true, &mut defined, &mut max_uid);
        })?;
        let mut report = ImportReport::default();
        let mut next_fresh = max_uid.saturating_add(1).max(self.store().snapshot().next_uid());
        for start in (0..source.len()).step_by(per_batch) {
            let batch = source.batch(file, start..(start + per_batch).min(source.len()))?;
            let mut imp = Importer {
                schema: &loaded.schema,
                txn: self.store().write()?,
                file,
                line: 0,
                defined: &defined,
                placeholders: FxHashSet::default(),
                next_fresh,
                nodes: 0,
                edges: 0,
            };
            for r in batch.iter() {
                imp.line = r.line;
                // The file's type key, which `__typename` may narrow (checked by `node`).
                let ty_name = match (&r.ty, r.value.get("__typename")) {
                    (Some(t), _) => t.clone(),
                    (None, Some(Json::String(t))) => t.clone(),
                    (None, _) => return Err(imp.err("-", "an NDJSON record needs \"__typename\"")),
                };
                let ty = loaded
                    .schema
                    .type_index(&ty_name)
                    .ok_or_else(|| imp.err(&ty_name, format!("unknown type {ty_name}")))?;
                imp.node(&r.value, ty, true, None, &FieldPath::Record(&ty_name))?;
            }
            next_fresh = imp.next_fresh;
            let (nodes, edges) = (imp.nodes, imp.edges);
            imp.txn.commit()?;
            report.nodes += nodes;
            report.edges += edges;
            report.batches += 1;
            let records = (start + batch.len()) as u64;
            progress(&ImportProgress {
                records,
                total: source.len() as u64,
                nodes: report.nodes,
                edges: report.edges,
            });
        }
        Ok(report)
    }
}

/// Where the records come from: parsed at once (a JSON document), or lines parsed when needed
/// (NDJSON).
enum Source<'t> {
    Parsed(Vec<Record>),
    Lines(Vec<(usize, &'t str)>),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Parsed(r) => r.len(),
            Source::Lines(l) => l.len(),
        }
    }

    fn parse_line(file: &str, (line, text): (usize, &str)) -> Result<Record, Error> {
        let value: Json = serde_json::from_str(text).map_err(|e| Error::Import {
            file: file.into(),
            line,
            field: "-".into(),
            message: format!("bad JSON: {e}"),
        })?;
        Ok(Record { ty: None, value, line })
    }

    /// Calls `f` on every record in order.
    fn visit(&self, file: &str, f: &mut dyn FnMut(&Record)) -> Result<(), Error> {
        match self {
            Source::Parsed(records) => records.iter().for_each(f),
            Source::Lines(lines) => {
                for l in lines {
                    f(&Source::parse_line(file, *l)?);
                }
            }
        }
        Ok(())
    }

    /// The records of positions `range`.
    fn batch(
        &self,
        file: &str,
        range: std::ops::Range<usize>,
    ) -> Result<std::borrow::Cow<'_, [Record]>, Error> {
        Ok(match self {
            Source::Parsed(records) => std::borrow::Cow::Borrowed(&records[range]),
            Source::Lines(lines) => std::borrow::Cow::Owned(
                lines[range].iter().map(|l| Source::parse_line(file, *l)).collect::<Result<_, _>>()?,
            ),
        })
    }
}

/// Whether an object only names a node (`{"id": ..}`, perhaps with `__typename`).
fn is_reference(obj: &Map<String, Json>, id_key: &str) -> bool {
    obj.contains_key(id_key) && obj.keys().all(|k| k == id_key || k == "__typename")
}

fn id_key(schema: &Schema, ty: usize) -> &str {
    let t = &schema.types[ty];
    t.id_field.map_or("id", |i| t.fields[i].name.as_str())
}

/// Collects the uids the records define and the largest uid they name, walking nested nodes
/// through the schema's edge fields (type errors are left for the import pass, which reports
/// them with their place).
fn scan(
    schema: &Schema,
    v: &Json,
    ty: Option<usize>,
    top: bool,
    defined: &mut FxHashSet<u64>,
    max: &mut u64,
) {
    let Json::Object(obj) = v else { return };
    let ty = match obj.get("__typename").and_then(Json::as_str) {
        Some(name) => schema.type_index(name),
        None => ty,
    };
    let Some(ty) = ty else { return };
    let key = id_key(schema, ty);
    if let Some(uid) = obj.get(key).and_then(Json::as_str).and_then(parse_uid) {
        *max = (*max).max(uid);
        if top || !is_reference(obj, key) {
            defined.insert(uid);
        }
    }
    for (k, child) in obj {
        let Some((_, f)) = schema.field(ty, k) else { continue };
        let FieldKind::Edge { target, .. } = f.kind else { continue };
        match child {
            Json::Array(items) => {
                items.iter().for_each(|i| scan(schema, i, Some(target), false, defined, max))
            }
            other => scan(schema, other, Some(target), false, defined, max),
        }
    }
}

/// Where a value sits in its record (`Customer.orders[1].amount`), put into words only when an
/// error needs it.
#[derive(Clone, Copy)]
enum FieldPath<'p> {
    /// The record, named by its type.
    Record(&'p str),
    /// A field of an object.
    Field(&'p FieldPath<'p>, &'p str),
    /// An item of a list.
    Index(&'p FieldPath<'p>, usize),
}

impl std::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldPath::Record(t) => f.write_str(t),
            FieldPath::Field(p, name) => write!(f, "{p}.{name}"),
            FieldPath::Index(p, i) => write!(f, "{p}[{i}]"),
        }
    }
}

struct Importer<'a, 's> {
    schema: &'a Schema,
    txn: WriteTxn<'s>,
    file: &'a str,
    line: usize,
    defined: &'a FxHashSet<u64>,
    /// Nodes created by a reference before their definition was seen.
    placeholders: FxHashSet<u64>,
    next_fresh: u64,
    nodes: u64,
    edges: u64,
}

impl Importer<'_, '_> {
    fn err(&self, field: impl std::fmt::Display, message: impl Into<String>) -> Error {
        Error::Import {
            file: self.file.to_string(),
            line: self.line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Imports one node object of user type `ty`; returns its uid. `via` names its field that
    /// the edge it is nested under fills as an inverse (so that field need not be given).
    fn node(
        &mut self,
        v: &Json,
        ty: usize,
        top: bool,
        via: Option<&str>,
        path: &FieldPath<'_>,
    ) -> Result<u64, Error> {
        let schema = self.schema;
        let Json::Object(obj) = v else {
            return Err(self.err(path, format!("expected an object, found {v}")));
        };
        let mut ty = ty;
        if let Some(t) = obj.get("__typename") {
            let name = t.as_str().unwrap_or_default();
            let named = schema.type_index(name).ok_or_else(|| self.err(path, format!("unknown type {t}")))?;
            if !schema.concrete(ty).contains(&named) {
                return Err(self.err(path, format!("{name} is not a {}", schema.types[ty].name)));
            }
            ty = named;
        }
        if schema.types[ty].interface {
            // Without `__typename`, a reference to a stored node takes that node's type.
            let stored = obj
                .get(id_key(schema, ty))
                .and_then(Json::as_str)
                .and_then(parse_uid)
                .and_then(|u| self.txn.node_type(u))
                .and_then(|t| schema.type_of_engine(t))
                .filter(|t| schema.concrete(ty).contains(t));
            match stored {
                Some(t) => ty = t,
                None => {
                    return Err(self.err(
                        path,
                        format!(
                            "{} is an interface: say which type with \"__typename\"",
                            schema.types[ty].name
                        ),
                    ));
                }
            }
        }
        let engine_ty = schema.types[ty].engine.ok_or_else(|| self.err(path, "type is not bound"))?;
        let key = id_key(schema, ty).to_string();
        let explicit = match obj.get(&key) {
            Some(Json::String(s)) => Some(parse_uid(s).filter(|u| *u != 0).ok_or_else(|| {
                self.err(FieldPath::Field(path, &key), format!("{s:?} is not a uid such as \"0x2a\""))
            })?),
            Some(other) => {
                return Err(
                    self.err(FieldPath::Field(path, &key), format!("expected a uid string, found {other}"))
                );
            }
            None => None,
        };
        let reference = !top && is_reference(obj, &key);
        // Whether this object brings the node into being (so its required fields must be here).
        let mut created = false;
        let uid = match explicit {
            Some(uid) => {
                match self.txn.node_type(uid) {
                    Some(t) if t == engine_ty => created = !reference && self.placeholders.remove(&uid),
                    Some(t) => {
                        let other = schema
                            .type_of_engine(t)
                            .map_or("another type", |i| schema.types[i].name.as_str());
                        return Err(
                            self.err(path, format!("{uid:#x} is a {other}, not a {}", schema.types[ty].name))
                        );
                    }
                    None if reference && !self.defined.contains(&uid) => {
                        return Err(self.err(
                            path,
                            format!("dangling reference: no node {uid:#x} in the database or the file"),
                        ));
                    }
                    None => {
                        self.txn.create_node(engine_ty, Some(uid))?;
                        self.nodes += 1;
                        if reference {
                            self.placeholders.insert(uid);
                        } else {
                            created = true;
                        }
                    }
                }
                uid
            }
            None => {
                let uid = self.next_fresh;
                self.next_fresh += 1;
                self.txn.create_node(engine_ty, Some(uid))?;
                self.nodes += 1;
                created = true;
                uid
            }
        };
        if reference {
            return Ok(uid);
        }
        // Which fields this object gave a value (for the required-field check), by position.
        let mut given = vec![false; schema.types[ty].fields.len()];
        for (k, value) in obj {
            if *k == key || k == "__typename" {
                continue;
            }
            let fpath = FieldPath::Field(path, k);
            let Some((index, field)) = schema.field(ty, k) else {
                return Err(self.err(fpath, format!("{} has no field {k}", schema.types[ty].name)));
            };
            if value.is_null() {
                continue;
            }
            given[index] = true;
            match &field.kind {
                FieldKind::Id => {}
                FieldKind::Scalar { scalar, list, prop: Some(p), .. } => {
                    let v = self.scalar(value, scalar, *list, &fpath)?;
                    self.txn.set(uid, *p, v).map_err(|e| self.err(fpath, e.to_string()))?;
                }
                FieldKind::Edge { target, list, edges: stored, .. } if !stored.is_empty() => {
                    let items: Vec<&Json> = match value {
                        Json::Array(items) if *list => items.iter().collect(),
                        Json::Array(_) => return Err(self.err(fpath, "expected one object, found a list")),
                        other => vec![other],
                    };
                    let mut dsts = Vec::with_capacity(items.len());
                    let inverse = schema.inverse_name(ty, k);
                    for (i, item) in items.into_iter().enumerate() {
                        let p = if *list { FieldPath::Index(&fpath, i) } else { fpath };
                        dsts.push(self.node(item, *target, false, inverse, &p)?);
                    }
                    crate::mutate::link(&mut self.txn, stored, *list, uid, &dsts)
                        .map_err(|er| self.err(fpath, er.to_string()))?;
                    self.edges += dsts.len() as u64;
                }
                _ => return Err(self.err(fpath, "field is not bound to the catalog")),
            }
        }
        if created {
            for (f, given) in schema.types[ty].fields.iter().zip(given) {
                if f.ty.is_non_null() && f.kind != FieldKind::Id && !given && via != Some(f.name.as_str()) {
                    return Err(self.err(
                        FieldPath::Field(path, &f.name),
                        format!("required field {} is missing", f.name),
                    ));
                }
            }
        }
        Ok(uid)
    }

    fn scalar(
        &self,
        v: &Json,
        scalar: &ScalarType,
        list: bool,
        path: &FieldPath<'_>,
    ) -> Result<EValue, Error> {
        if list {
            let items: Vec<&Json> = match v {
                Json::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            return items
                .into_iter()
                .enumerate()
                .map(|(i, x)| self.scalar(x, scalar, false, &FieldPath::Index(path, i)))
                .collect::<Result<_, _>>()
                .map(EValue::List);
        }
        let wrong = || self.err(path, format!("expected {scalar}, found {v}"));
        Ok(match (scalar, v) {
            (ScalarType::String | ScalarType::Id, Json::String(s)) => EValue::String(s.clone()),
            (ScalarType::Int, Json::Number(n)) => EValue::Int(n.as_i64().ok_or_else(wrong)?),
            (ScalarType::Float, Json::Number(n)) => {
                EValue::Float(n.as_f64().filter(|x| x.is_finite()).ok_or_else(wrong)?)
            }
            (ScalarType::Boolean, Json::Bool(b)) => EValue::Boolean(*b),
            (ScalarType::DateTime, Json::String(s)) => {
                EValue::DateTime(crate::datetime::parse(s).ok_or_else(wrong)?)
            }
            (ScalarType::Enum(e), Json::String(s)) => {
                let ok = self.schema.enum_def(e).is_some_and(|d| d.values.iter().any(|(n, _, _)| n == s));
                if !ok {
                    return Err(self.err(path, format!("{s:?} is not a value of enum {e}")));
                }
                EValue::String(s.clone())
            }
            _ => return Err(wrong()),
        })
    }
}

/// The 1-based line where each element of each top-level array starts, in document order.
fn record_lines(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let (mut depth, mut line, mut i) = (0usize, 1usize, 0usize);
    let mut out = Vec::new();
    let mut expecting = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => line += 1,
            b'"' => {
                if depth == 2 && expecting {
                    out.push(line);
                    expecting = false;
                }
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' | b'[' => {
                if depth == 2 && expecting {
                    out.push(line);
                    expecting = false;
                }
                depth += 1;
                if depth == 2 && c == b'[' {
                    expecting = true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 2 => expecting = true,
            b' ' | b'\t' | b'\r' | b':' | b',' => {}
            _ => {
                if depth == 2 && expecting {
                    out.push(line);
                    expecting = false;
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn record_lines_follow_arrays() {
        let text = "{\n \"A\": [\n  {\"x\": [1,2]},\n  {\"y\": \"}\"}\n ],\n \"B\": [1,\n 2]\n}";
        assert_eq!(super::record_lines(text), vec![3, 4, 6, 7]);
    }
}
