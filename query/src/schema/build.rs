//! SDL syntax tree -> checked [`Schema`]: names resolved, directives understood, interfaces
//! flattened into their implementers, indexes chosen.

use quiver_engine::{IndexSet, ScalarType};

use super::{EnumDef, FieldDef, FieldKind, Schema, TypeDef};
use crate::ast::{Directive, Pos, SchemaDocument, TypeDefinitionKind, TypeRef, Value};
use crate::error::Error;

/// Scalars every schema has.
pub(crate) const BUILTIN_SCALARS: &[&str] = &["ID", "String", "Int", "Float", "Boolean", "DateTime"];

fn err<T>(pos: Pos, message: impl Into<String>) -> Result<T, Error> {
    Err(Error::Schema { pos, message: message.into() })
}

pub(super) fn build(doc: &SchemaDocument, source: &str) -> Result<Schema, Error> {
    let mut schema = Schema { source: source.to_string(), ..Schema::default() };
    let mut seen: Vec<(&str, Pos)> = Vec::new();
    for def in &doc.definitions {
        let name = def.name.as_str();
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            return err(def.name.pos, format!("{name} is defined twice (first at {first})"));
        }
        if name.starts_with("__") {
            return err(def.name.pos, format!("{name}: names starting with __ are reserved"));
        }
        let builtin = BUILTIN_SCALARS.contains(&name);
        match &def.kind {
            TypeDefinitionKind::Scalar if name == "DateTime" => continue,
            TypeDefinitionKind::Scalar => {
                return err(
                    def.name.pos,
                    format!(
                        "custom scalar {name} is not supported: use ID, String, Int, Float, Boolean, DateTime or an enum"
                    ),
                );
            }
            _ if builtin => return err(def.name.pos, format!("{name} is a built-in scalar")),
            _ => {}
        }
        seen.push((name, def.name.pos));
        if let Some(d) = def.directives.first() {
            return err(d.pos, format!("directive @{} is not supported on a type", d.name.value));
        }
        match &def.kind {
            TypeDefinitionKind::Enum { values } => {
                let mut out = Vec::new();
                for v in values {
                    if out.iter().any(|(n, _, _)| n == &v.name.value) {
                        return err(v.name.pos, format!("{name}.{} is listed twice", v.name.value));
                    }
                    out.push((v.name.value.clone(), v.description.clone(), deprecation(&v.directives)?));
                }
                if out.is_empty() {
                    return err(def.name.pos, format!("enum {name} has no values"));
                }
                schema.enums.push(EnumDef {
                    name: name.to_string(),
                    description: def.description.clone(),
                    values: out,
                });
            }
            TypeDefinitionKind::Object { .. } | TypeDefinitionKind::Interface { .. } => {
                schema.types.push(TypeDef {
                    name: name.to_string(),
                    description: def.description.clone(),
                    interface: matches!(def.kind, TypeDefinitionKind::Interface { .. }),
                    implements: Vec::new(),
                    implementers: Vec::new(),
                    fields: Vec::new(),
                    engine: None,
                    id_field: None,
                    xid_fields: Vec::new(),
                    pos: def.pos,
                });
            }
            TypeDefinitionKind::Scalar => {}
        }
    }
    schema.reindex();

    // Fields, now that every name is known.
    let defs: Vec<_> = doc
        .definitions
        .iter()
        .filter_map(|d| match &d.kind {
            TypeDefinitionKind::Object { implements, fields }
            | TypeDefinitionKind::Interface { implements, fields } => Some((d, implements, fields)),
            _ => None,
        })
        .collect();
    for (i, (def, implements, fields)) in defs.iter().enumerate() {
        for iface in implements.iter() {
            match schema.type_index(iface.as_str()) {
                Some(t) if schema.types[t].interface => schema.types[i].implements.push(t),
                Some(_) => return err(iface.pos, format!("{} is not an interface", iface.value)),
                None => return err(iface.pos, format!("unknown interface {}", iface.value)),
            }
        }
        for f in fields.iter() {
            if schema.types[i].fields.iter().any(|g| g.name == f.name.value) {
                return err(f.name.pos, format!("{}.{} is declared twice", def.name.value, f.name.value));
            }
            let field = build_field(&schema, def.name.as_str(), f)?;
            schema.types[i].fields.push(field);
        }
    }
    flatten_interfaces(&mut schema)?;
    for t in 0..schema.types.len() {
        check_type(&mut schema, t)?;
    }
    check_inverses(&schema)?;
    schema.reindex();
    Ok(schema)
}

