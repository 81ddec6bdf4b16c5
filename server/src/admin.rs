//! Admin requests of the native protocol: `{"id", "admin": "<name>", ...}`, answered with the
//! request's id and a result object (or an error). Each runs on a blocking thread: they read or
//! write the whole database.
//!
//! | admin | fields | answer |
//! |---|---|---|
//! | `schema.get` | | `schema`: the SDL |
//! | `schema.set` | `sdl`, `force` (default false) | `ok: true` |
//! | `import` | `format` (`json` or `ndjson`), `data` (the text) | `nodes`, `edges`, `batches` |
//! | `export` | | `export`: the JSON document |
//! | `check` | | `segments`, `records`, `bytes`, `nodes`, `edges`, `problems` |
//! | `compact` | | `bytes_before`, `bytes_after`, `generation` |
//! | `stats` | | `nodes`, `seq`, and the index's sizes |

use quiver_query::Database;
use serde_json::{Value, json};

/// Runs an admin request; the answer's body.
pub(crate) async fn handle(db: &Database, id: Value, msg: Value) -> Vec<u8> {
    let db = db.clone();
    let reply = tokio::task::spawn_blocking(move || {
        run(&db, &id, &msg).unwrap_or_else(|(code, message)| error(&id, code, message))
    });
    match reply.await {
        Ok(body) => body,
        Err(e) => error(&Value::Null, "internal", format!("the admin request failed: {e}")),
    }
}

fn error(id: &Value, code: &str, message: String) -> Vec<u8> {
    json!({ "id": id, "error": { "code": code, "message": message } }).to_string().into_bytes()
}

type Failure = (&'static str, String);

fn failed(e: impl std::fmt::Display) -> Failure {
    ("admin_failed", e.to_string())
}

fn run(db: &Database, id: &Value, msg: &Value) -> Result<Vec<u8>, Failure> {
    let name = msg.get("admin").and_then(Value::as_str).unwrap_or_default();
    let text = |field: &str| -> Result<&str, Failure> {
        msg.get(field)
            .and_then(Value::as_str)
            .ok_or(("bad_request", format!("{name} needs \"{field}\" (a string)")))
    };
    let answer = match name {
        "schema.get" => json!({ "id": id, "schema": db.schema() }),
        "schema.set" => {
            let sdl = text("sdl")?;
            let force = msg.get("force").and_then(Value::as_bool).unwrap_or(false);
            if force { db.set_schema_forced(sdl) } else { db.set_schema(sdl) }.map_err(failed)?;
            json!({ "id": id, "ok": true })
        }
        "import" => {
            let data = text("data")?;
            let report = match msg.get("format").and_then(Value::as_str).unwrap_or("json") {
                "json" => db.import_json("request", data),
                "ndjson" => db.import_ndjson("request", data),
                other => return Err(("bad_request", format!("import format {other:?}: json or ndjson"))),
            }
            .map_err(failed)?;
            json!({ "id": id, "nodes": report.nodes, "edges": report.edges, "batches": report.batches })
        }
        "export" => {
            // The export is JSON already: placed as it is after the id.
            let mut out = format!("{{\"id\":{id},\"export\":").into_bytes();
            db.export_json(&mut out).map_err(failed)?;
            while out.last().is_some_and(u8::is_ascii_whitespace) {
                out.pop();
            }
            out.push(b'}');
            return Ok(out);
        }
        "check" => {
            let r = db.check().map_err(failed)?;
            json!({ "id": id, "segments": r.segments, "records": r.records, "bytes": r.bytes, "nodes": r.nodes, "edges": r.edges, "problems": r.problems })
        }
        "compact" => {
            let r = db.compact().map_err(failed)?;
            json!({ "id": id, "bytes_before": r.bytes_before, "bytes_after": r.bytes_after, "generation": r.generation })
        }
        "stats" => {
            let snap = db.store().snapshot();
            let s = snap.stats();
            json!({
                "id": id,
                "nodes": snap.node_count(),
                "seq": snap.seq(),
                "adjacency_bytes": s.adjacency_bytes,
                "postings_bytes": s.postings_bytes,
                "log_bytes_since_checkpoint": s.log_bytes_since_checkpoint,
            })
        }
        other => {
            return Err((
                "unknown_admin",
                format!(
                    "unknown admin request {other:?}: schema.get, schema.set, import, export, check, compact or stats"
                ),
            ));
        }
    };
    Ok(answer.to_string().into_bytes())
}
