//! Values of Correct Type, Input Object Field Names/Uniqueness/Required Fields (spec 5.6), and
//! the record of variable usages that 5.8 checks.

use super::{Usage, Validator};
use crate::ast::{Pos, Spanned, TypeRef, Value};
use crate::schema::api::ApiKind;

impl Validator<'_> {
    /// Checks a literal against the type of the place it is written; records variable usages.
    /// `has_default` says whether the place has a default value (for 5.8.5).
    pub(super) fn check_value(&mut self, v: &Spanned<Value>, ty: &TypeRef, has_default: bool) {
        if let Value::Variable(name) = &v.node {
            self.usages.push(Usage { name: name.clone(), ty: ty.clone(), pos: v.pos, has_default });
            return;
        }
        if let Some(message) = self.value_error(v, ty) {
            self.error(message, &[v.pos]);
        }
    }

    fn value_error(&mut self, v: &Spanned<Value>, ty: &TypeRef) -> Option<String> {
        match (&v.node, ty) {
            (Value::Variable(name), _) => {
                self.usages.push(Usage {
                    name: name.clone(),
                    ty: ty.clone(),
                    pos: v.pos,
                    has_default: false,
                });
                None
            }
            (Value::Null, TypeRef::NonNull(_)) => {
                Some(format!("Expected value of type \"{ty}\", found null."))
            }
            (_, TypeRef::NonNull(inner)) => self.value_error(v, inner),
            (Value::Null, _) => None,
            (Value::List(items), TypeRef::List(inner)) => {
                for item in items {
                    if let Some(m) = self.value_error(item, inner) {
                        self.error(m, &[item.pos]);
                    }
                }
                None
            }
            (_, TypeRef::List(inner)) => self.value_error(v, inner),
            (_, TypeRef::Named(name)) => self.named_value_error(v, name),
        }
    }

    fn named_value_error(&mut self, v: &Spanned<Value>, name: &str) -> Option<String> {
        let api = self.api;
        let Some(t) = api.get(name) else { return Some(format!("Unknown type \"{name}\".")) };
        let found = v.node.describe();
        match (&t.kind, &v.node) {
            (ApiKind::Scalar, _) => scalar_error(name, &v.node),
            (ApiKind::Enum { values }, Value::Enum(e)) => (!values.iter().any(|(n, _, _)| n == e))
                .then(|| format!("Value \"{e}\" does not exist in \"{name}\" enum.")),
            (ApiKind::Enum { .. }, _) => {
                Some(format!("Enum \"{name}\" cannot represent non-enum value: {found}."))
            }
            (ApiKind::InputObject { fields }, Value::Object(given)) => {
                let fields = fields.clone();
                for (i, (fname, fv)) in given.iter().enumerate() {
                    if given[..i].iter().any(|(n, _)| n.value == fname.value) {
                        self.error(
                            format!("There can be only one input field named \"{}\".", fname.value),
                            &[fname.pos],
                        );
                    }
                    match fields.iter().find(|f| f.name == fname.value) {
                        Some(f) => self.check_value(fv, &f.ty, f.default.is_some()),
                        None => self.error(
                            format!("Field \"{}\" is not defined by type \"{name}\".", fname.value),
                            &[fname.pos],
                        ),
                    }
                }
                for f in &fields {
                    if f.ty.is_non_null()
                        && f.default.is_none()
                        && !given.iter().any(|(n, _)| n.value == f.name)
                    {
                        self.error(
                            format!(
                                "Field \"{name}.{}\" of required type \"{}\" was not provided.",
                                f.name, f.ty
                            ),
                            &[v.pos],
                        );
                    }
                }
                None
            }
            (ApiKind::InputObject { .. }, _) => {
                Some(format!("Expected value of type \"{name}\", found {found}."))
            }
            _ => Some(format!("\"{name}\" is not an input type.")),
        }
    }
}

/// Whether a literal is a valid value of a built-in scalar.
pub(crate) fn scalar_error(name: &str, v: &Value) -> Option<String> {
    let found = v.describe();
    let ok = match (name, v) {
        ("Int", Value::Int(i)) => {
            return i
                .parse::<i64>()
                .is_err()
                .then(|| format!("Int cannot represent non 64-bit signed integer value: {i}"));
        }
        ("Float", Value::Int(_) | Value::Float(_)) => true,
        ("String", Value::String(_)) | ("Boolean", Value::Boolean(_)) => true,
        ("ID", Value::String(_) | Value::Int(_)) => true,
        ("DateTime", Value::String(s)) => {
            return crate::datetime::parse(s).is_none().then(|| {
                format!("DateTime cannot represent {found}: expected RFC 3339, like 2021-05-24T00:00:00Z")
            });
        }
        _ => false,
    };
    (!ok).then(|| {
        let what = match name {
            "Int" => "non-integer value",
            "Float" => "non numeric value",
            "String" => "a non string value",
            "Boolean" => "a non boolean value",
            _ => "value",
        };
        format!("{name} cannot represent {what}: {found}")
    })
}

/// 5.8.5 AreTypesCompatible(variableType, locationType).
pub(super) fn types_compatible(var: &TypeRef, loc: &TypeRef) -> bool {
    match (var, loc) {
        (TypeRef::NonNull(v), TypeRef::NonNull(l)) => types_compatible(v, l),
        (_, TypeRef::NonNull(_)) => false,
        (TypeRef::NonNull(v), l) => types_compatible(v, l),
        (TypeRef::List(v), TypeRef::List(l)) => types_compatible(v, l),
        (_, TypeRef::List(_)) | (TypeRef::List(_), _) => false,
        (TypeRef::Named(a), TypeRef::Named(b)) => a == b,
    }
}

/// Positions helper for messages that cite two places.
pub(super) fn two(a: Pos, b: Pos) -> [Pos; 2] {
    [a, b]
}
