//! 5.3.2 Field Selection Merging: fields that share a response key must be the same field
//! with the same arguments (unless their parents are distinct object types) and return the
//! same shape; checked pairwise, through fragments, at every depth.

use rustc_hash::FxHashSet;

use super::Validator;
use crate::ast::{Argument, Field, Selection, SelectionSet, TypeRef, Value};
use crate::schema::api::ApiKind;

/// Pairs compared before giving up on a pathological document.
const BUDGET: usize = 200_000;

type Collected<'d> = Vec<(&'d str, &'d Field)>;

impl<'a> Validator<'a> {
    pub(super) fn check_merging(&mut self, set: &'a SelectionSet, parent: &'a str) {
        let mut budget = BUDGET;
        self.merge_set(set, parent, &mut budget);
    }

    fn merge_set(&mut self, set: &'a SelectionSet, parent: &'a str, budget: &mut usize) {
        let mut fields = Vec::new();
        self.collect(set, parent, &mut fields, &mut FxHashSet::default());
        for i in 0..fields.len() {
            for j in i + 1..fields.len() {
                if fields[i].1.response_key() != fields[j].1.response_key() {
                    continue;
                }
                if *budget == 0 {
                    let pos = fields[j].1.pos;
                    self.error("The document is too complex to check for conflicting fields.", &[pos]);
                    return;
                }
                *budget -= 1;
                let (a, b) = (&fields[i], &fields[j]);
                if let Some(reason) = self.conflict((a.0, a.1), (b.0, b.1), false, budget) {
                    let key = a.1.response_key().to_string();
                    self.error(
                        format!(
                            "Fields \"{key}\" conflict because {reason}. Use different aliases on the fields to fetch both if this was intentional."
                        ),
                        &[a.1.pos, b.1.pos],
                    );
                }
            }
        }
        // Every nested selection set on its own.
        for s in &set.items {
            match s {
                Selection::Field(f) if !f.selection_set.items.is_empty() => {
                    let api: &'a crate::schema::api::Api = self.api;
                    if let Some(def) = api.field(parent, &f.name.value) {
                        self.merge_set(&f.selection_set, def.ty.base(), budget);
                    }
                }
                Selection::InlineFragment(i) => {
                    let cond = i.type_condition.as_ref().map_or(parent, |c| c.value.as_str());
                    if self.api.get(cond).is_some() {
                        self.merge_set(&i.selection_set, cond, budget);
                    }
                }
                _ => {}
            }
        }
    }

    /// The fields of a selection set with fragments expanded, each with its parent type.
    fn collect(
        &self,
        set: &'a SelectionSet,
        parent: &'a str,
        out: &mut Collected<'a>,
        seen: &mut FxHashSet<&'a str>,
    ) {
        for s in &set.items {
            match s {
                Selection::Field(f) => out.push((parent, f)),
                Selection::InlineFragment(i) => {
                    let cond = i.type_condition.as_ref().map_or(parent, |c| c.value.as_str());
                    self.collect(&i.selection_set, cond, out, seen);
                }
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.fragments.get(s.name.value.as_str())
                        && seen.insert(frag.name.value.as_str())
                    {
                        self.collect(&frag.selection_set, &frag.type_condition.value, out, seen);
                    }
                }
            }
        }
    }

    fn field_type(&self, parent: &str, f: &Field) -> Option<TypeRef> {
        if f.name.value == "__typename" {
            return Some(TypeRef::named("String").non_null());
        }
        self.api.field(parent, &f.name.value).map(|d| d.ty.clone())
    }

    fn is_object(&self, ty: &str) -> bool {
        matches!(self.api.get(ty).map(|t| &t.kind), Some(ApiKind::Object { .. }))
    }

    /// Why two same-keyed fields cannot merge, if they cannot.
    fn conflict(
        &self,
        a: (&'a str, &'a Field),
        b: (&'a str, &'a Field),
        exclusive: bool,
        budget: &mut usize,
    ) -> Option<String> {
        let exclusive = exclusive || (a.0 != b.0 && self.is_object(a.0) && self.is_object(b.0));
        let (fa, fb) = (a.1, b.1);
        if !exclusive {
            if fa.name.value != fb.name.value {
                return Some(format!("\"{}\" and \"{}\" are different fields", fa.name.value, fb.name.value));
            }
            if !same_arguments(&fa.arguments, &fb.arguments) {
                return Some("they have differing arguments".into());
            }
        }
        let (ta, tb) = (self.field_type(a.0, fa)?, self.field_type(b.0, fb)?);
        let api: &'a crate::schema::api::Api = self.api;
        let base = |parent: &'a str, f: &Field| -> Option<&'a str> {
            api.field(parent, &f.name.value).map(|d| d.ty.base())
        };
        if let Some(reason) = self.shape_conflict(&ta, &tb) {
            return Some(reason);
        }
        if fa.selection_set.items.is_empty() || fb.selection_set.items.is_empty() {
            return None;
        }
        let (mut ca, mut cb) = (Vec::new(), Vec::new());
        self.collect(&fa.selection_set, base(a.0, fa)?, &mut ca, &mut FxHashSet::default());
        self.collect(&fb.selection_set, base(b.0, fb)?, &mut cb, &mut FxHashSet::default());
        for x in &ca {
            for y in cb.iter().filter(|y| y.1.response_key() == x.1.response_key()) {
                if *budget == 0 {
                    return None;
                }
                *budget -= 1;
                if let Some(reason) = self.conflict((x.0, x.1), (y.0, y.1), exclusive, budget) {
                    return Some(format!("subfields \"{}\" conflict because {reason}", x.1.response_key()));
                }
            }
        }
        None
    }

    fn shape_conflict(&self, a: &TypeRef, b: &TypeRef) -> Option<String> {
        let differ = || Some(format!("they return conflicting types \"{a}\" and \"{b}\""));
        match (a, b) {
            (TypeRef::NonNull(x), TypeRef::NonNull(y)) | (TypeRef::List(x), TypeRef::List(y)) => {
                self.shape_conflict(x, y).and_then(|_| differ())
            }
            (TypeRef::NonNull(_), _)
            | (_, TypeRef::NonNull(_))
            | (TypeRef::List(_), _)
            | (_, TypeRef::List(_)) => differ(),
            (TypeRef::Named(x), TypeRef::Named(y)) => {
                let leaf = |t: &str| {
                    matches!(self.api.get(t).map(|t| &t.kind), Some(ApiKind::Scalar | ApiKind::Enum { .. }))
                };
                ((leaf(x) || leaf(y)) && x != y)
                    .then(|| format!("they return conflicting types \"{a}\" and \"{b}\""))
            }
        }
    }
}

fn same_arguments(a: &[Argument], b: &[Argument]) -> bool {
    a.len() == b.len()
        && a.iter().all(|x| {
            b.iter().any(|y| y.name.value == x.name.value && same_value(&x.value.node, &y.value.node))
        })
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(&p.node, &q.node))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(n, v)| y.iter().any(|(m, w)| m.value == n.value && same_value(&v.node, &w.node)))
        }
        _ => a == b,
    }
}
