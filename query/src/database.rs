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

/// A schema bound to the catalog, with its generated API.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub schema: Schema,
    pub api: Api,
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
    limits: ParseLimits,
}

/// The answer to a request: the response object as JSON, and how many errors it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    json: String,
    errors: Vec<QueryError>,
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
        Response { json, errors }
    }
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
        let db = Database { store, loaded: Arc::new(ArcSwapOption::empty()), limits: ParseLimits::default() };
        db.reload()?;
        Ok(db)
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
        self.loaded.store(Some(Arc::new(Loaded { schema, api })));
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
        let doc = match crate::grammar::parse_executable(query, &self.limits) {
            Ok(d) => d,
            Err(e) => return Response::request_errors(vec![e.into()]),
        };
        let loaded = match self.loaded() {
            Ok(l) => l,
            Err(e) => return Response::request_errors(vec![QueryError::new(e.to_string())]),
        };
        let errors = validate::validate(&loaded.api, &doc);
        if !errors.is_empty() {
            return Response::request_errors(errors);
        }
        let op = match operation {
            Some(name) => doc.operations.iter().find(|o| o.name.as_ref().is_some_and(|n| n.value == name)),
            None if doc.operations.len() == 1 => doc.operations.first(),
            None => {
                return Response::request_errors(vec![QueryError::new(
                    "The document has several operations: say which to run (operationName).",
                )]);
            }
        };
        let Some(op) = op else {
            return Response::request_errors(vec![QueryError::new(format!(
                "Unknown operation named \"{}\".",
                operation.unwrap_or_default()
            ))]);
        };
        let vars = match plan::vars::coerce_variables(&loaded.api, op, variables) {
            Ok(v) => v,
            Err(errors) => return Response::request_errors(errors),
        };
        let plan = match plan::plan(&loaded.schema, &loaded.api, &doc, op, &vars) {
            Ok(p) => p,
            Err(e) => return Response::request_errors(vec![e]),
        };
        let snap = self.store.snapshot();
        let mut json = String::with_capacity(4096);
        json.push_str("{\"data\":");
        let mut errors = Vec::new();
        crate::exec::run(&snap, &loaded.schema, &plan, &mut json, &mut errors);
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
        Response { json, errors }
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
