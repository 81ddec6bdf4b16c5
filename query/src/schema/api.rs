//! The generated API: the GraphQL type system a user's schema exposes, named as Dgraph names
//! it (`getT`, `queryT`, `aggregateT`, `TFilter`, `TOrder`, `THasFilter`, `TAggregateResult`,
//! the shared `StringHashFilter`... inputs). Validation checks documents against it and
//! introspection describes it; each field carries the [`FieldRole`] the planner executes.

use quiver_engine::ScalarType;
use rustc_hash::FxHashMap;

use super::filters::{
    comparison_fields, enum_hash_fields, filter_type, string_filter_fields, used_string_filters,
};
use super::{FieldKind, Schema};
use crate::ast::{Pos, TypeRef, Value};
use crate::error::Error;

/// The whole type system of one schema.
#[derive(Clone, Debug, Default)]
pub struct Api {
    /// Every named type.
    pub types: Vec<ApiType>,
    /// Directives documents may use.
    pub directives: Vec<DirectiveDef>,
    by_name: FxHashMap<String, usize>,
    /// Where the schema defines each of its own types (for errors while building).
    defined_at: FxHashMap<String, Pos>,
    /// `__schema` and `__type`, answered on the query type without being among its fields.
    meta_fields: Vec<ApiField>,
}

/// A named type.
#[derive(Clone, Debug)]
pub struct ApiType {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// What it is.
    pub kind: ApiKind,
}

/// The kind of a named type, with its members.
#[derive(Clone, Debug)]
pub enum ApiKind {
    /// A leaf value.
    Scalar,
    /// An output object.
    Object {
        /// Its fields.
        fields: Vec<ApiField>,
        /// The interfaces it implements.
        interfaces: Vec<String>,
    },
    /// An interface.
    Interface {
        /// Its fields.
        fields: Vec<ApiField>,
        /// The object types that implement it.
        possible: Vec<String>,
    },
    /// An enum.
    Enum {
        /// Members: name, description, deprecation reason.
        values: Vec<(String, Option<String>, Option<String>)>,
    },
    /// An input object.
    InputObject {
        /// Its fields.
        fields: Vec<InputValue>,
    },
}

/// What executing a field means.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldRole {
    /// A field of a user type: index of the type and of the field in [`Schema`].
    Node {
        /// The user type.
        ty: usize,
        /// The field.
        field: usize,
    },
    /// `fAggregate` of a list edge field.
    EdgeAggregate {
        /// The user type.
        ty: usize,
        /// The edge field.
        field: usize,
    },
    /// `getT`.
    Get(usize),
    /// `queryT`.
    Query(usize),
    /// `aggregateT`.
    Aggregate(usize),
    /// `shortestPath(from, to, via, maxDepth)`.
    ShortestPath,
    /// A field of the introspection system (`__schema`, `__type`, and the fields of `__Type`...).
    Meta,
    /// `addT`.
    Add(usize),
    /// `updateT`.
    Update(usize),
    /// `deleteT`.
    Delete(usize),
    /// The nodes of a mutation payload (`t` of `AddTPayload`...).
    PayloadNodes(usize),
    /// `numUids` of a payload.
    NumUids,
    /// `msg` of a payload.
    Msg,
    /// `count` of an aggregate result.
    Count,
    /// `<field>Min|Max|Sum|Avg` of an aggregate result over user type `ty`.
    Reduce {
        /// The user type aggregated.
        ty: usize,
        /// The scalar field.
        field: usize,
        /// Which reduction.
        op: Reduce,
    },
}

/// A reduction of an aggregate result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Sum.
    Sum,
    /// Mean.
    Avg,
}

/// A field of an object or interface.
#[derive(Clone, Debug)]
pub struct ApiField {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its arguments.
    pub args: Vec<InputValue>,
    /// Its type.
    pub ty: TypeRef,
    /// Deprecation reason.
    pub deprecated: Option<String>,
    /// What executing it means.
    pub role: FieldRole,
}

/// An argument or an input object field.
#[derive(Clone, Debug)]
pub struct InputValue {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its type.
    pub ty: TypeRef,
    /// Its default, if any.
    pub default: Option<Value>,
}

/// Where a directive may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectiveLocation {
    /// On a query operation.
    Query,
    /// On a mutation operation.
    Mutation,
    /// On a field selection.
    Field,
    /// On a fragment spread.
    FragmentSpread,
    /// On an inline fragment.
    InlineFragment,
    /// On a fragment definition.
    FragmentDefinition,
    /// On a variable definition.
    VariableDefinition,
    /// On a field definition (schema directives).
    FieldDefinition,
    /// On an enum value definition.
    EnumValue,
}

