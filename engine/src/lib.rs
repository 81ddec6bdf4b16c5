//! # quiver-engine
//!
//! Quiver's storage engine. It owns the data directory: append-only log segments of
//! CRC-checked records (one per committed transaction), the catalog of node types, edge types
//! and property keys, the index (uid lookup, CSR adjacency in both directions for every edge
//! type, secondary indexes) with its checkpoints, snapshots for readers, the single writer with
//! group commit, recovery after a crash, compaction and verification.
//!
//! It must never know about GraphQL, JSON, the network or any query language: its callers speak
//! in uids, type/edge/property ids and [`Value`]s.
//!
//! ```
//! use quiver_engine::{CatalogChange, Direction, IndexSet, ScalarType, Store, Value};
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path()).unwrap();
//! let mut txn = store.write().unwrap();
//! txn.alter(CatalogChange::AddType { name: "Person".into() }, false).unwrap();
//! txn.alter(CatalogChange::AddProperty {
//!     owner: 0, name: "name".into(), ty: ScalarType::String, list: false, indexes: IndexSet::UNIQUE,
//! }, false).unwrap();
//! txn.alter(CatalogChange::AddEdge { source: 0, name: "knows".into(), target: 0, list: true }, false).unwrap();
//! let ada = txn.create_node(0, None).unwrap();
//! let bob = txn.create_node(0, None).unwrap();
//! txn.set(ada, 0, Value::String("Ada".into())).unwrap();
//! txn.add_edge(0, ada, bob).unwrap();
//! txn.commit().unwrap();
//!
//! let snap = store.snapshot();
//! let a = snap.lookup_eq(0, &Value::String("Ada".into())).unwrap()[0];
//! let knows: Vec<u64> = snap.neighbors(0, Direction::Out, a).iter().map(|&d| snap.uid(d)).collect();
//! assert_eq!(knows, vec![bob]);
//! ```

#[cfg(target_endian = "big")]
compile_error!("quiver-engine's on-disk format is little-endian and mapped in place");

mod catalog;
mod check;
mod checkpoint;
mod compaction;
mod error;
mod header;
mod index;
mod io;
mod manifest;
mod mmap;
mod record;
mod recovery;
mod segment;
mod snapshot;
mod store;
mod txn;
mod value;

pub use catalog::{Catalog, CatalogChange, EdgeId, EdgeType, IndexSet, NodeType, PropId, Property, TypeId};
pub use check::CheckReport;
pub use compaction::CompactionReport;
pub use error::{Error, Result};
pub use header::FORMAT_VERSION;
pub use index::tokens::{eq_key, keys_of_text, stable_hash};
pub use index::{Dense, Direction, IndexKind};
pub use io::{Fault, FaultyIo, FileIo, OsIo};
pub use mmap::MappedFile;
pub use record::{
    FrameRead, LogRecord, Op, PropRun, UidList, ValueSlots, decode_payload, encode_frame, read_frame,
};
pub use recovery::RecoveryReport;
pub use segment::SEGMENT_HEADER;
pub use snapshot::{AdjacencyView, IndexStats, NodeRef, Snapshot};
pub use store::{Activity, BulkLoad, Durability, Options, Store};
pub use txn::WriteTxn;
pub use value::{DateTime, ListView, ScalarType, Value, ValueView, order_key};

#[cfg(test)]
mod tests {
    #[test]
    fn handles_are_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::Store>();
        shareable::<crate::Snapshot>();
    }
}
