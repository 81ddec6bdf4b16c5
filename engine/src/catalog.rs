//! The catalog: node types, edge types and property keys, with the indexes each property asks for.
//!
//! Ids are positions in the catalog's vectors and are never reused: a dropped entry stays as a
//! tombstone so that every record in the log keeps meaning what it meant when it was written.
//! Changes are [`CatalogChange`]s carried in log records like any other write.

use crate::error::{Error, Result};
use crate::value::ScalarType;

/// A node type's id: its position in [`Catalog::types`].
pub type TypeId = u32;
/// An edge type's id: its position in [`Catalog::edges`].
pub type EdgeId = u32;
/// A property key's id: its position in [`Catalog::properties`].
pub type PropId = u32;

/// The set of indexes a property asks for.
///
/// ```
/// use quiver_engine::IndexSet;
/// let s = IndexSet::UNIQUE | IndexSet::TERM;
/// assert!(s.contains(IndexSet::TERM) && !s.contains(IndexSet::RANGE));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, bincode::Encode, bincode::Decode)]
pub struct IndexSet(pub u8);

impl IndexSet {
    /// No index.
    pub const NONE: IndexSet = IndexSet(0);
    /// `@id`: unique, indexed equality.
    pub const UNIQUE: IndexSet = IndexSet(1);
    /// Equality by hash.
    pub const HASH: IndexSet = IndexSet(2);
    /// Equality and order on the whole value.
    pub const EXACT: IndexSet = IndexSet(4);
    /// Words, case-folded (`anyofterms`, `allofterms`).
    pub const TERM: IndexSet = IndexSet(8);
    /// Words, case-folded, stemmed, without stop words (`anyoftext`, `alloftext`).
    pub const FULLTEXT: IndexSet = IndexSet(16);
    /// Trigrams (`regexp`).
    pub const TRIGRAM: IndexSet = IndexSet(32);
    /// Order for numbers, instants and booleans (`lt`, `between`, ordering).
    pub const RANGE: IndexSet = IndexSet(64);

    /// Whether every index of `other` is in `self`.
    pub fn contains(self, other: IndexSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any index of `other` is in `self`.
    pub fn intersects(self, other: IndexSet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether equality lookups are indexed.
    pub fn has_equality(self) -> bool {
        self.intersects(IndexSet::UNIQUE | IndexSet::HASH | IndexSet::EXACT)
    }

    /// Whether range lookups and ordering are indexed.
    pub fn has_order(self) -> bool {
        self.intersects(IndexSet::EXACT | IndexSet::RANGE)
    }
}

impl std::ops::BitOr for IndexSet {
    type Output = IndexSet;
    fn bitor(self, rhs: IndexSet) -> IndexSet {
        IndexSet(self.0 | rhs.0)
    }
}

/// A node type.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub struct NodeType {
    /// Its name, unique among live types.
    pub name: String,
    /// Dropped types keep their id so old records stay meaningful.
    pub dropped: bool,
}

/// An edge type: one field of one node type whose values are nodes.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub struct EdgeType {
    /// The field's name, unique among the source type's fields.
    pub name: String,
    /// The type that holds the field.
    pub source: TypeId,
    /// The type of the nodes it points to.
    pub target: TypeId,
    /// A set of targets (`[T]`) rather than one.
    pub list: bool,
    /// The edge type kept in step on the other side (`@hasInverse`).
    pub inverse: Option<EdgeId>,
    /// Tombstone.
    pub dropped: bool,
}

/// A property key: one scalar field of one node type.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub struct Property {
    /// The field's name, unique among its type's fields.
    pub name: String,
    /// The type that holds it.
    pub owner: TypeId,
    /// Its scalar type.
    pub ty: ScalarType,
    /// A list of scalars rather than one.
    pub list: bool,
    /// The indexes kept for it.
    pub indexes: IndexSet,
    /// Tombstone.
    pub dropped: bool,
}

/// One change to the catalog. Ids of added entries are the next free position.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub enum CatalogChange {
    /// A new node type.
    AddType {
        /// Its name.
        name: String,
    },
    /// A new property key.
    AddProperty {
        /// The type that holds it.
        owner: TypeId,
        /// Field name.
        name: String,
        /// Scalar type.
        ty: ScalarType,
        /// List of scalars.
        list: bool,
        /// Indexes.
        indexes: IndexSet,
    },
    /// A new edge type.
    AddEdge {
        /// The type that holds it.
        source: TypeId,
        /// Field name.
        name: String,
        /// Target type.
        target: TypeId,
        /// Set of targets.
        list: bool,
    },
    /// Pairs two edge types as inverses (`a` from X to Y, `b` from Y to X); existing edges of
    /// each are mirrored into the other by the same record.
    SetInverse {
        /// One side.
        a: EdgeId,
        /// The other side.
        b: EdgeId,
    },
    /// Replaces a property's index set; the indexes are rebuilt.
    SetIndexes {
        /// The property.
        prop: PropId,
        /// The new set.
        indexes: IndexSet,
    },
    /// Changes a property's type; its values are dropped by the same record.
    RetypeProperty {
        /// The property.
        prop: PropId,
        /// New scalar type.
        ty: ScalarType,
        /// New list flag.
        list: bool,
    },
    /// Drops a property and every value of it.
    DropProperty {
        /// The property.
        prop: PropId,
    },
    /// Drops an edge type and every edge of it (and unpairs its inverse).
    DropEdge {
        /// The edge type.
        edge: EdgeId,
    },
    /// Drops a node type, its nodes, fields and every edge to or from them.
    DropType {
        /// The type.
        ty: TypeId,
    },
    /// Replaces the whole catalog, tombstones included (written by compaction).
    Restore {
        /// The catalog.
        catalog: Box<Catalog>,
    },
    /// Stores the text the catalog was made from (a schema document), opaque to the engine.
    SetSource {
        /// The text.
        text: String,
    },
}

