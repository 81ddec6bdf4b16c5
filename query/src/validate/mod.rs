//! Validation of an executable document against the generated API, rule by rule as the
//! GraphQL specification's Validation section (October 2021) lists them. Every error is a
//! [`QueryError`] with `locations` and, inside selections, the `path` of response keys.
//!
//! A document that passes is a [`crate::ast::Document`] the planner may trust: every field
//! exists, every argument has the right type, every fragment resolves without cycles.

mod merge;
mod values;

pub(crate) use values::scalar_error;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::ast::{
    Directive, Document, Field, Fragment, OperationKind, Pos, Selection, SelectionSet, TypeRef,
};
use crate::error::{PathSegment, QueryError};
use crate::schema::api::{Api, ApiKind, DirectiveLocation, InputValue};

/// A variable used somewhere, with the type of that place.
#[derive(Clone, Debug)]
struct Usage {
    name: String,
    ty: TypeRef,
    pos: Pos,
    has_default: bool,
}

pub(crate) struct Validator<'a> {
    api: &'a Api,
    doc: &'a Document,
    fragments: FxHashMap<&'a str, &'a Fragment>,
    errors: Vec<QueryError>,
    /// Response keys from the operation down to the field being checked.
    path: Vec<&'a str>,
    usages: Vec<Usage>,
    /// Variable usages of each fragment, for the operations that spread it.
    fragment_usages: FxHashMap<String, Vec<Usage>>,
    /// Fragments each fragment spreads directly.
    fragment_spreads: FxHashMap<String, Vec<String>>,
}

/// Validates `doc`; the errors, in document order (empty when valid).
pub fn validate(api: &Api, doc: &Document) -> Vec<QueryError> {
    let mut v = Validator {
        api,
        doc,
        fragments: FxHashMap::default(),
        errors: Vec::new(),
        path: Vec::new(),
        usages: Vec::new(),
        fragment_usages: FxHashMap::default(),
        fragment_spreads: FxHashMap::default(),
    };
    v.run();
    v.errors
}

impl<'a> Validator<'a> {
    fn error(&mut self, message: impl Into<String>, locations: &[Pos]) {
        let mut e = QueryError::new(message);
        e.locations = locations.to_vec();
        e.path = self.path.iter().map(|k| PathSegment::Key((*k).to_string())).collect();
        self.errors.push(e);
    }

