//! The crate's error type and the GraphQL error objects a response carries.

use std::fmt;

use crate::ast::Pos;

/// Everything that can go wrong in the query layer outside a response's `errors`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text does not follow the grammar.
    #[error("syntax error at {pos}: {message}")]
    Syntax {
        /// Where.
        pos: Pos,
        /// What was expected.
        message: String,
    },
    /// The document is larger than the parser accepts.
    #[error("the document is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The document nests deeper than the parser accepts.
    #[error("the document nests deeper than {limit} levels at {pos}")]
    TooDeep {
        /// Where the limit was crossed.
        pos: Pos,
        /// The limit.
        limit: usize,
    },
    /// The schema is not a valid Quiver schema.
    #[error("schema error at {pos}: {message}")]
    Schema {
        /// Where.
        pos: Pos,
        /// What is wrong.
        message: String,
    },
    /// The schema change would lose data and was not forced.
    #[error("schema change refused: {0}")]
    Migration(String),
    /// An import file has a bad record; nothing of its batch was applied.
    #[error("{file}:{line}: {field}: {message}")]
    Import {
        /// The file (or `-` for a stream).
        file: String,
        /// 1-based line of the record.
        line: usize,
        /// The field, as a path (`Customer.orders[1].amount`), or `-` for the record.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No schema has been set on this database.
    #[error("no schema: set one first (quiver schema set)")]
    NoSchema,
    /// The storage engine failed.
    #[error(transparent)]
    Engine(#[from] quiver_engine::Error),
    /// Reading or writing a file failed. (The cause is in the message, so it is not also
    /// given as the error's `source`: chains printed cause by cause would say it twice.)
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        error: std::io::Error,
    },
}

/// One entry of a response's `errors`: GraphQL's error shape.
///
/// ```
/// use quiver_query::{Pos, QueryError};
/// let e = QueryError::new("boom").at(Pos { line: 1, column: 3 });
/// assert_eq!(e.to_json(), r#"{"message":"boom","locations":[{"line":1,"column":3}]}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct QueryError {
    /// What went wrong, for a person.
    pub message: String,
    /// Where in the document.
    pub locations: Vec<Pos>,
    /// Which response field it concerns.
    pub path: Vec<PathSegment>,
}

/// One step of an error's `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// A response key.
    Key(String),
    /// A list index.
    Index(usize),
}

impl QueryError {
    /// An error with a message only.
    pub fn new(message: impl Into<String>) -> QueryError {
        QueryError { message: message.into(), locations: Vec::new(), path: Vec::new() }
    }

    /// Adds a location.
    pub fn at(mut self, pos: Pos) -> QueryError {
        self.locations.push(pos);
        self
    }

    /// Sets the path.
    pub fn with_path(mut self, path: Vec<PathSegment>) -> QueryError {
        self.path = path;
        self
    }

    /// The error as a JSON object (no `path` or `locations` key when empty).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the error as a JSON object.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"message\":");
        crate::json::write_str(out, &self.message);
        if !self.locations.is_empty() {
            out.push_str(",\"locations\":[");
            for (i, l) in self.locations.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!("{{\"line\":{},\"column\":{}}}", l.line, l.column));
            }
            out.push(']');
        }
        if !self.path.is_empty() {
            out.push_str(",\"path\":[");
            for (i, p) in self.path.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match p {
                    PathSegment::Key(k) => crate::json::write_str(out, k),
                    PathSegment::Index(n) => out.push_str(&n.to_string()),
                }
            }
            out.push(']');
        }
        out.push('}');
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(p) = self.locations.first() {
            write!(f, " (at {p})")?;
        }
        Ok(())
    }
}

impl From<Error> for QueryError {
    fn from(e: Error) -> QueryError {
        let pos = match &e {
            Error::Syntax { pos, .. } | Error::TooDeep { pos, .. } | Error::Schema { pos, .. } => Some(*pos),
            _ => None,
        };
        let q = QueryError::new(e.to_string());
        match pos {
            Some(p) => q.at(p),
            None => q,
        }
    }
}
