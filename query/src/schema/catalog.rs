//! Schema <-> engine catalog: the changes that turn the stored catalog into the one a new
//! schema needs (the engine's migration rules decide what needs `force`), and the binding of a
//! schema's fields to catalog ids.

use quiver_engine::{Catalog, CatalogChange, EdgeId};

use super::{FieldKind, Schema};
use crate::error::Error;

/// The catalog changes, in an order the engine accepts, that make `old` serve `new`: types
/// first, then fields (retyped, re-indexed, dropped, added), inverses, dropped types, and the
/// schema text last.
pub fn migration(old: &Catalog, new: &Schema) -> Result<Vec<CatalogChange>, Error> {
    let mut cat = old.clone();
    let mut out = Vec::new();
    let mut push = |cat: &mut Catalog, c: CatalogChange| -> Result<(), Error> {
        cat.apply(&c)?;
        out.push(c);
        Ok(())
    };
    let objects: Vec<_> = new.types.iter().filter(|t| !t.interface).collect();
    for t in &objects {
        if cat.type_id(&t.name).is_none() {
            push(&mut cat, CatalogChange::AddType { name: t.name.clone() })?;
        }
    }
    for t in &objects {
        let owner =
            cat.type_id(&t.name).ok_or_else(|| Error::Migration(format!("type {} vanished", t.name)))?;
        // What the catalog holds for this type that the schema no longer wants as it is.
        for (id, p) in cat.properties.clone().iter().enumerate() {
            if p.dropped || p.owner != owner {
                continue;
            }
            let wanted = t.fields.iter().find(|f| f.name == p.name).map(|f| &f.kind);
            match wanted {
                Some(FieldKind::Scalar { scalar, list, indexes, .. }) => {
                    if &p.ty != scalar || p.list != *list {
                        push(
                            &mut cat,
                            CatalogChange::RetypeProperty {
                                prop: id as u32,
                                ty: scalar.clone(),
                                list: *list,
                            },
                        )?;
                    }
                    if p.indexes != *indexes {
                        push(&mut cat, CatalogChange::SetIndexes { prop: id as u32, indexes: *indexes })?;
                    }
                }
                _ => push(&mut cat, CatalogChange::DropProperty { prop: id as u32 })?,
            }
        }
        for (id, e) in cat.edges.clone().iter().enumerate() {
            if e.dropped || e.source != owner {
                continue;
            }
            // Kept when some field is stored under this name, to the same target, list alike.
            let keep = t.fields.iter().any(|f| match &f.kind {
                FieldKind::Edge { list, .. } => {
                    e.list == *list
                        && new
                            .engine_edges(f)
                            .iter()
                            .any(|(name, target)| *name == e.name && cat.type_id(target) == Some(e.target))
                }
                _ => false,
            });
            if !keep {
                push(&mut cat, CatalogChange::DropEdge { edge: id as u32 })?;
            }
        }
    }
    for t in &objects {
        let owner =
            cat.type_id(&t.name).ok_or_else(|| Error::Migration(format!("type {} vanished", t.name)))?;
        for f in &t.fields {
            match &f.kind {
                FieldKind::Scalar { scalar, list, indexes, .. }
                    if cat.property_id(owner, &f.name).is_none() =>
                {
                    push(
                        &mut cat,
                        CatalogChange::AddProperty {
                            owner,
                            name: f.name.clone(),
                            ty: scalar.clone(),
                            list: *list,
                            indexes: *indexes,
                        },
                    )?;
                }
                FieldKind::Edge { list, .. } => {
                    for (name, target) in new.engine_edges(f) {
                        if cat.edge_id(owner, &name).is_some() {
                            continue;
                        }
                        let target = cat
                            .type_id(target)
                            .ok_or_else(|| Error::Migration(format!("type {target} vanished")))?;
                        push(&mut cat, CatalogChange::AddEdge { source: owner, name, target, list: *list })?;
                    }
                }
                _ => {}
            }
        }
    }
    // Inverses: pair what the schema pairs; refuse to silently unpair.
    let mut wanted: Vec<(EdgeId, EdgeId)> = Vec::new();
    for t in &objects {
        for f in &t.fields {
            let FieldKind::Edge { target, inverse: Some(inv), .. } = &f.kind else { continue };
            let a = edge_of(&cat, &t.name, &f.name)?;
            let b = edge_of(&cat, &new.types[*target].name, inv)?;
            if !wanted.contains(&(a, b)) && !wanted.contains(&(b, a)) {
                wanted.push((a, b));
            }
        }
    }
    for (id, e) in cat.edges.iter().enumerate() {
        let id = id as EdgeId;
        if let (false, Some(inv)) = (e.dropped, e.inverse)
            && !wanted.contains(&(id, inv))
            && !wanted.contains(&(inv, id))
        {
            return Err(Error::Migration(format!(
                "{} and {} are inverses; removing @hasInverse from a field that keeps its data is not supported (drop or rename the field)",
                cat.edge_name(id),
                cat.edge_name(inv)
            )));
        }
    }
    for (a, b) in wanted {
        if cat.edge(a)?.inverse != Some(b) {
            push(&mut cat, CatalogChange::SetInverse { a, b })?;
        }
    }
    // Types the schema no longer has: first every edge from or to them (they may point at each
    // other), then the types.
    let gone: Vec<u32> = cat
        .types
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.dropped && !objects.iter().any(|o| o.name == t.name))
        .map(|(id, _)| id as u32)
        .collect();
    for (id, e) in cat.edges.clone().iter().enumerate() {
        if !e.dropped && (gone.contains(&e.source) || gone.contains(&e.target)) {
            push(&mut cat, CatalogChange::DropEdge { edge: id as u32 })?;
        }
    }
    for ty in gone {
        push(&mut cat, CatalogChange::DropType { ty })?;
    }
    if cat.source != new.source {
        push(&mut cat, CatalogChange::SetSource { text: new.source.clone() })?;
    }
    Ok(out)
}

