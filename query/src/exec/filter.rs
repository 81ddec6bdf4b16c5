//! Filter evaluation: candidates from the secondary indexes where one answers, and the check
//! of each node against the whole filter.

use std::ops::Bound;

use quiver_engine::{Dense, Direction, EdgeId, IndexKind, PropId, Snapshot, TypeId, ValueView, keys_of_text};

use crate::plan::filter::{Cmp, Filter, HasField, PropBinding};

type R<T> = Result<T, quiver_engine::Error>;

pub(super) fn prop_for(binding: &PropBinding, ty: TypeId) -> Option<u32> {
    binding.iter().find(|(t, _)| *t == ty).map(|(_, p)| *p)
}

/// Nodes of the given concrete types that may match `filter`, sorted by uid, from an index
/// when the filter (or one conjunct of it) is answerable by one; `None` when it is not.
pub(super) fn candidates(snap: &Snapshot, types: &[TypeId], filter: &Filter) -> R<Option<Vec<Dense>>> {
    let of_types = |v: Vec<Dense>| -> Vec<Dense> {
        v.into_iter().filter(|d| types.contains(&snap.node_type(*d))).collect()
    };
    let per_prop = |props: &PropBinding, f: &dyn Fn(u32) -> R<Vec<Dense>>| -> R<Vec<Dense>> {
        let mut out = Vec::new();
        for (t, p) in props {
            if types.contains(t) {
                out.extend(f(*p)?);
            }
        }
        Ok(out)
    };
    let found = match filter {
        Filter::Ids(uids) => Some(uids.iter().filter_map(|u| snap.dense(*u)).collect()),
        Filter::Compare { props, op: Cmp::Eq, value, eq_indexed: true, .. } => {
            Some(per_prop(props, &|p| snap.lookup_eq(p, value))?)
        }
        Filter::Compare { props, op, value, order_indexed: true, .. } => {
            let (lo, hi) = match op {
                Cmp::Eq => (Bound::Included(value), Bound::Included(value)),
                Cmp::Lt => (Bound::Unbounded, Bound::Excluded(value)),
                Cmp::Le => (Bound::Unbounded, Bound::Included(value)),
                Cmp::Gt => (Bound::Excluded(value), Bound::Unbounded),
                Cmp::Ge => (Bound::Included(value), Bound::Unbounded),
            };
            Some(per_prop(props, &|p| snap.range(p, lo, hi))?)
        }
        Filter::In { props, values, eq_indexed: true } => {
            let mut out = Vec::new();
            for v in values {
                out.extend(per_prop(props, &|p| snap.lookup_eq(p, v))?);
            }
            Some(out)
        }
        Filter::Between { props, min, max } if props.iter().all(|(_, p)| order_indexed(snap, *p)) => {
            Some(per_prop(props, &|p| snap.range(p, Bound::Included(min), Bound::Included(max)))?)
        }
        Filter::Text { props, kind, all, text }
            if props.iter().all(|(_, p)| text_indexed(snap, *p, *kind)) =>
        {
            Some(per_prop(props, &|p| snap.search_text(p, *kind, text, *all))?)
        }
        Filter::Regexp { props, literals: Some(lits), .. }
            if props.iter().all(|(_, p)| text_indexed(snap, *p, IndexKind::Trigram)) =>
        {
            let mut out = Vec::new();
            for l in lits {
                out.extend(per_prop(props, &|p| snap.search_text(p, IndexKind::Trigram, l, true))?);
            }
            Some(out)
        }
        Filter::All(parts) => {
            let mut best: Option<Vec<Dense>> = None;
            for part in parts {
                if let Some(c) = candidates(snap, types, part)?
                    && best.as_ref().is_none_or(|b| c.len() < b.len())
                {
                    best = Some(c);
                }
            }
            best
        }
        Filter::Any(parts) => {
            let mut out = Vec::new();
            for part in parts {
                match candidates(snap, types, part)? {
                    Some(c) => out.extend(c),
                    None => return Ok(None),
                }
            }
            Some(out)
        }
        _ => None,
    };
    Ok(found.map(|v| {
        let mut v = of_types(v);
        v.sort_unstable_by_key(|d| snap.uid(*d));
        v.dedup();
        v
    }))
}

fn order_indexed(snap: &Snapshot, p: u32) -> bool {
    snap.catalog().property(p).is_ok_and(|p| p.indexes.has_order())
}

fn text_indexed(snap: &Snapshot, p: u32, kind: IndexKind) -> bool {
    use quiver_engine::IndexSet;
    let need = match kind {
        IndexKind::Term => IndexSet::TERM,
        IndexKind::Fulltext => IndexSet::FULLTEXT,
        _ => IndexSet::TRIGRAM,
    };
    snap.catalog().property(p).is_ok_and(|p| p.indexes.contains(need))
}

