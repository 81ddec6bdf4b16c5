//! The filter input types of the generated API: which one a scalar field gets from its
//! indexes (Dgraph's names: `StringHashFilter`, `StringExactFilter_StringTermFilter`,
//! `IntFilter`, `Tier_hash`...), and their fields.

use quiver_engine::{IndexSet, ScalarType};

use super::api::{InputValue, input, named};
use super::{FieldKind, Schema};

/// Dgraph's names for the string filters an index set allows, in Dgraph's order.
pub(super) fn string_filter_parts(indexes: IndexSet) -> Vec<&'static str> {
    let mut parts = Vec::new();
    if indexes.contains(IndexSet::EXACT) {
        parts.push("StringExactFilter");
    } else if indexes.intersects(IndexSet::HASH | IndexSet::UNIQUE) {
        parts.push("StringHashFilter");
    }
    if indexes.contains(IndexSet::TERM) {
        parts.push("StringTermFilter");
    }
    if indexes.contains(IndexSet::FULLTEXT) {
        parts.push("StringFullTextFilter");
    }
    if indexes.contains(IndexSet::TRIGRAM) {
        parts.push("StringRegExpFilter");
    }
    parts
}

pub(super) fn used_string_filters(schema: &Schema) -> Vec<Vec<&'static str>> {
    let mut out: Vec<Vec<&'static str>> = [
        "StringHashFilter",
        "StringExactFilter",
        "StringTermFilter",
        "StringFullTextFilter",
        "StringRegExpFilter",
    ]
    .iter()
    .map(|p| vec![*p])
    .collect();
    for t in &schema.types {
        for f in &t.fields {
            if let FieldKind::Scalar { scalar: ScalarType::String, indexes, .. } = &f.kind {
                let parts = string_filter_parts(*indexes);
                if parts.len() > 1 && !out.contains(&parts) {
                    out.push(parts);
                }
            }
        }
    }
    out
}

/// The filter input type of a scalar field, `None` when it is not searchable.
pub(super) fn filter_type(scalar: &ScalarType, indexes: IndexSet) -> Option<String> {
    match scalar {
        ScalarType::String => {
            let parts = string_filter_parts(indexes);
            (!parts.is_empty()).then(|| parts.join("_"))
        }
        ScalarType::Int => Some("IntFilter".into()),
        ScalarType::Float => Some("FloatFilter".into()),
        ScalarType::DateTime => Some("DateTimeFilter".into()),
        ScalarType::Boolean => Some("Boolean".into()),
        ScalarType::Enum(e) => {
            let mut parts = Vec::new();
            if indexes.contains(IndexSet::EXACT) {
                parts.push(format!("{e}_exact"));
            } else if indexes.intersects(IndexSet::HASH | IndexSet::UNIQUE) {
                parts.push(format!("{e}_hash"));
            }
            if indexes.contains(IndexSet::TRIGRAM) {
                parts.push("StringRegExpFilter".into());
            }
            match parts.len() {
                0 => None,
                1 => parts.pop(),
                // An enum searchable both ways takes the equality form; regexp needs its own field type.
                _ => parts.into_iter().next(),
            }
        }
        ScalarType::Id => None,
    }
}

pub(super) fn string_filter_fields(part: &str) -> Vec<InputValue> {
    let s = || named("String");
    match part {
        "StringHashFilter" => vec![input("eq", s()), input("in", s().list())],
        "StringExactFilter" => comparison_fields("String", true),
        "StringTermFilter" => vec![input("allofterms", s()), input("anyofterms", s())],
        "StringFullTextFilter" => vec![input("alloftext", s()), input("anyoftext", s())],
        _ => vec![input("regexp", s())],
    }
}

pub(super) fn enum_hash_fields(e: &str) -> Vec<InputValue> {
    vec![input("eq", named(e)), input("in", named(e).list())]
}

pub(super) fn comparison_fields(scalar: &str, between: bool) -> Vec<InputValue> {
    let t = || named(scalar);
    let mut v = vec![
        input("eq", t()),
        input("in", t().list()),
        input("le", t()),
        input("lt", t()),
        input("ge", t()),
        input("gt", t()),
    ];
    if between {
        v.push(input("between", named(&format!("{scalar}Range"))));
    }
    v
}