    fn run(&mut self) {
        let doc = self.doc;
        // 5.1.1 Executable Definitions.
        for t in &doc.type_system {
            self.error(format!("The \"{}\" definition is not executable.", t.value), &[t.pos]);
        }
        // 5.5.1.1 Fragment Name Uniqueness.
        for (i, f) in doc.fragments.iter().enumerate() {
            if let Some(first) = doc.fragments[..i].iter().find(|g| g.name.value == f.name.value) {
                self.error(
                    format!("There can be only one fragment named \"{}\".", f.name.value),
                    &values::two(first.name.pos, f.name.pos),
                );
            } else {
                self.fragments.insert(&f.name.value, f);
            }
        }
        // 5.2.1.1 Operation Name Uniqueness; 5.2.2.1 Lone Anonymous Operation.
        for (i, op) in doc.operations.iter().enumerate() {
            match &op.name {
                Some(n) => {
                    if let Some(first) = doc.operations[..i]
                        .iter()
                        .filter_map(|o| o.name.as_ref())
                        .find(|m| m.value == n.value)
                    {
                        self.error(
                            format!("There can be only one operation named \"{}\".", n.value),
                            &values::two(first.pos, n.pos),
                        );
                    }
                }
                None if doc.operations.len() > 1 => {
                    self.error("This anonymous operation must be the only defined operation.", &[op.pos])
                }
                None => {}
            }
        }
        // Fragments, each in its own type context.
        for f in &doc.fragments {
            self.usages.clear();
            let cond = f.type_condition.value.as_str();
            match self.api.get(cond).map(|t| &t.kind) {
                None => self.error(format!("Unknown type \"{cond}\"."), &[f.type_condition.pos]),
                Some(ApiKind::Object { .. } | ApiKind::Interface { .. }) => {
                    self.directives(&f.directives, DirectiveLocation::FragmentDefinition);
                    self.selection_set(&f.selection_set, cond);
                }
                Some(_) => self.error(
                    format!(
                        "Fragment \"{}\" cannot condition on non composite type \"{cond}\".",
                        f.name.value
                    ),
                    &[f.type_condition.pos],
                ),
            }
            let usages = std::mem::take(&mut self.usages);
            self.fragment_usages.insert(f.name.value.clone(), usages);
            let mut spreads = Vec::new();
            spreads_of(&f.selection_set, &mut spreads);
            self.fragment_spreads.insert(f.name.value.clone(), spreads);
        }
        self.fragment_cycles();
        let mut used_fragments: FxHashSet<String> = FxHashSet::default();
        for op in &doc.operations {
            self.usages.clear();
            let root = match op.kind {
                OperationKind::Query => Some("Query"),
                OperationKind::Mutation => self.api.get("Mutation").map(|_| "Mutation"),
                OperationKind::Subscription => None,
            };
            let Some(root) = root else {
                self.error(
                    format!("The schema does not support {} operations.", op.kind.keyword()),
                    &[op.pos],
                );
                continue;
            };
            let location = match op.kind {
                OperationKind::Mutation => DirectiveLocation::Mutation,
                _ => DirectiveLocation::Query,
            };
            self.variable_definitions(op);
            self.directives(&op.directives, location);
            self.selection_set(&op.selection_set, root);
            // Usages through fragments, transitively.
            let mut spreads = Vec::new();
            spreads_of(&op.selection_set, &mut spreads);
            let mut seen: FxHashSet<String> = FxHashSet::default();
            while let Some(name) = spreads.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                if let Some(u) = self.fragment_usages.get(&name) {
                    self.usages.extend(u.iter().cloned());
                }
                if let Some(s) = self.fragment_spreads.get(&name) {
                    spreads.extend(s.iter().cloned());
                }
            }
            self.variable_usages(op);
            used_fragments.extend(seen);
        }
        // 5.5.1.4 Fragments Must Be Used.
        for f in &doc.fragments {
            if !used_fragments.contains(&f.name.value) {
                self.error(format!("Fragment \"{}\" is never used.", f.name.value), &[f.pos]);
            }
        }
        // 5.3.2 Field Selection Merging.
        for op in &doc.operations {
            let root = if op.kind == OperationKind::Mutation { "Mutation" } else { "Query" };
            if self.api.get(root).is_some() {
                self.check_merging(&op.selection_set, root);
            }
        }
        for f in &doc.fragments {
            if self.api.get(&f.type_condition.value).is_some() {
                self.check_merging(&f.selection_set, &f.type_condition.value);
            }
        }
        self.errors.sort_by_key(|e| e.locations.first().copied().unwrap_or_default());
    }

    /// 5.8.1 Variable Uniqueness, 5.8.2 Variables Are Input Types, default values' types.
    fn variable_definitions(&mut self, op: &crate::ast::Operation) {
        for (i, var) in op.variables.iter().enumerate() {
            if let Some(first) = op.variables[..i].iter().find(|w| w.name.value == var.name.value) {
                self.error(
                    format!("There can be only one variable named \"${}\".", var.name.value),
                    &values::two(first.pos, var.pos),
                );
            }
            let base = var.ty.base();
            match self.api.get(base).map(|t| &t.kind) {
                Some(ApiKind::Scalar | ApiKind::Enum { .. } | ApiKind::InputObject { .. }) => {
                    if let Some(d) = &var.default {
                        self.check_value(d, &var.ty, false);
                    }
                }
                Some(_) => self.error(
                    format!("Variable \"${}\" cannot be non-input type \"{}\".", var.name.value, var.ty),
                    &[var.ty_pos],
                ),
                None => self.error(format!("Unknown type \"{base}\"."), &[var.ty_pos]),
            }
            self.directives(&var.directives, DirectiveLocation::VariableDefinition);
        }
    }

    /// 5.8.3 All Variable Uses Defined, 5.8.4 All Variables Used, 5.8.5 All Variable Usages
    /// Are Allowed.
    fn variable_usages(&mut self, op: &crate::ast::Operation) {
        let usages = std::mem::take(&mut self.usages);
        let op_name = op.name.as_ref().map(|n| format!(" by operation \"{}\"", n.value)).unwrap_or_default();
        let mut reported: FxHashSet<(String, Pos)> = FxHashSet::default();
        for u in &usages {
            match op.variables.iter().find(|v| v.name.value == u.name) {
                None => {
                    if reported.insert((u.name.clone(), u.pos)) {
                        self.error(
                            format!("Variable \"${}\" is not defined{op_name}.", u.name),
                            &[u.pos, op.pos],
                        );
                    }
                }
                Some(def) => {
                    let var_ty = match (&def.ty, &u.ty) {
                        (TypeRef::NonNull(_), _) => def.ty.clone(),
                        (t, TypeRef::NonNull(_))
                            if u.has_default
                                || def
                                    .default
                                    .as_ref()
                                    .is_some_and(|d| d.node != crate::ast::Value::Null) =>
                        {
                            t.clone().non_null()
                        }
                        (t, _) => t.clone(),
                    };
                    if !values::types_compatible(&var_ty, &u.ty) {
                        self.error(
                            format!(
                                "Variable \"${}\" of type \"{}\" used in position expecting type \"{}\".",
                                u.name, def.ty, u.ty
                            ),
                            &values::two(def.pos, u.pos),
                        );
                    }
                }
            }
        }
        for def in &op.variables {
            if !usages.iter().any(|u| u.name == def.name.value) {
                self.error(format!("Variable \"${}\" is never used{op_name}.", def.name.value), &[def.pos]);
            }
        }
    }

    fn selection_set(&mut self, set: &'a SelectionSet, parent: &str) {
        for sel in &set.items {
            match sel {
                Selection::Field(f) => {
                    self.path.push(f.response_key());
                    self.field(f, parent);
                    self.path.pop();
                }
                Selection::FragmentSpread(s) => {
                    self.directives(&s.directives, DirectiveLocation::FragmentSpread);
                    match self.fragments.get(s.name.value.as_str()) {
                        None => self.error(format!("Unknown fragment \"{}\".", s.name.value), &[s.name.pos]),
                        Some(frag) => {
                            let cond = frag.type_condition.value.clone();
                            if self.api.get(&cond).is_some() && !self.overlaps(parent, &cond) {
                                self.error(
                                    format!(
                                        "Fragment \"{}\" cannot be spread here as objects of type \"{parent}\" can never be of type \"{cond}\".",
                                        s.name.value
                                    ),
                                    &[s.pos],
                                );
                            }
                        }
                    }
                }
                Selection::InlineFragment(i) => {
                    self.directives(&i.directives, DirectiveLocation::InlineFragment);
                    let cond = i.type_condition.as_ref().map_or(parent, |c| c.value.as_str());
                    match self.api.get(cond).map(|t| &t.kind) {
                        None => {
                            let pos = i.type_condition.as_ref().map_or(i.pos, |c| c.pos);
                            self.error(format!("Unknown type \"{cond}\"."), &[pos]);
                        }
                        Some(ApiKind::Object { .. } | ApiKind::Interface { .. }) => {
                            if !self.overlaps(parent, cond) {
                                self.error(
                                    format!(
                                        "Fragment cannot be spread here as objects of type \"{parent}\" can never be of type \"{cond}\"."
                                    ),
                                    &[i.pos],
                                );
                            }
                            self.selection_set(&i.selection_set, cond);
                        }
                        Some(_) => self.error(
                            format!("Fragment cannot condition on non composite type \"{cond}\"."),
                            &[i.type_condition.as_ref().map_or(i.pos, |c| c.pos)],
                        ),
                    }
                }
            }
        }
    }

    /// 5.5.2.3 Fragment spread is possible.
    fn overlaps(&self, a: &str, b: &str) -> bool {
        let pa = self.api.possible_types(a);
        let pb = self.api.possible_types(b);
        pa.iter().any(|t| pb.contains(t))
    }

    fn field(&mut self, f: &'a Field, parent: &str) {
        self.directives(&f.directives, DirectiveLocation::Field);
        if f.name.value == "__typename" {
            self.arguments(&f.arguments, &[], f.name.pos, Owner::Field(parent, "__typename"));
            if !f.selection_set.items.is_empty() {
                self.error(
                    "Field \"__typename\" must not have a selection since type \"String!\" has no subfields.",
                    &[f.selection_set.pos],
                );
            }
            return;
        }
        // 5.3.1 Field Selections.
        let api: &'a Api = self.api;
        let Some(def) = api.field(parent, &f.name.value) else {
            self.error(
                format!("Cannot query field \"{}\" on type \"{parent}\".", f.name.value),
                &[f.name.pos],
            );
            return;
        };
        let (args, ty) = (&def.args, &def.ty);
        self.arguments(&f.arguments, args, f.name.pos, Owner::Field(parent, &f.name.value));
        // 5.3.3 Leaf Field Selections.
        let base: &'a str = ty.base();
        match self.api.get(base).map(|t| &t.kind) {
            Some(ApiKind::Scalar | ApiKind::Enum { .. }) => {
                if !f.selection_set.items.is_empty() {
                    self.error(
                        format!(
                            "Field \"{}\" must not have a selection since type \"{ty}\" has no subfields.",
                            f.name.value
                        ),
                        &[f.selection_set.pos],
                    );
                }
            }
            _ => {
                if f.selection_set.items.is_empty() {
                    self.error(
                        format!(
                            "Field \"{}\" of type \"{ty}\" must have a selection of subfields. Did you mean \"{} {{ ... }}\"?",
                            f.name.value, f.name.value
                        ),
                        &[f.name.pos],
                    );
                } else {
                    self.selection_set(&f.selection_set, base);
                }
            }
        }
    }

    /// 5.4.1 Argument Names, 5.4.2 Argument Uniqueness, 5.4.2.1 Required Arguments, and the
    /// values' types. `owner` names the field (`Parent.field`) or directive (`@name`) in
    /// messages; it is formatted only when there is an error.
    fn arguments(&mut self, given: &[crate::ast::Argument], defs: &[InputValue], pos: Pos, owner: Owner<'_>) {
        for (i, a) in given.iter().enumerate() {
            if let Some(first) = given[..i].iter().find(|b| b.name.value == a.name.value) {
                self.error(
                    format!("There can be only one argument named \"{}\".", a.name.value),
                    &values::two(first.name.pos, a.name.pos),
                );
                continue;
            }
            match defs.iter().find(|d| d.name == a.name.value) {
                Some(d) => self.check_value(&a.value, &d.ty, d.default.is_some()),
                None => self.error(
                    format!("Unknown argument \"{}\" on {} \"{owner}\".", a.name.value, owner.what()),
                    &[a.name.pos],
                ),
            }
        }
        for d in defs {
            if d.ty.is_non_null() && d.default.is_none() && !given.iter().any(|a| a.name.value == d.name) {
                self.error(
                    format!(
                        "{} \"{owner}\" argument \"{}\" of type \"{}\" is required, but it was not provided.",
                        capitalize(owner.what()),
                        d.name,
                        d.ty
                    ),
                    &[pos],
                );
            }
        }
    }

    /// 5.7.1 Directives Are Defined, 5.7.2 In Valid Locations, 5.7.3 Unique Per Location.
    fn directives(&mut self, dirs: &[Directive], location: DirectiveLocation) {
        for (i, d) in dirs.iter().enumerate() {
            let Some(def) = self.api.directive(&d.name.value) else {
                self.error(format!("Unknown directive \"@{}\".", d.name.value), &[d.pos]);
                continue;
            };
            if dirs[..i].iter().any(|e| e.name.value == d.name.value) {
                self.error(
                    format!("The directive \"@{}\" can only be used once at this location.", d.name.value),
                    &[d.pos],
                );
            }
            if !def.locations.contains(&location) {
                self.error(
                    format!("Directive \"@{}\" may not be used on {}.", d.name.value, location.name()),
                    &[d.pos],
                );
            }
            let api: &'a Api = self.api;
            let Some(def) = api.directive(&d.name.value) else { continue };
            self.arguments(&d.arguments, &def.args, d.pos, Owner::Directive(&d.name.value));
        }
    }

    /// 5.5.2.2 Fragment spreads must not form cycles.
    fn fragment_cycles(&mut self) {
        let names: Vec<String> = self.doc.fragments.iter().map(|f| f.name.value.clone()).collect();
        let mut reported: FxHashSet<String> = FxHashSet::default();
        for start in names {
            // Depth-first search for a path back to `start`.
            let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), Vec::new())];
            let mut seen: FxHashSet<String> = FxHashSet::default();
            while let Some((name, path)) = stack.pop() {
                let Some(next) = self.fragment_spreads.get(&name) else { continue };
                for n in next.clone() {
                    if n == start {
                        if reported.insert(start.clone()) {
                            let via = if path.is_empty() {
                                String::new()
                            } else {
                                format!(" via {}", path.join(", "))
                            };
                            let pos = self.fragments.get(start.as_str()).map(|f| f.pos).unwrap_or_default();
                            self.error(
                                format!("Cannot spread fragment \"{start}\" within itself{via}."),
                                &[pos],
                            );
                        }
                    } else if seen.insert(n.clone()) {
                        let mut p = path.clone();
                        p.push(n.clone());
                        stack.push((n, p));
                    }
                }
            }
        }
    }
}

fn spreads_of(set: &SelectionSet, out: &mut Vec<String>) {
    for s in &set.items {
        match s {
            Selection::Field(f) => spreads_of(&f.selection_set, out),
            Selection::FragmentSpread(s) => out.push(s.name.value.clone()),
            Selection::InlineFragment(i) => spreads_of(&i.selection_set, out),
        }
    }
}

/// What an argument list belongs to, for messages.
#[derive(Clone, Copy)]
enum Owner<'n> {
    /// A field: its parent type and name.
    Field(&'n str, &'n str),
    /// A directive, by name.
    Directive(&'n str),
}

impl Owner<'_> {
    fn what(self) -> &'static str {
        match self {
            Owner::Field(..) => "field",
            Owner::Directive(_) => "directive",
        }
    }
}

impl std::fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Field(parent, name) => write!(f, "{parent}.{name}"),
            Owner::Directive(name) => write!(f, "@{name}"),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
