//! The directives documents may use: the specification's `@include`, `@skip`, `@deprecated`,
//! and Quiver's `@cascade` and `@recurse`.

use super::api::{DirectiveDef, DirectiveLocation, InputValue, input, named};
use crate::ast::Value;

/// Every directive, in the order introspection lists them.
pub(super) fn standard() -> Vec<DirectiveDef> {
    use DirectiveLocation as L;
    let cond = |name: &str, description: &str| DirectiveDef {
        name: name.into(),
        description: Some(description.into()),
        locations: vec![L::Field, L::FragmentSpread, L::InlineFragment],
        args: vec![input("if", named("Boolean").non_null())],
    };
    vec![
        cond(
            "include",
            "Directs the executor to include this field or fragment only when the `if` argument is true.",
        ),
        cond("skip", "Directs the executor to skip this field or fragment when the `if` argument is true."),
        DirectiveDef {
            name: "cascade".into(),
            description: Some(
                "Drops every result that lacks one of the fields selected (or of `fields`).".into(),
            ),
            locations: vec![L::Field],
            args: vec![input("fields", named("String").list())],
        },
        DirectiveDef {
            name: "recurse".into(),
            description: Some(
                "Expands an edge to the same type again inside itself, `depth` levels in all; a node \
                 already on the path is not repeated."
                    .into(),
            ),
            locations: vec![L::Field],
            args: vec![input("depth", named("Int").non_null())],
        },
        DirectiveDef {
            name: "deprecated".into(),
            description: Some("Marks an element of a GraphQL schema as no longer supported.".into()),
            locations: vec![L::FieldDefinition, L::EnumValue],
            args: vec![InputValue {
                name: "reason".into(),
                description: None,
                ty: named("String"),
                default: Some(Value::String("No longer supported".into())),
            }],
        },
    ]
}
