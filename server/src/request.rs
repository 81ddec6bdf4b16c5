//! Running a GraphQL request for either transport: off the reactor, counted in the metrics,
//! logged at debug.

use std::sync::Arc;
use std::time::Instant;

use quiver_query::{Access, Response};
use serde_json::Value;

use crate::Shared;
use crate::auth::Role;
use crate::metrics::{ErrorKind, RequestKind, Transport};

/// A GraphQL request as both transports carry it.
pub(crate) struct GraphqlRequest {
    pub query: String,
    pub variables: Value,
    pub operation: Option<String>,
}

/// What a role may do with GraphQL.
pub(crate) fn access_of(role: Role) -> Access {
    if role >= Role::Write { Access::ReadWrite } else { Access::ReadOnly }
}

/// Runs `request` under `access`. Queries are CPU work on a snapshot and mutations wait for an
/// fsync, so both run on the blocking pool, never on the reactor. `None` when the task died
/// (a panic, which the engine's invariants rule out; answered as an internal error).
pub(crate) async fn execute(
    shared: &Arc<Shared>,
    transport: Transport,
    request: GraphqlRequest,
    access: Access,
) -> Option<Response> {
    let started = Instant::now();
    let db = shared.db.clone();
    let run = tokio::task::spawn_blocking(move || {
        let response =
            db.execute_with_access(&request.query, &request.variables, request.operation.as_deref(), access);
        (response, request)
    });
    let (response, request) = run.await.ok()?;
    let took = started.elapsed();
    let metrics = &shared.metrics;
    metrics.request(transport, RequestKind::Graphql, took);
    if response.is_refused_mutation() {
        metrics.error(transport, ErrorKind::Forbidden);
    } else if !response.has_data() {
        metrics.error(transport, ErrorKind::Request);
    } else if !response.is_ok() {
        metrics.error(transport, ErrorKind::Field);
    }
    tracing::debug!(
        transport = transport.name(),
        micros = took.as_micros() as u64,
        errors = response.errors().len(),
        bytes = response.json().len(),
        operation = request.operation.as_deref().unwrap_or(""),
        "graphql request"
    );
    Some(response)
}
