//! `TFilter` and `TOrder` arguments -> executable [`Filter`] and [`OrderKey`]s, with every
//! field bound to the engine property of each concrete type.

use quiver_engine::{EdgeId, IndexKind, PropId, ScalarType, TypeId, Value as EValue};

use crate::ast::{Pos, Spanned, Value};
use crate::error::QueryError;
use crate::schema::{FieldKind, Schema};

/// A property bound per concrete type.
pub type PropBinding = Vec<(TypeId, PropId)>;

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `eq`.
    Eq,
    /// `lt`.
    Lt,
    /// `le`.
    Le,
    /// `gt`.
    Gt,
    /// `ge`.
    Ge,
}

/// A compiled filter.
#[derive(Clone, Debug)]
pub enum Filter {
    /// Every one holds (`and`, and the fields of one filter object).
    All(Vec<Filter>),
    /// Any one holds (`or`).
    Any(Vec<Filter>),
    /// `not`.
    Not(Box<Filter>),
    /// `id: [...]`: the node's uid is one of these (sorted).
    Ids(Vec<u64>),
    /// A comparison of a scalar field.
    Compare {
        /// The field.
        props: PropBinding,
        /// Which comparison.
        op: Cmp,
        /// With what.
        value: EValue,
        /// Whether an index answers equality (hash, exact, @id, boolean).
        eq_indexed: bool,
        /// Whether an order index answers ranges.
        order_indexed: bool,
    },
    /// `in: [...]`.
    In {
        /// The field.
        props: PropBinding,
        /// The values.
        values: Vec<EValue>,
        /// Whether an index answers equality.
        eq_indexed: bool,
    },
    /// `between: {min, max}`, both inclusive.
    Between {
        /// The field.
        props: PropBinding,
        /// Lower bound.
        min: EValue,
        /// Upper bound.
        max: EValue,
    },
    /// `anyofterms`/`allofterms`/`anyoftext`/`alloftext`.
    Text {
        /// The field.
        props: PropBinding,
        /// Term or Fulltext.
        kind: IndexKind,
        /// All words (or any).
        all: bool,
        /// The words.
        text: String,
    },
    /// `regexp: "/.../flags"`.
    Regexp {
        /// The field.
        props: PropBinding,
        /// The compiled pattern.
        re: regex::Regex,
        /// Literal strings one of which every match contains (for trigram candidates), if known.
        literals: Option<Vec<String>>,
    },
    /// `has: [f]`: the field has a value (scalars) or at least one target (edges); holds when
    /// any entry for the node's type does.
    Has(Vec<(TypeId, HasField)>),
}

/// What `has` tests for one concrete type.
#[derive(Clone, Copy, Debug)]
pub enum HasField {
    /// A scalar property.
    Prop(PropId),
    /// An edge type.
    Edge(EdgeId),
    /// The ID field (always present).
    Always,
}

/// One sort key of `order`.
#[derive(Clone, Debug)]
pub struct OrderKey {
    /// The field.
    pub props: PropBinding,
    /// Descending.
    pub desc: bool,
}

pub(crate) fn bad(pos: Pos, message: impl Into<String>) -> QueryError {
    QueryError::new(message).at(pos)
}

/// Binds field `name` of user type `ty` (an interface binds through each implementer).
pub(crate) fn bind_prop(
    schema: &Schema,
    ty: usize,
    name: &str,
) -> (PropBinding, Option<(ScalarType, quiver_engine::IndexSet)>) {
    let mut out = Vec::new();
    let mut info = None;
    for &c in schema.concrete(ty) {
        let t = &schema.types[c];
        if let (Some(engine), Some((_, f))) = (t.engine, schema.field(c, name))
            && let FieldKind::Scalar { prop: Some(p), scalar, indexes, .. } = &f.kind
        {
            out.push((engine, *p));
            info = Some((scalar.clone(), *indexes));
        }
    }
    (out, info)
}