impl DirectiveLocation {
    /// The name introspection uses.
    pub fn name(self) -> &'static str {
        match self {
            DirectiveLocation::Query => "QUERY",
            DirectiveLocation::Mutation => "MUTATION",
            DirectiveLocation::Field => "FIELD",
            DirectiveLocation::FragmentSpread => "FRAGMENT_SPREAD",
            DirectiveLocation::InlineFragment => "INLINE_FRAGMENT",
            DirectiveLocation::FragmentDefinition => "FRAGMENT_DEFINITION",
            DirectiveLocation::VariableDefinition => "VARIABLE_DEFINITION",
            DirectiveLocation::FieldDefinition => "FIELD_DEFINITION",
            DirectiveLocation::EnumValue => "ENUM_VALUE",
        }
    }
}

/// A directive definition.
#[derive(Clone, Debug)]
pub struct DirectiveDef {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Where it may appear.
    pub locations: Vec<DirectiveLocation>,
    /// Its arguments.
    pub args: Vec<InputValue>,
}

pub(super) fn input(name: &str, ty: TypeRef) -> InputValue {
    InputValue { name: name.to_string(), description: None, ty, default: None }
}

pub(super) fn named(n: &str) -> TypeRef {
    TypeRef::named(n)
}

impl Api {
    /// The type named `name`.
    pub fn get(&self, name: &str) -> Option<&ApiType> {
        self.by_name.get(name).map(|&i| &self.types[i])
    }

    /// The field `name` of object or interface `ty`.
    pub fn field(&self, ty: &str, name: &str) -> Option<&ApiField> {
        if ty == "Query" && name.starts_with("__") {
            return self.meta_fields.iter().find(|f| f.name == name);
        }
        match &self.get(ty)?.kind {
            ApiKind::Object { fields, .. } | ApiKind::Interface { fields, .. } => {
                fields.iter().find(|f| f.name == name)
            }
            _ => None,
        }
    }

    /// The directive named `name`.
    pub fn directive(&self, name: &str) -> Option<&DirectiveDef> {
        self.directives.iter().find(|d| d.name == name)
    }

    /// The object types a value of type `of` can be: itself for an object type, the
    /// implementers of an interface, nothing for other kinds.
    pub fn possible_types(&self, of: &str) -> Vec<String> {
        match self.get(of).map(|t| &t.kind) {
            Some(ApiKind::Object { .. }) => vec![of.to_string()],
            Some(ApiKind::Interface { possible, .. }) => possible.clone(),
            _ => Vec::new(),
        }
    }

    /// Adds a named type (see [`Api::add`]).
    pub(super) fn add_type(&mut self, t: ApiType, pos: Pos) -> Result<(), Error> {
        self.add(t, pos)
    }

    /// Adds a named type; `pos` is where the schema defines it, or defines the type it is
    /// generated for. A clash is reported where the user wrote the name.
    fn add(&mut self, t: ApiType, pos: Pos) -> Result<(), Error> {
        if self.by_name.contains_key(&t.name) {
            let pos = self.defined_at.get(&t.name).copied().unwrap_or(pos);
            return Err(Error::Schema {
                pos,
                message: format!("{} clashes with a name the generated API needs; rename the type", t.name),
            });
        }
        self.by_name.insert(t.name.clone(), self.types.len());
        self.types.push(t);
        Ok(())
    }

