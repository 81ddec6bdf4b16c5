//! Builders for `executable.pest`: one `build_<rule>` per rule.

use super::values::{build_arguments, build_directives, build_name, build_type_ref, build_value, unexpected};
use super::{Pair, Rule, pos_of};
use crate::ast::{
    Document, Field, Fragment, FragmentSpread, InlineFragment, Operation, OperationKind, Selection,
    SelectionSet, Spanned, Value, VariableDefinition,
};
use crate::error::Error;

pub(super) fn build_document(pair: Pair<'_>) -> Result<Document, Error> {
    let mut doc = Document::default();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::operation => doc.operations.push(build_operation(p)?),
            Rule::fragment => doc.fragments.push(build_fragment(p)?),
            Rule::type_system_definition => {
                let kw = p.into_inner().find(|q| q.as_rule() == Rule::ts_keyword);
                if let Some(kw) = kw {
                    doc.type_system.push(build_name(kw));
                }
            }
            Rule::EOI => {}
            _ => return Err(unexpected(&p)),
        }
    }
    Ok(doc)
}

fn build_operation(pair: Pair<'_>) -> Result<Operation, Error> {
    let pos = pos_of(&pair);
    let mut op = Operation {
        kind: OperationKind::Query,
        name: None,
        variables: Vec::new(),
        directives: Vec::new(),
        selection_set: SelectionSet::default(),
        pos,
    };
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::operation_type => {
                op.kind = match p.as_str() {
                    "mutation" => OperationKind::Mutation,
                    "subscription" => OperationKind::Subscription,
                    _ => OperationKind::Query,
                }
            }
            Rule::name => op.name = Some(build_name(p)),
            Rule::variable_defs => {
                op.variables = p.into_inner().map(build_variable_def).collect::<Result<_, _>>()?
            }
            Rule::directives => op.directives = build_directives(p)?,
            Rule::selection_set => op.selection_set = build_selection_set(p)?,
            _ => return Err(unexpected(&p)),
        }
    }
    Ok(op)
}

fn build_variable_def(pair: Pair<'_>) -> Result<VariableDefinition, Error> {
    let pos = pos_of(&pair);
    let mut it = pair.clone().into_inner();
    let var = it.next().ok_or_else(|| unexpected(&pair))?;
    let name = var.into_inner().next().map(build_name).ok_or_else(|| unexpected(&pair))?;
    let ty_pair = it.next().ok_or_else(|| unexpected(&pair))?;
    let ty_pos = pos_of(&ty_pair);
    let ty = build_type_ref(ty_pair)?;
    let mut def = VariableDefinition { name, ty, ty_pos, default: None, directives: Vec::new(), pos };
    for p in it {
        match p.as_rule() {
            Rule::default_value => {
                let v = p.into_inner().next().ok_or_else(|| unexpected(&pair))?;
                let v = build_value(v)?;
                reject_variables(&v)?;
                def.default = Some(v);
            }
            Rule::directives => def.directives = build_directives(p)?,
            _ => return Err(unexpected(&p)),
        }
    }
    Ok(def)
}

/// Default values are constants: a variable inside one is a syntax error (Value[Const]).
fn reject_variables(v: &Spanned<Value>) -> Result<(), Error> {
    match &v.node {
        Value::Variable(name) => {
            Err(Error::Syntax { pos: v.pos, message: format!("a default value cannot use variable ${name}") })
        }
        Value::List(items) => items.iter().try_for_each(reject_variables),
        Value::Object(fields) => fields.iter().try_for_each(|(_, v)| reject_variables(v)),
        _ => Ok(()),
    }
}

fn build_selection_set(pair: Pair<'_>) -> Result<SelectionSet, Error> {
    let pos = pos_of(&pair);
    let items = pair
        .into_inner()
        .map(|p| match p.as_rule() {
            Rule::field => build_field(p).map(Selection::Field),
            Rule::fragment_spread => build_fragment_spread(p).map(Selection::FragmentSpread),
            Rule::inline_fragment => build_inline_fragment(p).map(Selection::InlineFragment),
            _ => Err(unexpected(&p)),
        })
        .collect::<Result<_, _>>()?;
    Ok(SelectionSet { items, pos })
}

fn build_field(pair: Pair<'_>) -> Result<Field, Error> {
    let pos = pos_of(&pair);
    let mut alias = None;
    let mut name = None;
    let mut field = Field {
        alias: None,
        name: crate::ast::Name { value: String::new(), pos },
        arguments: Vec::new(),
        directives: Vec::new(),
        selection_set: SelectionSet { items: Vec::new(), pos },
        pos,
    };
    for p in pair.into_inner() {
        match p.as_rule() {
            // `a: b` arrives as name `a` then alias_of `b`: `a` is the alias.
            Rule::alias_of => {
                alias = name.take();
                name = p.into_inner().next().map(build_name);
            }
            Rule::name => name = Some(build_name(p)),
            Rule::arguments => field.arguments = build_arguments(p)?,
            Rule::directives => field.directives = build_directives(p)?,
            Rule::selection_set => field.selection_set = build_selection_set(p)?,
            _ => return Err(unexpected(&p)),
        }
    }
    field.alias = alias;
    field.name = name.ok_or(Error::Syntax { pos, message: "expected a field name".into() })?;
    Ok(field)
}