/// Node types, edge types and property keys.
///
/// ```
/// use quiver_engine::{Catalog, CatalogChange};
/// let mut c = Catalog::default();
/// c.apply(&CatalogChange::AddType { name: "Person".into() }).unwrap();
/// assert_eq!(c.type_id("Person"), Some(0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, bincode::Encode, bincode::Decode)]
pub struct Catalog {
    /// Node types by id.
    pub types: Vec<NodeType>,
    /// Edge types by id.
    pub edges: Vec<EdgeType>,
    /// Property keys by id.
    pub properties: Vec<Property>,
    /// The text set by [`CatalogChange::SetSource`].
    pub source: String,
}

impl Catalog {
    /// The live type named `name`.
    pub fn type_id(&self, name: &str) -> Option<TypeId> {
        self.types.iter().position(|t| !t.dropped && t.name == name).map(|i| i as TypeId)
    }

    /// The live property `name` of type `owner`.
    pub fn property_id(&self, owner: TypeId, name: &str) -> Option<PropId> {
        self.properties
            .iter()
            .position(|p| !p.dropped && p.owner == owner && p.name == name)
            .map(|i| i as PropId)
    }

    /// The live edge type `name` of type `source`.
    pub fn edge_id(&self, source: TypeId, name: &str) -> Option<EdgeId> {
        self.edges
            .iter()
            .position(|e| !e.dropped && e.source == source && e.name == name)
            .map(|i| i as EdgeId)
    }

    /// A live type by id.
    pub fn node_type(&self, id: TypeId) -> Result<&NodeType> {
        self.types
            .get(id as usize)
            .filter(|t| !t.dropped)
            .ok_or_else(|| Error::Invalid(format!("no node type with id {id}")))
    }

    /// A live edge type by id.
    pub fn edge(&self, id: EdgeId) -> Result<&EdgeType> {
        self.edges
            .get(id as usize)
            .filter(|e| !e.dropped)
            .ok_or_else(|| Error::Invalid(format!("no edge type with id {id}")))
    }

    /// A live property by id.
    pub fn property(&self, id: PropId) -> Result<&Property> {
        self.properties
            .get(id as usize)
            .filter(|p| !p.dropped)
            .ok_or_else(|| Error::Invalid(format!("no property with id {id}")))
    }

    /// `Type.field` for an edge, for messages.
    pub fn edge_name(&self, id: EdgeId) -> String {
        match self.edges.get(id as usize) {
            Some(e) => format!("{}.{}", self.type_name(e.source), e.name),
            None => format!("edge#{id}"),
        }
    }

    /// `Type.field` for a property, for messages.
    pub fn property_name(&self, id: PropId) -> String {
        match self.properties.get(id as usize) {
            Some(p) => format!("{}.{}", self.type_name(p.owner), p.name),
            None => format!("property#{id}"),
        }
    }

    /// A type's name, for messages.
    pub fn type_name(&self, id: TypeId) -> &str {
        self.types.get(id as usize).map_or("?", |t| t.name.as_str())
    }

    fn field_taken(&self, owner: TypeId, name: &str) -> bool {
        self.property_id(owner, name).is_some() || self.edge_id(owner, name).is_some()
    }

