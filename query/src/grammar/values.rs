//! Builders for the rules both grammars share: names, values, strings, types, directives.

use super::{Pair, Rule, pos_of};
use crate::ast::{Argument, Directive, Name, Pos, Spanned, TypeRef, Value};
use crate::error::Error;

/// A builder met a pair its grammar cannot produce: a bug in this crate, reported, not a panic.
pub(super) fn unexpected(pair: &Pair<'_>) -> Error {
    Error::Syntax { pos: pos_of(pair), message: format!("internal: unexpected {:?}", pair.as_rule()) }
}

pub(super) fn build_name(pair: Pair<'_>) -> Name {
    Name { pos: pos_of(&pair), value: pair.as_str().to_string() }
}

pub(super) fn build_value(pair: Pair<'_>) -> Result<Spanned<Value>, Error> {
    let pos = pos_of(&pair);
    let inner = match pair.as_rule() {
        Rule::value => {
            pair.into_inner().next().ok_or_else(|| Error::Syntax { pos, message: "value".into() })?
        }
        _ => pair,
    };
    let node = match inner.as_rule() {
        Rule::variable => Value::Variable(inner.as_str()[1..].to_string()),
        Rule::int => Value::Int(inner.as_str().to_string()),
        Rule::float => {
            let x: f64 = inner
                .as_str()
                .parse()
                .map_err(|_| Error::Syntax { pos, message: format!("{} is not a float", inner.as_str()) })?;
            if !x.is_finite() {
                return Err(Error::Syntax { pos, message: format!("{} is out of range", inner.as_str()) });
            }
            Value::Float(x)
        }
        Rule::string => Value::String(build_string(inner)?),
        Rule::boolean => Value::Boolean(inner.as_str() == "true"),
        Rule::null => Value::Null,
        Rule::enum_value => Value::Enum(inner.as_str().to_string()),
        Rule::list => Value::List(inner.into_inner().map(build_value).collect::<Result<_, _>>()?),
        Rule::object => Value::Object(
            inner
                .into_inner()
                .map(|f| {
                    let mut it = f.into_inner();
                    let (Some(n), Some(v)) = (it.next(), it.next()) else {
                        return Err(Error::Syntax { pos, message: "object field".into() });
                    };
                    Ok((build_name(n), build_value(v)?))
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(unexpected(&inner)),
    };
    Ok(Spanned { node, pos })
}

/// A string literal's value: escapes resolved (quoted) or indentation removed (block). Takes a
/// `description`, `string`, `block_string` or `quoted_string` pair.
pub(super) fn build_string(pair: Pair<'_>) -> Result<String, Error> {
    let pos = pos_of(&pair);
    match pair.as_rule() {
        Rule::description | Rule::string => {
            let inner = pair.into_inner().next().ok_or(Error::Syntax { pos, message: "string".into() })?;
            build_string(inner)
        }
        Rule::block_string => {
            let raw = pair.into_inner().next().map_or("", |p| p.as_str());
            Ok(block_string_value(&raw.replace("\\\"\"\"", "\"\"\"")))
        }
        Rule::quoted_string => unescape(pair.into_inner().next().map_or("", |p| p.as_str()), pos),
        _ => Err(unexpected(&pair)),
    }
}

/// Resolves the escapes of a quoted string, including `\u{...}` and surrogate pairs.
fn unescape(raw: &str, pos: Pos) -> Result<String, Error> {
    let bad = |m: String| Error::Syntax { pos, message: m };
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let code = read_unicode(&mut chars).ok_or_else(|| bad("invalid unicode escape".into()))?;
                let scalar = if (0xD800..0xDC00).contains(&code) {
                    // A leading surrogate must be followed by an escaped trailing one.
                    let mut ahead = chars.clone();
                    let trail = match (ahead.next(), ahead.next()) {
                        (Some('\\'), Some('u')) => read_unicode(&mut ahead),
                        _ => None,
                    };
                    match trail {
                        Some(t) if (0xDC00..0xE000).contains(&t) => {
                            chars = ahead;
                            0x10000 + ((code - 0xD800) << 10) + (t - 0xDC00)
                        }
                        _ => return Err(bad(format!("unpaired surrogate \\u{code:04X}"))),
                    }
                } else {
                    code
                };
                let ch = char::from_u32(scalar)
                    .ok_or_else(|| bad(format!("\\u{{{scalar:X}}} is not a unicode scalar value")))?;
                out.push(ch);
            }
            _ => return Err(bad("invalid escape".into())),
        }
    }
    Ok(out)
}

