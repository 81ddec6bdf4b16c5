//! Execution of a [`Plan`] against one snapshot, level by level over batches of nodes: for each
//! edge field of a level, one pass over that edge type's adjacency for every node of the level
//! gives the next level. The result tree holds only dense node numbers and offsets; the JSON is
//! then written straight into the output buffer, keys in selection order, values read from the
//! memory-mapped segments.

mod aggregate;
pub(crate) mod filter;
mod introspect;
mod reach;
mod traverse;
mod write;

pub(crate) use write::write_view;

use std::cmp::Ordering;

use quiver_engine::{Dense, Direction, Snapshot, TypeId, ValueView};

use crate::error::{PathSegment, QueryError};
use crate::plan::{ItemKind, ListArgs, NodeSel, OrderKey, Plan, RootKind};
use crate::schema::Schema;
use aggregate::aggregate;

type R<T> = Result<T, ExecError>;

/// Why a root field could not be answered.
#[derive(Debug)]
enum ExecError {
    /// Reading the snapshot failed.
    Engine(quiver_engine::Error),
    /// The field would produce more nodes than the limit allows.
    TooManyNodes(usize),
    /// A walk count does not fit a 64-bit signed Int.
    CountOverflow,
    /// The query ran out of time.
    TimedOut(std::time::Duration),
}

impl ExecError {
    fn message(&self) -> String {
        match self {
            ExecError::Engine(e) => format!("storage error: {e}"),
            ExecError::TooManyNodes(n) => {
                format!("the query produces more than {n} nodes; narrow it with filters or first")
            }
            ExecError::CountOverflow => "the walk count does not fit an Int (2^63 - 1)".to_string(),
            ExecError::TimedOut(t) => {
                format!("the query ran longer than {} ms and was stopped", t.as_millis())
            }
        }
    }
}

impl From<quiver_engine::Error> for ExecError {
    fn from(e: quiver_engine::Error) -> ExecError {
        ExecError::Engine(e)
    }
}

/// What one query may still spend: nodes to produce (every expanded level draws from it), and
/// time.
pub(crate) struct Budget {
    left: std::cell::Cell<usize>,
    max_nodes: usize,
    deadline: Option<(std::time::Instant, std::time::Duration)>,
    /// Work done since the clock was last read, in nodes plus one per call.
    unclocked: std::cell::Cell<usize>,
}

/// How much work [`Budget::take`] lets pass between readings of the clock: reading it costs
/// about as much as expanding a small level, and a few hundred nodes take microseconds.
const CLOCK_EVERY: usize = 256;

impl Budget {
    /// A budget of `max_nodes` nodes and, if given, `max_time` from now.
    pub(crate) fn new(max_nodes: usize, max_time: Option<std::time::Duration>) -> Budget {
        let deadline = max_time.map(|t| (std::time::Instant::now() + t, t));
        Budget {
            left: std::cell::Cell::new(max_nodes),
            max_nodes,
            deadline,
            unclocked: std::cell::Cell::new(CLOCK_EVERY),
        }
    }

    /// Spends `n` nodes, and checks the clock at the first call and then once
    /// [`CLOCK_EVERY`] units of work have passed since it was last read.
    fn take(&self, n: usize) -> R<()> {
        let unclocked = self.unclocked.get().saturating_add(n + 1);
        if unclocked >= CLOCK_EVERY {
            self.unclocked.set(0);
            self.in_time()?;
        } else {
            self.unclocked.set(unclocked);
        }
        match self.left.get().checked_sub(n) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(ExecError::TooManyNodes(self.max_nodes)),
        }
    }

    /// Errors once the query has run out of time.
    fn in_time(&self) -> R<()> {
        match self.deadline {
            Some((at, max)) if std::time::Instant::now() >= at => Err(ExecError::TimedOut(max)),
            _ => Ok(()),
        }
    }
}

/// The expanded nodes of one selection: the batch, what each item produced, and which nodes
/// `@cascade` keeps.
struct Level {
    nodes: Vec<Dense>,
    items: Vec<Expanded>,
    keep: Option<Vec<bool>>,
}

enum Expanded {
    /// Nothing to precompute (scalars, uid, typename).
    Leaf,
    /// Children of each node: `children.nodes[offsets[i]..offsets[i + 1]]`; `page` is
    /// offset/first still to apply (deferred when the children are cascaded).
    Edge { offsets: Vec<u32>, child: Box<Level>, page: Option<(usize, Option<usize>)> },
    /// The aggregate of each node's neighbours.
    Aggregate(Vec<Vec<write::AggValue>>),
}