fn build_fragment_spread(pair: Pair<'_>) -> Result<FragmentSpread, Error> {
    let pos = pos_of(&pair);
    let mut it = pair.clone().into_inner();
    let name = build_name(it.next().ok_or_else(|| unexpected(&pair))?);
    let directives = match it.next() {
        Some(d) => build_directives(d)?,
        None => Vec::new(),
    };
    Ok(FragmentSpread { name, directives, pos })
}

fn build_inline_fragment(pair: Pair<'_>) -> Result<InlineFragment, Error> {
    let pos = pos_of(&pair);
    let mut frag = InlineFragment {
        type_condition: None,
        directives: Vec::new(),
        selection_set: SelectionSet::default(),
        pos,
    };
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::type_condition => frag.type_condition = p.into_inner().next().map(build_name),
            Rule::directives => frag.directives = build_directives(p)?,
            Rule::selection_set => frag.selection_set = build_selection_set(p)?,
            _ => return Err(unexpected(&p)),
        }
    }
    Ok(frag)
}

fn build_fragment(pair: Pair<'_>) -> Result<Fragment, Error> {
    let pos = pos_of(&pair);
    let mut name = None;
    let mut cond = None;
    let mut directives = Vec::new();
    let mut selection_set = SelectionSet::default();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::fragment_name => name = Some(build_name(p)),
            Rule::type_condition => cond = p.into_inner().next().map(build_name),
            Rule::directives => directives = build_directives(p)?,
            Rule::selection_set => selection_set = build_selection_set(p)?,
            _ => return Err(unexpected(&p)),
        }
    }
    let missing = || Error::Syntax { pos, message: "incomplete fragment".into() };
    Ok(Fragment {
        name: name.ok_or_else(missing)?,
        type_condition: cond.ok_or_else(missing)?,
        directives,
        selection_set,
        pos,
    })
}

#[cfg(test)]
mod tests {
    use crate::ast::*;
    use crate::grammar::{ParseLimits, parse_executable};

    fn parse(s: &str) -> Document {
        parse_executable(s, &ParseLimits::default()).unwrap()
    }

    #[test]
    fn full_syntax() {
        let d = parse(
            r#"
            # a comment
            query Q($id: ID! = "0x1", $n: [Int!]! = [1, 2] @dir) @op {
              a: getCustomer(id: $id) { ...F  ... on Customer @include(if: true) { name } ... { id } }
              b: queryCustomer(filter: {name: {eq: "x\u0041"}}, first: 1, f: -1.5e3, e: ASC, z: null, t: false) { id }
            }
            fragment F on Customer { id __typename }
            mutation { x }
            { y }
            "#,
        );
        assert_eq!(d.operations.len(), 3);
        assert_eq!(d.fragments.len(), 1);
        let q = &d.operations[0];
        assert_eq!(q.name.as_ref().unwrap().value, "Q");
        assert_eq!(q.variables[1].ty.to_string(), "[Int!]!");
        assert_eq!(q.variables[0].default.as_ref().unwrap().node, Value::String("0x1".into()));
        let Selection::Field(b) = &q.selection_set.items[1] else { panic!() };
        assert_eq!(b.response_key(), "b");
        assert_eq!(b.name.pos, Pos { line: 5, column: 18 });
        let Value::Object(f) = &b.arguments[0].value.node else { panic!() };
        let Value::Object(eq) = &f[0].1.node else { panic!() };
        assert_eq!(eq[0].1.node, Value::String("xA".into()));
        assert_eq!(b.arguments[2].value.node, Value::Float(-1500.0));
        assert_eq!(b.arguments[3].value.node, Value::Enum("ASC".into()));
        assert_eq!(b.arguments[4].value.node, Value::Null);
        assert_eq!(b.arguments[5].value.node, Value::Boolean(false));
        assert_eq!(d.operations[1].kind, OperationKind::Mutation);
        assert_eq!(d.operations[2].kind, OperationKind::Query);
    }

    #[test]
    fn keywords_are_whole_words() {
        assert!(parse_executable("queryX { a }", &ParseLimits::default()).is_err());
        let d = parse("{ on fragment query true: null }");
        let names: Vec<_> = d.operations[0]
            .selection_set
            .items
            .iter()
            .map(|s| match s {
                Selection::Field(f) => f.response_key().to_string(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(names, ["on", "fragment", "query", "true"]);
    }

    #[test]
    fn type_system_definitions_are_kept_for_validation() {
        let d = parse("type T { a: Int } { a }");
        assert_eq!(d.type_system.len(), 1);
        assert_eq!(d.operations.len(), 1);
    }

    #[test]
    fn block_string_arguments() {
        let d = parse("{ a(s: \"\"\"\n   x\n     y \\\"\"\" \n\"\"\") }");
        let Selection::Field(f) = &d.operations[0].selection_set.items[0] else { panic!() };
        assert_eq!(f.arguments[0].value.node, Value::String("x\n  y \"\"\" ".into()));
    }

    #[test]
    fn variables_in_defaults_are_refused() {
        let e = parse_executable("query($a: Int = $b) { a }", &ParseLimits::default()).unwrap_err();
        assert_eq!(e.to_string(), "syntax error at 1:17: a default value cannot use variable $b");
    }
}
