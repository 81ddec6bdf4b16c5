//! JSON export: every node of every object type, keyed by type name in schema order, each with
//! its uid, scalar fields and edges (as `{"id": ..}` references). Importing the file into an
//! empty database with the same schema gives identical query answers, uids included.

use std::io::Write;

use quiver_engine::Direction;

use crate::database::Database;
use crate::error::Error;
use crate::json;
use crate::schema::FieldKind;

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Nodes written.
    pub nodes: u64,
    /// Edges written.
    pub edges: u64,
}

impl Database {
    /// Writes the whole database as import-ready JSON, from one snapshot.
    pub fn export_json(&self, out: &mut dyn Write) -> Result<ExportReport, Error> {
        let io = |error| Error::Io { path: "export".into(), error };
        let loaded = self.loaded()?;
        let schema = &loaded.schema;
        let snap = self.store().snapshot();
        let mut report = ExportReport::default();
        let mut buf = String::with_capacity(1 << 16);
        buf.push('{');
        let mut first_type = true;
        for t in schema.types.iter().filter(|t| !t.interface) {
            let Some(engine) = t.engine else { continue };
            if !first_type {
                buf.push(',');
            }
            first_type = false;
            buf.push('\n');
            json::write_str(&mut buf, &t.name);
            buf.push_str(": [");
            let key = t.id_field.map_or("id", |i| t.fields[i].name.as_str());
            for (n, node) in snap.nodes_of_type(engine).into_iter().enumerate() {
                buf.push_str(if n == 0 { "\n  {" } else { ",\n  {" });
                json::write_str(&mut buf, key);
                buf.push(':');
                json::write_uid(&mut buf, snap.uid(node));
                for f in &t.fields {
                    match &f.kind {
                        FieldKind::Scalar { prop: Some(p), .. } => {
                            if let Some(v) = snap.value(node, *p)? {
                                buf.push(',');
                                json::write_str(&mut buf, &f.name);
                                buf.push(':');
                                crate::exec::write_view(&mut buf, &v);
                            }
                        }
                        FieldKind::Edge { edges, target, list, .. } => {
                            // Several engine edge types when the field points to an interface.
                            let mut targets: Vec<(u64, quiver_engine::Dense)> = Vec::new();
                            for (_, e) in edges {
                                targets.extend(
                                    snap.neighbors(*e, Direction::Out, node)
                                        .iter()
                                        .map(|d| (snap.uid(*d), *d)),
                                );
                            }
                            if targets.is_empty() {
                                continue;
                            }
                            targets.sort_unstable();
                            let tt = &schema.types[*target];
                            let tkey = tt.id_field.map_or("id", |i| tt.fields[i].name.as_str());
                            buf.push(',');
                            json::write_str(&mut buf, &f.name);
                            buf.push(':');
                            if *list {
                                buf.push('[');
                            }
                            for (i, (u, d)) in targets.iter().enumerate() {
                                if i > 0 {
                                    buf.push(',');
                                }
                                buf.push('{');
                                if tt.interface {
                                    let name = schema
                                        .type_of_engine(snap.node_type(*d))
                                        .map(|t| &schema.types[t].name);
                                    buf.push_str("\"__typename\":");
                                    json::write_str(&mut buf, name.map_or("", |n| n.as_str()));
                                    buf.push(',');
                                }
                                json::write_str(&mut buf, tkey);
                                buf.push(':');
                                json::write_uid(&mut buf, *u);
                                buf.push('}');
                            }
                            if *list {
                                buf.push(']');
                            }
                            report.edges += targets.len() as u64;
                        }
                        _ => {}
                    }
                }
                buf.push('}');
                report.nodes += 1;
                if buf.len() > 1 << 16 {
                    out.write_all(buf.as_bytes()).map_err(io)?;
                    buf.clear();
                }
            }
            buf.push_str("\n]");
        }
        buf.push_str("\n}\n");
        out.write_all(buf.as_bytes()).map_err(io)?;
        Ok(report)
    }
}
