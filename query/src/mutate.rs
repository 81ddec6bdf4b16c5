//! Running a mutation operation: every field in order inside one write transaction (any error
//! rolls the whole operation back and says which field and which input failed), then the
//! payloads, read from the committed state (or, for deleted nodes, from the state before).

use quiver_engine::{Direction, EdgeId, PropId, Snapshot, TypeId, Value as EValue, ValueView, WriteTxn};
use rustc_hash::FxHashSet;

use crate::ast::{Spanned, Value};
use crate::database::{Loaded, Response};
use crate::error::{PathSegment, QueryError};
use crate::exec::filter::NodeSource;
use crate::plan::filter;
use crate::plan::mutation::{Action, MutationField, MutationPlan, PayloadItem};
use crate::schema::{FieldKind, Schema};

/// Links `src` to each of `dsts` along a field stored as `stored` (one engine edge type, or one
/// per implementer of an interface, picked by the target's type). A singular field keeps one
/// target over all its edge types. Shared by mutations and import.
pub(crate) fn link(
    txn: &mut WriteTxn<'_>,
    stored: &[(TypeId, EdgeId)],
    list: bool,
    src: u64,
    dsts: &[u64],
) -> quiver_engine::Result<()> {
    if let [(_, e)] = stored {
        return txn.add_edges(*e, src, dsts);
    }
    if !list {
        for &(_, e) in stored {
            for old in txn.neighbors(e, Direction::Out, src)? {
                if !dsts.contains(&old) {
                    txn.remove_edge(e, src, old)?;
                }
            }
        }
    }
    for &d in dsts {
        let t = txn.node_type(d);
        let e = stored.iter().find(|(tt, _)| Some(*tt) == t).map(|x| x.1).ok_or_else(|| {
            quiver_engine::Error::Invalid(format!("{d:#x} cannot be a target of this field"))
        })?;
        txn.add_edge(e, src, d)?;
    }
    Ok(())
}

/// Runs a planned mutation operation.
pub(crate) fn run(
    store: &quiver_engine::Store,
    loaded: &Loaded,
    plan: &MutationPlan,
    limits: &crate::QueryLimits,
    ack: crate::database::Ack,
) -> crate::database::Pending {
    let budget = crate::exec::Budget::new(limits.max_nodes, limits.max_time);
    let mut txn = match store.write() {
        Ok(t) => t,
        Err(e) => {
            return Response::request_errors(vec![QueryError::new(format!("storage error: {e}"))]).into();
        }
    };
    let before = txn.start_snapshot();
    let mut touched: Vec<Vec<u64>> = Vec::new();
    let mut changed = FxHashSet::default();
    for field in &plan.fields {
        let mut m = Mutator {
            schema: &loaded.schema,
            txn: &mut txn,
            before: &before,
            changed: &mut changed,
            path: vec![PathSegment::Key(field.key.clone())],
        };
        match m.field(field) {
            Ok(uids) => touched.push(uids),
            Err(e) => {
                drop(txn); // rolls back every field of the operation
                return failed(plan, e.at(field.pos)).into();
            }
        }
    }
    let (seq, after) = match ack {
        crate::database::Ack::Wait => match txn.commit() {
            Ok(seq) => (seq, store.snapshot()),
            Err(e) => return failed(plan, QueryError::new(format!("storage error: {e}"))).into(),
        },
        crate::database::Ack::Defer => match txn.commit_deferred() {
            Ok(done) => done,
            Err(e) => return failed(plan, QueryError::new(format!("storage error: {e}"))).into(),
        },
    };
    let mut json = String::from("{\"data\":{");
    let mut errors = Vec::new();
    for (i, (field, uids)) in plan.fields.iter().zip(&touched).enumerate() {
        if i > 0 {
            json.push(',');
        }
        crate::json::write_str(&mut json, &field.key);
        json.push(':');
        let snap = if matches!(field.action, Action::Delete { .. }) { &before } else { &after };
        payload(snap, loaded, field, uids, &budget, &mut json, &mut errors);
    }
    json.push('}');
    let response = crate::database::finish(json, errors);
    match ack {
        crate::database::Ack::Wait => response.into(),
        crate::database::Ack::Defer => {
            crate::database::Pending::new(response, seq, plan.fields.iter().map(|f| f.key.clone()).collect())
        }
    }
}

