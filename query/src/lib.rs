//! # quiver-query
//!
//! Quiver's query layer. It owns the two pest grammars (GraphQL executable documents and the
//! schema language), the spanned syntax trees, the schema (a user's SDL, the engine catalog it
//! maps to, and the generated Dgraph-style API), validation by the GraphQL specification's
//! rules, planning, execution over batches of uids against one engine snapshot, JSON output,
//! and JSON/NDJSON import and export. [`Database`] ties them to a data directory.
//!
//! It must never know about sockets, HTTP, the wire protocol or authentication (that is the
//! server's), nor about segments, frames or the index layout (that is the engine's): it speaks
//! to the engine only through snapshots and write transactions.

pub mod ast;
mod database;
pub mod datetime;
mod error;
mod exec;
mod export;
pub mod grammar;
mod import;
mod import_csv;
mod input;
pub mod json;
mod mutate;
pub mod plan;
pub mod schema;
pub mod validate;

pub use ast::Pos;
pub use database::{Access, CachedRun, Database, Pending, QueryLimits, Response};
pub use error::{Error, PathSegment, QueryError};
pub use export::ExportReport;
pub use grammar::{ParseLimits, parse_executable, parse_schema};
pub use import::{ImportOptions, ImportProgress, ImportReport, ProgressFn};
pub use input::{map_input, read_input};

#[cfg(test)]
mod tests {
    #[test]
    fn handles_are_shareable_across_threads() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<crate::Database>();
        shareable::<crate::Response>();
    }
}
