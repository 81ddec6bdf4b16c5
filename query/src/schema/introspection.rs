//! The introspection types of the GraphQL specification (section 4.5: `__Schema`, `__Type`,
//! `__Field`, `__InputValue`, `__EnumValue`, `__Directive`, `__TypeKind`,
//! `__DirectiveLocation`) added to the generated API, and the root meta-fields `__schema` and
//! `__type(name:)` (which the query type does not list, as the specification asks).

use super::api::{Api, ApiField, ApiKind, ApiType, FieldRole, InputValue, input, named};
use crate::ast::{Pos, TypeRef, Value};
use crate::error::Error;

/// A field of an introspection type.
fn meta(name: &str, ty: TypeRef) -> ApiField {
    ApiField {
        name: name.into(),
        description: None,
        args: Vec::new(),
        ty,
        deprecated: None,
        role: FieldRole::Meta,
    }
}

fn nn(n: &str) -> TypeRef {
    named(n).non_null()
}

fn list_nn(n: &str) -> TypeRef {
    named(n).non_null().list().non_null()
}

fn include_deprecated() -> InputValue {
    InputValue {
        name: "includeDeprecated".into(),
        description: None,
        ty: named("Boolean"),
        default: Some(Value::Boolean(false)),
    }
}

fn object(name: &str, description: &str, fields: Vec<ApiField>) -> ApiType {
    ApiType {
        name: name.into(),
        description: Some(description.into()),
        kind: ApiKind::Object { fields, interfaces: Vec::new() },
    }
}

fn enumeration(name: &str, description: &str, values: &[&str]) -> ApiType {
    ApiType {
        name: name.into(),
        description: Some(description.into()),
        kind: ApiKind::Enum { values: values.iter().map(|v| ((*v).to_string(), None, None)).collect() },
    }
}

/// Adds the introspection types to `api`.
pub(super) fn add_types(api: &mut Api) -> Result<(), Error> {
    let p0 = Pos::default();
    let with_args = |mut f: ApiField, args: Vec<InputValue>| {
        f.args = args;
        f
    };
    let types = [
        object(
            "__Schema",
            "A GraphQL Schema defines the capabilities of a GraphQL server.",
            vec![
                meta("description", named("String")),
                meta("types", list_nn("__Type")),
                meta("queryType", nn("__Type")),
                meta("mutationType", named("__Type")),
                meta("subscriptionType", named("__Type")),
                meta("directives", list_nn("__Directive")),
            ],
        ),
        object(
            "__Type",
            "The fundamental unit of any GraphQL Schema is the type.",
            vec![
                meta("kind", nn("__TypeKind")),
                meta("name", named("String")),
                meta("description", named("String")),
                meta("specifiedByURL", named("String")),
                with_args(meta("fields", named("__Field").non_null().list()), vec![include_deprecated()]),
                meta("interfaces", named("__Type").non_null().list()),
                meta("possibleTypes", named("__Type").non_null().list()),
                with_args(
                    meta("enumValues", named("__EnumValue").non_null().list()),
                    vec![include_deprecated()],
                ),
                with_args(
                    meta("inputFields", named("__InputValue").non_null().list()),
                    vec![include_deprecated()],
                ),
                meta("ofType", named("__Type")),
            ],
        ),
        object(
            "__Field",
            "Object and Interface types are described by a list of Fields, each of which has a name, potentially a list of arguments, and a return type.",
            vec![
                meta("name", nn("String")),
                meta("description", named("String")),
                with_args(meta("args", list_nn("__InputValue")), vec![include_deprecated()]),
                meta("type", nn("__Type")),
                meta("isDeprecated", nn("Boolean")),
                meta("deprecationReason", named("String")),
            ],
        ),
        object(
            "__InputValue",
            "Arguments provided to Fields or Directives and the input fields of an InputObject are represented as Input Values which describe their type and optionally a default value.",
            vec![
                meta("name", nn("String")),
                meta("description", named("String")),
                meta("type", nn("__Type")),
                meta("defaultValue", named("String")),
                meta("isDeprecated", nn("Boolean")),
                meta("deprecationReason", named("String")),
            ],
        ),
        object(
            "__EnumValue",
            "One possible value for a given Enum.",
            vec![
                meta("name", nn("String")),
                meta("description", named("String")),
                meta("isDeprecated", nn("Boolean")),
                meta("deprecationReason", named("String")),
            ],
        ),
        object(
            "__Directive",
            "A Directive provides a way to describe alternate runtime execution and type validation behavior in a GraphQL document.",
            vec![
                meta("name", nn("String")),
                meta("description", named("String")),
                meta("isRepeatable", nn("Boolean")),
                meta("locations", list_nn("__DirectiveLocation")),
                with_args(meta("args", list_nn("__InputValue")), vec![include_deprecated()]),
            ],
        ),
        enumeration(
            "__TypeKind",
            "An enum describing what kind of type a given `__Type` is.",
            &["SCALAR", "OBJECT", "INTERFACE", "UNION", "ENUM", "INPUT_OBJECT", "LIST", "NON_NULL"],
        ),
        enumeration(
            "__DirectiveLocation",
            "A Directive can be adjacent to many parts of the GraphQL language.",
            &[
                "QUERY",
                "MUTATION",
                "SUBSCRIPTION",
                "FIELD",
                "FRAGMENT_DEFINITION",
                "FRAGMENT_SPREAD",
                "INLINE_FRAGMENT",
                "VARIABLE_DEFINITION",
                "SCHEMA",
                "SCALAR",
                "OBJECT",
                "FIELD_DEFINITION",
                "ARGUMENT_DEFINITION",
                "INTERFACE",
                "UNION",
                "ENUM",
                "ENUM_VALUE",
                "INPUT_OBJECT",
                "INPUT_FIELD_DEFINITION",
            ],
        ),
    ];
    for t in types {
        api.add_type(t, p0)?;
    }
    Ok(())
}

/// The root meta-fields: `__schema: __Schema!` and `__type(name: String!): __Type`.
pub(super) fn root_fields() -> Vec<ApiField> {
    let mut ty = meta("__type", named("__Type"));
    ty.args = vec![input("name", nn("String"))];
    ty.description = Some("Request the type information of a single type.".into());
    let mut schema = meta("__schema", nn("__Schema"));
    schema.description = Some("Access the current type schema of this server.".into());
    vec![schema, ty]
}
