//! Builders for `sdl.pest`: one `build_<rule>` per rule.

use super::values::{build_directives, build_name, build_string, build_type_ref, unexpected};
use super::{Pair, Rule, pos_of};
use crate::ast::{
    EnumValueDefinition, FieldDefinition, Name, SchemaDocument, TypeDefinition, TypeDefinitionKind,
};
use crate::error::Error;

pub(super) fn build_schema_document(pair: Pair<'_>) -> Result<SchemaDocument, Error> {
    let mut doc = SchemaDocument::default();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::type_definition
            | Rule::interface_definition
            | Rule::enum_definition
            | Rule::scalar_definition => doc.definitions.push(build_type_definition(p)?),
            Rule::EOI => {}
            _ => return Err(unexpected(&p)),
        }
    }
    Ok(doc)
}

fn build_type_definition(pair: Pair<'_>) -> Result<TypeDefinition, Error> {
    let pos = pos_of(&pair);
    let rule = pair.as_rule();
    let mut description = None;
    let mut name: Option<Name> = None;
    let mut directives = Vec::new();
    let mut implements = Vec::new();
    let mut fields = Vec::new();
    let mut values = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::description => description = Some(build_string(p)?),
            Rule::name => name = Some(build_name(p)),
            Rule::implements => implements = p.into_inner().map(build_name).collect(),
            Rule::directives => directives = build_directives(p)?,
            Rule::fields_definition => {
                fields = p.into_inner().map(build_field_definition).collect::<Result<_, _>>()?
            }
            Rule::enum_values => {
                values = p.into_inner().map(build_enum_value_definition).collect::<Result<_, _>>()?
            }
            _ => return Err(unexpected(&p)),
        }
    }
    let kind = match rule {
        Rule::type_definition => TypeDefinitionKind::Object { implements, fields },
        Rule::interface_definition => TypeDefinitionKind::Interface { implements, fields },
        Rule::enum_definition => TypeDefinitionKind::Enum { values },
        _ => TypeDefinitionKind::Scalar,
    };
    let name = name.ok_or(Error::Syntax { pos, message: "expected a type name".into() })?;
    Ok(TypeDefinition { description, name, directives, kind, pos })
}

fn build_field_definition(pair: Pair<'_>) -> Result<FieldDefinition, Error> {
    let pos = pos_of(&pair);
    let mut description = None;
    let mut name = None;
    let mut ty = None;
    let mut directives = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::description => description = Some(build_string(p)?),
            Rule::name => name = Some(build_name(p)),
            Rule::type_ref => ty = Some(build_type_ref(p)?),
            Rule::directives => directives = build_directives(p)?,
            _ => return Err(unexpected(&p)),
        }
    }
    let missing = || Error::Syntax { pos, message: "incomplete field definition".into() };
    Ok(FieldDefinition {
        description,
        name: name.ok_or_else(missing)?,
        ty: ty.ok_or_else(missing)?,
        directives,
        pos,
    })
}

fn build_enum_value_definition(pair: Pair<'_>) -> Result<EnumValueDefinition, Error> {
    let pos = pos_of(&pair);
    let mut description = None;
    let mut name = None;
    let mut directives = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::description => description = Some(build_string(p)?),
            Rule::enum_value => name = Some(build_name(p)),
            Rule::directives => directives = build_directives(p)?,
            _ => return Err(unexpected(&p)),
        }
    }
    Ok(EnumValueDefinition {
        description,
        name: name.ok_or(Error::Syntax { pos, message: "expected an enum value".into() })?,
        directives,
    })
}

#[cfg(test)]
mod tests {
    use crate::ast::*;
    use crate::grammar::{ParseLimits, parse_schema};

    #[test]
    fn schema_language() {
        let d = parse_schema(
            r#"
            "A person" type Person implements Node & Named @key {
              id: ID!
              """
              The name.
              """
              name: String! @search(by: [term, exact])
              friends: [Person] @hasInverse(field: friends)
            }type Org { id: ID! }
            interface Node { id: ID! }
            enum Level { LOW "high" HIGH @deprecated }
            scalar DateTime
            "#,
            &ParseLimits::default(),
        )
        .unwrap();
        assert_eq!(d.definitions.len(), 5);
        let p = &d.definitions[0];
        assert_eq!(p.description.as_deref(), Some("A person"));
        let TypeDefinitionKind::Object { implements, fields } = &p.kind else { panic!() };
        assert_eq!(implements.iter().map(|n| n.as_str()).collect::<Vec<_>>(), ["Node", "Named"]);
        assert_eq!(fields[1].description.as_deref(), Some("The name."));
        assert_eq!(fields[1].ty.to_string(), "String!");
        assert_eq!(fields[1].directives[0].name.value, "search");
        assert_eq!(fields[2].ty.to_string(), "[Person]");
        let TypeDefinitionKind::Enum { values } = &d.definitions[3].kind else { panic!() };
        assert_eq!(values[1].description.as_deref(), Some("high"));
        assert_eq!(d.definitions[4].kind, TypeDefinitionKind::Scalar);
    }

    #[test]
    fn schema_syntax_errors_have_positions() {
        let e = parse_schema("type A {\n  a: \n}", &ParseLimits::default()).unwrap_err();
        assert_eq!(e.to_string(), "syntax error at 3:1: expected a type");
        let e = parse_schema("input X { a: Int }", &ParseLimits::default()).unwrap_err();
        assert!(e.to_string().starts_with("syntax error at 1:1: expected"), "{e}");
    }
}