fn read_unicode(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<u32> {
    if chars.peek() == Some(&'{') {
        chars.next();
        let mut code: u32 = 0;
        for (n, c) in chars.by_ref().enumerate() {
            if c == '}' {
                return (n > 0).then_some(code);
            }
            code = code.checked_mul(16)?.checked_add(c.to_digit(16)?)?;
        }
        None
    } else {
        let mut code = 0;
        for _ in 0..4 {
            code = code * 16 + chars.next()?.to_digit(16)?;
        }
        Some(code)
    }
}

/// GraphQL's BlockStringValue: common indentation and blank first/last lines removed.
fn block_string_value(raw: &str) -> String {
    let lines: Vec<&str> = raw.split("\r\n").flat_map(|l| l.split(['\n', '\r'])).collect();
    let indent = lines
        .iter()
        .skip(1)
        .filter_map(|l| {
            let n = l.chars().take_while(|c| *c == ' ' || *c == '\t').count();
            (n < l.chars().count()).then_some(n)
        })
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { (*l).to_string() } else { l.chars().skip(indent).collect() })
        .collect();
    let blank = |l: &String| l.chars().all(|c| c == ' ' || c == '\t');
    while out.first().is_some_and(blank) {
        out.remove(0);
    }
    while out.last().is_some_and(blank) {
        out.pop();
    }
    out.join("\n")
}

pub(super) fn build_type_ref(pair: Pair<'_>) -> Result<TypeRef, Error> {
    let mut base = None;
    let mut non_null = false;
    for p in pair.clone().into_inner() {
        match p.as_rule() {
            Rule::name => base = Some(TypeRef::Named(p.as_str().to_string())),
            Rule::list_type => {
                let inner = p.into_inner().next().ok_or_else(|| unexpected(&pair))?;
                base = Some(TypeRef::List(Box::new(build_type_ref(inner)?)));
            }
            Rule::non_null => non_null = true,
            _ => return Err(unexpected(&p)),
        }
    }
    let base = base.ok_or_else(|| unexpected(&pair))?;
    Ok(if non_null { TypeRef::NonNull(Box::new(base)) } else { base })
}

pub(super) fn build_directives(pair: Pair<'_>) -> Result<Vec<Directive>, Error> {
    pair.into_inner().map(build_directive).collect()
}

fn build_directive(pair: Pair<'_>) -> Result<Directive, Error> {
    let pos = pos_of(&pair);
    let mut it = pair.into_inner();
    let name = build_name(it.next().ok_or(Error::Syntax { pos, message: "directive".into() })?);
    let arguments = match it.next() {
        Some(args) => build_arguments(args)?,
        None => Vec::new(),
    };
    Ok(Directive { name, arguments, pos })
}

pub(super) fn build_arguments(pair: Pair<'_>) -> Result<Vec<Argument>, Error> {
    pair.into_inner()
        .map(|a| {
            let pos = pos_of(&a);
            let mut it = a.into_inner();
            let (Some(n), Some(v)) = (it.next(), it.next()) else {
                return Err(Error::Syntax { pos, message: "argument".into() });
            };
            Ok(Argument { name: build_name(n), value: build_value(v)? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_strings_lose_common_indentation() {
        assert_eq!(
            block_string_value("\n    Hello,\n      World!\n\n    Yours,\n      GraphQL.\n  "),
            "Hello,\n  World!\n\nYours,\n  GraphQL."
        );
        assert_eq!(block_string_value("  one line  "), "  one line  ");
    }

    #[test]
    fn escapes_resolve() {
        let p = Pos::default();
        assert_eq!(unescape(r#"a\"b\\c\/\n\u00e9\u{1F600}\uD83D\uDE00"#, p).unwrap(), "a\"b\\c/\né😀😀");
        assert!(unescape(r"\uD83D", p).is_err());
        assert!(unescape(r"\u{110000}", p).is_err());
        assert!(unescape(r"\uDE00", p).is_err());
    }
}
