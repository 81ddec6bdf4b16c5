//! GraphQL over HTTP (the GraphQL-over-HTTP specification, 2024 draft) on `/graphql`, plus the
//! admin, health and metrics endpoints of [`crate::http_admin`].
//!
//! | | |
//! |---|---|
//! | `POST /graphql` | body `application/json`: `{"query", "variables", "operationName", "extensions"}` |
//! | `GET /graphql` | the same as URL parameters (`variables` and `extensions` JSON-encoded); queries only: a mutation is 405 |
//!
//! The answer's media type follows `Accept`: `application/graphql-response+json` when the
//! client names it, else `application/json` (also for `*/*` and when `Accept` is absent);
//! anything else is 406. With `application/json` every well-formed request is answered 200, request errors
//! included; with `application/graphql-response+json` a request error (syntax, validation,
//! variables: no `data`) is 400. A malformed HTTP request is 400 (415 for a body that is not
//! JSON), in the negotiated media type, as `{"errors": [{"message"}]}`.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Map, Value};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::Shared;
use crate::auth::Role;
use crate::metrics::{ErrorKind, Transport};
use crate::request::{GraphqlRequest, access_of};

/// The two media types a GraphQL answer may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

/// The application's routes over `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // Handlers take the raw body and read it with `read_body`, which applies the request
    // limit and a time limit.
    crate::http_admin::routes(Router::new().route("/graphql", get(graphql).post(graphql))).with_state(shared)
}

/// Serves one HTTP/1.1 connection until the client leaves or the server stops; on stop the
/// request in flight is answered, then the connection closes.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    router: Router,
    shared: Arc<Shared>,
    mut stopping: watch::Receiver<bool>,
) {
    let _open = shared.metrics.connection(Transport::Http);
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(shared.config.handshake_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        done = conn.as_mut() => {
            if let Err(e) = done {
                tracing::debug!("http connection ended: {e}");
            }
        }
        _ = crate::accept::stopped(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A JSON answer with a status.
pub(crate) fn json_response(status: StatusCode, media: Media, body: impl Into<axum::body::Body>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    r
}

/// Reads a request body: at most the request limit (else 413), arriving within the frame
/// timeout once the request has begun (else 408), so a client sending a byte a second holds
/// its own connection only.
pub(crate) async fn read_body(shared: &Shared, body: Body) -> Result<Bytes, (StatusCode, String)> {
    let limit = shared.config.max_frame as usize;
    let timeout = shared.config.frame_timeout;
    let refuse = |status, message: String| {
        shared.metrics.error(Transport::Http, ErrorKind::Protocol);
        Err((status, message))
    };
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large =
                std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is over the limit of {limit} bytes"),
                )
            } else {
                refuse(StatusCode::BAD_REQUEST, format!("the request body could not be read: {e}"))
            }
        }
        Err(_) => refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body took longer than {} s to arrive", timeout.as_secs_f64()),
        ),
    }
}

/// `{"errors":[{"message": ...}]}` with `status`.
pub(crate) fn request_error(status: StatusCode, media: Media, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message }] }).to_string();
    json_response(status, media, body)
}

/// Why a request was refused before it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No token, or not one of the server's: 401.
    Unauthorized,
    /// The token's role is below the one needed: 403.
    Forbidden(Role),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthorized => {
                let mut r = request_error(
                    StatusCode::UNAUTHORIZED,
                    Media::Json,
                    "this server needs a token: send Authorization: Bearer <token>",
                );
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            Refusal::Forbidden(needed) => {
                let role = format!("{needed:?}").to_ascii_lowercase();
                let message = format!("this token's role may not do this: it needs the {role} role");
                request_error(StatusCode::FORBIDDEN, Media::Json, &message)
            }
        }
    }
}

/// The caller's role from `Authorization: Bearer <token>`, or why it is refused (counted in
/// the metrics).
pub(crate) fn authorize(shared: &Shared, headers: &HeaderMap, needed: Role) -> Result<Role, Refusal> {
    let Some(tokens) = &shared.config.tokens else { return Ok(Role::Admin) };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(role) = token.and_then(|t| tokens.role_of(t)) else {
        shared.metrics.error(Transport::Http, ErrorKind::Unauthorized);
        return Err(Refusal::Unauthorized);
    };
    if role < needed {
        shared.metrics.error(Transport::Http, ErrorKind::Forbidden);
        return Err(Refusal::Forbidden(needed));
    }
    Ok(role)
}

/// The media type to answer in, from `Accept`; `None` when nothing it lists is one we give.
pub(crate) fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let accept: Vec<&str> = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    if accept.iter().all(|v| v.trim().is_empty()) {
        return Some(Media::Json);
    }
    // The best quality wins; at equal quality the more specific type, then ours first.
    let mut best: Option<(f32, u8, Media)> = None;
    for range in accept.iter().flat_map(|v| v.split(',')) {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut charset_ok = true;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.parse().unwrap_or(0.0),
                    "charset" => charset_ok = v.eq_ignore_ascii_case("utf-8"),
                    _ => {}
                }
            }
        }
        if q <= 0.0 || !charset_ok {
            continue;
        }
        let candidates: &[(Media, u8)] = match essence.as_str() {
            "application/graphql-response+json" => &[(Media::GraphqlResponse, 3)],
            "application/json" => &[(Media::Json, 3)],
            // The spec's advice for clients that name no type of ours (curl, fetch).
            "application/*" | "*/*" => &[(Media::Json, 1)],
            _ => &[],
        };
        for &(media, specificity) in candidates {
            let better = match best {
                None => true,
                Some((bq, bs, _)) => q > bq || (q == bq && specificity > bs),
            };
            if better {
                best = Some((q, specificity, media));
            }
        }
    }
    best.map(|(_, _, m)| m)
}

