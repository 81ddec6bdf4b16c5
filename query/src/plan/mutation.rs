//! Planning a mutation operation: each root field's action with its (variable-substituted)
//! input, and the payload selection run after the commit.

use crate::ast::{Document, Field, Operation, Pos, Spanned, Value};
use crate::error::QueryError;
use crate::schema::Schema;
use crate::schema::api::{Api, FieldRole};

use super::{Filter, ListArgs, NodeSel, Planner, Variables};

/// The plan of a mutation operation: its fields, run in order in one transaction.
#[derive(Clone, Debug)]
pub struct MutationPlan {
    /// Root fields in response order.
    pub fields: Vec<MutationField>,
}

/// One root field of a mutation.
#[derive(Clone, Debug)]
pub struct MutationField {
    /// Response key.
    pub key: String,
    /// Where it is written.
    pub pos: Pos,
    /// The user type it changes.
    pub ty: usize,
    /// What it does.
    pub action: Action,
    /// What its payload returns.
    pub payload: Vec<(String, PayloadItem)>,
}

/// What a mutation field does.
#[derive(Clone, Debug)]
pub enum Action {
    /// `addT(input, upsert)`.
    Add {
        /// One object per node (`AddTInput`).
        inputs: Vec<Spanned<Value>>,
        /// Update the node an `@id` value names instead of refusing it.
        upsert: bool,
    },
    /// `updateT(input: {filter, set, remove})`.
    Update {
        /// Which nodes.
        filter: Option<Filter>,
        /// Values to set (`TPatch`).
        set: Option<Spanned<Value>>,
        /// Values to remove (`TPatch`).
        remove: Option<Spanned<Value>>,
    },
    /// `deleteT(filter)`.
    Delete {
        /// Which nodes.
        filter: Option<Filter>,
    },
}

/// One output key of a mutation payload.
#[derive(Clone, Debug)]
pub enum PayloadItem {
    /// The nodes the field touched, as a list query over them.
    Nodes {
        /// filter/order/first/offset among them.
        args: ListArgs,
        /// What to return per node.
        sel: NodeSel,
    },
    /// `numUids`.
    NumUids,
    /// `msg`.
    Msg,
    /// `__typename`.
    Typename(String),
}

/// Plans mutation `op` of `doc` (already validated) with coerced `vars`.
pub fn plan_mutation(
    schema: &Schema,
    api: &Api,
    doc: &Document,
    op: &Operation,
    vars: &Variables,
) -> Result<MutationPlan, QueryError> {
    let p = Planner { schema, api, doc, vars };
    let mut fields = Vec::new();
    for (key, fs, _) in p.collect(&op.selection_set, "Mutation")? {
        let f = fs[0];
        let def = api
            .field("Mutation", &f.name.value)
            .ok_or_else(|| QueryError::new(format!("unknown field {}", f.name.value)).at(f.pos))?;
        let args = p.args(f);
        let arg = |name: &str| {
            args.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).filter(|v| v.node != Value::Null)
        };
        let (ty, action, payload_type) = match def.role {
            FieldRole::Add(ty) => {
                let inputs = match arg("input").map(|v| v.node) {
                    Some(Value::List(items)) => items,
                    Some(other) => vec![Spanned { node: other, pos: f.pos }],
                    None => Vec::new(),
                };
                let upsert = matches!(arg("upsert").map(|v| v.node), Some(Value::Boolean(true)));
                (ty, Action::Add { inputs, upsert }, format!("Add{}Payload", schema.types[ty].name))
            }
            FieldRole::Update(ty) => {
                let input = arg("input");
                let part = |name: &str| match &input {
                    Some(Spanned { node: Value::Object(fields), .. }) => fields
                        .iter()
                        .find(|(n, v)| n.value == name && v.node != Value::Null)
                        .map(|(_, v)| v.clone()),
                    _ => None,
                };
                let filter = match part("filter") {
                    Some(v) => super::filter::compile_filter(schema, ty, &v)?,
                    None => None,
                };
                let action = Action::Update { filter, set: part("set"), remove: part("remove") };
                (ty, action, format!("Update{}Payload", schema.types[ty].name))
            }
            FieldRole::Delete(ty) => {
                let filter = match arg("filter") {
                    Some(v) => super::filter::compile_filter(schema, ty, &v)?,
                    None => None,
                };
                (ty, Action::Delete { filter }, format!("Delete{}Payload", schema.types[ty].name))
            }
            _ => return Err(QueryError::new(format!("{} cannot be run here", f.name.value)).at(f.pos)),
        };
        let payload = p.payload(ty, &payload_type, &fs)?;
        fields.push(MutationField { key, pos: f.pos, ty, action, payload });
    }
    Ok(MutationPlan { fields })
}

impl<'a> Planner<'a> {
    fn payload(
        &self,
        ty: usize,
        payload_type: &str,
        fields: &[&'a Field],
    ) -> Result<Vec<(String, PayloadItem)>, QueryError> {
        let mut items: Vec<(String, PayloadItem)> = Vec::new();
        for f in fields {
            for (key, fs, _) in self.collect(&f.selection_set, payload_type)? {
                if items.iter().any(|(k, _)| *k == key) {
                    continue;
                }
                let g = fs[0];
                let item = if g.name.value == "__typename" {
                    PayloadItem::Typename(payload_type.to_string())
                } else {
                    match self.api.field(payload_type, &g.name.value).map(|d| &d.role) {
                        Some(FieldRole::PayloadNodes(_)) => {
                            let args = self.args(g);
                            PayloadItem::Nodes {
                                args: self.list_args(ty, &args)?,
                                sel: self.node_sel(ty, &fs, false)?,
                            }
                        }
                        Some(FieldRole::NumUids) => PayloadItem::NumUids,
                        Some(FieldRole::Msg) => PayloadItem::Msg,
                        _ => {
                            return Err(
                                QueryError::new(format!("unknown payload field {}", g.name.value)).at(g.pos)
                            );
                        }
                    }
                };
                items.push((key, item));
            }
        }
        Ok(items)
    }
}
