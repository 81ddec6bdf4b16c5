//! One client connection of the native protocol: the hello, then requests answered in order
//! (clients may pipeline: each request's answer is written before the next is read). A
//! framing error ends the connection after saying why; a bad message is answered and the
//! connection goes on.

use std::sync::Arc;

use quiver_query::{Access, Database};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::auth::Role;
use crate::frame::{FrameEnd, read_frame, write_frame};
use crate::{PROTOCOL, ServerConfig};

/// An error frame: `{"id": .., "error": {"code": .., "message": ..}}`.
fn error(id: &Value, code: &str, message: impl Into<String>) -> Vec<u8> {
    json!({ "id": id, "error": { "code": code, "message": message.into() } }).to_string().into_bytes()
}

/// Serves one connection until the client leaves, breaks the framing, or the server stops
/// (`stopping` turns true): the request being run is answered first, then the connection closes.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    db: Database,
    config: Arc<ServerConfig>,
    mut stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let none = Value::Null;
    // The hello.
    match read_frame(&mut stream, &mut buf, config.max_frame).await? {
        Ok(()) => {}
        Err(FrameEnd::Closed | FrameEnd::Truncated) => return Ok(()),
        Err(end) => return write_frame(&mut stream, &framing_error(&end)).await,
    }
    let hello: Value = match serde_json::from_slice(&buf) {
        Ok(v) => v,
        Err(e) => {
            return write_frame(
                &mut stream,
                &error(&none, "bad_json", format!("the hello is not JSON: {e}")),
            )
            .await;
        }
    };
    match hello.get("hello").and_then(Value::as_str) {
        Some(PROTOCOL) => {}
        Some(other) => {
            let msg = format!("this server speaks {PROTOCOL}, not {other}");
            return write_frame(&mut stream, &error(&none, "bad_version", msg)).await;
        }
        None => {
            let msg = format!("the first frame must be {{\"hello\": \"{PROTOCOL}\", \"token\": ...}}");
            return write_frame(&mut stream, &error(&none, "no_hello", msg)).await;
        }
    }
    let role = match &config.tokens {
        None => Role::Admin,
        Some(tokens) => match hello.get("token").and_then(Value::as_str).and_then(|t| tokens.role_of(t)) {
            Some(role) => role,
            None => {
                let msg =
                    "this server needs a token: the hello's \"token\" is missing or not one of its tokens";
                return write_frame(&mut stream, &error(&none, "unauthorized", msg)).await;
            }
        },
    };
    let welcome = json!({ "hello": PROTOCOL, "server": concat!("quiver ", env!("CARGO_PKG_VERSION")) });
    write_frame(&mut stream, welcome.to_string().as_bytes()).await?;

    loop {
        let frame = tokio::select! {
            read = read_frame(&mut stream, &mut buf, config.max_frame) => read?,
            _ = stopping.wait_for(|s| *s) => return Ok(()),
        };
        match frame {
            Ok(()) => {}
            Err(FrameEnd::Closed | FrameEnd::Truncated) => return Ok(()),
            Err(FrameEnd::NotUtf8) => {
                // The frame's boundary is known: answer and read on.
                write_frame(&mut stream, &error(&none, "bad_utf8", "the frame is not UTF-8")).await?;
                continue;
            }
            Err(end) => return write_frame(&mut stream, &framing_error(&end)).await,
        }
        let answer = match serde_json::from_slice::<Value>(&buf) {
            Err(e) => error(&none, "bad_json", format!("the frame is not JSON: {e}")),
            Ok(msg) => request(&db, msg, role).await,
        };
        write_frame(&mut stream, &answer).await?;
    }
}

fn framing_error(end: &FrameEnd) -> Vec<u8> {
    let none = Value::Null;
    match end {
        FrameEnd::Empty => error(&none, "bad_frame", "a frame's length must be at least 1"),
        FrameEnd::TooLarge { length, limit } => {
            error(&none, "too_large", format!("a frame of {length} bytes is over the limit of {limit}"))
        }
        FrameEnd::NotUtf8 => error(&none, "bad_utf8", "the frame is not UTF-8"),
        FrameEnd::Closed | FrameEnd::Truncated => {
            error(&none, "bad_frame", "the connection ended inside a frame")
        }
    }
}

/// Answers one message: a GraphQL request `{"id", "query", "variables", "operationName"}`.
async fn request(db: &Database, msg: Value, role: Role) -> Vec<u8> {
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    if msg.get("admin").is_some() {
        if role < Role::Admin {
            return error(&id, "forbidden", "admin requests need an admin token");
        }
        return crate::admin::handle(db, id, msg).await;
    }
    let Some(query) = msg.get("query").and_then(Value::as_str).map(str::to_string) else {
        return error(
            &id,
            "unknown_message",
            "expected a request {\"id\", \"query\", \"variables\", \"operationName\"} or an admin request {\"id\", \"admin\", ...}",
        );
    };
    let variables = msg.get("variables").cloned().unwrap_or(Value::Null);
    let operation = msg.get("operationName").and_then(Value::as_str).map(str::to_string);
    let db = db.clone();
    // Queries are CPU work on a snapshot (and mutations wait for an fsync): off the reactor.
    let access = if role >= Role::Write { Access::ReadWrite } else { Access::ReadOnly };
    let run = tokio::task::spawn_blocking(move || {
        db.execute_with_access(&query, &variables, operation.as_deref(), access)
    });
    match run.await {
        Ok(response) => {
            // `{"data"...}` becomes `{"id":..,"data"...}`.
            let body = response.json();
            let mut out = Vec::with_capacity(body.len() + 32);
            out.extend_from_slice(b"{\"id\":");
            out.extend_from_slice(id.to_string().as_bytes());
            out.push(b',');
            out.extend_from_slice(&body.as_bytes()[1..]);
            out
        }
        Err(e) => error(&id, "internal", format!("the request failed: {e}")),
    }
}