/// The request's parameters, or why they are not a GraphQL request.
fn params(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, (StatusCode, String)> {
    if method == Method::GET {
        let mut map = Map::new();
        for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
            let value = match k.as_ref() {
                // JSON-encoded in the URL.
                "variables" | "extensions" => serde_json::from_str(&v)
                    .map_err(|e| (StatusCode::BAD_REQUEST, format!("the {k} parameter is not JSON: {e}")))?,
                _ => Value::String(v.into_owned()),
            };
            map.insert(k.into_owned(), value);
        }
        return Ok(map);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    if essence != "application/json" {
        let what = if content_type.is_empty() {
            "no Content-Type".to_string()
        } else {
            format!("Content-Type {content_type:?}")
        };
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("a GraphQL POST needs Content-Type: application/json, not {what}"),
        ));
    }
    for p in parts {
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("charset")
            && !v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("charset {v:?} is not supported: use utf-8"),
            ));
        }
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err((StatusCode::BAD_REQUEST, "the body must be a JSON object {\"query\", ...}".into())),
        Err(e) => Err((StatusCode::BAD_REQUEST, format!("the body is not JSON: {e}"))),
    }
}

/// Checks the parameters' types; the request to run.
fn graphql_request(mut map: Map<String, Value>) -> Result<GraphqlRequest, String> {
    let query = match map.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err("\"query\" must be a string".into()),
        None => return Err("the request has no \"query\"".into()),
    };
    let variables = match map.remove("variables") {
        None | Some(Value::Null) => Value::Null,
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err("\"variables\" must be an object (a map of names to values)".into()),
    };
    let operation = match map.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("\"operationName\" must be a string".into()),
    };
    match map.remove("extensions") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => return Err("\"extensions\" must be an object".into()),
    }
    Ok(GraphqlRequest { query, variables, operation })
}

/// `GET|POST /graphql`.
async fn graphql(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let role = match authorize(&shared, &headers, Role::Read) {
        Ok(role) => role,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(media) = negotiate(&headers) else {
        shared.metrics.error(Transport::Http, ErrorKind::Protocol);
        return request_error(
            StatusCode::NOT_ACCEPTABLE,
            Media::Json,
            "Accept names no media type this server answers in: application/graphql-response+json or application/json",
        );
    };
    let body = match read_body(&shared, body).await {
        Ok(b) => b,
        Err((status, message)) => return request_error(status, media, &message),
    };
    let request = params(&method, &uri, &headers, &body)
        .and_then(|map| graphql_request(map).map_err(|m| (StatusCode::BAD_REQUEST, m)));
    let request = match request {
        Ok(r) => r,
        Err((status, message)) => {
            shared.metrics.error(Transport::Http, ErrorKind::Protocol);
            return request_error(status, media, &message);
        }
    };
    // GET never changes anything, whatever the token.
    let access = if method == Method::GET { quiver_query::Access::ReadOnly } else { access_of(role) };
    let Some(response) = crate::request::execute(&shared, Transport::Http, request, access).await else {
        return request_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            media,
            "the request failed inside the server",
        );
    };
    let status = if response.is_refused_mutation() {
        if method == Method::GET {
            let mut r = request_error(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                "a mutation cannot be sent with GET: use POST",
            );
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return r;
        }
        StatusCode::FORBIDDEN
    } else if media == Media::GraphqlResponse && !response.has_data() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response(status, media, response.json().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")));
        h
    }

    #[test]
    fn negotiation_follows_accept() {
        use Media::*;
        assert_eq!(negotiate(&HeaderMap::new()), Some(Json));
        assert_eq!(negotiate(&accept("application/graphql-response+json")), Some(GraphqlResponse));
        assert_eq!(negotiate(&accept("application/json")), Some(Json));
        assert_eq!(negotiate(&accept("application/json, application/graphql-response+json")), Some(Json));
        assert_eq!(
            negotiate(&accept("application/json;q=0.9, application/graphql-response+json")),
            Some(GraphqlResponse)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(Json));
        assert_eq!(negotiate(&accept("text/html, */*;q=0.1")), Some(Json));
        assert_eq!(negotiate(&accept("*/*, application/graphql-response+json")), Some(GraphqlResponse));
        assert_eq!(negotiate(&accept("application/json; charset=utf-8")), Some(Json));
        assert_eq!(negotiate(&accept("application/json; charset=iso-8859-1")), None);
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(negotiate(&accept("application/json;q=0")), None);
    }

    #[test]
    fn parameters_are_type_checked() {
        let map = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(graphql_request(map(serde_json::json!({"query": "{a}", "variables": null, "operationName": null, "extensions": {}}))).is_ok());
        for (bad, want) in [
            (serde_json::json!({}), "the request has no \"query\""),
            (serde_json::json!({"query": 1}), "\"query\" must be a string"),
            (
                serde_json::json!({"query": "{a}", "variables": "x"}),
                "\"variables\" must be an object (a map of names to values)",
            ),
            (serde_json::json!({"query": "{a}", "operationName": 1}), "\"operationName\" must be a string"),
            (serde_json::json!({"query": "{a}", "extensions": []}), "\"extensions\" must be an object"),
        ] {
            assert_eq!(graphql_request(map(bad)).err().as_deref(), Some(want));
        }
    }
}
