//! A user's schema: the types of their SDL, how each field is stored (the engine catalog ids
//! it is bound to), and the generated API built from it ([`api`]).
//!
//! ```
//! use quiver_query::schema::Schema;
//! let s = Schema::parse("type Person { id: ID!  name: String! @search(by: [hash])  knows: [Person] }").unwrap();
//! let person = s.type_index("Person").unwrap();
//! assert_eq!(s.types[person].fields.len(), 3);
//! ```

pub mod api;
mod build;
mod catalog;
mod directives;
mod filters;
mod introspection;
pub mod mutations;

use quiver_engine::{EdgeId, IndexSet, PropId, ScalarType, TypeId};
use rustc_hash::FxHashMap;

use crate::ast::{Pos, TypeRef};

pub use catalog::{bind, migration};

/// A user type or interface.
#[derive(Clone, Debug)]
pub struct TypeDef {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// An interface rather than an object type.
    pub interface: bool,
    /// Interfaces it implements (indexes into [`Schema::types`]).
    pub implements: Vec<usize>,
    /// The object types a value of this type can be: itself for an object type, every
    /// implementer (direct or not) for an interface.
    pub implementers: Vec<usize>,
    /// Fields, inherited ones first, in declaration order.
    pub fields: Vec<FieldDef>,
    /// The engine type (object types, once bound).
    pub engine: Option<TypeId>,
    /// The `ID` field, if any.
    pub id_field: Option<usize>,
    /// The `@id` fields.
    pub xid_fields: Vec<usize>,
    /// Where it is defined.
    pub pos: Pos,
}

/// A field of a user type.
#[derive(Clone, Debug)]
pub struct FieldDef {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its declared type.
    pub ty: TypeRef,
    /// How it is stored.
    pub kind: FieldKind,
    /// `@deprecated(reason:)`.
    pub deprecated: Option<String>,
    /// Where it is declared.
    pub pos: Pos,
}

/// How a field is stored.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldKind {
    /// The `ID` field: the node's uid.
    Id,
    /// A scalar (or list of scalars) held as an engine property.
    Scalar {
        /// Its engine scalar type.
        scalar: ScalarType,
        /// A list of scalars.
        list: bool,
        /// Indexes asked for by `@search` and `@id`.
        indexes: IndexSet,
        /// `@id`.
        xid: bool,
        /// The engine property (object types, once bound).
        prop: Option<PropId>,
    },
    /// A link to nodes of another type, held as an engine edge type.
    Edge {
        /// The target type (index into [`Schema::types`]).
        target: usize,
        /// A set of targets.
        list: bool,
        /// `@hasInverse(field:)` as written on this side.
        inverse: Option<String>,
        /// The engine edge types (object types, once bound), each with the engine type of
        /// its targets: one for a field of an object type; one per implementer for a field of
        /// an interface type (see [`engine_edge_name`]).
        edges: Vec<(TypeId, EdgeId)>,
    },
}

/// A user enum.
#[derive(Clone, Debug)]
pub struct EnumDef {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Members with their descriptions and deprecation.
    pub values: Vec<(String, Option<String>, Option<String>)>,
}

/// A parsed, checked user schema.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// Object types and interfaces in the order written.
    pub types: Vec<TypeDef>,
    /// Enums in the order written.
    pub enums: Vec<EnumDef>,
    /// The SDL it was built from.
    pub source: String,
    by_name: FxHashMap<String, usize>,
    by_engine: FxHashMap<TypeId, usize>,
}

impl Schema {
    /// The engine edge names and target type names a field is stored as.
    pub fn engine_edges(&self, field: &FieldDef) -> Vec<(String, &str)> {
        let FieldKind::Edge { target, .. } = &field.kind else { return Vec::new() };
        let t = &self.types[*target];
        if t.interface {
            t.implementers
                .iter()
                .map(|&c| (format!("{}:{}", field.name, self.types[c].name), self.types[c].name.as_str()))
                .collect()
        } else {
            vec![(field.name.clone(), t.name.as_str())]
        }
    }

    /// Parses and checks SDL (not yet bound to a catalog).
    pub fn parse(sdl: &str) -> Result<Schema, crate::Error> {
        let doc = crate::grammar::parse_schema(sdl, &crate::ParseLimits::default())?;
        build::build(&doc, sdl)
    }

    /// The type or interface named `name`.
    pub fn type_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The user type of an engine type.
    pub fn type_of_engine(&self, ty: TypeId) -> Option<usize> {
        self.by_engine.get(&ty).copied()
    }

    /// The enum named `name`.
    pub fn enum_def(&self, name: &str) -> Option<&EnumDef> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// The field `name` of type `ty`.
    pub fn field(&self, ty: usize, name: &str) -> Option<(usize, &FieldDef)> {
        self.types[ty].fields.iter().enumerate().find(|(_, f)| f.name == name)
    }

    /// The field of the target type that is the inverse of edge field `field` of `ty`
    /// (`@hasInverse` on either side), if any.
    pub fn inverse_name(&self, ty: usize, field: &str) -> Option<&str> {
        let (_, f) = self.field(ty, field)?;
        let FieldKind::Edge { target, inverse, .. } = &f.kind else { return None };
        if let Some(inv) = inverse {
            return Some(inv);
        }
        self.types[*target].fields.iter().find_map(|back| match &back.kind {
            FieldKind::Edge { inverse: Some(inv), .. } if inv == field => Some(back.name.as_str()),
            _ => None,
        })
    }

    /// The object types a value of `ty` can be: itself, or an interface's implementers.
    pub fn concrete(&self, ty: usize) -> &[usize] {
        &self.types[ty].implementers
    }

    fn reindex(&mut self) {
        self.by_name = self.types.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        self.by_engine =
            self.types.iter().enumerate().filter_map(|(i, t)| t.engine.map(|e| (e, i))).collect();
    }
}
