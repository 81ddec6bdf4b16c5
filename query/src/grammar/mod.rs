//! The two pest grammars (GraphQL executable documents and the schema language) and the
//! bounds put on the parser before pest ever runs: input size, nesting depth, pest's call limit.
//!
//! `common.pest` holds what both share (names, values, strings, types, directives);
//! `executable.pest` and `sdl.pest` hold each language's structure. [`parse_executable`] and
//! [`parse_schema`] turn text into the spanned trees of [`crate::ast`] through one `build_<rule>`
//! function per rule (`executable.rs`, `sdl.rs`, `values.rs`).

mod executable;
mod sdl;
mod values;

use std::num::NonZeroUsize;
use std::sync::Once;

use pest::Parser;
use pest::error::{ErrorVariant, LineColLocation};

use crate::ast::{Document, Pos, SchemaDocument};
use crate::error::Error;

mod generated {
    //! The parser pest derives from the grammar files (its `Rule` enum names every rule).
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar/common.pest"]
    #[grammar = "grammar/executable.pest"]
    #[grammar = "grammar/sdl.pest"]
    pub struct GraphqlParser;
}
pub(crate) use generated::{GraphqlParser, Rule};

pub(crate) type Pair<'i> = pest::iterators::Pair<'i, Rule>;

/// Bounds on what the parser accepts.
///
/// ```
/// let limits = quiver_query::ParseLimits::default();
/// assert_eq!(limits.max_depth, 64);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest document in bytes. Default 1 MiB.
    pub max_bytes: usize,
    /// Deepest nesting of `{`, `[` and `(`. Default 64.
    pub max_depth: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits { max_bytes: 1 << 20, max_depth: 64 }
    }
}

/// pest's call limit: a bound on the work one parse may do (it is process-wide). With input
/// size and depth bounded this is never reached by a real document; it stops pathological
/// backtracking.
const PEST_CALL_LIMIT: usize = 50_000_000;

fn set_call_limit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| pest::set_call_limit(NonZeroUsize::new(PEST_CALL_LIMIT)));
}

/// Parses an executable document (operations and fragments).
pub fn parse_executable(src: &str, limits: &ParseLimits) -> Result<Document, Error> {
    let pair = parse(src, Rule::executable_document, limits)?;
    executable::build_document(pair)
}

/// Parses a schema document (types, interfaces, enums, scalars).
pub fn parse_schema(src: &str, limits: &ParseLimits) -> Result<SchemaDocument, Error> {
    let pair = parse(src, Rule::schema_document, limits)?;
    sdl::build_schema_document(pair)
}

/// Refuses text larger or more deeply nested than `limits` allow, without parsing it; else
/// says how deeply it nests `{`, `[` and `(`.
pub fn check_bounds(src: &str, limits: &ParseLimits) -> Result<usize, Error> {
    if src.len() > limits.max_bytes {
        return Err(Error::TooLarge { size: src.len(), limit: limits.max_bytes });
    }
    check_depth(src, limits.max_depth)
}

fn parse<'i>(src: &'i str, rule: Rule, limits: &ParseLimits) -> Result<Pair<'i>, Error> {
    check_bounds(src, limits)?;
    set_call_limit();
    let mut pairs = GraphqlParser::parse(rule, src).map_err(syntax_error)?;
    pairs.next().ok_or_else(|| Error::Syntax { pos: Pos { line: 1, column: 1 }, message: "empty".into() })
}