/// Runs `plan` and appends the `data` object to `out`; field errors go to `errors` with the
/// field's value null. At most `max_nodes` nodes are produced over the whole query; past that, the root field
/// being answered is null with an error saying so.
pub fn run(
    snap: &Snapshot,
    schema: &Schema,
    api: &crate::schema::api::Api,
    plan: &Plan,
    budget: &Budget,
    out: &mut String,
    errors: &mut Vec<QueryError>,
) {
    let w = write::Writer { snap, schema, api };
    out.push('{');
    for (i, root) in plan.roots.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::json::write_str(out, &root.key);
        out.push(':');
        let mark = out.len();
        if let Err(e) = run_root(snap, schema, &w, budget, &root.kind, out) {
            out.truncate(mark);
            out.push_str("null");
            errors.push(
                QueryError::new(e.message()).at(root.pos).with_path(vec![PathSegment::Key(root.key.clone())]),
            );
        }
    }
    out.push('}');
}

fn run_root(
    snap: &Snapshot,
    schema: &Schema,
    w: &write::Writer<'_>,
    budget: &Budget,
    kind: &RootKind,
    out: &mut String,
) -> R<()> {
    match kind {
        RootKind::Typename(t) => crate::json::write_str(out, t),
        RootKind::Get { ty, uid, xids, sel } => {
            let types = engine_types(schema, *ty);
            let mut found: Option<Vec<Dense>> = uid.map(|u| snap.dense(u).into_iter().collect());
            for (props, value) in xids {
                let mut hits = Vec::new();
                for (t, p) in props {
                    if types.contains(t) {
                        hits.extend(snap.lookup_eq(*p, value)?);
                    }
                }
                found = Some(match found {
                    None => hits,
                    Some(prev) => prev.into_iter().filter(|d| hits.contains(d)).collect(),
                });
            }
            let nodes: Vec<Dense> = found
                .unwrap_or_default()
                .into_iter()
                .filter(|d| types.contains(&snap.node_type(*d)))
                .take(1)
                .collect();
            budget.take(nodes.len())?;
            let level = expand(snap, budget, sel, nodes, None)?;
            if level.nodes.is_empty() || !kept(&level, 0) {
                out.push_str("null");
            } else {
                w.node(out, sel, &level, 0)?;
            }
        }
        RootKind::List { ty, args, sel } => {
            let mut nodes = root_nodes(snap, &engine_types(schema, *ty), args.filter.as_ref())?;
            sort_nodes(snap, &mut nodes, &args.order)?;
            let deferred = sel.cascade.is_some();
            if !deferred {
                paginate(&mut nodes, args);
            }
            budget.take(nodes.len())?;
            let level = expand(snap, budget, sel, nodes, None)?;
            out.push('[');
            let mut first = true;
            let idx: Vec<usize> = (0..level.nodes.len()).filter(|&i| kept(&level, i)).collect();
            let idx: Vec<usize> = if deferred { page(idx, args.offset, args.first) } else { idx };
            for i in idx {
                if !first {
                    out.push(',');
                }
                first = false;
                w.node(out, sel, &level, i)?;
            }
            out.push(']');
        }
        RootKind::Introspect { type_name, sel } => introspect::write(w.api, type_name.as_deref(), sel, out),
        RootKind::ShortestPath { from, to, edges, max_depth } => {
            let path = match (snap.dense(*from), snap.dense(*to)) {
                (Some(a), Some(b)) => traverse::shortest_path(snap, budget, edges, a, b, *max_depth)?,
                _ => None,
            };
            match path {
                None => out.push_str("null"),
                Some(path) => {
                    budget.take(path.len())?;
                    out.push('[');
                    for (i, d) in path.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        crate::json::write_uid(out, snap.uid(*d));
                    }
                    out.push(']');
                }
            }
        }
        RootKind::Aggregate { ty, filter: f, sel } => {
            let nodes = root_nodes(snap, &engine_types(schema, *ty), f.as_ref())?;
            let values = aggregate(snap, sel, &nodes)?;
            w.aggregate(out, sel, &values);
        }
    }
    Ok(())
}

fn engine_types(schema: &Schema, ty: usize) -> Vec<TypeId> {
    schema.concrete(ty).iter().filter_map(|&c| schema.types[c].engine).collect()
}

