//! [`Database`]: a data directory with a schema, answering GraphQL. The stages run in order:
//! parse -> validate -> coerce variables -> plan -> execute on one snapshot -> JSON.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use quiver_engine::{Options, Store};

use crate::error::{Error, QueryError};
use crate::schema::Schema;
use crate::schema::api::Api;
use crate::{ParseLimits, plan, validate};

/// A schema bound to the catalog, with its generated API and the documents already parsed and
/// validated against it.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub schema: Schema,
    pub api: Api,
    documents: DocumentCache,
}

/// Parsed and validated documents by their text, so a repeated query skips the parser and the
/// validator (as GraphQL servers commonly do). Bounded: only documents up to
/// [`DocumentCache::MAX_TEXT`] bytes are kept, and the cache starts over when it holds
/// [`DocumentCache::MAX_ENTRIES`]. It belongs to one schema: setting a schema starts a new one.
#[derive(Debug, Default)]
struct DocumentCache {
    entries: std::sync::RwLock<rustc_hash::FxHashMap<String, Arc<Cached>>>,
}

/// A cache entry: the document's nesting depth (so a handle with tighter limits than the one
/// that parsed it still refuses it without scanning the text again) and what preparing gave.
#[derive(Debug)]
struct Cached {
    depth: usize,
    prepared: Prepared,
}

/// A document after parsing and validation: the tree (with the plans of its operations that
/// take no variables, made once), or the errors to answer with.
type Prepared = Result<ValidDocument, Vec<QueryError>>;

/// A valid document and, per operation, its plan once made (only for operations without
/// variables, whose plan cannot depend on the request).
#[derive(Debug)]
struct ValidDocument {
    doc: crate::ast::Document,
    plans: Vec<std::sync::OnceLock<Result<plan::Plan, QueryError>>>,
}

impl DocumentCache {
    const MAX_ENTRIES: usize = 1024;
    const MAX_TEXT: usize = 16 * 1024;

    /// The entry for `text`, if cached.
    fn get(&self, text: &str) -> Option<Arc<Cached>> {
        // A poisoned lock only means another query panicked mid-insert; the map is still whole.
        self.entries.read().unwrap_or_else(|e| e.into_inner()).get(text).cloned()
    }

    /// Keeps `cached` for `text` when it is small enough to keep.
    fn insert(&self, text: &str, cached: Cached) -> Arc<Cached> {
        let cached = Arc::new(cached);
        if text.len() <= Self::MAX_TEXT {
            let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(text.to_string(), Arc::clone(&cached));
        }
        cached
    }
}

/// A Quiver database: the storage engine plus the schema and query language.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let db = quiver_query::Database::open(dir.path()).unwrap();
/// db.set_schema("type Person { id: ID!  name: String! @search(by: [hash]) }").unwrap();
/// let r = db.execute("{ queryPerson { name } }", &serde_json::Value::Null);
/// assert_eq!(r.json(), r#"{"data":{"queryPerson":[]}}"#);
/// ```
#[derive(Clone)]
pub struct Database {
    store: Store,
    loaded: Arc<ArcSwapOption<Loaded>>,
    limits: QueryLimits,
}

/// What a caller may do with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Queries only.
    ReadOnly,
    /// Queries and mutations.
    ReadWrite,
}

/// Bounds on what one request may ask of the database.
///
/// ```
/// let limits = quiver_query::QueryLimits::default();
/// assert_eq!(limits.max_nodes, 1_000_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Size and nesting of documents. Default: [`ParseLimits::default`].
    pub parse: ParseLimits,
    /// Nodes one query may produce over all its fields. Default 1,000,000.
    pub max_nodes: usize,
    /// How long one query may run before it stops and says so (`None`: no limit). Default 30 s.
    pub max_time: Option<std::time::Duration>,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            parse: ParseLimits::default(),
            max_nodes: 1_000_000,
            max_time: Some(std::time::Duration::from_secs(30)),
        }
    }
}

