//! The mutation half of the generated API (Dgraph's names): `addT(input: [AddTInput!]!,
//! upsert: Boolean): AddTPayload`, `updateT(input: UpdateTInput!): UpdateTPayload`,
//! `deleteT(filter: TFilter!): DeleteTPayload`, with `AddTInput`, `TRef`, `TPatch`,
//! `UpdateTInput` and the payload types. Only object types are added, updated and deleted.

use super::api::{Api, ApiField, ApiKind, ApiType, FieldRole, InputValue, input, named};
use super::{FieldKind, Schema};
use crate::ast::{Pos, TypeRef};
use crate::error::Error;

/// Lower camel case: `SiteData` -> `siteData`.
pub fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// `[X]`, `X!`... with the named type at the bottom replaced by `with`.
fn rename(t: &TypeRef, with: &str) -> TypeRef {
    match t {
        TypeRef::Named(_) => named(with),
        TypeRef::List(i) => rename(i, with).list(),
        TypeRef::NonNull(i) => rename(i, with).non_null(),
    }
}

/// The input type an edge to `target` takes: `TRef` for an object type; for an interface,
/// `IRef`, which can only name an existing node.
fn ref_name(schema: &Schema, target: usize) -> String {
    format!("{}Ref", schema.types[target].name)
}

fn field(name: &str, ty: TypeRef, args: Vec<InputValue>, role: FieldRole) -> ApiField {
    ApiField { name: name.into(), description: None, args, ty, deprecated: None, role }
}

/// Adds the mutation inputs, payloads and the `Mutation` type.
pub(super) fn add(api: &mut Api, schema: &Schema) -> Result<(), Error> {
    let mut mutation = Vec::new();
    for (ti, t) in schema.types.iter().enumerate() {
        let n = &t.name;
        if t.interface {
            // A reference to an existing node of any implementer.
            api.add_type(
                ApiType {
                    name: ref_name(schema, ti),
                    description: None,
                    kind: ApiKind::InputObject { fields: vec![input("id", named("ID").non_null())] },
                },
                t.pos,
            )?;
            continue;
        }
        let (mut add, mut reference, mut patch) = (Vec::new(), Vec::new(), Vec::new());
        for f in &t.fields {
            match &f.kind {
                FieldKind::Id => reference.push(input(&f.name, named("ID"))),
                FieldKind::Scalar { .. } => {
                    add.push(input(&f.name, f.ty.clone()));
                    reference.push(input(&f.name, f.ty.nullable().clone()));
                    patch.push(input(&f.name, f.ty.nullable().clone()));
                }
                FieldKind::Edge { target, .. } => {
                    let r = ref_name(schema, *target);
                    add.push(input(&f.name, rename(&f.ty, &r)));
                    reference.push(input(&f.name, rename(f.ty.nullable(), &r)));
                    patch.push(input(&f.name, rename(f.ty.nullable(), &r)));
                }
            }
        }
        let object = |name: String, fields: Vec<InputValue>| ApiType {
            name,
            description: None,
            kind: ApiKind::InputObject { fields },
        };
        api.add_type(object(format!("Add{n}Input"), add), t.pos)?;
        api.add_type(object(format!("{n}Ref"), reference), t.pos)?;
        api.add_type(object(format!("{n}Patch"), patch), t.pos)?;
        api.add_type(
            object(
                format!("Update{n}Input"),
                vec![
                    input("filter", named(&format!("{n}Filter")).non_null()),
                    input("set", named(&format!("{n}Patch"))),
                    input("remove", named(&format!("{n}Patch"))),
                ],
            ),
            t.pos,
        )?;
        let nodes =
            field(&lower_camel(n), named(n).list(), api.list_args(schema, ti), FieldRole::PayloadNodes(ti));
        let num = field("numUids", named("Int"), Vec::new(), FieldRole::NumUids);
        let msg = field("msg", named("String"), Vec::new(), FieldRole::Msg);
        for (payload, fields) in [
            (format!("Add{n}Payload"), vec![nodes.clone(), num.clone()]),
            (format!("Update{n}Payload"), vec![nodes.clone(), num.clone()]),
            (format!("Delete{n}Payload"), vec![nodes, msg, num]),
        ] {
            api.add_type(
                ApiType {
                    name: payload,
                    description: None,
                    kind: ApiKind::Object { fields, interfaces: Vec::new() },
                },
                t.pos,
            )?;
        }
        mutation.push(field(
            &format!("add{n}"),
            named(&format!("Add{n}Payload")),
            vec![
                input("input", named(&format!("Add{n}Input")).non_null().list().non_null()),
                input("upsert", named("Boolean")),
            ],
            FieldRole::Add(ti),
        ));
        mutation.push(field(
            &format!("update{n}"),
            named(&format!("Update{n}Payload")),
            vec![input("input", named(&format!("Update{n}Input")).non_null())],
            FieldRole::Update(ti),
        ));
        mutation.push(field(
            &format!("delete{n}"),
            named(&format!("Delete{n}Payload")),
            vec![input("filter", named(&format!("{n}Filter")).non_null())],
            FieldRole::Delete(ti),
        ));
    }
    if !mutation.is_empty() {
        api.add_type(
            ApiType {
                name: "Mutation".into(),
                description: None,
                kind: ApiKind::Object { fields: mutation, interfaces: Vec::new() },
            },
            Pos::default(),
        )?;
    }
    Ok(())
}