/// Writes the nodes `uids` of user type `ty` that pass `args` as a list (a mutation payload's
/// nodes); the error message when that fails.
#[allow(clippy::too_many_arguments)]
pub fn write_nodes(
    snap: &Snapshot,
    schema: &Schema,
    api: &crate::schema::api::Api,
    ty: usize,
    uids: &[u64],
    args: &ListArgs,
    sel: &NodeSel,
    budget: &Budget,
    out: &mut String,
) -> Result<(), String> {
    let mut ids = uids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let filter = match &args.filter {
        Some(f) => crate::plan::Filter::All(vec![crate::plan::Filter::Ids(ids), f.clone()]),
        None => crate::plan::Filter::Ids(ids),
    };
    let kind =
        RootKind::List { ty, args: ListArgs { filter: Some(filter), ..args.clone() }, sel: sel.clone() };
    let w = write::Writer { snap, schema, api };
    let mark = out.len();
    run_root(snap, schema, &w, budget, &kind, out).map_err(|e| {
        out.truncate(mark);
        e.message()
    })
}

/// The nodes of the types that pass the filter (all of them without one), by uid.
pub fn matching(
    snap: &Snapshot,
    types: &[TypeId],
    f: Option<&crate::plan::Filter>,
) -> Result<Vec<Dense>, String> {
    root_nodes(snap, types, f).map_err(|e| e.message())
}

/// The nodes of the types that pass the filter, by uid: candidates from an index when one
/// answers the filter, else every node of the types, then each tested.
fn root_nodes(snap: &Snapshot, types: &[TypeId], f: Option<&crate::plan::Filter>) -> R<Vec<Dense>> {
    let Some(f) = f else { return Ok(all_nodes(snap, types)) };
    let candidates = match filter::candidates(snap, types, f)? {
        Some(c) => c,
        None => all_nodes(snap, types),
    };
    let mut kept = Vec::with_capacity(candidates.len());
    for d in candidates {
        if filter::matches(snap, f, d)? {
            kept.push(d);
        }
    }
    Ok(kept)
}

/// Every node of the types, by uid.
fn all_nodes(snap: &Snapshot, types: &[TypeId]) -> Vec<Dense> {
    let mut out = Vec::new();
    for t in types {
        out.extend(snap.nodes_of_type(*t));
    }
    if types.len() > 1 {
        out.sort_unstable_by_key(|d| snap.uid(*d));
    }
    out
}

fn kept(level: &Level, i: usize) -> bool {
    level.keep.as_ref().is_none_or(|k| k[i])
}

fn paginate(nodes: &mut Vec<Dense>, args: &ListArgs) {
    if args.offset > 0 {
        nodes.drain(..args.offset.min(nodes.len()));
    }
    if let Some(n) = args.first {
        nodes.truncate(n);
    }
}

fn page<T>(v: Vec<T>, offset: usize, first: Option<usize>) -> Vec<T> {
    v.into_iter().skip(offset).take(first.unwrap_or(usize::MAX)).collect()
}

