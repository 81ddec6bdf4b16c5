//! JSON output of an expanded result tree, straight into the response buffer.

use quiver_engine::{Snapshot, Value, ValueView};

use super::{Expanded, Level, R, kept, page};
use crate::json;
use crate::plan::{AggSel, ItemKind, NodeSel};
use crate::schema::Schema;

/// One computed aggregate value.
#[derive(Clone, Debug)]
pub(super) enum AggValue {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Value(Value),
}

pub(super) struct Writer<'a> {
    pub snap: &'a Snapshot,
    pub schema: &'a Schema,
    pub api: &'a crate::schema::api::Api,
}

impl Writer<'_> {
    /// Writes node `i` of `level` as an object.
    pub fn node(&self, out: &mut String, sel: &NodeSel, level: &Level, i: usize) -> R<()> {
        let node = level.nodes[i];
        let ty = self.snap.node_type(node);
        out.push('{');
        let mut first = true;
        for (n, item) in sel.items.iter().enumerate() {
            if item.only.as_ref().is_some_and(|o| !o.contains(&ty)) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            json::write_str(out, &item.key);
            out.push(':');
            match (&item.kind, &level.items[n]) {
                (ItemKind::Uid, _) => json::write_uid(out, self.snap.uid(node)),
                (ItemKind::Typename, _) => {
                    let name =
                        self.schema.type_of_engine(ty).map_or("", |t| self.schema.types[t].name.as_str());
                    json::write_str(out, name);
                }
                (ItemKind::Scalar { props, .. }, _) => match super::filter::prop_for(props, ty) {
                    Some(p) => match self.snap.value(node, p)? {
                        Some(v) => write_view(out, &v),
                        None => out.push_str("null"),
                    },
                    None => out.push_str("null"),
                },
                (
                    ItemKind::Edge { list, sel: child_sel, .. },
                    Expanded::Edge { offsets, child, page: deferred },
                ) => {
                    let range = offsets[i] as usize..offsets[i + 1] as usize;
                    let mut idx: Vec<usize> = range.filter(|&c| kept(child, c)).collect();
                    if let Some((offset, first)) = deferred {
                        idx = page(idx, *offset, *first);
                    }
                    if *list {
                        out.push('[');
                        for (k, c) in idx.into_iter().enumerate() {
                            if k > 0 {
                                out.push(',');
                            }
                            self.node(out, child_sel, child, c)?;
                        }
                        out.push(']');
                    } else {
                        match idx.first() {
                            Some(&c) => self.node(out, child_sel, child, c)?,
                            None => out.push_str("null"),
                        }
                    }
                }
                (ItemKind::EdgeAggregate { sel: agg, .. }, Expanded::Aggregate(values)) => {
                    self.aggregate(out, agg, &values[i]);
                }
                _ => out.push_str("null"),
            }
        }
        out.push('}');
        Ok(())
    }

    pub fn aggregate(&self, out: &mut String, sel: &AggSel, values: &[AggValue]) {
        out.push('{');
        for (n, ((key, _), v)) in sel.items.iter().zip(values).enumerate() {
            if n > 0 {
                out.push(',');
            }
            json::write_str(out, key);
            out.push(':');
            match v {
                AggValue::Null => out.push_str("null"),
                AggValue::Int(i) => json::write_int(out, *i),
                AggValue::Float(x) => json::write_float(out, *x),
                AggValue::Text(s) => json::write_str(out, s),
                AggValue::Value(v) => match v.as_scalar_view() {
                    Some(view) => write_view(out, &view),
                    None => out.push_str("null"),
                },
            }
        }
        out.push('}');
    }
}

/// Writes a stored value as JSON.
pub(crate) fn write_view(out: &mut String, v: &ValueView<'_>) {
    match v {
        ValueView::String(s) => json::write_str(out, s),
        ValueView::Int(i) => json::write_int(out, *i),
        ValueView::Float(x) => json::write_float(out, *x),
        ValueView::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        ValueView::DateTime(t) => json::write_datetime(out, *t),
        ValueView::List(items) => {
            out.push('[');
            for (k, x) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_view(out, &x);
            }
            out.push(']');
        }
    }
}