fn build_field(schema: &Schema, owner: &str, f: &crate::ast::FieldDefinition) -> Result<FieldDef, Error> {
    let name = f.name.as_str();
    if name.starts_with("__") {
        return err(f.name.pos, format!("{owner}.{name}: names starting with __ are reserved"));
    }
    let (list, inner) = match f.ty.nullable() {
        TypeRef::List(inner) => (true, inner.nullable()),
        t => (false, t),
    };
    if inner.is_list() {
        return err(f.pos, format!("{owner}.{name}: lists of lists are not supported"));
    }
    let base = f.ty.base();
    let mut search: Option<(Vec<String>, Pos)> = None;
    let mut xid = false;
    let mut inverse = None;
    let mut deprecated = None;
    for d in &f.directives {
        match d.name.as_str() {
            "id" => xid = true,
            "search" => search = Some((search_kinds(d)?, d.pos)),
            "hasInverse" => inverse = Some(directive_string(d, "field")?),
            "deprecated" => deprecated = deprecation(std::slice::from_ref(d))?,
            other => return err(d.pos, format!("{owner}.{name}: directive @{other} is not supported")),
        }
    }
    let scalar = match base {
        "ID" => None,
        "String" => Some(ScalarType::String),
        "Int" => Some(ScalarType::Int),
        "Float" => Some(ScalarType::Float),
        "Boolean" => Some(ScalarType::Boolean),
        "DateTime" => Some(ScalarType::DateTime),
        e if schema.enum_def(e).is_some() => Some(ScalarType::Enum(e.to_string())),
        t if schema.type_index(t).is_some() => None,
        other => return err(f.pos, format!("{owner}.{name}: unknown type {other}")),
    };
    let kind = if base == "ID" {
        if list {
            return err(f.pos, format!("{owner}.{name}: a list of IDs is not supported; use an edge"));
        }
        if xid || search.is_some() || inverse.is_some() {
            return err(f.pos, format!("{owner}.{name}: the ID field takes no @id, @search or @hasInverse"));
        }
        FieldKind::Id
    } else if let Some(scalar) = scalar {
        if let Some(inv) = &inverse {
            return err(f.pos, format!("{owner}.{name}: @hasInverse(field: {inv}) needs an edge field"));
        }
        let mut indexes = match &search {
            Some((kinds, pos)) => indexes_for(&scalar, kinds, *pos, owner, name)?,
            None => IndexSet::NONE,
        };
        match scalar {
            ScalarType::Int | ScalarType::Float | ScalarType::DateTime => indexes = indexes | IndexSet::RANGE,
            ScalarType::Boolean => indexes = indexes | IndexSet::HASH,
            _ => {}
        }
        if xid {
            if list || !matches!(scalar, ScalarType::String | ScalarType::Int) {
                return err(f.pos, format!("{owner}.{name}: @id needs a String or Int field"));
            }
            indexes = indexes | IndexSet::UNIQUE;
        }
        FieldKind::Scalar { scalar, list, indexes, xid, prop: None }
    } else {
        if xid || search.is_some() {
            return err(f.pos, format!("{owner}.{name}: @id and @search apply to scalar fields"));
        }
        let target = schema.type_index(base).unwrap_or(usize::MAX);
        FieldKind::Edge { target, list, inverse, edges: Vec::new() }
    };
    Ok(FieldDef {
        name: name.to_string(),
        description: f.description.clone(),
        ty: f.ty.clone(),
        kind,
        deprecated,
        pos: f.pos,
    })
}

/// The index kinds of `@search(by: [...])`; `@search` alone means the type's default.
fn search_kinds(d: &Directive) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for a in &d.arguments {
        if a.name.as_str() != "by" {
            return err(a.name.pos, format!("@search takes `by`, not `{}`", a.name.value));
        }
        let items = a.value.items();
        for v in items {
            match &v.node {
                Value::Enum(k) | Value::String(k) => out.push(k.clone()),
                _ => return err(v.pos, "@search(by:) lists index names such as hash, exact, term"),
            }
        }
    }
    Ok(out)
}

fn indexes_for(
    scalar: &ScalarType,
    kinds: &[String],
    pos: Pos,
    owner: &str,
    name: &str,
) -> Result<IndexSet, Error> {
    let mut set = IndexSet::NONE;
    let text = matches!(scalar, ScalarType::String);
    let enumish = matches!(scalar, ScalarType::Enum(_));
    if kinds.is_empty() {
        return Ok(match scalar {
            ScalarType::String => IndexSet::TERM,
            ScalarType::Enum(_) => IndexSet::HASH,
            _ => IndexSet::NONE,
        });
    }
    for k in kinds {
        let add = match (k.as_str(), scalar) {
            ("hash", _) if text || enumish => IndexSet::HASH,
            ("exact", _) if text || enumish => IndexSet::EXACT,
            ("term", _) if text => IndexSet::TERM,
            ("fulltext", _) if text => IndexSet::FULLTEXT,
            ("trigram" | "regexp", _) if text || enumish => IndexSet::TRIGRAM,
            ("int", ScalarType::Int) | ("float", ScalarType::Float) | ("bool", ScalarType::Boolean) => {
                IndexSet::NONE
            }
            ("year" | "month" | "day" | "hour", ScalarType::DateTime) => IndexSet::NONE,
            _ => {
                return err(
                    pos,
                    format!("{owner}.{name}: @search(by: [{k}]) does not apply to a {scalar} field"),
                );
            }
        };
        set = set | add;
    }
    Ok(set)
}