fn edge_of(cat: &Catalog, ty: &str, field: &str) -> Result<EdgeId, Error> {
    cat.type_id(ty)
        .and_then(|t| cat.edge_id(t, field))
        .ok_or_else(|| Error::Migration(format!("edge {ty}.{field} is missing from the catalog")))
}

/// Fills in the engine ids of every object type and field from `catalog`, which must serve the
/// schema (after [`migration`]'s changes).
pub fn bind(schema: &mut Schema, catalog: &Catalog) -> Result<(), Error> {
    for t in 0..schema.types.len() {
        if schema.types[t].interface {
            continue;
        }
        let name = schema.types[t].name.clone();
        let owner = catalog.type_id(&name).ok_or_else(|| {
            Error::Migration(format!("the catalog has no type {name}; set the schema again"))
        })?;
        schema.types[t].engine = Some(owner);
        let stored: Vec<Vec<(String, String)>> = schema.types[t]
            .fields
            .iter()
            .map(|f| schema.engine_edges(f).into_iter().map(|(n, t)| (n, t.to_string())).collect())
            .collect();
        for (f, stored_as) in schema.types[t].fields.iter_mut().zip(stored) {
            let missing = || {
                Error::Migration(format!("the catalog has no field {name}.{}; set the schema again", f.name))
            };
            match &mut f.kind {
                FieldKind::Id => {}
                FieldKind::Scalar { prop, .. } => {
                    *prop = Some(catalog.property_id(owner, &f.name).ok_or_else(missing)?)
                }
                FieldKind::Edge { edges, .. } => {
                    *edges = stored_as
                        .iter()
                        .map(|(edge_name, target)| {
                            let e = catalog.edge_id(owner, edge_name).ok_or_else(missing)?;
                            let t = catalog.type_id(target).ok_or_else(missing)?;
                            Ok((t, e))
                        })
                        .collect::<Result<_, Error>>()?
                }
            }
        }
    }
    schema.reindex();
    Ok(())
}