/// Refuses input nested deeper than `limit` before the recursive-descent parser sees it, so a
/// hostile document cannot exhaust the stack. Strings and comments are skipped.
fn check_depth(src: &str, limit: usize) -> Result<usize, Error> {
    let bytes = src.as_bytes();
    let (mut depth, mut i, mut line, mut line_start) = (0usize, 0usize, 1u32, 0usize);
    let mut deepest = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                        continue;
                    }
                    if bytes[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
                i += 3;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > limit {
                    let column = src[line_start..i].chars().count() as u32 + 1;
                    return Err(Error::TooDeep { pos: Pos { line, column }, limit });
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(deepest)
}

fn syntax_error(e: pest::error::Error<Rule>) -> Error {
    let (line, column) = match e.line_col {
        LineColLocation::Pos(p) | LineColLocation::Span(p, _) => (p.0 as u32, p.1 as u32),
    };
    let message = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| describe(*r)).collect();
            names.sort_unstable();
            names.dedup();
            match names.len() {
                0 => "unexpected input".to_string(),
                1 => format!("expected {}", names[0]),
                n => format!("expected {} or {}", names[..n - 1].join(", "), names[n - 1]),
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let message = if message.contains("call limit") || e.to_string().contains("call limit") {
        "the document is too complex to parse".to_string()
    } else {
        message
    };
    Error::Syntax { pos: Pos { line, column }, message }
}

/// How a rule is named in "expected ..." messages.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of input",
        Rule::schema_document => "a type, interface, enum or scalar definition",
        Rule::executable_document => "an operation or a fragment",
        Rule::word_type => "type",
        Rule::word_interface => "interface",
        Rule::word_enum => "enum",
        Rule::word_scalar => "scalar",
        Rule::word_implements => "implements",
        Rule::word_on => "on",
        Rule::word_fragment => "fragment",
        Rule::name | Rule::fragment_name => "a name",
        Rule::enum_value => "an enum value",
        Rule::variable => "a variable",
        Rule::value | Rule::int | Rule::float | Rule::boolean | Rule::null | Rule::list | Rule::object => {
            "a value"
        }
        Rule::string | Rule::quoted_string | Rule::block_string | Rule::description => "a string",
        Rule::type_ref | Rule::list_type => "a type",
        Rule::non_null => "\"!\"",
        Rule::directives | Rule::directive => "a directive",
        Rule::arguments => "arguments",
        Rule::argument => "an argument",
        Rule::object_field => "an object field",
        Rule::operation | Rule::operation_type => "an operation",
        Rule::fragment => "a fragment",
        Rule::type_system_definition => "a definition",
        Rule::variable_defs | Rule::variable_def => "a variable definition",
        Rule::default_value => "a default value",
        Rule::selection_set => "a selection set",
        Rule::field => "a field",
        Rule::alias_of => "an alias",
        Rule::fragment_spread | Rule::inline_fragment => "a fragment spread",
        Rule::type_condition => "a type condition",
        Rule::type_definition => "a type definition",
        Rule::interface_definition => "an interface definition",
        Rule::enum_definition => "an enum definition",
        Rule::scalar_definition => "a scalar definition",
        Rule::implements => "implements",
        Rule::fields_definition => "fields",
        Rule::field_definition => "a field definition",
        Rule::enum_values | Rule::enum_value_definition => "enum values",
        _ => return None,
    })
}

/// The position where a pair starts.
pub(crate) fn pos_of(pair: &Pair<'_>) -> Pos {
    let (line, column) = pair.line_col();
    Pos { line: line as u32, column: column as u32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_checked_before_parsing() {
        let deep = "{".repeat(100_000);
        let e = parse_executable(&deep, &ParseLimits::default()).unwrap_err();
        assert_eq!(e.to_string(), "the document nests deeper than 64 levels at 1:65");
        let in_string = format!("{{ a(s: \"{}\") }}", "{".repeat(200));
        assert!(parse_executable(&in_string, &ParseLimits::default()).is_ok());
        let in_block = format!("{{ a(s: \"\"\"{}\"\"\") }}", "[".repeat(200));
        assert!(parse_executable(&in_block, &ParseLimits::default()).is_ok());
        let in_comment = format!("# {}\n{{ a }}", "(".repeat(200));
        assert!(parse_executable(&in_comment, &ParseLimits::default()).is_ok());
    }

    #[test]
    fn size_is_checked() {
        let limits = ParseLimits { max_bytes: 10, max_depth: 64 };
        let e = parse_executable("{ aaaaaaaaaaaaaa }", &limits).unwrap_err();
        assert_eq!(e.to_string(), "the document is 18 bytes, more than the limit of 10");
    }

    #[test]
    fn syntax_errors_say_where_and_what() {
        let e = parse_executable("query {\n  a(x: )\n}", &ParseLimits::default()).unwrap_err();
        assert_eq!(e.to_string(), "syntax error at 2:8: expected a value");
        let e = parse_executable("{ a ", &ParseLimits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "syntax error at 1:5: expected a directive, a fragment spread, a name, a selection set, an alias or arguments"
        );
    }
}
