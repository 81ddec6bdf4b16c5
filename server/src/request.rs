//! Running a GraphQL request for either transport: off the reactor, counted in the metrics,
//! logged at debug.

use std::sync::Arc;
use std::time::Instant;

use quiver_query::{Access, CachedRun, Response};
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

/// Runs `request` under `access`. A query whose document is already parsed and validated runs
/// right here on the runtime's worker: it is CPU work on a snapshot that never waits for I/O
/// and is bounded by the query time limit, and handing it to another thread would cost more
/// than the customer-360 query itself (docs/BENCHMARKS.md). Mutations go to the writer thread
/// ([`crate::writer`]), which answers once an fsync covers them. A new document may take long
/// to parse, so it runs on the blocking pool (a mutation among them commits there, alone; its
/// next run takes the writer). `None` when that work died (a panic, which the engine's
/// invariants rule out, or the writer gone as the server stops; answered as an internal error).
pub(crate) async fn execute(
    shared: &Arc<Shared>,
    transport: Transport,
    request: GraphqlRequest,
    access: Access,
) -> Option<Response> {
    let started = Instant::now();
    let db = &shared.db;
    let (response, request) =
        match db.execute_cached(&request.query, &request.variables, request.operation.as_deref(), access) {
            CachedRun::Answered(response) => (response, request),
            CachedRun::Mutation => shared.mutations.run(request, access).await?,
            CachedRun::Uncached => {
                let db = db.clone();
                let run = tokio::task::spawn_blocking(move || {
                    let response = db.execute_with_access(
                        &request.query,
                        &request.variables,
                        request.operation.as_deref(),
                        access,
                    );
                    (response, request)
                });
                run.await.ok()?
            }
        };
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