/// The response when a field failed: every field null, the error, nothing applied.
fn failed(plan: &MutationPlan, error: QueryError) -> Response {
    failed_fields(plan.fields.iter().map(|f| f.key.as_str()), error)
}

/// The response of a failed mutation whose fields are `keys`.
pub(crate) fn failed_fields<'a>(keys: impl Iterator<Item = &'a str>, error: QueryError) -> Response {
    let mut json = String::from("{\"data\":{");
    for (i, key) in keys.enumerate() {
        if i > 0 {
            json.push(',');
        }
        crate::json::write_str(&mut json, key);
        json.push_str(":null");
    }
    json.push('}');
    crate::database::finish(json, vec![error])
}

fn payload(
    snap: &Snapshot,
    loaded: &Loaded,
    field: &MutationField,
    uids: &[u64],
    budget: &crate::exec::Budget,
    out: &mut String,
    errors: &mut Vec<QueryError>,
) {
    out.push('{');
    for (i, (key, item)) in field.payload.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::json::write_str(out, key);
        out.push(':');
        match item {
            PayloadItem::Typename(t) => crate::json::write_str(out, t),
            PayloadItem::NumUids => crate::json::write_int(out, uids.len() as i64),
            PayloadItem::Msg => {
                crate::json::write_str(out, if uids.is_empty() { "No nodes were deleted" } else { "Deleted" })
            }
            PayloadItem::Nodes { args, sel } => {
                let path = vec![PathSegment::Key(field.key.clone()), PathSegment::Key(key.to_string())];
                if let Err(message) = crate::exec::write_nodes(
                    snap,
                    &loaded.schema,
                    &loaded.api,
                    field.ty,
                    uids,
                    args,
                    sel,
                    budget,
                    out,
                ) {
                    out.push_str("null");
                    errors.push(QueryError::new(message).at(field.pos).with_path(path));
                }
            }
        }
    }
    out.push('}');
}

/// A node as the write transaction sees it, for the filters of later fields.
struct TxnNode<'t, 's> {
    txn: &'t mut WriteTxn<'s>,
    uid: u64,
}

impl NodeSource for TxnNode<'_, '_> {
    fn node_type(&mut self) -> Option<TypeId> {
        self.txn.node_type(self.uid)
    }

    fn uid(&mut self) -> u64 {
        self.uid
    }

    fn value_test(
        &mut self,
        prop: PropId,
        test: &mut dyn FnMut(Option<&ValueView<'_>>) -> bool,
    ) -> quiver_engine::Result<bool> {
        let Some(v) = self.txn.value(self.uid, prop)? else { return Ok(test(None)) };
        let bytes = v.encode();
        // Just encoded here, so it decodes.
        let view = ValueView::decode(&bytes).map_err(|e| quiver_engine::Error::Invalid(e.0.to_string()))?;
        Ok(test(Some(&view)))
    }

    fn has_edges(&mut self, edge: EdgeId) -> quiver_engine::Result<bool> {
        Ok(!self.txn.neighbors(edge, Direction::Out, self.uid)?.is_empty())
    }
}

struct Mutator<'m, 's> {
    schema: &'m Schema,
    txn: &'m mut WriteTxn<'s>,
    before: &'m Snapshot,
    /// Nodes earlier fields of the operation created or changed (values or edges, either end).
    changed: &'m mut FxHashSet<u64>,
    /// Where in the response and the input the current value is.
    path: Vec<PathSegment>,
}

impl Mutator<'_, '_> {
    fn err(&self, message: impl Into<String>) -> QueryError {
        QueryError::new(message).with_path(self.path.clone())
    }

    fn engine(&self, e: quiver_engine::Error) -> QueryError {
        self.err(e.to_string())
    }

