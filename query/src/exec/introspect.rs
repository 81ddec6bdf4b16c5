//! Answers to `__schema` and `__type(name:)`, written from the generated API.

use crate::ast::TypeRef;
use crate::json::write_str;
use crate::plan::MetaSel;
use crate::schema::api::{Api, ApiField, ApiKind, ApiType, DirectiveDef, InputValue};

/// A type as introspection sees it: a named type, or a list or non-null wrapper.
#[derive(Clone, Copy)]
enum TypeView<'a> {
    Named(&'a ApiType),
    Wrapper(&'a TypeRef),
}

/// Writes `__schema` (when `type_name` is `None`) or `__type(name:)`.
pub(super) fn write(api: &Api, type_name: Option<&str>, sel: &MetaSel, out: &mut String) {
    match type_name {
        None => schema(api, sel, out),
        Some(name) => match api.get(name) {
            Some(t) => ty(api, TypeView::Named(t), sel, out),
            None => out.push_str("null"),
        },
    }
}

/// Writes an object: `field` writes the value of one field name, `false` when it knows none.
fn object(
    sel: &MetaSel,
    typename: &str,
    out: &mut String,
    mut field: impl FnMut(&str, bool, &MetaSel, &mut String),
) {
    out.push('{');
    for (i, (key, name, include, sub)) in sel.items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, key);
        out.push(':');
        if name == "__typename" {
            write_str(out, typename);
        } else {
            field(name, *include, sub, out);
        }
    }
    out.push('}');
}

fn opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.push_str("null"),
    }
}

fn list<T>(out: &mut String, items: impl IntoIterator<Item = T>, mut each: impl FnMut(T, &mut String)) {
    out.push('[');
    for (i, x) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(x, out);
    }
    out.push(']');
}

fn schema(api: &Api, sel: &MetaSel, out: &mut String) {
    object(sel, "__Schema", out, |name, _, sub, out| match name {
        "types" => list(out, &api.types, |t, out| ty(api, TypeView::Named(t), sub, out)),
        "queryType" => match api.get("Query") {
            Some(t) => ty(api, TypeView::Named(t), sub, out),
            None => out.push_str("null"),
        },
        "mutationType" => match api.get("Mutation") {
            Some(t) => ty(api, TypeView::Named(t), sub, out),
            None => out.push_str("null"),
        },
        "directives" => list(out, &api.directives, |d, out| directive(api, d, sub, out)),
        _ => out.push_str("null"),
    });
}

