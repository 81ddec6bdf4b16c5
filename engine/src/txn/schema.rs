//! Catalog changes through a transaction, with the rule that dropping or retyping what holds
//! data needs `force` (and then drops the data in the same transaction).

use std::sync::Arc;

use crate::catalog::{CatalogChange, EdgeId, PropId, TypeId};
use crate::error::{Error, Result};
use crate::index::Direction;
use crate::record::Op;
use crate::snapshot::Snapshot;

use super::WriteTxn;

impl WriteTxn<'_> {
    /// Changes the catalog. Adding is always allowed. Dropping or retyping something that holds
    /// data is refused unless `force`, and then its data goes with it in this transaction.
    pub fn alter(&mut self, change: CatalogChange, force: bool) -> Result<()> {
        if matches!(change, CatalogChange::Restore { .. }) {
            return Err(Error::Catalog("a whole catalog is restored only by compaction".into()));
        }
        let holds = match &change {
            CatalogChange::DropProperty { prop } | CatalogChange::RetypeProperty { prop, .. } => {
                self.prop_holders(*prop)?.first().map(|_| self.catalog.property_name(*prop))
            }
            CatalogChange::DropEdge { edge } => {
                self.edge_has_data(*edge)?.then(|| self.catalog.edge_name(*edge))
            }
            CatalogChange::DropType { ty } => {
                self.type_has_nodes(*ty)?.then(|| self.catalog.type_name(*ty).to_string())
            }
            _ => None,
        };
        if let Some(what) = holds
            && !force
        {
            return Err(Error::Catalog(format!("{what} holds data; force the change to drop it")));
        }
        let mut next = self.catalog.clone();
        next.apply(&change)?;
        match &change {
            CatalogChange::RetypeProperty { prop, .. } => {
                for uid in self.prop_holders(*prop)? {
                    self.remove(uid, *prop)?;
                }
            }
            CatalogChange::SetInverse { a, b } => {
                let mut mirror = Vec::new();
                for (from, to) in [(*a, *b), (*b, *a)] {
                    for src in self.nodes_of(self.catalog.edge(from)?.source)? {
                        for dst in self.neighbors(from, Direction::Out, src)? {
                            mirror.push((to, dst, src));
                        }
                    }
                }
                self.catalog = next;
                self.steps.push(Op::Catalog(Box::new(change)));
                for (edge, src, dst) in mirror {
                    self.raw_edge(edge, src, dst, true);
                }
                return Ok(());
            }
            _ => {}
        }
        self.catalog = next;
        self.steps.push(Op::Catalog(Box::new(change)));
        Ok(())
    }

    /// Live nodes of a type, as the transaction sees them.
    fn nodes_of(&self, ty: TypeId) -> Result<Vec<u64>> {
        let snap = Snapshot::new(Arc::clone(&self.state));
        let mut out: Vec<u64> = snap
            .nodes_of_type(ty)
            .into_iter()
            .map(|d| snap.uid(d))
            .filter(|u| !self.nodes.contains(*u))
            .collect();
        out.extend(self.nodes.iter().filter(|(_, t)| *t == Some(ty)).map(|(u, _)| u));
        out.sort_unstable();
        Ok(out)
    }

    fn prop_holders(&self, prop: PropId) -> Result<Vec<u64>> {
        let owner = self.catalog.property(prop)?.owner;
        let mut out = Vec::new();
        for uid in self.nodes_of(owner)? {
            if self.value(uid, prop)?.is_some() {
                out.push(uid);
            }
        }
        Ok(out)
    }

    fn edge_has_data(&mut self, edge: EdgeId) -> Result<bool> {
        let source = self.catalog.edge(edge)?.source;
        for uid in self.nodes_of(source)? {
            if !self.neighbors(edge, Direction::Out, uid)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn type_has_nodes(&self, ty: TypeId) -> Result<bool> {
        self.catalog.node_type(ty)?;
        Ok(!self.nodes_of(ty)?.is_empty())
    }
}