    /// Runs one field; the uids it added, changed or deleted.
    fn field(&mut self, field: &MutationField) -> Result<Vec<u64>, QueryError> {
        match &field.action {
            Action::Add { inputs, upsert } => {
                self.path.push(PathSegment::Key("input".into()));
                let mut out = Vec::with_capacity(inputs.len());
                for (i, v) in inputs.iter().enumerate() {
                    self.path.push(PathSegment::Index(i));
                    out.push(self.add(field.ty, v, *upsert, true)?);
                    self.path.pop();
                }
                Ok(out)
            }
            Action::Update { filter, set, remove } => {
                let uids = self.matching(field.ty, filter.as_ref())?;
                self.path.push(PathSegment::Key("input".into()));
                for &uid in &uids {
                    if let Some(set) = set {
                        self.path.push(PathSegment::Key("set".into()));
                        self.apply(field.ty, uid, set)?;
                        self.path.pop();
                    }
                    if let Some(remove) = remove {
                        self.path.push(PathSegment::Key("remove".into()));
                        self.remove(field.ty, uid, remove)?;
                        self.path.pop();
                    }
                }
                Ok(uids)
            }
            Action::Delete { filter } => {
                let uids = self.matching(field.ty, filter.as_ref())?;
                for &uid in &uids {
                    // The nodes it pointed to, and those pointing to it, lose an edge.
                    let mut neighbours = Vec::new();
                    if let Some(t) = self.txn.node_type(uid) {
                        let edges: Vec<EdgeId> = self
                            .before
                            .catalog()
                            .edges
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| !e.dropped && (e.source == t || e.target == t))
                            .map(|(i, _)| i as EdgeId)
                            .collect();
                        for e in edges {
                            for dir in [Direction::Out, Direction::In] {
                                neighbours
                                    .extend(self.txn.neighbors(e, dir, uid).map_err(|er| self.engine(er))?);
                            }
                        }
                    }
                    self.txn.delete_node(uid).map_err(|e| self.engine(e))?;
                    self.changed.extend(neighbours);
                    self.changed.insert(uid);
                }
                Ok(uids)
            }
        }
    }

