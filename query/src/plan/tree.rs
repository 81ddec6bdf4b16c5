//! The plan tree: what execution fetches and writes, every field bound to engine ids.

use quiver_engine::{EdgeId, PropId, ScalarType, TypeId};

use super::filter::{Filter, OrderKey, PropBinding};
use crate::ast::Pos;
use crate::schema::api::Reduce;

/// The plan of a query operation.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Root fields in response order.
    pub roots: Vec<RootField>,
}

/// One root field.
#[derive(Clone, Debug)]
pub struct RootField {
    /// Response key.
    pub key: String,
    /// What to do.
    pub kind: RootKind,
    /// Where it is written.
    pub pos: Pos,
}

/// What a root field does.
#[derive(Clone, Debug)]
pub enum RootKind {
    /// `__typename` on the root.
    Typename(String),
    /// `getT`: by uid and/or `@id` values.
    Get {
        /// User type.
        ty: usize,
        /// The uid asked for.
        uid: Option<u64>,
        /// `@id` fields asked for.
        xids: Vec<(PropBinding, quiver_engine::Value)>,
        /// What to return.
        sel: NodeSel,
    },
    /// `queryT`.
    List {
        /// User type.
        ty: usize,
        /// filter/order/first/offset.
        args: ListArgs,
        /// What to return per node.
        sel: NodeSel,
    },
    /// `__schema` or `__type(name:)`.
    Introspect {
        /// The type asked for by `__type`, or `None` for `__schema`.
        type_name: Option<String>,
        /// What to write.
        sel: MetaSel,
    },
    /// `shortestPath`.
    ShortestPath {
        /// Start node.
        from: u64,
        /// End node.
        to: u64,
        /// The engine edge types walked (forward from `from`, backward from `to`).
        edges: Vec<EdgeId>,
        /// Longest path considered, in edges.
        max_depth: usize,
    },
    /// `aggregateT`.
    Aggregate {
        /// User type.
        ty: usize,
        /// filter.
        filter: Option<Filter>,
        /// What to compute.
        sel: AggSel,
    },
}

/// A selection on an introspection type.
#[derive(Clone, Debug, Default)]
pub struct MetaSel {
    /// Response key, field name, `includeDeprecated`, and the field's own selection.
    pub items: Vec<(String, String, bool, MetaSel)>,
}

/// filter, order, first, offset.
#[derive(Clone, Debug, Default)]
pub struct ListArgs {
    /// The filter.
    pub filter: Option<Filter>,
    /// Sort keys (uid order when empty).
    pub order: Vec<OrderKey>,
    /// At most this many.
    pub first: Option<usize>,
    /// Skip this many.
    pub offset: usize,
}

/// The selection on nodes of a user type.
#[derive(Clone, Debug)]
pub struct NodeSel {
    /// The static user type.
    pub ty: usize,
    /// Output items in response order.
    pub items: Vec<Item>,
    /// `@cascade`: the items each node must have (by index), if any.
    pub cascade: Option<Vec<usize>>,
}

/// One output key of a node.
#[derive(Clone, Debug)]
pub struct Item {
    /// Response key.
    pub key: String,
    /// Concrete engine types it applies to (`None`: all).
    pub only: Option<Vec<TypeId>>,
    /// What it is.
    pub kind: ItemKind,
}

/// What an item outputs.
#[derive(Clone, Debug)]
pub enum ItemKind {
    /// The uid.
    Uid,
    /// The type name.
    Typename,
    /// A scalar field.
    Scalar {
        /// Bound per concrete type.
        props: PropBinding,
        /// Its scalar type.
        scalar: ScalarType,
        /// A list.
        list: bool,
    },
    /// An edge field.
    Edge {
        /// Bound per concrete type (several engine edge types for one source type when the
        /// field points to an interface: one per implementer).
        edges: Vec<(TypeId, EdgeId)>,
        /// A list.
        list: bool,
        /// filter/order/first/offset.
        args: ListArgs,
        /// What to return per target.
        sel: NodeSel,
        /// Part of a `@recurse`: a target already on the path from where the recursion began
        /// is left out.
        acyclic: bool,
    },
    /// `fAggregate`.
    EdgeAggregate {
        /// Bound per concrete type.
        edges: Vec<(TypeId, EdgeId)>,
        /// filter.
        filter: Option<Filter>,
        /// What to compute.
        sel: AggSel,
        /// `depth`/`distinct` of a self-typed list edge, unless they are the defaults.
        walk: Option<Walk>,
    },
}

/// How far `fAggregate` walks (SPEC §4's traversal extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walk {
    /// Edges per walk (`distinct: false`) or at most (`distinct: true`).
    pub depth: usize,
    /// Count distinct nodes reached rather than walks.
    pub distinct: bool,
}

/// The deepest `fAggregate(depth:)` allowed.
pub const MAX_WALK_DEPTH: usize = 64;

/// The selection on an aggregate result.
#[derive(Clone, Debug, Default)]
pub struct AggSel {
    /// Output items in response order.
    pub items: Vec<(String, AggItem)>,
}

/// One aggregate output.
#[derive(Clone, Debug)]
pub enum AggItem {
    /// `__typename`.
    Typename(String),
    /// `count`.
    Count,
    /// `fMin`...
    Reduce {
        /// Bound per concrete type.
        props: Vec<(TypeId, PropId)>,
        /// Which reduction.
        op: Reduce,
        /// The field's type.
        scalar: ScalarType,
    },
}