fn directive_string(d: &Directive, arg: &str) -> Result<String, Error> {
    match d.arguments.iter().find(|a| a.name.as_str() == arg).map(|a| &a.value.node) {
        Some(Value::String(s) | Value::Enum(s)) => Ok(s.clone()),
        _ => err(d.pos, format!("@{} needs `{arg}:` naming a field", d.name.value)),
    }
}

fn deprecation(directives: &[Directive]) -> Result<Option<String>, Error> {
    let Some(d) = directives.iter().find(|d| d.name.as_str() == "deprecated") else { return Ok(None) };
    Ok(Some(match d.arguments.iter().find(|a| a.name.as_str() == "reason").map(|a| &a.value.node) {
        Some(Value::String(s)) => s.clone(),
        _ => "No longer supported".to_string(),
    }))
}

/// Copies each interface's fields into its implementers (Dgraph's rule: an implementer need not
/// restate them; if it does, the types must agree) and records who implements what.
fn flatten_interfaces(schema: &mut Schema) -> Result<(), Error> {
    for t in 0..schema.types.len() {
        let mut all = Vec::new();
        let mut stack = schema.types[t].implements.clone();
        while let Some(i) = stack.pop() {
            if i == t {
                return err(schema.types[t].pos, format!("{} implements itself", schema.types[t].name));
            }
            if !all.contains(&i) {
                all.push(i);
                stack.extend(schema.types[i].implements.iter().copied());
            }
        }
        let mut inherited: Vec<FieldDef> = Vec::new();
        for &i in &all {
            for f in &schema.types[i].fields {
                if let Some(mine) = schema.types[t].fields.iter().find(|g| g.name == f.name) {
                    if mine.ty != f.ty {
                        return err(
                            mine.pos,
                            format!(
                                "{}.{} is {} but interface {} declares it {}",
                                schema.types[t].name, f.name, mine.ty, schema.types[i].name, f.ty
                            ),
                        );
                    }
                } else if !inherited.iter().any(|g| g.name == f.name) {
                    inherited.push(f.clone());
                }
            }
        }
        let own = std::mem::take(&mut schema.types[t].fields);
        inherited.extend(own);
        schema.types[t].fields = inherited;
        schema.types[t].implements = all;
    }
    for t in 0..schema.types.len() {
        schema.types[t].implementers = if schema.types[t].interface {
            (0..schema.types.len())
                .filter(|&o| !schema.types[o].interface && schema.types[o].implements.contains(&t))
                .collect()
        } else {
            vec![t]
        };
    }
    Ok(())
}

fn check_type(schema: &mut Schema, t: usize) -> Result<(), Error> {
    let ty = &schema.types[t];
    if ty.fields.is_empty() {
        return err(ty.pos, format!("{} has no fields", ty.name));
    }
    let ids: Vec<usize> =
        ty.fields.iter().enumerate().filter(|(_, f)| f.kind == FieldKind::Id).map(|(i, _)| i).collect();
    if ids.len() > 1 {
        return err(ty.fields[ids[1]].pos, format!("{} has more than one ID field", ty.name));
    }
    for f in &ty.fields {
        if let FieldKind::Edge { target, inverse: Some(_), .. } = &f.kind
            && schema.types[*target].interface
        {
            return err(
                f.pos,
                format!("{}.{}: @hasInverse is not supported on an edge to an interface", ty.name, f.name),
            );
        }
    }
    let xids = ty
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.kind, FieldKind::Scalar { xid: true, .. }))
        .map(|(i, _)| i)
        .collect();
    let ty = &mut schema.types[t];
    ty.id_field = ids.first().copied();
    ty.xid_fields = xids;
    Ok(())
}

/// `@hasInverse(field: f)` must name an edge on the target type that points back.
fn check_inverses(schema: &Schema) -> Result<(), Error> {
    for ty in &schema.types {
        for f in &ty.fields {
            let FieldKind::Edge { target, inverse: Some(inv), .. } = &f.kind else { continue };
            let back = schema.types[*target].fields.iter().find(|g| &g.name == inv);
            let Some(back) = back else {
                return err(
                    f.pos,
                    format!(
                        "{}.{}: @hasInverse names {}.{inv}, which does not exist",
                        ty.name, f.name, schema.types[*target].name
                    ),
                );
            };
            let FieldKind::Edge { target: back_target, inverse: back_inv, .. } = &back.kind else {
                return err(
                    f.pos,
                    format!(
                        "{}.{}: @hasInverse names {}.{inv}, which is not an edge",
                        ty.name, f.name, schema.types[*target].name
                    ),
                );
            };
            if schema.types[*back_target].name != ty.name {
                return err(
                    f.pos,
                    format!(
                        "{}.{}: {}.{inv} does not point back to {}",
                        ty.name, f.name, schema.types[*target].name, ty.name
                    ),
                );
            }
            if back_inv.as_ref().is_some_and(|b| b != &f.name) {
                return err(
                    f.pos,
                    format!(
                        "{}.{}: {}.{inv} names a different inverse",
                        ty.name, f.name, schema.types[*target].name
                    ),
                );
            }
        }
    }
    Ok(())
}
