//! Planning the extensions beside the generated API: introspection selections, `@recurse`,
//! `shortestPath`, and `fAggregate`'s `depth`/`distinct`.

use crate::ast::{Field, Spanned, Value};
use crate::error::QueryError;
use crate::schema::FieldKind;

use super::{MAX_WALK_DEPTH, MetaSel, Planner, RootKind, Walk, filter, vars};

impl<'a> Planner<'a> {
    /// The selection on introspection type `ty` of every field sharing one response key.
    pub(super) fn meta_sel(&self, ty: &str, fields: &[&'a Field]) -> Result<MetaSel, QueryError> {
        let mut sel = MetaSel::default();
        for f in fields {
            for (key, fs, _) in self.collect(&f.selection_set, ty)? {
                if sel.items.iter().any(|i| i.0 == key) {
                    continue;
                }
                let name = fs[0].name.value.clone();
                let include = self
                    .args(fs[0])
                    .iter()
                    .any(|(n, v)| n == "includeDeprecated" && v.node == Value::Boolean(true));
                let sub = match self.api.field(ty, &name) {
                    Some(def) if !fs[0].selection_set.items.is_empty() => {
                        self.meta_sel(def.ty.base(), &fs)?
                    }
                    _ => MetaSel::default(),
                };
                sel.items.push((key, name, include, sub));
            }
        }
        Ok(sel)
    }

    /// `@recurse(depth:)` on the fields of one response key: how many levels, if present.
    pub(super) fn recurse_depth(&self, fs: &[&Field]) -> Result<Option<usize>, QueryError> {
        let Some(d) = fs.iter().flat_map(|f| f.directives.iter()).find(|d| d.name.value == "recurse") else {
            return Ok(None);
        };
        let Some(arg) = d.arguments.iter().find(|a| a.name.value == "depth") else { return Ok(None) };
        match vars::substitute(&arg.value.node, self.vars) {
            Value::Int(i) => {
                i.parse::<usize>().ok().filter(|n| (1..=MAX_WALK_DEPTH).contains(n)).map(Some).ok_or_else(
                    || {
                        filter::bad(
                            arg.value.pos,
                            format!("@recurse depth must be between 1 and {MAX_WALK_DEPTH}, not {i}"),
                        )
                    },
                )
            }
            _ => Err(filter::bad(arg.value.pos, "@recurse needs depth: an Int")),
        }
    }

    /// `shortestPath(from, to, via, maxDepth)`: `via` names edge fields of any type.
    pub(super) fn shortest_path(&self, args: &[(String, Spanned<Value>)]) -> Result<RootKind, QueryError> {
        let mut out = RootKind::ShortestPath { from: 0, to: 0, edges: Vec::new(), max_depth: MAX_WALK_DEPTH };
        let RootKind::ShortestPath { from, to, edges, max_depth } = &mut out else { return Ok(out) };
        for (name, v) in args {
            let uid = || {
                filter::parse_uid_value(&v.node).ok_or_else(|| {
                    filter::bad(v.pos, format!("{} is not a uid such as \"0x2a\"", v.node.describe()))
                })
            };
            match name.as_str() {
                "from" => *from = uid()?,
                "to" => *to = uid()?,
                "maxDepth" if v.node != Value::Null => {
                    let Value::Int(i) = &v.node else { continue };
                    *max_depth =
                        i.parse::<usize>().ok().filter(|d| *d <= MAX_WALK_DEPTH).ok_or_else(|| {
                            filter::bad(
                                v.pos,
                                format!("maxDepth must be between 0 and {MAX_WALK_DEPTH}, not {i}"),
                            )
                        })?;
                }
                "via" => {
                    let names: Vec<&Spanned<Value>> = v.items();
                    for n in names {
                        let Value::String(field) = &n.node else { continue };
                        let mut found = false;
                        for t in &self.schema.types {
                            if let Some(FieldKind::Edge { edges: stored, .. }) =
                                t.fields.iter().find(|f| f.name == *field).map(|f| &f.kind)
                            {
                                found = true;
                                edges.extend(stored.iter().map(|(_, e)| *e));
                            }
                        }
                        if !found {
                            return Err(filter::bad(
                                n.pos,
                                format!("via names {field}, which is no edge field"),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        edges.sort_unstable();
        edges.dedup();
        Ok(out)
    }
}

/// `depth` and `distinct` of `fAggregate`; `None` for a plain one-step count.
pub(super) fn walk_args(args: &[(String, Spanned<Value>)]) -> Result<Option<Walk>, QueryError> {
    let mut walk = Walk { depth: 1, distinct: false };
    for (name, v) in args {
        match (name.as_str(), &v.node) {
            ("depth", Value::Int(i)) => {
                walk.depth = i.parse::<usize>().ok().filter(|d| *d <= MAX_WALK_DEPTH).ok_or_else(|| {
                    filter::bad(v.pos, format!("depth must be between 0 and {MAX_WALK_DEPTH}, not {i}"))
                })?;
            }
            ("distinct", Value::Boolean(b)) => walk.distinct = *b,
            _ => {}
        }
    }
    Ok((walk != Walk { depth: 1, distinct: false }).then_some(walk))
}
