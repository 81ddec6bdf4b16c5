//! Coercion of variable values (JSON) to their declared types (spec 6.1.2 CoerceVariableValues),
//! and substitution of variables into argument literals.

use serde_json::Value as Json;

use crate::ast::{Operation, Pos, Spanned, TypeRef, Value};
use crate::error::QueryError;
use crate::schema::api::{Api, ApiKind};
use crate::validate::scalar_error;

/// Variables after coercion, as literals.
pub type Variables = rustc_hash::FxHashMap<String, Value>;

/// Coerces the request's variables for `op`; errors name the variable and what is wrong.
pub fn coerce_variables(api: &Api, op: &Operation, given: &Json) -> Result<Variables, Vec<QueryError>> {
    let mut out = Variables::default();
    let mut errors = Vec::new();
    let empty = serde_json::Map::new();
    let given = match given {
        Json::Object(m) => m,
        Json::Null => &empty,
        _ => return Err(vec![QueryError::new("Variables must be a JSON object.")]),
    };
    for def in &op.variables {
        let name = &def.name.value;
        match given.get(name) {
            None => match &def.default {
                Some(d) => {
                    out.insert(name.clone(), d.node.clone());
                }
                None if def.ty.is_non_null() => errors.push(
                    QueryError::new(format!(
                        "Variable \"${name}\" of required type \"{}\" was not provided.",
                        def.ty
                    ))
                    .at(def.pos),
                ),
                None => {}
            },
            Some(v) => match coerce(api, v, &def.ty) {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(why) => errors.push(
                    QueryError::new(format!("Variable \"${name}\" got invalid value {}; {why}", short(v)))
                        .at(def.pos),
                ),
            },
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn short(v: &Json) -> String {
    let s = v.to_string();
    if s.len() > 80 { format!("{}...", &s[..s.char_indices().nth(77).map_or(s.len(), |c| c.0)]) } else { s }
}

/// JSON -> literal of type `ty`, by input coercion (a single value where a list is expected
/// becomes a one-item list).
fn coerce(api: &Api, v: &Json, ty: &TypeRef) -> Result<Value, String> {
    let p = Pos::default();
    match (ty, v) {
        (TypeRef::NonNull(_), Json::Null) => {
            Err(format!("Expected non-nullable type \"{ty}\" not to be null."))
        }
        (TypeRef::NonNull(inner), _) => coerce(api, v, inner),
        (_, Json::Null) => Ok(Value::Null),
        (TypeRef::List(inner), Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                coerce(api, x, inner)
                    .map(|node| Spanned { node, pos: p })
                    .map_err(|e| format!("at index {i}: {e}"))
            })
            .collect::<Result<_, _>>()
            .map(Value::List),
        (TypeRef::List(inner), _) => Ok(Value::List(vec![Spanned { node: coerce(api, v, inner)?, pos: p }])),
        (TypeRef::Named(name), _) => {
            let kind = &api.get(name).ok_or_else(|| format!("unknown type {name}"))?.kind;
            match (kind, v) {
                (ApiKind::InputObject { fields }, Json::Object(m)) => {
                    let mut out = Vec::new();
                    for key in m.keys() {
                        if !fields.iter().any(|f| &f.name == key) {
                            return Err(format!("Field \"{key}\" is not defined by type \"{name}\"."));
                        }
                    }
                    for f in fields {
                        match m.get(&f.name) {
                            Some(x) => {
                                let node =
                                    coerce(api, x, &f.ty).map_err(|e| format!("at \"{}\": {e}", f.name))?;
                                out.push((
                                    crate::ast::Name { value: f.name.clone(), pos: p },
                                    Spanned { node, pos: p },
                                ));
                            }
                            None if f.ty.is_non_null() && f.default.is_none() => {
                                return Err(format!(
                                    "Field \"{}\" of required type \"{}\" was not provided.",
                                    f.name, f.ty
                                ));
                            }
                            None => {}
                        }
                    }
                    Ok(Value::Object(out))
                }
                (ApiKind::InputObject { .. }, _) => Err(format!("Expected type \"{name}\" to be an object.")),
                (ApiKind::Enum { values }, Json::String(s)) if values.iter().any(|(n, _, _)| n == s) => {
                    Ok(Value::Enum(s.clone()))
                }
                (ApiKind::Enum { .. }, _) => {
                    Err(format!("Value {} does not exist in \"{name}\" enum.", short(v)))
                }
                (ApiKind::Scalar, _) => {
                    let lit = match v {
                        Json::String(s) => Value::String(s.clone()),
                        Json::Bool(b) => Value::Boolean(*b),
                        Json::Number(n) if n.is_i64() || n.is_u64() => Value::Int(n.to_string()),
                        Json::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
                        _ => return Err(format!("{name} cannot represent {}", short(v))),
                    };
                    // JSON numbers like 2.0 are integers for an Int variable.
                    let lit = match (&lit, name.as_str()) {
                        (Value::Float(x), "Int") if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                            Value::Int(format!("{}", *x as i64))
                        }
                        _ => lit,
                    };
                    match scalar_error(name, &lit) {
                        Some(e) => Err(e),
                        None => Ok(lit),
                    }
                }
                _ => Err(format!("\"{name}\" is not an input type")),
            }
        }
    }
}

/// A literal with every variable replaced by its value (absent variables become null).
pub fn substitute(v: &Value, vars: &Variables) -> Value {
    match v {
        Value::Variable(n) => vars.get(n).cloned().unwrap_or(Value::Null),
        Value::List(items) => Value::List(
            items.iter().map(|s| Spanned { node: substitute(&s.node, vars), pos: s.pos }).collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(n, s)| (n.clone(), Spanned { node: substitute(&s.node, vars), pos: s.pos }))
                .collect(),
        ),
        other => other.clone(),
    }
}
