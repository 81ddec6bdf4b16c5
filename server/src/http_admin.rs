//! The HTTP endpoints besides `/graphql`: admin (admin token), health (open to all), metrics
//! (any token).
//!
//! | endpoint | body | answer |
//! |---|---|---|
//! | `GET /admin/schema` | | the SDL, `text/plain` |
//! | `POST /admin/schema[?force=true]` | the SDL | `{"ok": true}` |
//! | `POST /admin/import[?format=ndjson]` | JSON, or NDJSON (`Content-Type: application/x-ndjson` or the parameter) | `{"nodes", "edges", "batches"}` |
//! | `GET /admin/export` | | the export document (JSON) |
//! | `GET /admin/check` | | what `quiver check` reports |
//! | `POST /admin/compact` | | `{"bytes_before", "bytes_after", "generation"}` |
//! | `GET /admin/stats` | | node count, commits, fsyncs, sizes |
//! | `GET /` | | the explorer page (HTML, without a token) |
//! | `GET /health` | | `{"status": "ok"}` |
//! | `GET /metrics` | | Prometheus text |
//!
//! An admin failure is `{"error": {"code", "message"}}` with 400 (the request was wrong: a bad
//! schema, a bad import) or 500.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::Role;
use crate::http::{Media, authorize, json_response};
use crate::metrics::{ErrorKind, RequestKind, Transport};

/// Adds the admin, health and metrics routes.
pub(crate) fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router
        .route("/admin/schema", get(schema_get).post(admin_post))
        .route("/admin/{name}", get(admin_get).post(admin_post))
        .route("/", get(explorer))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
}

fn admin_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } }).to_string();
    json_response(status, Media::Json, body)
}

/// A URL parameter's value.
fn param(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn schema_get(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(refusal) = authorize(&shared, &headers, Role::Admin) {
        return refusal.into_response();
    }
    let mut r = shared.db.schema().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// `GET /admin/{export,check,stats}`: requests that change nothing.
async fn admin_get(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match name.as_str() {
        "export" | "check" | "stats" => admin(&shared, &headers, &name, json!({})).await,
        _ => not_found(&name),
    }
}

/// `POST /admin/{schema,import,compact}`.
async fn admin_post(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let name = uri.path().trim_start_matches("/admin/").to_string();
    if let Err(refusal) = authorize(&shared, &headers, Role::Admin) {
        return refusal.into_response();
    }
    let body = match crate::http::read_body(&shared, body).await {
        Ok(b) => b,
        Err((status, message)) => {
            let code = match status {
                StatusCode::PAYLOAD_TOO_LARGE => "too_large",
                StatusCode::REQUEST_TIMEOUT => "timeout",
                _ => "bad_request",
            };
            return admin_error(status, code, &message);
        }
    };
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(e) => {
            return admin_error(StatusCode::BAD_REQUEST, "bad_utf8", &format!("the body is not UTF-8: {e}"));
        }
    };
    let args = match name.as_str() {
        "schema" => {
            let force = param(&uri, "force").is_some_and(|v| v == "true" || v == "1");
            json!({ "sdl": text, "force": force })
        }
        "import" => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let ndjson = content_type.starts_with("application/x-ndjson")
                || content_type.starts_with("application/jsonl")
                || content_type.starts_with("application/ndjson");
            let format =
                param(&uri, "format").unwrap_or_else(|| if ndjson { "ndjson" } else { "json" }.into());
            json!({ "data": text, "format": format })
        }
        "compact" => json!({}),
        other => return not_found(other),
    };
    let name = if name == "schema" { "schema.set".to_string() } else { name };
    admin(&shared, &headers, &name, args).await
}

fn not_found(name: &str) -> Response {
    admin_error(
        StatusCode::NOT_FOUND,
        "unknown_admin",
        &format!(
            "no admin endpoint {name:?}: GET schema, export, check, stats; POST schema, import, compact"
        ),
    )
}

async fn admin(shared: &Arc<Shared>, headers: &HeaderMap, name: &str, args: Value) -> Response {
    if let Err(refusal) = authorize(shared, headers, Role::Admin) {
        return refusal.into_response();
    }
    let started = Instant::now();
    let answer = crate::admin::run(&shared.db, name.to_string(), args).await;
    shared.metrics.request(Transport::Http, RequestKind::Admin, started.elapsed());
    tracing::debug!(
        transport = "http",
        admin = name,
        micros = started.elapsed().as_micros() as u64,
        "admin request"
    );
    match answer {
        Ok(crate::admin::Answer::Object(map)) => {
            json_response(StatusCode::OK, Media::Json, Value::Object(map).to_string())
        }
        Ok(crate::admin::Answer::Export(doc)) => json_response(StatusCode::OK, Media::Json, doc),
        Err((code, message)) => {
            shared.metrics.error(Transport::Http, ErrorKind::Admin);
            let status =
                if code == "internal" { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::BAD_REQUEST };
            admin_error(status, code, &message)
        }
    }
}

/// The explorer page (`GET /`): one self-contained page, compiled in. It needs no token; the
/// requests it makes do (it asks for one).
async fn explorer() -> Response {
    static PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        include_str!("explorer.html").replace("/*QUIVER_CORE*/", include_str!("explorer/core.js"))
    });
    let mut r = PAGE.as_str().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

async fn health() -> Response {
    json_response(StatusCode::OK, Media::Json, r#"{"status":"ok"}"#)
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(refusal) = authorize(&shared, &headers, Role::Read) {
        return refusal.into_response();
    }
    let db = shared.db.clone();
    let shared2 = Arc::clone(&shared);
    // Summing file sizes and index arrays is blocking work.
    let page = tokio::task::spawn_blocking(move || shared2.metrics.render(Some(&db))).await;
    match page {
        Ok(page) => {
            let mut r = page.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        Err(_) => admin_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the metrics page failed"),
    }
}