/// What evaluating a filter reads about one node: a node of a snapshot, or (for the filters
/// of a mutation operation) a node as its write transaction sees it.
pub(crate) trait NodeSource {
    /// The node's engine type (`None`: it does not exist).
    fn node_type(&mut self) -> Option<TypeId>;
    /// The node's uid.
    fn uid(&mut self) -> u64;
    /// `test` applied to the node's value of `prop` (`None` when it has none).
    fn value_test(&mut self, prop: PropId, test: &mut dyn FnMut(Option<&ValueView<'_>>) -> bool) -> R<bool>;
    /// Whether the node has a target along `edge`.
    fn has_edges(&mut self, edge: EdgeId) -> R<bool>;
}

/// A node of a snapshot.
struct SnapshotNode<'a> {
    snap: &'a Snapshot,
    node: Dense,
}

impl NodeSource for SnapshotNode<'_> {
    fn node_type(&mut self) -> Option<TypeId> {
        Some(self.snap.node_type(self.node))
    }

    fn uid(&mut self) -> u64 {
        self.snap.uid(self.node)
    }

    fn value_test(&mut self, prop: PropId, test: &mut dyn FnMut(Option<&ValueView<'_>>) -> bool) -> R<bool> {
        Ok(test(self.snap.value(self.node, prop)?.as_ref()))
    }

    fn has_edges(&mut self, edge: EdgeId) -> R<bool> {
        Ok(!self.snap.neighbors(edge, Direction::Out, self.node).is_empty())
    }
}

/// Whether `node` satisfies `filter`.
pub(super) fn matches(snap: &Snapshot, filter: &Filter, node: Dense) -> R<bool> {
    eval(&mut SnapshotNode { snap, node }, filter)
}

/// Whether the node `src` reads satisfies `filter`.
pub(crate) fn eval<S: NodeSource>(src: &mut S, filter: &Filter) -> R<bool> {
    let Some(ty) = src.node_type() else { return Ok(false) };
    let scalar_any = |src: &mut S, props: &PropBinding, test: &dyn Fn(&ValueView<'_>) -> bool| -> R<bool> {
        let Some(p) = prop_for(props, ty) else { return Ok(false) };
        src.value_test(p, &mut |v| match v {
            Some(ValueView::List(items)) => items.iter().any(|x| test(&x)),
            Some(v) => test(v),
            None => false,
        })
    };
    Ok(match filter {
        Filter::All(parts) => {
            for p in parts {
                if !eval(src, p)? {
                    return Ok(false);
                }
            }
            true
        }
        Filter::Any(parts) => {
            for p in parts {
                if eval(src, p)? {
                    return Ok(true);
                }
            }
            false
        }
        Filter::Not(f) => !eval(src, f)?,
        Filter::Ids(uids) => uids.binary_search(&src.uid()).is_ok(),
        Filter::Compare { props, op, value, .. } => {
            let Some(want) = value.as_scalar_view() else { return Ok(false) };
            scalar_any(src, props, &|v| {
                let same_kind = std::mem::discriminant(v) == std::mem::discriminant(&want);
                let o = v.total_cmp(&want);
                same_kind
                    && match op {
                        Cmp::Eq => o.is_eq(),
                        Cmp::Lt => o.is_lt(),
                        Cmp::Le => o.is_le(),
                        Cmp::Gt => o.is_gt(),
                        Cmp::Ge => o.is_ge(),
                    }
            })?
        }
        Filter::In { props, values, .. } => {
            scalar_any(src, props, &|v| values.iter().any(|w| v.eq_value(w)))?
        }
        Filter::Between { props, min, max } => {
            let (Some(lo), Some(hi)) = (min.as_scalar_view(), max.as_scalar_view()) else { return Ok(false) };
            scalar_any(src, props, &|v| v.total_cmp(&lo).is_ge() && v.total_cmp(&hi).is_le())?
        }
        Filter::Text { props, kind, all, text } => {
            let want = keys_of_text(*kind, text);
            if want.is_empty() {
                return Ok(false);
            }
            scalar_any(src, props, &|v| {
                let ValueView::String(s) = v else { return false };
                let have = keys_of_text(*kind, s);
                if *all {
                    want.iter().all(|k| have.contains(k))
                } else {
                    want.iter().any(|k| have.contains(k))
                }
            })?
        }
        Filter::Regexp { props, re, .. } => {
            scalar_any(src, props, &|v| matches!(v, ValueView::String(s) if re.is_match(s)))?
        }
        Filter::Has(binding) => {
            for (_, h) in binding.iter().filter(|(t, _)| *t == ty) {
                let has = match *h {
                    HasField::Prop(p) => src.value_test(p, &mut |v| match v {
                        Some(ValueView::List(items)) => !items.is_empty(),
                        Some(_) => true,
                        None => false,
                    })?,
                    HasField::Edge(e) => src.has_edges(e)?,
                    HasField::Always => true,
                };
                if has {
                    return Ok(true);
                }
            }
            false
        }
    })
}