    /// The uids the filter selects, as the operation has left the database so far: matches in
    /// the snapshot the transaction started from (answered by the indexes), except the nodes
    /// earlier fields changed, which are tested as the transaction sees them.
    fn matching(&mut self, ty: usize, f: Option<&filter::Filter>) -> Result<Vec<u64>, QueryError> {
        let types: Vec<TypeId> =
            self.schema.concrete(ty).iter().filter_map(|&c| self.schema.types[c].engine).collect();
        let nodes = crate::exec::matching(self.before, &types, f).map_err(|e| self.err(e))?;
        let mut out: Vec<u64> = nodes
            .into_iter()
            .map(|d| self.before.uid(d))
            .filter(|u| !self.changed.contains(u) && self.txn.node_type(*u).is_some())
            .collect();
        let mut changed: Vec<u64> = self.changed.iter().copied().collect();
        changed.sort_unstable();
        for uid in changed {
            if !self.txn.node_type(uid).is_some_and(|t| types.contains(&t)) {
                continue;
            }
            let pass = match f {
                None => true,
                Some(f) => crate::exec::filter::eval(&mut TxnNode { txn: self.txn, uid }, f)
                    .map_err(|e| self.engine(e))?,
            };
            if pass {
                out.push(uid);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// An `@id` value of `ty` already held by a node: that node.
    fn holder(&self, ty: usize, v: &Spanned<Value>) -> Result<Option<u64>, QueryError> {
        let Value::Object(fields) = &v.node else { return Ok(None) };
        for (name, fv) in fields {
            let Some((_, f)) = self.schema.field(ty, &name.value) else { continue };
            let FieldKind::Scalar { xid: true, prop: Some(p), scalar, .. } = &f.kind else { continue };
            if fv.node == Value::Null {
                continue;
            }
            let value = filter::engine_value(scalar, fv).map_err(|e| self.err(e.message))?;
            let hits = self.before.lookup_eq(*p, &value).map_err(|e| self.engine(e))?;
            if let Some(&d) = hits.first() {
                let uid = self.before.uid(d);
                if self.txn.node_type(uid).is_some() {
                    return Ok(Some(uid));
                }
            }
        }
        Ok(None)
    }

    /// `AddTInput` (or a `TRef` that creates): a new node, or with `upsert` the node one of
    /// its `@id` values names.
    fn add(&mut self, ty: usize, v: &Spanned<Value>, upsert: bool, top: bool) -> Result<u64, QueryError> {
        let t = &self.schema.types[ty];
        let engine = t.engine.ok_or_else(|| self.err(format!("{} is not stored", t.name)))?;
        if let Some(existing) = self.holder(ty, v)? {
            if !upsert {
                let (field, value) = self.xid_given(ty, v).unwrap_or_default();
                return Err(
                    self.err(format!("id {value} already exists for field {field} inside type {}", t.name))
                );
            }
            self.apply(ty, existing, v)?;
            return Ok(existing);
        }
        let uid = self.txn.create_node(engine, None).map_err(|e| self.engine(e))?;
        self.changed.insert(uid);
        self.apply(ty, uid, v)?;
        if !top {
            self.required(ty, v)?;
        }
        Ok(uid)
    }

    fn xid_given(&self, ty: usize, v: &Spanned<Value>) -> Option<(String, String)> {
        let Value::Object(fields) = &v.node else { return None };
        fields.iter().find_map(|(n, fv)| match self.schema.field(ty, &n.value) {
            Some((_, f)) if matches!(f.kind, FieldKind::Scalar { xid: true, .. }) => {
                Some((n.value.clone(), fv.node.to_graphql()))
            }
            _ => None,
        })
    }

    /// A nested new node must give its non-null fields (validation checks only the top level,
    /// whose input type says so).
    fn required(&self, ty: usize, v: &Spanned<Value>) -> Result<(), QueryError> {
        let Value::Object(given) = &v.node else { return Ok(()) };
        for f in &self.schema.types[ty].fields {
            let present = given.iter().any(|(n, fv)| n.value == f.name && fv.node != Value::Null);
            if f.ty.is_non_null() && f.kind != FieldKind::Id && !present {
                return Err(self.err(format!("{}.{} is required", self.schema.types[ty].name, f.name)));
            }
        }
        Ok(())
    }

    /// Sets the fields an input object gives on `uid` (edges add targets; a singular edge
    /// replaces its target).
    fn apply(&mut self, ty: usize, uid: u64, v: &Spanned<Value>) -> Result<(), QueryError> {
        let Value::Object(fields) = &v.node else { return Ok(()) };
        let schema = self.schema;
        self.changed.insert(uid);
        for (name, fv) in fields {
            let Some((_, f)) = schema.field(ty, &name.value) else { continue };
            self.path.push(PathSegment::Key(name.value.clone()));
            match &f.kind {
                FieldKind::Id => {}
                FieldKind::Scalar { prop: Some(p), .. } if fv.node == Value::Null => {
                    self.txn.remove(uid, *p).map_err(|e| self.engine(e))?;
                }
                FieldKind::Scalar { scalar, list, prop: Some(p), .. } => {
                    let value = scalar_value(scalar, *list, fv).map_err(|m| self.err(m))?;
                    self.txn.set(uid, *p, value).map_err(|e| self.engine(e))?;
                }
                FieldKind::Edge { target, list, edges, .. } if fv.node != Value::Null => {
                    let refs: Vec<&Spanned<Value>> = fv.items();
                    let mut dsts = Vec::with_capacity(refs.len());
                    for (i, r) in refs.into_iter().enumerate() {
                        if *list {
                            self.path.push(PathSegment::Index(i));
                        }
                        dsts.push(self.reference(*target, r)?);
                        if *list {
                            self.path.pop();
                        }
                    }
                    link(self.txn, edges, *list, uid, &dsts).map_err(|e| self.engine(e))?;
                    // Inverse edges change the targets too.
                    self.changed.extend(dsts.iter().copied());
                }
                _ => {}
            }
            self.path.pop();
        }
        Ok(())
    }

    /// A `TRef`: the node its id or `@id` value names, or a new node made from it.
    fn reference(&mut self, target: usize, r: &Spanned<Value>) -> Result<u64, QueryError> {
        let Value::Object(fields) = &r.node else { return Err(self.err("expected an object")) };
        let t = &self.schema.types[target];
        let id = fields.iter().find(|(n, v)| {
            v.node != Value::Null
                && (t.id_field.is_some_and(|i| t.fields[i].name == n.value)
                    || (t.interface && n.value == "id"))
        });
        if let Some((_, v)) = id {
            let uid = filter::parse_uid_value(&v.node)
                .ok_or_else(|| self.err(format!("{} is not a uid", v.node.describe())))?;
            let found = self.txn.node_type(uid).and_then(|e| self.schema.type_of_engine(e));
            return match found {
                Some(c) if self.schema.concrete(target).contains(&c) => Ok(uid),
                _ => Err(self.err(format!("no {} with id {uid:#x}", t.name))),
            };
        }
        if t.interface {
            return Err(self.err(format!("a reference to {} needs an id", t.name)));
        }
        if let Some(existing) = self.holder(target, r)? {
            return Ok(existing);
        }
        self.add(target, r, false, false)
    }

    /// Removes what a `TPatch` names from `uid`: a scalar when its value matches (any value
    /// for null; matching items of a list), edges to the named nodes.
    fn remove(&mut self, ty: usize, uid: u64, v: &Spanned<Value>) -> Result<(), QueryError> {
        let Value::Object(fields) = &v.node else { return Ok(()) };
        let schema = self.schema;
        self.changed.insert(uid);
        for (name, fv) in fields {
            let Some((_, f)) = schema.field(ty, &name.value) else { continue };
            self.path.push(PathSegment::Key(name.value.clone()));
            match &f.kind {
                FieldKind::Scalar { scalar, list, prop: Some(p), .. } => {
                    let current = self.txn.value(uid, *p).map_err(|e| self.engine(e))?;
                    match (current, &fv.node) {
                        (Some(_), Value::Null) => self.txn.remove(uid, *p).map_err(|e| self.engine(e))?,
                        (Some(EValue::List(items)), _) if *list => {
                            let EValue::List(gone) =
                                scalar_value(scalar, true, fv).map_err(|m| self.err(m))?
                            else {
                                continue;
                            };
                            let kept: Vec<EValue> = items.into_iter().filter(|x| !gone.contains(x)).collect();
                            self.txn.set(uid, *p, EValue::List(kept)).map_err(|e| self.engine(e))?;
                        }
                        (Some(cur), _) => {
                            if cur == scalar_value(scalar, false, fv).map_err(|m| self.err(m))? {
                                self.txn.remove(uid, *p).map_err(|e| self.engine(e))?;
                            }
                        }
                        (None, _) => {}
                    }
                }
                FieldKind::Edge { target, edges, .. } => {
                    let refs = if fv.node == Value::Null { Vec::new() } else { fv.items() };
                    let mut gone = Vec::new();
                    for r in refs {
                        gone.push(self.existing(*target, r)?);
                    }
                    for &(_, e) in edges {
                        for old in self.txn.neighbors(e, Direction::Out, uid).map_err(|er| self.engine(er))? {
                            if fv.node == Value::Null || gone.contains(&old) {
                                self.txn.remove_edge(e, uid, old).map_err(|er| self.engine(er))?;
                                self.changed.insert(old);
                            }
                        }
                    }
                }
                _ => {}
            }
            self.path.pop();
        }
        Ok(())
    }

    /// The node a reference names (never creates one).
    fn existing(&self, target: usize, r: &Spanned<Value>) -> Result<u64, QueryError> {
        let Value::Object(fields) = &r.node else { return Err(self.err("expected an object")) };
        let t = &self.schema.types[target];
        let id = fields
            .iter()
            .find(|(n, _)| t.id_field.is_some_and(|i| t.fields[i].name == n.value) || n.value == "id");
        match id.and_then(|(_, v)| filter::parse_uid_value(&v.node)) {
            Some(uid) => Ok(uid),
            None => self
                .holder(target, r)?
                .ok_or_else(|| self.err(format!("no {} matches this reference", t.name))),
        }
    }
}

/// An input literal as the stored value of a field.
fn scalar_value(
    scalar: &quiver_engine::ScalarType,
    list: bool,
    v: &Spanned<Value>,
) -> Result<EValue, String> {
    if list {
        let items: Vec<&Spanned<Value>> = v.items();
        return items
            .into_iter()
            .map(|i| scalar_value(scalar, false, i))
            .collect::<Result<_, _>>()
            .map(EValue::List);
    }
    filter::engine_value(scalar, v).map_err(|e| e.message)
}