    /// Applies one change, checking only what the catalog itself can see (names, ids, pairing).
    /// Whether the change would drop data is the writer's question, not the catalog's.
    pub fn apply(&mut self, change: &CatalogChange) -> Result<()> {
        let refuse = |m: String| Err(Error::Catalog(m));
        match change {
            CatalogChange::AddType { name } => {
                if name.is_empty() {
                    return refuse("a type needs a name".into());
                }
                if self.type_id(name).is_some() {
                    return refuse(format!("type {name} already exists"));
                }
                self.types.push(NodeType { name: name.clone(), dropped: false });
            }
            CatalogChange::AddProperty { owner, name, ty, list, indexes } => {
                self.node_type(*owner)?;
                if self.field_taken(*owner, name) {
                    return refuse(format!("{}.{name} already exists", self.type_name(*owner)));
                }
                self.properties.push(Property {
                    name: name.clone(),
                    owner: *owner,
                    ty: ty.clone(),
                    list: *list,
                    indexes: *indexes,
                    dropped: false,
                });
            }
            CatalogChange::AddEdge { source, name, target, list } => {
                self.node_type(*source)?;
                self.node_type(*target)?;
                if self.field_taken(*source, name) {
                    return refuse(format!("{}.{name} already exists", self.type_name(*source)));
                }
                self.edges.push(EdgeType {
                    name: name.clone(),
                    source: *source,
                    target: *target,
                    list: *list,
                    inverse: None,
                    dropped: false,
                });
            }
            CatalogChange::SetInverse { a, b } => {
                let (ea, eb) = (self.edge(*a)?.clone(), self.edge(*b)?.clone());
                if ea.source != eb.target || ea.target != eb.source {
                    return refuse(format!(
                        "{} and {} cannot be inverses: their types do not mirror each other",
                        self.edge_name(*a),
                        self.edge_name(*b)
                    ));
                }
                for (x, other) in [(ea.inverse, *b), (eb.inverse, *a)] {
                    if x.is_some_and(|x| x != other) {
                        return refuse(format!(
                            "{} already has an inverse",
                            self.edge_name(if other == *b { *a } else { *b })
                        ));
                    }
                }
                self.edges[*a as usize].inverse = Some(*b);
                self.edges[*b as usize].inverse = Some(*a);
            }
            CatalogChange::SetIndexes { prop, indexes } => {
                self.property(*prop)?;
                self.properties[*prop as usize].indexes = *indexes;
            }
            CatalogChange::RetypeProperty { prop, ty, list } => {
                self.property(*prop)?;
                let p = &mut self.properties[*prop as usize];
                p.ty = ty.clone();
                p.list = *list;
            }
            CatalogChange::DropProperty { prop } => {
                self.property(*prop)?;
                self.properties[*prop as usize].dropped = true;
            }
            CatalogChange::DropEdge { edge } => {
                let inverse = self.edge(*edge)?.inverse;
                if let Some(inv) = inverse {
                    self.edges[inv as usize].inverse = None;
                }
                self.edges[*edge as usize].dropped = true;
            }
            CatalogChange::DropType { ty } => {
                self.node_type(*ty)?;
                if let Some(e) =
                    self.edges.iter().position(|e| !e.dropped && e.target == *ty && e.source != *ty)
                {
                    return refuse(format!(
                        "{} points to {}; drop or change it first",
                        self.edge_name(e as EdgeId),
                        self.type_name(*ty)
                    ));
                }
                for i in 0..self.edges.len() {
                    if !self.edges[i].dropped && self.edges[i].source == *ty {
                        self.apply(&CatalogChange::DropEdge { edge: i as EdgeId })?;
                    }
                }
                for p in self.properties.iter_mut().filter(|p| p.owner == *ty) {
                    p.dropped = true;
                }
                self.types[*ty as usize].dropped = true;
            }
            CatalogChange::SetSource { text } => self.source = text.clone(),
            CatalogChange::Restore { catalog } => *self = (**catalog).clone(),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Catalog {
        let mut c = Catalog::default();
        c.apply(&CatalogChange::AddType { name: "Person".into() }).unwrap();
        c.apply(&CatalogChange::AddEdge { source: 0, name: "knows".into(), target: 0, list: true }).unwrap();
        c
    }

    #[test]
    fn refuses_duplicate_names() {
        let mut c = person();
        let err = c
            .apply(&CatalogChange::AddProperty {
                owner: 0,
                name: "knows".into(),
                ty: ScalarType::Int,
                list: false,
                indexes: IndexSet::NONE,
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "schema change refused: Person.knows already exists");
        assert!(c.apply(&CatalogChange::AddType { name: "Person".into() }).is_err());
    }

    #[test]
    fn ids_are_never_reused() {
        let mut c = person();
        c.apply(&CatalogChange::DropEdge { edge: 0 }).unwrap();
        c.apply(&CatalogChange::AddEdge { source: 0, name: "knows".into(), target: 0, list: false }).unwrap();
        assert_eq!(c.edge_id(0, "knows"), Some(1));
        assert!(c.edge(0).is_err());
    }

    #[test]
    fn inverses_must_mirror() {
        let mut c = person();
        c.apply(&CatalogChange::AddType { name: "Org".into() }).unwrap();
        c.apply(&CatalogChange::AddEdge { source: 1, name: "staff".into(), target: 0, list: true }).unwrap();
        assert!(c.apply(&CatalogChange::SetInverse { a: 0, b: 1 }).is_err());
        c.apply(&CatalogChange::AddEdge { source: 0, name: "org".into(), target: 1, list: false }).unwrap();
        c.apply(&CatalogChange::SetInverse { a: 1, b: 2 }).unwrap();
        assert_eq!(c.edges[1].inverse, Some(2));
        assert_eq!(c.edges[2].inverse, Some(1));
    }
}
