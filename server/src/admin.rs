//! Admin requests: over the native protocol `{"id", "admin": "<name>", ...}`, answered with
//! the request's id and a result object (or an error); over HTTP the `/admin/...` endpoints.
//! Each runs on a blocking thread: they read or write the whole database.
//!
//! | admin | fields | answer |
//! |---|---|---|
//! | `schema.get` | | `schema`: the SDL |
//! | `schema.set` | `sdl`, `force` (default false) | `ok: true` |
//! | `import` | `format` (`json` or `ndjson`), `data` (the text) | `nodes`, `edges`, `batches` |
//! | `export` | | `export`: the JSON document |
//! | `check` | | `segments`, `records`, `bytes`, `nodes`, `edges`, `problems` |
//! | `compact` | | `bytes_before`, `bytes_after`, `generation` |
//! | `stats` | | `nodes`, `seq`, `commits`, `fsyncs`, `disk_bytes` and the index's sizes |

use quiver_query::Database;
use serde_json::{Map, Value, json};

/// An admin request's result.
pub(crate) enum Answer {
    /// An object of named results.
    Object(Map<String, Value>),
    /// A JSON document already written (the export), placed as it is.
    Export(Vec<u8>),
}

/// Why an admin request failed: an error code and a message.
pub(crate) type Failure = (&'static str, String);

fn failed(e: impl std::fmt::Display) -> Failure {
    ("admin_failed", e.to_string())
}

/// Runs the admin request `name` with the arguments in `args` (an object), on a blocking
/// thread: admin requests read or write the whole database.
pub(crate) async fn run(db: &Database, name: String, args: Value) -> Result<Answer, Failure> {
    let db = db.clone();
    match tokio::task::spawn_blocking(move || run_blocking(&db, &name, &args)).await {
        Ok(answer) => answer,
        Err(e) => Err(("internal", format!("the admin request failed: {e}"))),
    }
}

fn object(value: Value) -> Answer {
    match value {
        Value::Object(map) => Answer::Object(map),
        // Every answer below is written as an object literal.
        other => Answer::Object(Map::from_iter([("result".to_string(), other)])),
    }
}

fn run_blocking(db: &Database, name: &str, args: &Value) -> Result<Answer, Failure> {
    let text = |field: &str| -> Result<&str, Failure> {
        args.get(field)
            .and_then(Value::as_str)
            .ok_or(("bad_request", format!("{name} needs \"{field}\" (a string)")))
    };
    let answer = match name {
        "schema.get" => json!({ "schema": db.schema() }),
        "schema.set" => {
            let sdl = text("sdl")?;
            let force = args.get("force").and_then(Value::as_bool).unwrap_or(false);
            if force { db.set_schema_forced(sdl) } else { db.set_schema(sdl) }.map_err(failed)?;
            json!({ "ok": true })
        }
        "import" => {
            let data = text("data")?;
            let report = match args.get("format").and_then(Value::as_str).unwrap_or("json") {
                "json" => db.import_json("request", data),
                "ndjson" => db.import_ndjson("request", data),
                other => return Err(("bad_request", format!("import format {other:?}: json or ndjson"))),
            }
            .map_err(failed)?;
            json!({ "nodes": report.nodes, "edges": report.edges, "batches": report.batches })
        }
        "export" => {
            let mut out = Vec::new();
            db.export_json(&mut out).map_err(failed)?;
            while out.last().is_some_and(u8::is_ascii_whitespace) {
                out.pop();
            }
            return Ok(Answer::Export(out));
        }
        "check" => {
            let r = db.check().map_err(failed)?;
            json!({ "segments": r.segments, "records": r.records, "bytes": r.bytes, "nodes": r.nodes, "edges": r.edges, "problems": r.problems })
        }
        "compact" => {
            let r = db.compact().map_err(failed)?;
            json!({ "bytes_before": r.bytes_before, "bytes_after": r.bytes_after, "generation": r.generation })
        }
        "stats" => {
            let snap = db.store().snapshot();
            let s = snap.stats();
            let activity = db.store().activity();
            json!({
                "nodes": snap.node_count(),
                "seq": snap.seq(),
                "commits": activity.commits,
                "fsyncs": activity.fsyncs,
                "disk_bytes": activity.disk_bytes,
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
    Ok(object(answer))
}