    /// Builds the API of a schema.
    pub fn build(schema: &Schema) -> Result<Api, Error> {
        let mut api = Api::default();
        let p0 = Pos::default();
        for s in ["ID", "String", "Int", "Float", "Boolean", "DateTime"] {
            api.add(ApiType { name: s.into(), description: None, kind: ApiKind::Scalar }, p0)?;
        }
        for e in &schema.enums {
            api.add(
                ApiType {
                    name: e.name.clone(),
                    description: e.description.clone(),
                    kind: ApiKind::Enum { values: e.values.clone() },
                },
                p0,
            )?;
        }
        for t in &schema.types {
            api.defined_at.insert(t.name.clone(), t.pos);
            api.add(
                ApiType { name: t.name.clone(), description: t.description.clone(), kind: ApiKind::Scalar },
                t.pos,
            )?;
        }
        api.add_shared_filters(schema)?;
        for ti in 0..schema.types.len() {
            api.add_type_inputs(schema, ti)?;
        }
        let mut query_fields = Vec::new();
        for (ti, t) in schema.types.iter().enumerate() {
            // The object or interface itself.
            let mut fields = Vec::new();
            for (fi, f) in t.fields.iter().enumerate() {
                let target = match f.kind {
                    FieldKind::Edge { target, .. } => Some(target),
                    _ => None,
                };
                fields.push(ApiField {
                    name: f.name.clone(),
                    description: f.description.clone(),
                    args: target.map(|target| api.edge_args(schema, target)).unwrap_or_default(),
                    ty: f.ty.clone(),
                    deprecated: f.deprecated.clone(),
                    role: FieldRole::Node { ty: ti, field: fi },
                });
                if let (Some(target), FieldKind::Edge { list: true, .. }) = (target, &f.kind) {
                    let target_name = &schema.types[target].name;
                    let mut args = vec![input("filter", named(&format!("{target_name}Filter")))];
                    if target == ti {
                        // A self-typed list edge walks (SPEC §4 traversal extensions).
                        args.push(InputValue {
                            name: "depth".into(),
                            description: Some(
                                "Walks of exactly this many edges (or, with distinct, at most).".into(),
                            ),
                            ty: named("Int"),
                            default: Some(Value::Int("1".into())),
                        });
                        args.push(InputValue {
                            name: "distinct".into(),
                            description: Some("Count distinct nodes reached rather than walks.".into()),
                            ty: named("Boolean"),
                            default: Some(Value::Boolean(false)),
                        });
                    }
                    fields.push(ApiField {
                        name: format!("{}Aggregate", f.name),
                        description: None,
                        args,
                        ty: named(&format!("{target_name}AggregateResult")),
                        deprecated: None,
                        role: FieldRole::EdgeAggregate { ty: ti, field: fi },
                    });
                }
            }
            let kind = if t.interface {
                ApiKind::Interface {
                    fields,
                    possible: t.implementers.iter().map(|&i| schema.types[i].name.clone()).collect(),
                }
            } else {
                ApiKind::Object {
                    fields,
                    interfaces: t.implements.iter().map(|&i| schema.types[i].name.clone()).collect(),
                }
            };
            let idx = api.by_name[&t.name];
            api.types[idx].kind = kind;

            // Query fields.
            let mut keys: Vec<InputValue> = Vec::new();
            if let Some(id) = t.id_field {
                keys.push(input(&t.fields[id].name, named("ID")));
            }
            for &x in &t.xid_fields {
                keys.push(input(&t.fields[x].name, named(t.fields[x].ty.base())));
            }
            if keys.len() == 1 {
                keys[0].ty = keys[0].ty.clone().non_null();
            }
            if !keys.is_empty() {
                query_fields.push(ApiField {
                    name: format!("get{}", t.name),
                    description: None,
                    args: keys,
                    ty: named(&t.name),
                    deprecated: None,
                    role: FieldRole::Get(ti),
                });
            }
            query_fields.push(ApiField {
                name: format!("query{}", t.name),
                description: None,
                args: api.edge_args(schema, ti),
                ty: named(&t.name).list(),
                deprecated: None,
                role: FieldRole::Query(ti),
            });
            query_fields.push(ApiField {
                name: format!("aggregate{}", t.name),
                description: None,
                args: vec![input("filter", named(&format!("{}Filter", t.name)))],
                ty: named(&format!("{}AggregateResult", t.name)),
                deprecated: None,
                role: FieldRole::Aggregate(ti),
            });
        }
        query_fields.push(ApiField {
            name: "shortestPath".into(),
            description: Some(
                "The uids of one shortest path from `from` to `to` along the edge fields named in `via`, \
                 at most `maxDepth` edges long; null when there is none."
                    .into(),
            ),
            args: vec![
                input("from", named("ID").non_null()),
                input("to", named("ID").non_null()),
                input("via", named("String").non_null().list().non_null()),
                input("maxDepth", named("Int")),
            ],
            ty: named("ID").non_null().list(),
            deprecated: None,
            role: FieldRole::ShortestPath,
        });
        api.add(
            ApiType {
                name: "Query".into(),
                description: None,
                kind: ApiKind::Object { fields: query_fields, interfaces: Vec::new() },
            },
            p0,
        )?;
        super::mutations::add(&mut api, schema)?;
        super::introspection::add_types(&mut api)?;
        api.meta_fields = super::introspection::root_fields();
        api.directives = super::directives::standard();
        Ok(api)
    }

    /// `filter`, `order`, `first`, `offset` for a list of `target` (payloads use it too).
    pub(super) fn list_args(&self, schema: &Schema, target: usize) -> Vec<InputValue> {
        self.edge_args(schema, target)
    }

    /// `filter`, `order` (when the target has orderable fields), `first`, `offset`.
    fn edge_args(&self, schema: &Schema, target: usize) -> Vec<InputValue> {
        let name = &schema.types[target].name;
        let mut args = vec![input("filter", named(&format!("{name}Filter")))];
        if self.get(&format!("{name}Order")).is_some() {
            args.push(input("order", named(&format!("{name}Order"))));
        }
        args.push(input("first", named("Int")));
        args.push(input("offset", named("Int")));
        args
    }