fn ty(api: &Api, t: TypeView<'_>, sel: &MetaSel, out: &mut String) {
    object(sel, "__Type", out, |name, include, sub, out| match (t, name) {
        (TypeView::Wrapper(r), "kind") => {
            out.push_str(if r.is_non_null() { "\"NON_NULL\"" } else { "\"LIST\"" })
        }
        (TypeView::Wrapper(r), "ofType") => {
            let inner = match r {
                TypeRef::NonNull(i) | TypeRef::List(i) => i,
                TypeRef::Named(_) => return out.push_str("null"),
            };
            ty(api, view(api, inner), sub, out)
        }
        (TypeView::Wrapper(_), _) => out.push_str("null"),
        (TypeView::Named(t), "kind") => out.push_str(match t.kind {
            ApiKind::Scalar => "\"SCALAR\"",
            ApiKind::Object { .. } => "\"OBJECT\"",
            ApiKind::Interface { .. } => "\"INTERFACE\"",
            ApiKind::Enum { .. } => "\"ENUM\"",
            ApiKind::InputObject { .. } => "\"INPUT_OBJECT\"",
        }),
        (TypeView::Named(t), "name") => write_str(out, &t.name),
        (TypeView::Named(t), "description") => opt_str(out, t.description.as_deref()),
        (TypeView::Named(t), "fields") => match &t.kind {
            ApiKind::Object { fields, .. } | ApiKind::Interface { fields, .. } => {
                list(out, fields.iter().filter(|f| include || f.deprecated.is_none()), |f, out| {
                    field(api, f, sub, out)
                })
            }
            _ => out.push_str("null"),
        },
        (TypeView::Named(t), "interfaces") => match &t.kind {
            ApiKind::Object { interfaces, .. } => named_list(api, interfaces, sub, out),
            ApiKind::Interface { .. } => out.push_str("[]"),
            _ => out.push_str("null"),
        },
        (TypeView::Named(t), "possibleTypes") => match &t.kind {
            ApiKind::Interface { possible, .. } => named_list(api, possible, sub, out),
            _ => out.push_str("null"),
        },
        (TypeView::Named(t), "enumValues") => match &t.kind {
            ApiKind::Enum { values } => {
                list(out, values.iter().filter(|v| include || v.2.is_none()), |(n, d, dep), out| {
                    object(sub, "__EnumValue", out, |name, _, _, out| match name {
                        "name" => write_str(out, n),
                        "description" => opt_str(out, d.as_deref()),
                        "isDeprecated" => out.push_str(if dep.is_some() { "true" } else { "false" }),
                        "deprecationReason" => opt_str(out, dep.as_deref()),
                        _ => out.push_str("null"),
                    })
                })
            }
            _ => out.push_str("null"),
        },
        (TypeView::Named(t), "inputFields") => match &t.kind {
            ApiKind::InputObject { fields } => list(out, fields, |f, out| input_value(api, f, sub, out)),
            _ => out.push_str("null"),
        },
        (TypeView::Named(_), _) => out.push_str("null"),
    });
}

fn view<'a>(api: &'a Api, r: &'a TypeRef) -> TypeView<'a> {
    match r {
        TypeRef::Named(n) => match api.get(n) {
            Some(t) => TypeView::Named(t),
            // Every name the API uses is one of its types; a wrapper view keeps this total.
            None => TypeView::Wrapper(r),
        },
        _ => TypeView::Wrapper(r),
    }
}

fn named_list(api: &Api, names: &[String], sel: &MetaSel, out: &mut String) {
    list(out, names.iter().filter_map(|n| api.get(n)), |t, out| ty(api, TypeView::Named(t), sel, out));
}

fn field(api: &Api, f: &ApiField, sel: &MetaSel, out: &mut String) {
    object(sel, "__Field", out, |name, _, sub, out| match name {
        "name" => write_str(out, &f.name),
        "description" => opt_str(out, f.description.as_deref()),
        "args" => list(out, &f.args, |a, out| input_value(api, a, sub, out)),
        "type" => ty(api, view(api, &f.ty), sub, out),
        "isDeprecated" => out.push_str(if f.deprecated.is_some() { "true" } else { "false" }),
        "deprecationReason" => opt_str(out, f.deprecated.as_deref()),
        _ => out.push_str("null"),
    });
}

fn input_value(api: &Api, v: &InputValue, sel: &MetaSel, out: &mut String) {
    object(sel, "__InputValue", out, |name, _, sub, out| match name {
        "name" => write_str(out, &v.name),
        "description" => opt_str(out, v.description.as_deref()),
        "type" => ty(api, view(api, &v.ty), sub, out),
        "defaultValue" => opt_str(out, v.default.as_ref().map(|d| d.to_graphql()).as_deref()),
        "isDeprecated" => out.push_str("false"),
        _ => out.push_str("null"),
    });
}

fn directive(api: &Api, d: &DirectiveDef, sel: &MetaSel, out: &mut String) {
    object(sel, "__Directive", out, |name, _, sub, out| match name {
        "name" => write_str(out, &d.name),
        "description" => opt_str(out, d.description.as_deref()),
        "isRepeatable" => out.push_str("false"),
        "locations" => list(out, &d.locations, |l, out| write_str(out, l.name())),
        "args" => list(out, &d.args, |a, out| input_value(api, a, sub, out)),
        _ => out.push_str("null"),
    });
}