/// The answer to a request: the response object as JSON, and how many errors it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    json: String,
    errors: Vec<QueryError>,
    /// A read-only caller asked for a mutation, refused before it ran.
    refused_mutation: bool,
}

impl Response {
    /// The response object (`{"data":...}`, with `"errors"` when there are any).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The errors it carries.
    pub fn errors(&self) -> &[QueryError] {
        &self.errors
    }

    /// Whether it carries no error.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether execution started, so the response has `data` (possibly with field errors):
    /// false for a request error (syntax, validation, variables), which has only `errors`.
    pub fn has_data(&self) -> bool {
        self.json.starts_with("{\"data\"")
    }

    /// Whether this is the refusal of a mutation asked under [`Access::ReadOnly`].
    pub fn is_refused_mutation(&self) -> bool {
        self.refused_mutation
    }

    /// A response with errors and no data (a request error).
    pub fn request_errors(errors: Vec<QueryError>) -> Response {
        let mut json = String::from("{\"errors\":[");
        for (i, e) in errors.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            e.write_json(&mut json);
        }
        json.push_str("]}");
        Response { json, errors, refused_mutation: false }
    }
}

/// What [`Database::execute_cached`] did.
#[derive(Debug)]
pub enum CachedRun {
    /// The request was answered (its document was cached, and it needed no disk).
    Answered(Response),
    /// A mutation, left to the caller.
    Mutation,
    /// The document is not cached: it has to be parsed first, left to the caller.
    Uncached,
}

/// Whether a mutation's commit waits for the disk before its answer is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ack {
    /// Commit and wait until it is durable.
    Wait,
    /// Commit and leave the wait to the caller ([`Pending`]).
    Defer,
}

/// An answer that may have to wait for the disk: see [`Database::execute_deferred`].
#[derive(Debug)]
pub struct Pending {
    response: Response,
    seq: Option<u64>,
    fields: Vec<String>,
}

impl Pending {
    pub(crate) fn new(response: Response, seq: u64, fields: Vec<String>) -> Pending {
        Pending { response, seq: Some(seq), fields }
    }

    /// The commit to wait for before answering; `None` when the answer can go now.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// The answer, once the commit is durable.
    pub fn into_response(self) -> Response {
        self.response
    }

    /// The answer when the commit could not be made durable: every field null and the cause,
    /// as for a mutation that failed (nothing of it is applied).
    pub fn into_failure(self, cause: &dyn std::fmt::Display) -> Response {
        crate::mutate::failed_fields(
            self.fields.iter().map(String::as_str),
            QueryError::new(format!("storage error: {cause}")),
        )
    }
}

impl From<Response> for Pending {
    fn from(response: Response) -> Pending {
        Pending { response, seq: None, fields: Vec::new() }
    }
}

/// The index of the operation to run: the one named, or the only one.
fn select_operation(doc: &crate::ast::Document, operation: Option<&str>) -> Result<usize, QueryError> {
    match operation {
        Some(name) => doc
            .operations
            .iter()
            .position(|o| o.name.as_ref().is_some_and(|n| n.value == name))
            .ok_or_else(|| QueryError::new(format!("Unknown operation named \"{name}\"."))),
        None if doc.operations.len() == 1 => Ok(0),
        None => {
            Err(QueryError::new("The document has several operations: say which to run (operationName)."))
        }
    }
}

/// Closes a response whose `data` is written: appends the errors, if any.
pub(crate) fn finish(mut json: String, errors: Vec<QueryError>) -> Response {
    if !errors.is_empty() {
        json.push_str(",\"errors\":[");
        for (i, e) in errors.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            e.write_json(&mut json);
        }
        json.push(']');
    }
    json.push('}');
    Response { json, errors, refused_mutation: false }
}