/// Compiles a `TFilter` literal (variables already substituted) for user type `ty`.
pub fn compile_filter(schema: &Schema, ty: usize, v: &Spanned<Value>) -> Result<Option<Filter>, QueryError> {
    let Value::Object(fields) = &v.node else { return Ok(None) };
    let mut all = Vec::new();
    for (name, fv) in fields {
        if fv.node == Value::Null {
            continue;
        }
        let f = match name.value.as_str() {
            "and" | "or" => {
                let items: Vec<&Spanned<Value>> = fv.items();
                let mut parts = Vec::new();
                for item in items {
                    if let Some(f) = compile_filter(schema, ty, item)? {
                        parts.push(f);
                    }
                }
                if name.value == "and" { Filter::All(parts) } else { Filter::Any(parts) }
            }
            "not" => match compile_filter(schema, ty, fv)? {
                Some(f) => Filter::Not(Box::new(f)),
                None => continue,
            },
            "has" => {
                let names: Vec<&Spanned<Value>> = fv.items();
                let mut parts = Vec::new();
                for n in names {
                    let Value::Enum(field) = &n.node else { continue };
                    let mut binding = Vec::new();
                    for &c in schema.concrete(ty) {
                        let Some(engine) = schema.types[c].engine else { continue };
                        let Some((_, fd)) = schema.field(c, field) else { continue };
                        match &fd.kind {
                            FieldKind::Scalar { prop: Some(p), .. } => {
                                binding.push((engine, HasField::Prop(*p)))
                            }
                            // An edge to an interface is stored as one edge type per implementer.
                            FieldKind::Edge { edges, .. } => {
                                binding.extend(edges.iter().map(|(_, e)| (engine, HasField::Edge(*e))))
                            }
                            _ => binding.push((engine, HasField::Always)),
                        }
                    }
                    parts.push(Filter::Has(binding));
                }
                Filter::All(parts)
            }
            field if schema.types[ty].id_field.is_some_and(|i| schema.types[ty].fields[i].name == field) => {
                let items: Vec<&Spanned<Value>> = fv.items();
                let mut uids = Vec::new();
                for item in items {
                    uids.push(parse_uid_value(&item.node).ok_or_else(|| {
                        bad(item.pos, format!("{} is not a uid such as \"0x2a\"", item.node.describe()))
                    })?);
                }
                uids.sort_unstable();
                uids.dedup();
                Filter::Ids(uids)
            }
            field => compile_field_filter(schema, ty, field, fv)?,
        };
        all.push(f);
    }
    Ok(Some(if all.len() == 1 { all.pop().unwrap_or(Filter::All(Vec::new())) } else { Filter::All(all) }))
}

fn compile_field_filter(
    schema: &Schema,
    ty: usize,
    field: &str,
    fv: &Spanned<Value>,
) -> Result<Filter, QueryError> {
    let (props, info) = bind_prop(schema, ty, field);
    let Some((scalar, indexes)) = info else {
        return Err(bad(fv.pos, format!("{field} cannot be filtered on")));
    };
    let eq_indexed = indexes.has_equality();
    let order_indexed = indexes.has_order();
    if scalar == ScalarType::Boolean {
        let value = engine_value(&scalar, fv)?;
        return Ok(Filter::Compare { props, op: Cmp::Eq, value, eq_indexed, order_indexed });
    }
    let Value::Object(ops) = &fv.node else {
        return Err(bad(fv.pos, format!("{field} takes a filter object")));
    };
    let mut parts = Vec::new();
    for (op, ov) in ops {
        if ov.node == Value::Null {
            continue;
        }
        let props = props.clone();
        let cmp = |c: Cmp| -> Result<Filter, QueryError> {
            Ok(Filter::Compare {
                props: props.clone(),
                op: c,
                value: engine_value(&scalar, ov)?,
                eq_indexed,
                order_indexed,
            })
        };
        parts.push(match op.value.as_str() {
            "eq" => cmp(Cmp::Eq)?,
            "lt" => cmp(Cmp::Lt)?,
            "le" => cmp(Cmp::Le)?,
            "gt" => cmp(Cmp::Gt)?,
            "ge" => cmp(Cmp::Ge)?,
            "in" => {
                let items: Vec<&Spanned<Value>> = ov.items();
                let values = items
                    .into_iter()
                    .filter(|i| i.node != Value::Null)
                    .map(|i| engine_value(&scalar, i))
                    .collect::<Result<_, _>>()?;
                Filter::In { props, values, eq_indexed }
            }
            "between" => {
                let Value::Object(b) = &ov.node else { return Err(bad(ov.pos, "between takes {min, max}")) };
                let get = |k: &str| b.iter().find(|(n, _)| n.value == k).map(|(_, v)| v);
                let (Some(min), Some(max)) = (get("min"), get("max")) else {
                    return Err(bad(ov.pos, "between needs min and max"));
                };
                Filter::Between { props, min: engine_value(&scalar, min)?, max: engine_value(&scalar, max)? }
            }
            kind @ ("anyofterms" | "allofterms" | "anyoftext" | "alloftext") => {
                let Value::String(text) = &ov.node else {
                    return Err(bad(ov.pos, format!("{kind} takes a string")));
                };
                Filter::Text {
                    props,
                    kind: if kind.ends_with("terms") { IndexKind::Term } else { IndexKind::Fulltext },
                    all: kind.starts_with("all"),
                    text: text.clone(),
                }
            }
            "regexp" => {
                let Value::String(text) = &ov.node else { return Err(bad(ov.pos, "regexp takes a string")) };
                let (re, literals) = compile_regexp(text).map_err(|m| bad(ov.pos, m))?;
                Filter::Regexp { props, re, literals }
            }
            other => return Err(bad(op.pos, format!("unknown filter operator {other}"))),
        });
    }
    Ok(if parts.len() == 1 { parts.pop().unwrap_or(Filter::All(Vec::new())) } else { Filter::All(parts) })
}

