//! # quiver
//!
//! Quiver is a typed graph database: nodes and typed edges in crash-safe, memory-mapped,
//! append-only segments with a checkpointed CSR index, queried with nested GraphQL in the
//! style of Dgraph's generated API. This crate is the facade an embedder depends on: it
//! re-exports the layers below it and owns the `quiver` binary.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let db = quiver::Database::open(dir.path()).unwrap();
//! db.set_schema("type Person { id: ID!  name: String! @search(by: [hash])  knows: [Person] }").unwrap();
//! db.import_json("people.json", r#"{"Person": [{"id": "0x1", "name": "Ada", "knows": [{"name": "Bob"}]}]}"#).unwrap();
//! let r = db.execute(r#"{ getPerson(id: "0x1") { name knows { id name } } }"#, &serde_json::Value::Null);
//! assert_eq!(r.json(), r#"{"data":{"getPerson":{"name":"Ada","knows":[{"id":"0x2","name":"Bob"}]}}}"#);
//! ```

pub use quiver_engine as engine;
pub use quiver_engine::{Options, Snapshot, Store, WriteTxn};
pub use quiver_query as query;
pub use quiver_query::{Database, ExportReport, ImportReport, QueryError, Response};
#[cfg(feature = "server")]
pub use quiver_server as server;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub use client::{Client, ClientError, Reply, blocking};
pub mod demo;