/// Sorts by the order keys (nodes without a value last), then by uid; by uid alone when
/// there are no keys.
fn sort_nodes(snap: &Snapshot, nodes: &mut [Dense], order: &[OrderKey]) -> R<()> {
    if order.is_empty() {
        if !nodes.is_sorted_by_key(|d| snap.uid(*d)) {
            nodes.sort_unstable_by_key(|d| snap.uid(*d));
        }
        return Ok(());
    }
    let mut keyed: Vec<(Vec<Option<ValueView<'_>>>, u64, Dense)> = Vec::with_capacity(nodes.len());
    for &d in nodes.iter() {
        let ty = snap.node_type(d);
        let mut keys = Vec::with_capacity(order.len());
        for k in order {
            keys.push(match filter::prop_for(&k.props, ty) {
                Some(p) => snap.value(d, p)?,
                None => None,
            });
        }
        keyed.push((keys, snap.uid(d), d));
    }
    keyed.sort_by(|a, b| {
        for (i, k) in order.iter().enumerate() {
            let o = match (&a.0[i], &b.0[i]) {
                (Some(x), Some(y)) => {
                    let o = x.total_cmp(y);
                    if k.desc { o.reverse() } else { o }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.1.cmp(&b.1)
    });
    for (slot, k) in nodes.iter_mut().zip(keyed) {
        *slot = k.2;
    }
    Ok(())
}

/// Expands a selection over a batch of nodes, recursively, one batch per edge field per level.
/// The nodes above a level made by a `@recurse` edge: node `i`'s parent is
/// `nodes[parent[i]]`, whose own parent is found through `up`, to where the recursion began.
struct Lineage<'a> {
    parent: Vec<u32>,
    nodes: &'a [Dense],
    up: Option<&'a Lineage<'a>>,
}

/// Whether `c` is node `i` of a level or one of its ancestors along `lineage`.
fn on_path(nodes: &[Dense], lineage: Option<&Lineage<'_>>, i: usize, c: Dense) -> bool {
    if nodes[i] == c {
        return true;
    }
    let (mut at, mut idx) = (lineage, i);
    while let Some(l) = at {
        idx = l.parent[idx] as usize;
        if l.nodes[idx] == c {
            return true;
        }
        at = l.up;
    }
    false
}

fn expand(
    snap: &Snapshot,
    budget: &Budget,
    sel: &NodeSel,
    nodes: Vec<Dense>,
    lineage: Option<&Lineage<'_>>,
) -> R<Level> {
    let mut items = Vec::with_capacity(sel.items.len());
    let mut scratch: Vec<Dense> = Vec::new();
    for item in &sel.items {
        items.push(match &item.kind {
            ItemKind::Edge { edges, args, sel: child_sel, acyclic, .. } => {
                let mut offsets = Vec::with_capacity(nodes.len() + 1);
                let mut children: Vec<Dense> = Vec::new();
                offsets.push(0u32);
                let deferred = child_sel.cascade.is_some();
                let views: Vec<_> =
                    edges.iter().map(|(t, e)| (*t, snap.adjacency(*e, Direction::Out))).collect();
                let allowed = match &args.filter {
                    Some(f) => index_prefilter(snap, edges, &views, &nodes, f)?,
                    None => None,
                };
                for &n in &nodes {
                    let ty = snap.node_type(n);
                    let mut bound = false;
                    scratch.clear();
                    for (_, adj) in views.iter().filter(|(t, _)| *t == ty) {
                        scratch.extend_from_slice(adj.neighbors(n));
                        bound = true;
                    }
                    if bound {
                        if *acyclic {
                            let i = offsets.len() - 1;
                            scratch.retain(|&c| !on_path(&nodes, lineage, i, c));
                        }
                        if let Some(f) = &args.filter {
                            let mut kept = 0;
                            for i in 0..scratch.len() {
                                let d = scratch[i];
                                if allowed.as_ref().is_none_or(|a| a.binary_search(&d).is_ok())
                                    && filter::matches(snap, f, d)?
                                {
                                    scratch[kept] = scratch[i];
                                    kept += 1;
                                }
                            }
                            scratch.truncate(kept);
                        }
                        sort_nodes(snap, &mut scratch, &args.order)?;
                        if deferred {
                            children.extend_from_slice(&scratch);
                        } else {
                            let end = scratch
                                .len()
                                .min(args.offset.saturating_add(args.first.unwrap_or(usize::MAX)));
                            children.extend_from_slice(&scratch[args.offset.min(end)..end]);
                        }
                    }
                    offsets.push(children.len() as u32);
                }
                budget.take(children.len())?;
                let child = if *acyclic {
                    // Each child's parent, for the next level's path checks.
                    let mut parent = Vec::with_capacity(children.len());
                    for (i, w) in offsets.windows(2).enumerate() {
                        parent.extend(std::iter::repeat_n(i as u32, (w[1] - w[0]) as usize));
                    }
                    let lin = Lineage { parent, nodes: &nodes, up: lineage };
                    expand(snap, budget, child_sel, children, Some(&lin))?
                } else {
                    expand(snap, budget, child_sel, children, None)?
                };
                Expanded::Edge {
                    offsets,
                    child: Box::new(child),
                    page: deferred.then_some((args.offset, args.first)),
                }
            }
            ItemKind::EdgeAggregate { edges, filter: f, sel: agg, walk: Some(walk) } => {
                let mut per_node = Vec::with_capacity(nodes.len());
                for &n in &nodes {
                    let ty = snap.node_type(n);
                    let Some((_, e)) = edges.iter().find(|(t, _)| *t == ty) else {
                        per_node.push(aggregate(snap, agg, &[])?);
                        continue;
                    };
                    let reduces =
                        agg.items.iter().any(|(_, i)| matches!(i, crate::plan::AggItem::Reduce { .. }));
                    // The reductions need the nodes; a count alone never lists them.
                    let (count, nodes_for_reductions) = if walk.distinct {
                        let mut reached = Vec::new();
                        let count = reach::reach(
                            snap,
                            budget,
                            *e,
                            n,
                            walk.depth,
                            f.as_ref(),
                            reduces.then_some(&mut reached),
                        )?;
                        (count, reached)
                    } else {
                        let adj = snap.adjacency(*e, Direction::Out);
                        let count = traverse::walks(snap, budget, &adj, n, walk.depth, f.as_ref())?;
                        let ends = if reduces {
                            traverse::walk_ends(snap, budget, &adj, n, walk.depth, f.as_ref())?
                        } else {
                            Vec::new()
                        };
                        (count, ends)
                    };
                    let mut values = aggregate(snap, agg, &nodes_for_reductions)?;
                    for ((_, item), v) in agg.items.iter().zip(values.iter_mut()) {
                        if matches!(item, crate::plan::AggItem::Count) {
                            *v = write::AggValue::Int(count as i64);
                        }
                    }
                    per_node.push(values);
                }
                Expanded::Aggregate(per_node)
            }
            ItemKind::EdgeAggregate { edges, filter: f, sel: agg, walk: None } => {
                let mut per_node = Vec::with_capacity(nodes.len());
                for &n in &nodes {
                    let ty = snap.node_type(n);
                    scratch.clear();
                    for (_, e) in edges.iter().filter(|(t, _)| *t == ty) {
                        scratch.extend_from_slice(snap.neighbors(*e, Direction::Out, n));
                    }
                    if let Some(f) = f {
                        let mut kept = Vec::with_capacity(scratch.len());
                        for &d in &scratch {
                            if filter::matches(snap, f, d)? {
                                kept.push(d);
                            }
                        }
                        scratch = kept;
                    }
                    per_node.push(aggregate(snap, agg, &scratch)?);
                }
                Expanded::Aggregate(per_node)
            }
            _ => Expanded::Leaf,
        });
    }
    let mut level = Level { nodes, items, keep: None };
    if let Some(required) = &sel.cascade {
        let mut keep = vec![true; level.nodes.len()];
        for (i, k) in keep.iter_mut().enumerate() {
            for &r in required {
                if !has_item(snap, sel, &level, r, i)? {
                    *k = false;
                    break;
                }
            }
        }
        level.keep = Some(keep);
    }
    Ok(level)
}

/// Total neighbours above which an edge filter asks the index once for the nodes that can pass
/// (rejecting the rest without reading their values) rather than testing each neighbour alone.
const INDEX_PREFILTER_MIN: usize = 1024;

/// For a level whose nodes have many neighbours along the edge, the targets the filter's
/// indexed part allows (sorted dense numbers); `None` when testing each neighbour is cheaper or
/// no index answers the filter.
fn index_prefilter(
    snap: &Snapshot,
    edges: &[(TypeId, quiver_engine::EdgeId)],
    views: &[(TypeId, quiver_engine::AdjacencyView<'_>)],
    nodes: &[Dense],
    f: &crate::plan::Filter,
) -> R<Option<Vec<Dense>>> {
    let mut total = 0usize;
    for &n in nodes {
        let ty = snap.node_type(n);
        total += views.iter().filter(|(t, _)| *t == ty).map(|(_, adj)| adj.degree(n)).sum::<usize>();
    }
    if total < INDEX_PREFILTER_MIN {
        return Ok(None);
    }
    let mut targets: Vec<TypeId> = Vec::new();
    for (_, e) in edges {
        let t = snap.catalog().edge(*e)?.target;
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    Ok(filter::candidates(snap, &targets, f)?.map(|mut c| {
        c.sort_unstable();
        c
    }))
}

/// Whether node `i` of a level has item `r` (for `@cascade`).
fn has_item(snap: &Snapshot, sel: &NodeSel, level: &Level, r: usize, i: usize) -> R<bool> {
    let node = level.nodes[i];
    if sel.items[r].only.as_ref().is_some_and(|o| !o.contains(&snap.node_type(node))) {
        return Ok(true);
    }
    Ok(match (&sel.items[r].kind, &level.items[r]) {
        (ItemKind::Scalar { props, .. }, _) => match filter::prop_for(props, snap.node_type(node)) {
            Some(p) => match snap.value(node, p)? {
                Some(ValueView::List(l)) => !l.is_empty(),
                Some(_) => true,
                None => false,
            },
            None => false,
        },
        (ItemKind::Edge { .. }, Expanded::Edge { offsets, child, .. }) => {
            (offsets[i] as usize..offsets[i + 1] as usize).any(|c| kept(child, c))
        }
        _ => true,
    })
}