impl Database {
    /// Opens (creating if missing) the database in `dir` with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Database, Error> {
        Database::open_with(dir, Options::default())
    }

    /// Opens with engine options.
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<Database, Error> {
        let store = Store::open_with(dir.as_ref(), options)?;
        Database::from_store(store)
    }

    /// Wraps an open store.
    pub fn from_store(store: Store) -> Result<Database, Error> {
        let db = Database { store, loaded: Arc::new(ArcSwapOption::empty()), limits: QueryLimits::default() };
        db.reload()?;
        Ok(db)
    }

    /// The same database answering under other limits.
    pub fn with_limits(mut self, limits: QueryLimits) -> Database {
        self.limits = limits;
        self
    }

    /// The limits requests are held to.
    pub fn limits(&self) -> QueryLimits {
        self.limits
    }

    /// The storage engine underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn reload(&self) -> Result<(), Error> {
        let snap = self.store.snapshot();
        let source = &snap.catalog().source;
        if source.is_empty() {
            self.loaded.store(None);
            return Ok(());
        }
        let mut schema = Schema::parse(source)?;
        crate::schema::bind(&mut schema, snap.catalog())?;
        let api = Api::build(&schema)?;
        self.loaded.store(Some(Arc::new(Loaded { schema, api, documents: DocumentCache::default() })));
        Ok(())
    }

    pub(crate) fn loaded(&self) -> Result<Arc<Loaded>, Error> {
        self.loaded.load_full().ok_or(Error::NoSchema)
    }

    /// Sets the schema (SDL). Changes that would drop data (a removed field or type that
    /// holds values, a retyped field) are refused; see [`Database::set_schema_forced`].
    pub fn set_schema(&self, sdl: &str) -> Result<(), Error> {
        self.apply_schema(sdl, false)
    }

    /// Sets the schema, dropping whatever data the changes remove.
    pub fn set_schema_forced(&self, sdl: &str) -> Result<(), Error> {
        self.apply_schema(sdl, true)
    }

    fn apply_schema(&self, sdl: &str, force: bool) -> Result<(), Error> {
        let schema = Schema::parse(sdl)?;
        Api::build(&schema)?;
        let mut txn = self.store.write()?;
        let changes = crate::schema::migration(txn.catalog(), &schema)?;
        for c in changes {
            txn.alter(c, force).map_err(|e| match e {
                quiver_engine::Error::Catalog(m) => Error::Migration(m),
                e => Error::Engine(e),
            })?;
        }
        txn.commit()?;
        self.reload()
    }

    /// The stored schema text (empty when none is set).
    pub fn schema(&self) -> String {
        self.store.snapshot().catalog().source.clone()
    }

    /// Runs a GraphQL request (the only operation, or the first).
    pub fn execute(&self, query: &str, variables: &serde_json::Value) -> Response {
        self.execute_operation(query, variables, None)
    }

    /// Runs a GraphQL request, choosing the operation by name when the document has several.
    pub fn execute_operation(
        &self,
        query: &str,
        variables: &serde_json::Value,
        operation: Option<&str>,
    ) -> Response {
        self.execute_with_access(query, variables, operation, Access::ReadWrite)
    }

    /// Runs a GraphQL request under `access`: a read-only caller's mutation is refused before
    /// it runs.
    pub fn execute_with_access(
        &self,
        query: &str,
        variables: &serde_json::Value,
        operation: Option<&str>,
        access: Access,
    ) -> Response {
        self.run(query, variables, operation, access, Ack::Wait).response
    }

    /// Runs a request like [`Database::execute_with_access`], except that a mutation does not
    /// wait for the disk: its transaction is written and its answer made, but it is durable
    /// (and visible to other readers) only once [`quiver_engine::Store::await_durable`] returns
    /// for [`Pending::seq`]. One thread can so write many mutations that share one fsync; the
    /// answers are sent after it. A request that is not a mutation answers at once.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = quiver_query::Database::open(dir.path()).unwrap();
    /// db.set_schema("type Person { id: ID!  name: String }").unwrap();
    /// let m = r#"mutation { addPerson(input: [{name: "Ada"}]) { numUids } }"#;
    /// let pending = db.execute_deferred(m, &serde_json::Value::Null, None, quiver_query::Access::ReadWrite);
    /// let seq = pending.seq().unwrap();
    /// let answer = match db.store().await_durable(seq) {
    ///     Ok(()) => pending.into_response(),
    ///     Err(e) => pending.into_failure(&e),
    /// };
    /// assert_eq!(answer.json(), r#"{"data":{"addPerson":{"numUids":1}}}"#);
    /// ```
    pub fn execute_deferred(
        &self,
        query: &str,
        variables: &serde_json::Value,
        operation: Option<&str>,
        access: Access,
    ) -> Pending {
        self.run(query, variables, operation, access, Ack::Defer)
    }

    /// Prepares the document (or takes it from the cache) and runs it.
    fn run(
        &self,
        query: &str,
        variables: &serde_json::Value,
        operation: Option<&str>,
        access: Access,
        ack: Ack,
    ) -> Pending {
        let loaded = match self.loaded() {
            Ok(l) => l,
            Err(e) => return Response::request_errors(vec![QueryError::new(e.to_string())]).into(),
        };
        match self.document(&loaded, query) {
            Ok(cached) => self.run_document(&loaded, &cached, variables, operation, access, ack),
            Err(refused) => refused.into(),
        }
    }

    /// Runs a request only if that is quick to start and never waits for the disk: when its
    /// document was parsed and validated before (it is in the cache) and the operation chosen
    /// is not a mutation (or is one this caller may not run, refused at once). Otherwise says
    /// why not: then call [`Database::execute_with_access`] or [`Database::execute_deferred`]
    /// off any event loop. What a server calls on its event loop, to spare a thread handoff.
    ///
    /// ```
    /// use quiver_query::{Access, CachedRun};
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = quiver_query::Database::open(dir.path()).unwrap();
    /// db.set_schema("type Person { id: ID! }").unwrap();
    /// let (q, none) = ("{ queryPerson { id } }", serde_json::Value::Null);
    /// assert!(matches!(db.execute_cached(q, &none, None, Access::ReadWrite), CachedRun::Uncached));
    /// db.execute(q, &none);
    /// match db.execute_cached(q, &none, None, Access::ReadWrite) {
    ///     CachedRun::Answered(r) => assert_eq!(r.json(), r#"{"data":{"queryPerson":[]}}"#),
    ///     _ => unreachable!(),
    /// }
    /// let m = "mutation { deletePerson(filter: {}) { numUids } }";
    /// db.execute(m, &none);
    /// assert!(matches!(db.execute_cached(m, &none, None, Access::ReadWrite), CachedRun::Mutation));
    /// ```
    pub fn execute_cached(
        &self,
        query: &str,
        variables: &serde_json::Value,
        operation: Option<&str>,
        access: Access,
    ) -> CachedRun {
        let Ok(loaded) = self.loaded() else { return CachedRun::Uncached };
        let Some(cached) = loaded.documents.get(query) else { return CachedRun::Uncached };
        if !self.within_limits(query, &cached) {
            return CachedRun::Uncached;
        }
        if let Ok(valid) = &cached.prepared
            && let Ok(op) = select_operation(&valid.doc, operation)
            && valid.doc.operations[op].kind == crate::ast::OperationKind::Mutation
            && access == Access::ReadWrite
        {
            return CachedRun::Mutation;
        }
        CachedRun::Answered(
            self.run_document(&loaded, &cached, variables, operation, access, Ack::Wait).response,
        )
    }

    /// Whether a cached document is within this handle's size and depth limits.
    fn within_limits(&self, query: &str, cached: &Cached) -> bool {
        query.len() <= self.limits.parse.max_bytes && cached.depth <= self.limits.parse.max_depth
    }

    /// The document parsed and validated, from the cache when it is there. The limits are
    /// this handle's while the cache is shared by every handle: a cached document is checked
    /// against them by its recorded depth, a new one by scanning it before it is parsed.
    fn document(&self, loaded: &Loaded, query: &str) -> Result<Arc<Cached>, Response> {
        if let Some(cached) = loaded.documents.get(query)
            && self.within_limits(query, &cached)
        {
            return Ok(cached);
        }
        let depth = crate::grammar::check_bounds(query, &self.limits.parse)
            .map_err(|e| Response::request_errors(vec![e.into()]))?;
        let prepared = (|| {
            let doc =
                crate::grammar::parse_executable(query, &self.limits.parse).map_err(|e| vec![e.into()])?;
            let errors = validate::validate(&loaded.api, &doc);
            if !errors.is_empty() {
                return Err(errors);
            }
            let plans = doc.operations.iter().map(|_| std::sync::OnceLock::new()).collect();
            Ok(ValidDocument { doc, plans })
        })();
        Ok(loaded.documents.insert(query, Cached { depth, prepared }))
    }

    /// Runs the chosen operation of a prepared document.
    fn run_document(
        &self,
        loaded: &Loaded,
        cached: &Cached,
        variables: &serde_json::Value,
        operation: Option<&str>,
        access: Access,
        ack: Ack,
    ) -> Pending {
        let valid = match &cached.prepared {
            Ok(v) => v,
            Err(errors) => return Response::request_errors(errors.clone()).into(),
        };
        let doc = &valid.doc;
        let op_index = match select_operation(doc, operation) {
            Ok(i) => i,
            Err(e) => return Response::request_errors(vec![e]).into(),
        };
        let op = &doc.operations[op_index];
        let vars = match plan::vars::coerce_variables(&loaded.api, op, variables) {
            Ok(v) => v,
            Err(errors) => return Response::request_errors(errors).into(),
        };
        if op.kind == crate::ast::OperationKind::Mutation {
            if access == Access::ReadOnly {
                let mut refused = Response::request_errors(vec![
                    QueryError::new("This caller may only read: a mutation needs write access.").at(op.pos),
                ]);
                refused.refused_mutation = true;
                return refused.into();
            }
            return match plan::mutation::plan_mutation(&loaded.schema, &loaded.api, doc, op, &vars) {
                Ok(p) => crate::mutate::run(&self.store, loaded, &p, &self.limits, ack),
                Err(e) => Response::request_errors(vec![e]).into(),
            };
        }
        let make = || plan::plan(&loaded.schema, &loaded.api, doc, op, &vars);
        let fresh;
        let planned = if op.variables.is_empty() {
            valid.plans[op_index].get_or_init(make)
        } else {
            fresh = make();
            &fresh
        };
        let plan = match planned {
            Ok(p) => p,
            Err(e) => return Response::request_errors(vec![e.clone()]).into(),
        };
        let snap = self.store.snapshot();
        let mut json = String::with_capacity(4096);
        json.push_str("{\"data\":");
        let mut errors = Vec::new();
        crate::exec::run(
            &snap,
            &loaded.schema,
            &loaded.api,
            plan,
            &crate::exec::Budget::new(self.limits.max_nodes, self.limits.max_time),
            &mut json,
            &mut errors,
        );
        finish(json, errors).into()
    }

    /// Verifies the storage (see [`quiver_engine::Store::check`]).
    pub fn check(&self) -> Result<quiver_engine::CheckReport, Error> {
        Ok(self.store.check()?)
    }

    /// Compacts the storage (see [`quiver_engine::Store::compact`]).
    pub fn compact(&self) -> Result<quiver_engine::CompactionReport, Error> {
        Ok(self.store.compact()?)
    }

    /// Checkpoints and closes the store.
    pub fn close(self) -> Result<(), Error> {
        Ok(self.store.close()?)
    }
}
