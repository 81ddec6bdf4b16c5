//! Planning: a validated operation, its variables and the schema -> a tree of what to fetch.
//! Named passes, in order: variable coercion ([`vars`]), field collection (fragments inlined,
//! `@skip`/`@include` applied, same-keyed fields merged), argument compilation (filters and
//! orders bound to engine ids, [`filter`]), and `@cascade` propagation. Nothing executes from
//! the raw syntax tree.

mod extensions;
pub mod filter;
pub mod mutation;
mod tree;
pub mod vars;

use quiver_engine::{ScalarType, TypeId};

use crate::ast::{Document, Field, Operation, Selection, SelectionSet, Spanned, Value};
use crate::error::QueryError;
use crate::schema::api::{Api, FieldRole};
use crate::schema::{FieldKind, Schema};
pub use filter::{Filter, OrderKey, PropBinding, parse_uid};
pub use vars::Variables;

pub use tree::*;

/// Plans `op` of `doc` (already validated) with coerced `vars`.
pub fn plan(
    schema: &Schema,
    api: &Api,
    doc: &Document,
    op: &Operation,
    vars: &Variables,
) -> Result<Plan, QueryError> {
    let p = Planner { schema, api, doc, vars };
    let mut roots = Vec::new();
    for (key, fields, _) in p.collect(&op.selection_set, "Query")? {
        let f = fields[0];
        if f.name.value == "__typename" {
            roots.push(RootField { key, kind: RootKind::Typename("Query".into()), pos: f.pos });
            continue;
        }
        let def = api
            .field("Query", &f.name.value)
            .ok_or_else(|| QueryError::new(format!("unknown field {}", f.name.value)))?;
        let args = p.args(f);
        let kind = match def.role {
            FieldRole::Get(ty) => {
                let mut uid = None;
                let mut xids = Vec::new();
                for (name, v) in &args {
                    if v.node == Value::Null {
                        continue;
                    }
                    let t = &schema.types[ty];
                    if t.id_field.is_some_and(|i| t.fields[i].name == *name) {
                        uid = Some(filter::parse_uid_value(&v.node).ok_or_else(|| {
                            filter::bad(v.pos, format!("{} is not a uid such as \"0x2a\"", v.node.describe()))
                        })?);
                    } else {
                        let (props, info) = filter::bind_prop(schema, ty, name);
                        let (scalar, _) =
                            info.ok_or_else(|| filter::bad(v.pos, format!("{name} is not a key")))?;
                        xids.push((props, filter::engine_value(&scalar, v)?));
                    }
                }
                if uid.is_none() && xids.is_empty() {
                    return Err(
                        QueryError::new(format!("{} needs one of its key arguments", f.name.value)).at(f.pos)
                    );
                }
                RootKind::Get { ty, uid, xids, sel: p.node_sel(ty, &fields, false)? }
            }
            FieldRole::Query(ty) => {
                RootKind::List { ty, args: p.list_args(ty, &args)?, sel: p.node_sel(ty, &fields, false)? }
            }
            FieldRole::Aggregate(ty) => {
                RootKind::Aggregate { ty, filter: p.filter_arg(ty, &args)?, sel: p.agg_sel(ty, &fields)? }
            }
            FieldRole::ShortestPath => p.shortest_path(&args)?,
            FieldRole::Meta => {
                let type_name = args.iter().find(|(n, _)| n == "name").and_then(|(_, v)| match &v.node {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                });
                let of = if f.name.value == "__type" { "__Type" } else { "__Schema" };
                RootKind::Introspect { type_name, sel: p.meta_sel(of, &fields)? }
            }
            _ => return Err(QueryError::new(format!("{} cannot be queried here", f.name.value)).at(f.pos)),
        };
        roots.push(RootField { key, kind, pos: f.pos });
    }
    Ok(Plan { roots })
}

struct Planner<'a> {
    schema: &'a Schema,
    api: &'a Api,
    doc: &'a Document,
    vars: &'a Variables,
}

/// Fields by response key: the fields, and the concrete types they are restricted to by type
/// conditions (`None`: every type of the selection).
type Collected<'d> = Vec<(String, Vec<&'d Field>, Option<Vec<String>>)>;