    fn add_shared_filters(&mut self, schema: &Schema) -> Result<(), Error> {
        let p0 = Pos::default();
        let obj = |api: &mut Api, name: &str, fields: Vec<InputValue>| {
            api.add(
                ApiType { name: name.into(), description: None, kind: ApiKind::InputObject { fields } },
                p0,
            )
        };
        for scalar in ["String", "Int", "Float", "DateTime"] {
            let t = named(scalar);
            obj(
                self,
                &format!("{scalar}Range"),
                vec![input("min", t.clone().non_null()), input("max", t.clone().non_null())],
            )?;
            if scalar != "String" {
                obj(self, &format!("{scalar}Filter"), comparison_fields(scalar, true))?;
            }
        }
        let combos = used_string_filters(schema);
        for combo in combos {
            let fields = combo.iter().flat_map(|part| string_filter_fields(part)).collect();
            obj(self, &combo.join("_"), fields)?;
        }
        for e in &schema.enums {
            for (suffix, fields) in
                [("hash", enum_hash_fields(&e.name)), ("exact", comparison_fields(&e.name, false))]
            {
                obj(self, &format!("{}_{suffix}", e.name), fields)?;
            }
        }
        Ok(())
    }

    fn add_type_inputs(&mut self, schema: &Schema, ti: usize) -> Result<(), Error> {
        let t = &schema.types[ti];
        let n = &t.name;
        let mut filter = Vec::new();
        if let Some(id) = t.id_field {
            filter.push(input(&t.fields[id].name, named("ID").non_null().list()));
        }
        let mut has = Vec::new();
        let mut orderable = Vec::new();
        let mut agg = vec![ApiField {
            name: "count".into(),
            description: None,
            args: Vec::new(),
            ty: named("Int"),
            deprecated: None,
            role: FieldRole::Count,
        }];
        for (fi, f) in t.fields.iter().enumerate() {
            if f.kind != FieldKind::Id {
                has.push((f.name.clone(), None, None));
            }
            let FieldKind::Scalar { scalar, list, indexes, .. } = &f.kind else { continue };
            if let Some(ft) = filter_type(scalar, *indexes) {
                filter.push(input(&f.name, named(&ft)));
            }
            if *list {
                continue;
            }
            let base = match scalar {
                ScalarType::String | ScalarType::Int | ScalarType::Float | ScalarType::DateTime => {
                    scalar.to_string()
                }
                _ => continue,
            };
            orderable.push((f.name.clone(), None, None));
            let mut reduce = |suffix: &str, ty: &str, op: Reduce| {
                agg.push(ApiField {
                    name: format!("{}{suffix}", f.name),
                    description: None,
                    args: Vec::new(),
                    ty: named(ty),
                    deprecated: None,
                    role: FieldRole::Reduce { ty: ti, field: fi, op },
                })
            };
            reduce("Min", &base, Reduce::Min);
            reduce("Max", &base, Reduce::Max);
            if matches!(scalar, ScalarType::Int | ScalarType::Float) {
                reduce("Sum", &base, Reduce::Sum);
                reduce("Avg", "Float", Reduce::Avg);
            }
        }
        let has_name = format!("{n}HasFilter");
        let filter_name = format!("{n}Filter");
        if !has.is_empty() {
            filter.push(input("has", named(&has_name).list()));
            self.add(
                ApiType { name: has_name, description: None, kind: ApiKind::Enum { values: has } },
                t.pos,
            )?;
        }
        filter.push(input("and", named(&filter_name).list()));
        filter.push(input("or", named(&filter_name).list()));
        filter.push(input("not", named(&filter_name)));
        self.add(
            ApiType { name: filter_name, description: None, kind: ApiKind::InputObject { fields: filter } },
            t.pos,
        )?;
        if !orderable.is_empty() {
            let orderable_name = format!("{n}Orderable");
            let order_name = format!("{n}Order");
            self.add(
                ApiType {
                    name: order_name.clone(),
                    description: None,
                    kind: ApiKind::InputObject {
                        fields: vec![
                            input("asc", named(&orderable_name)),
                            input("desc", named(&orderable_name)),
                            input("then", named(&order_name)),
                        ],
                    },
                },
                t.pos,
            )?;
            self.add(
                ApiType {
                    name: orderable_name,
                    description: None,
                    kind: ApiKind::Enum { values: orderable },
                },
                t.pos,
            )?;
        }
        self.add(
            ApiType {
                name: format!("{n}AggregateResult"),
                description: None,
                kind: ApiKind::Object { fields: agg, interfaces: Vec::new() },
            },
            t.pos,
        )?;
        Ok(())
    }
}