/// Dgraph's regular expression literal: `/pattern/` or `/pattern/i`.
fn compile_regexp(text: &str) -> Result<(regex::Regex, Option<Vec<String>>), String> {
    let malformed = || format!("regexp {text:?} must be written /pattern/ or /pattern/i");
    let body = text.strip_prefix('/').ok_or_else(malformed)?;
    let end = body.rfind('/').ok_or_else(malformed)?;
    let (pattern, flags) = (&body[..end], &body[end + 1..]);
    let insensitive = match flags {
        "" => false,
        "i" => true,
        _ => return Err(malformed()),
    };
    let re = regex::RegexBuilder::new(pattern)
        .case_insensitive(insensitive)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("regexp {text:?}: {e}"))?;
    // Literals every match must contain: when the pattern's required prefixes are an exact,
    // finite set, the trigram index narrows the candidates; otherwise every node is checked.
    let literals = if insensitive {
        None
    } else {
        regex_syntax::parse(pattern).ok().and_then(|hir| {
            let seq = regex_syntax::hir::literal::Extractor::new().extract(&hir);
            let lits = seq.literals()?;
            let out: Vec<String> = lits
                .iter()
                .filter_map(|l| std::str::from_utf8(l.as_bytes()).ok().map(str::to_string))
                .collect();
            (out.len() == lits.len() && !out.is_empty() && out.iter().all(|s| s.chars().count() >= 3))
                .then_some(out)
        })
    };
    Ok((re, literals))
}

/// A literal as the engine value of a field of scalar type `scalar`.
pub(crate) fn engine_value(scalar: &ScalarType, v: &Spanned<Value>) -> Result<EValue, QueryError> {
    let wrong = || bad(v.pos, format!("{} is not a valid {scalar}", v.node.describe()));
    Ok(match (scalar, &v.node) {
        (ScalarType::String | ScalarType::Id, Value::String(s)) => EValue::String(s.clone()),
        (ScalarType::Enum(_), Value::Enum(s) | Value::String(s)) => EValue::String(s.clone()),
        (ScalarType::Int, Value::Int(i)) => EValue::Int(i.parse().map_err(|_| wrong())?),
        (ScalarType::Float, Value::Int(i)) => EValue::Float(i.parse().map_err(|_| wrong())?),
        (ScalarType::Float, Value::Float(x)) => EValue::Float(*x),
        (ScalarType::Boolean, Value::Boolean(b)) => EValue::Boolean(*b),
        (ScalarType::DateTime, Value::String(s)) => {
            EValue::DateTime(crate::datetime::parse(s).ok_or_else(wrong)?)
        }
        _ => return Err(wrong()),
    })
}

/// `"0x2a"` (or a decimal string or integer) as a uid.
pub fn parse_uid_value(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => parse_uid(s),
        Value::Int(i) => i.parse().ok(),
        _ => None,
    }
}

/// Parses `0x2a`-style hex (or decimal) uid text.
pub fn parse_uid(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.len() <= 16 => u64::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None => s.parse().ok(),
    }
}

/// Compiles a `TOrder` literal.
pub fn compile_order(schema: &Schema, ty: usize, v: &Spanned<Value>) -> Result<Vec<OrderKey>, QueryError> {
    let mut keys = Vec::new();
    let mut cur = Some(v);
    while let Some(v) = cur.take() {
        let Value::Object(fields) = &v.node else { break };
        for (name, fv) in fields {
            match (name.value.as_str(), &fv.node) {
                ("asc" | "desc", Value::Enum(field)) => {
                    let (props, _) = bind_prop(schema, ty, field);
                    keys.push(OrderKey { props, desc: name.value == "desc" });
                }
                ("then", Value::Object(_)) => cur = Some(fv),
                _ => {}
            }
        }
        if keys.len() > 16 {
            return Err(bad(v.pos, "order nests more than 16 keys"));
        }
    }
    Ok(keys)
}
