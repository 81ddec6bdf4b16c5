//! # quiver
//!
//! Quiver is a typed graph database: nodes and typed edges in crash-safe, memory-mapped,
//! append-only segments with a checkpointed CSR index. This crate is the facade an embedder
//! depends on; it re-exports the layers below it and owns the `quiver` binary.
//!
//! Today it exposes the storage engine ([`engine`]); the query language and server arrive as
//! their own crates and are re-exported here.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let store = quiver::Store::open(dir.path()).unwrap();
//! assert_eq!(store.snapshot().seq(), 0);
//! ```

pub use quiver_engine as engine;
pub use quiver_engine::{Options, Snapshot, Store, WriteTxn};