impl<'a> Planner<'a> {
    /// CollectFields: fragments inlined where their type applies, `@skip`/`@include` applied,
    /// fields grouped by response key in first-appearance order.
    fn collect(&self, set: &'a SelectionSet, ty: &str) -> Result<Collected<'a>, QueryError> {
        let mut out: Collected<'a> = Vec::new();
        self.collect_into(set, ty, None, &mut out, &mut Vec::new())?;
        Ok(out)
    }

    fn collect_into(
        &self,
        set: &'a SelectionSet,
        ty: &str,
        restrict: Option<&Vec<String>>,
        out: &mut Collected<'a>,
        visited: &mut Vec<&'a str>,
    ) -> Result<(), QueryError> {
        for s in &set.items {
            match s {
                Selection::Field(f) => {
                    if !self.included(&f.directives) {
                        continue;
                    }
                    let key = f.response_key();
                    match out.iter_mut().find(|(k, _, _)| k == key) {
                        Some((_, fs, r)) => {
                            fs.push(f);
                            *r = union(r.take(), restrict);
                        }
                        None => out.push((key.to_string(), vec![f], restrict.cloned())),
                    }
                }
                Selection::InlineFragment(i) => {
                    if !self.included(&i.directives) {
                        continue;
                    }
                    match &i.type_condition {
                        None => self.collect_into(&i.selection_set, ty, restrict, out, visited)?,
                        Some(c) if self.applies(ty, &c.value) => {
                            let narrowed = self.narrow(ty, restrict, &c.value);
                            self.collect_into(&i.selection_set, ty, narrowed.as_ref(), out, visited)?;
                        }
                        Some(_) => {}
                    }
                }
                Selection::FragmentSpread(sp) => {
                    if !self.included(&sp.directives) || visited.contains(&sp.name.value.as_str()) {
                        continue;
                    }
                    let Some(frag) = self.doc.fragments.iter().find(|f| f.name.value == sp.name.value) else {
                        return Err(
                            QueryError::new(format!("Unknown fragment \"{}\".", sp.name.value)).at(sp.pos)
                        );
                    };
                    if self.applies(ty, &frag.type_condition.value) {
                        visited.push(&sp.name.value);
                        let narrowed = self.narrow(ty, restrict, &frag.type_condition.value);
                        self.collect_into(&frag.selection_set, ty, narrowed.as_ref(), out, visited)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The concrete types fields under a type condition `cond` apply to, within `ty` and the
    /// restriction already in force; `None` when that is every type of `ty`.
    fn narrow(&self, ty: &str, restrict: Option<&Vec<String>>, cond: &str) -> Option<Vec<String>> {
        let all = self.api.possible_types(ty);
        let cond_types = self.api.possible_types(cond);
        let current = restrict.cloned().unwrap_or_else(|| all.clone());
        let narrowed: Vec<String> = current.into_iter().filter(|t| cond_types.contains(t)).collect();
        if narrowed.len() == all.len() { None } else { Some(narrowed) }
    }

    /// Whether a fragment on `cond` applies to values of `ty`: any concrete type in common.
    fn applies(&self, ty: &str, cond: &str) -> bool {
        let a = self.api.possible_types(ty);
        self.api.possible_types(cond).iter().any(|t| a.contains(t))
    }

    fn included(&self, dirs: &[crate::ast::Directive]) -> bool {
        for d in dirs {
            let cond = d
                .arguments
                .iter()
                .find(|a| a.name.value == "if")
                .map(|a| vars::substitute(&a.value.node, self.vars));
            match (d.name.value.as_str(), cond) {
                ("skip", Some(Value::Boolean(true))) | ("include", Some(Value::Boolean(false))) => {
                    return false;
                }
                _ => {}
            }
        }
        true
    }

    /// A field's arguments with variables substituted.
    fn args(&self, f: &Field) -> Vec<(String, Spanned<Value>)> {
        f.arguments
            .iter()
            .map(|a| {
                (
                    a.name.value.clone(),
                    Spanned { node: vars::substitute(&a.value.node, self.vars), pos: a.value.pos },
                )
            })
            .collect()
    }

    fn filter_arg(&self, ty: usize, args: &[(String, Spanned<Value>)]) -> Result<Option<Filter>, QueryError> {
        match args.iter().find(|(n, _)| n == "filter") {
            Some((_, v)) => filter::compile_filter(self.schema, ty, v),
            None => Ok(None),
        }
    }

    fn list_args(&self, ty: usize, args: &[(String, Spanned<Value>)]) -> Result<ListArgs, QueryError> {
        let mut out = ListArgs { filter: self.filter_arg(ty, args)?, ..ListArgs::default() };
        for (name, v) in args {
            let count = || -> Result<usize, QueryError> {
                match &v.node {
                    Value::Int(i) => i
                        .parse::<usize>()
                        .map_err(|_| filter::bad(v.pos, format!("{name} must be 0 or more, not {i}"))),
                    _ => Err(filter::bad(v.pos, format!("{name} must be an Int"))),
                }
            };
            match name.as_str() {
                "order" => out.order = filter::compile_order(self.schema, ty, v)?,
                "first" if v.node != Value::Null => out.first = Some(count()?),
                "offset" if v.node != Value::Null => out.offset = count()?,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The selection of nodes of user type `ty` from every field sharing one response key.
    fn node_sel(
        &self,
        ty: usize,
        fields: &[&'a Field],
        inherited_cascade: bool,
    ) -> Result<NodeSel, QueryError> {
        let ty_name = self.schema.types[ty].name.clone();
        let cascade_dir = fields.iter().flat_map(|f| f.directives.iter()).find(|d| d.name.value == "cascade");
        let cascade_all = inherited_cascade || cascade_dir.is_some_and(|d| d.arguments.is_empty());
        let mut merged: Collected<'a> = Vec::new();
        for f in fields {
            for (key, fs, restrict) in self.collect(&f.selection_set, &ty_name)? {
                match merged.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, all, r)) => {
                        all.extend(fs);
                        *r = union(r.take(), restrict.as_ref());
                    }
                    None => merged.push((key, fs, restrict)),
                }
            }
        }
        let mut items = Vec::new();
        for (key, fs, restrict) in merged {
            items.push(self.item(ty, &ty_name, key, &fs, restrict, cascade_all)?);
        }
        let cascade = if cascade_all {
            Some(
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| !matches!(i.kind, ItemKind::Typename | ItemKind::EdgeAggregate { .. }))
                    .map(|(n, _)| n)
                    .collect(),
            )
        } else if let Some(d) = cascade_dir {
            let mut wanted = Vec::new();
            for a in &d.arguments {
                let v = vars::substitute(&a.value.node, self.vars);
                let names: Vec<Value> = match v {
                    Value::List(items) => items.into_iter().map(|s| s.node).collect(),
                    other => vec![other],
                };
                for n in names {
                    let Value::String(n) = n else { continue };
                    let idx = items.iter().position(|i| i.key == n);
                    match idx {
                        Some(i) => wanted.push(i),
                        None if self.schema.field(ty, &n).is_some() => {
                            return Err(filter::bad(
                                a.value.pos,
                                format!("@cascade(fields:) names {n}, which is not selected"),
                            ));
                        }
                        None => {
                            return Err(filter::bad(
                                a.value.pos,
                                format!("@cascade(fields:) names {n}, which is not a field of {ty_name}"),
                            ));
                        }
                    }
                }
            }
            Some(wanted)
        } else {
            None
        };
        Ok(NodeSel { ty, items, cascade })
    }

    fn item(
        &self,
        ty: usize,
        ty_name: &str,
        key: String,
        fs: &[&'a Field],
        restrict: Option<Vec<String>>,
        cascade: bool,
    ) -> Result<Item, QueryError> {
        let f = fs[0];
        let name = f.name.value.as_str();
        let only: Option<Vec<TypeId>> = restrict.as_ref().map(|r| {
            r.iter()
                .filter_map(|t| self.schema.type_index(t).and_then(|i| self.schema.types[i].engine))
                .collect()
        });
        if name == "__typename" {
            return Ok(Item { key, only, kind: ItemKind::Typename });
        }
        // A field selected under a type condition may exist only on the narrower types.
        let def = self
            .api
            .field(ty_name, name)
            .or_else(|| restrict.iter().flatten().find_map(|t| self.api.field(t, name)))
            .ok_or_else(|| QueryError::new(format!("unknown field {name}")).at(f.pos))?;
        let (role, field_name) = match def.role {
            FieldRole::Node { field, ty: owner } => {
                (false, self.schema.types[owner].fields[field].name.clone())
            }
            FieldRole::EdgeAggregate { field, ty: owner } => {
                (true, self.schema.types[owner].fields[field].name.clone())
            }
            _ => return Err(QueryError::new(format!("{name} cannot be selected here")).at(f.pos)),
        };
        let mut edges = Vec::new();
        let mut target_ty = None;
        let mut list = false;
        let mut scalar_info = None;
        let mut props = Vec::new();
        let mut is_id = false;
        for &c in self.schema.concrete(ty) {
            let (Some(engine), Some((_, fd))) =
                (self.schema.types[c].engine, self.schema.field(c, &field_name))
            else {
                continue;
            };
            if only.as_ref().is_some_and(|o| !o.contains(&engine)) {
                continue;
            }
            match &fd.kind {
                FieldKind::Id => is_id = true,
                FieldKind::Scalar { prop: Some(p), scalar, list: l, .. } => {
                    props.push((engine, *p));
                    scalar_info = Some(scalar.clone());
                    list = *l;
                }
                FieldKind::Edge { edges: stored, target, list: l, .. } => {
                    edges.extend(stored.iter().map(|(_, e)| (engine, *e)));
                    target_ty = Some(*target);
                    list = *l;
                }
                _ => {}
            }
        }
        // A user type with no implementers binds nothing; its edges still need a target.
        if target_ty.is_none()
            && let Some((_, fd)) = self.schema.field(ty, &field_name)
            && let FieldKind::Edge { target, list: l, .. } = fd.kind
        {
            target_ty = Some(target);
            list = l;
        }
        let args = self.args(f);
        let kind = if is_id {
            ItemKind::Uid
        } else if role {
            let target =
                target_ty.ok_or_else(|| QueryError::new(format!("{name} is not an edge")).at(f.pos))?;
            ItemKind::EdgeAggregate {
                edges,
                filter: self.filter_arg(target, &args)?,
                sel: self.agg_sel(target, fs)?,
                walk: extensions::walk_args(&args)?,
            }
        } else if let Some(target) = target_ty {
            let args = self.list_args(target, &args)?;
            let mut sel = self.node_sel(target, fs, cascade)?;
            let recurse = self.recurse_depth(fs)?;
            if let Some(levels) = recurse {
                if target != ty {
                    return Err(filter::bad(
                        f.pos,
                        format!("@recurse needs an edge to the same type; {name} leads elsewhere"),
                    ));
                }
                if sel.items.iter().any(|i| i.key == key) {
                    return Err(filter::bad(
                        f.pos,
                        format!("@recurse repeats {key} by itself; do not select it inside"),
                    ));
                }
                // Unrolled: the field again inside its own selection, `levels` deep in all.
                let base = sel.clone();
                for _ in 1..levels {
                    let mut outer = base.clone();
                    outer.items.push(Item {
                        key: key.clone(),
                        only: None,
                        kind: ItemKind::Edge {
                            edges: edges.clone(),
                            list,
                            args: args.clone(),
                            sel,
                            acyclic: true,
                        },
                    });
                    sel = outer;
                }
            }
            ItemKind::Edge { edges, list, args, sel, acyclic: recurse.is_some() }
        } else {
            let scalar = scalar_info.unwrap_or(ScalarType::String);
            ItemKind::Scalar { props, scalar, list }
        };
        Ok(Item { key, only, kind })
    }

    fn agg_sel(&self, ty: usize, fields: &[&'a Field]) -> Result<AggSel, QueryError> {
        let result_name = format!("{}AggregateResult", self.schema.types[ty].name);
        let mut items = Vec::new();
        for f in fields {
            for (key, fs, _) in self.collect(&f.selection_set, &result_name)? {
                if items.iter().any(|(k, _)| *k == key) {
                    continue;
                }
                let name = fs[0].name.value.as_str();
                let item = if name == "__typename" {
                    AggItem::Typename(result_name.clone())
                } else {
                    match self.api.field(&result_name, name).map(|d| &d.role) {
                        Some(FieldRole::Count) => AggItem::Count,
                        Some(FieldRole::Reduce { ty: owner, field, op }) => {
                            let fname = &self.schema.types[*owner].fields[*field].name;
                            let (props, info) = filter::bind_prop(self.schema, ty, fname);
                            AggItem::Reduce {
                                props,
                                op: *op,
                                scalar: info.map(|i| i.0).unwrap_or(ScalarType::Float),
                            }
                        }
                        _ => return Err(QueryError::new(format!("unknown aggregate {name}")).at(fs[0].pos)),
                    }
                };
                items.push((key, item));
            }
        }
        Ok(AggSel { items })
    }
}

/// The union of two type restrictions (`None` is every type).
fn union(a: Option<Vec<String>>, b: Option<&Vec<String>>) -> Option<Vec<String>> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            for t in b {
                if !a.contains(t) {
                    a.push(t.clone());
                }
            }
            Some(a)
        }
        _ => None,
    }
}
