//! `quiver serve` as a process, over HTTP and TCP: the customer-360 fixture loaded over HTTP
//! and queried every way a user can (HTTP, the Rust client, the Python example client), roles,
//! metrics, and graphql-http's conformance audits.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Server, expected, fixture, graphql, http};

/// A server whose data was loaded over HTTP.
fn loaded(args: &[&str], token: Option<&str>) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("db"), args);
    let auth = token.map(|t| format!("Bearer {t}")).unwrap_or_default();
    let headers: Vec<(&str, &str)> = if token.is_some() { vec![("Authorization", &auth)] } else { vec![] };
    let r = http(&server.http, "POST", "/admin/schema", &headers, fixture("schema.graphql").as_bytes());
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"ok":true}"#));
    let mut with_type = headers.clone();
    with_type.push(("Content-Type", "application/json"));
    let r = http(&server.http, "POST", "/admin/import", &with_type, fixture("data.json").as_bytes());
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"nodes":25,"edges":31,"batches":1}"#));
    (dir, server)
}

#[test]
fn the_customer360_query_answers_exactly_over_http_tcp_and_python() {
    let (_dir, server) = loaded(&[], None);
    let query = fixture("query.graphql");

    let r = graphql(&server.http, None, &query, Value::Null);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/graphql-response+json; charset=utf-8"));
    assert_eq!(r.body, expected());
    // GET, with the query in the URL and the legacy media type.
    let url = format!("/graphql?query={}", support::urlencode(&query));
    let r = http(&server.http, "GET", &url, &[("Accept", "application/json")], b"");
    assert_eq!((r.status, r.header("content-type")), (200, Some("application/json; charset=utf-8")));
    assert_eq!(r.body, expected());

    let mut client = quiver::blocking::Client::connect(server.tcp.as_str(), None).unwrap();
    assert_eq!(client.query(&query, &Value::Null).unwrap().json(), expected());
    // Without polling for the answer first, and with a long poll: the same answer.
    for spin in [std::time::Duration::ZERO, std::time::Duration::from_millis(200)] {
        client.set_spin(spin);
        assert_eq!(client.query(&query, &Value::Null).unwrap().json(), expected(), "{spin:?}");
    }

    let script =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/python/quiver_client.py");
    let out =
        std::process::Command::new("python3").arg(script).arg(&server.tcp).arg(&query).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected() + "\n");

    // The async client, pipelining.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut c = quiver::Client::connect(server.tcp.as_str(), None).await.unwrap();
        let vars = json!({"id": "0x28caba09"});
        let replies = c
            .pipeline(&[
                (&query, &Value::Null, None),
                ("query($id: ID!) { getCustomer(id: $id) { name } }", &vars, None),
                ("{ nope }", &Value::Null, None),
            ])
            .await
            .unwrap();
        let replies: Vec<String> = replies.into_iter().map(|r| r.unwrap().json().to_string()).collect();
        assert_eq!(replies[0], expected());
        assert_eq!(replies[1], r#"{"data":{"getCustomer":{"name":"John Doe"}}}"#);
        assert_eq!(
            replies[2],
            r#"{"errors":[{"message":"Cannot query field \"nope\" on type \"Query\".","locations":[{"line":1,"column":3}],"path":["nope"]}]}"#
        );
        let stats = c.admin("stats", json!({})).await.unwrap();
        assert_eq!(stats["nodes"], 25);
    });
}

#[test]
fn http_status_codes_follow_the_graphql_over_http_spec() {
    let (_dir, server) = loaded(&["--max-nodes", "10"], None);
    let a = server.http.as_str();
    let gr = ("Accept", "application/graphql-response+json");
    let json_type = ("Content-Type", "application/json");
    // A validation error: 400 with the new media type, 200 with the legacy one.
    let body = br#"{"query": "{ nope }"}"#;
    assert_eq!(http(a, "POST", "/graphql", &[json_type, gr], body).status, 400);
    assert_eq!(http(a, "POST", "/graphql", &[json_type, ("Accept", "application/json")], body).status, 200);
    // A field error beside data is 200 either way.
    let r = graphql(
        a,
        None,
        "{ a: queryProduct { name } b: queryProduct { name } c: queryProduct { name } }",
        Value::Null,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        r##"{"data":{"a":[{"name":"Chelated Magnesium"},{"name":"A&I Formula"},{"name":"Micellized Vitamin D3"},{"name":"Buffered Vitamin C"}],"b":[{"name":"Chelated Magnesium"},{"name":"A&I Formula"},{"name":"Micellized Vitamin D3"},{"name":"Buffered Vitamin C"}],"c":null},"errors":[{"message":"the query produces more than 10 nodes; narrow it with filters or first","locations":[{"line":1,"column":53}],"path":["c"]}]}"##
    );
    // Malformed requests.
    let r = http(a, "POST", "/graphql", &[json_type, gr], b"{not json");
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with(r#"{"errors":[{"message":"the body is not JSON: "#), "{}", r.body);
    let r = http(a, "POST", "/graphql", &[("Content-Type", "text/plain"), gr], body);
    assert_eq!(r.status, 415);
    assert_eq!(
        r.body,
        r#"{"errors":[{"message":"a GraphQL POST needs Content-Type: application/json, not Content-Type \"text/plain\""}]}"#
    );
    let r =
        http(a, "POST", "/graphql", &[json_type, gr], br#"{"query": "{ __typename }", "variables": [1]}"#);
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"errors":[{"message":"\"variables\" must be an object (a map of names to values)"}]}"#)
    );
    // Not acceptable.
    let r = http(a, "POST", "/graphql", &[json_type, ("Accept", "text/html")], body);
    assert_eq!(r.status, 406);
    // GET cannot mutate, whatever the token.
    let m = support::urlencode("mutation { deleteProduct(filter: {}) { numUids } }");
    let r = http(a, "GET", &format!("/graphql?query={m}"), &[gr], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    // Other methods.
    let r = http(a, "PUT", "/graphql", &[], b"");
    assert_eq!(r.status, 405);
    // Too large.
    let big = vec![b' '; (16 << 20) + 1];
    let r = http(a, "POST", "/graphql", &[json_type, gr], &big);
    assert_eq!(r.status, 413);
    // Still serving, and nothing was deleted.
    let r = graphql(a, None, "{ aggregateProduct { count } }", Value::Null);
    assert_eq!(r.body, r#"{"data":{"aggregateProduct":{"count":4}}}"#);
    let r = http(a, "GET", "/health", &[], b"");
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"ok"}"#));
    let r = http(a, "GET", "/admin/export", &[], b"");
    assert!(r.body.starts_with("{\n\"Customer\": [\n  {\"id\":\"0x28caba09\""), "{}", &r.body[..40]);
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
    let r = http(a, "GET", "/admin/schema", &[], b"");
    assert_eq!((r.status, r.body), (200, fixture("schema.graphql")));
    let r = http(a, "POST", "/admin/schema", &[], b"type {");
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with(r#"{"error":{"code":"admin_failed","message":"#), "{}", r.body);

    let r = http(a, "GET", "/metrics", &[], b"");
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    for line in [
        "quiver_errors_total{transport=\"http\",kind=\"request\"} 2",
        "quiver_errors_total{transport=\"http\",kind=\"field\"} 1",
        "quiver_errors_total{transport=\"http\",kind=\"forbidden\"} 1",
        "quiver_errors_total{transport=\"http\",kind=\"admin\"} 1",
        "quiver_commits_total 2",
    ] {
        assert!(r.body.lines().any(|l| l == line), "{line} not in\n{}", r.body);
    }
    // Only this request's connection is open, once the earlier ones' tasks have ended (a
    // client sees its answer a moment before the server drops the connection).
    let open = "quiver_open_connections{transport=\"http\"} 1";
    let settled = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        http(a, "GET", "/metrics", &[], b"").body.lines().any(|l| l == open)
    });
    assert!(settled, "{open} never read");
}

#[test]
fn each_role_is_refused_what_it_may_not_do_over_http_and_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "read:reader-token\nwrite:writer-token\nadmin:admin-token\n").unwrap();
    let (_data, server) = loaded(&["--tokens", tokens.to_str().unwrap()], Some("admin-token"));
    let a = server.http.as_str();
    let read = "{ aggregateProduct { count } }";
    let write = "mutation { addProduct(input: [{name: \"P\", category: \"c\", price: 1}]) { numUids } }";
    let admin = |token: Option<&str>| {
        let auth = token.map(|t| format!("Bearer {t}")).unwrap_or_default();
        let h: Vec<(&str, &str)> = if token.is_some() { vec![("Authorization", &auth)] } else { vec![] };
        http(a, "GET", "/admin/stats", &h, b"").status
    };
    // No token, or a wrong one: 401 everywhere but /health.
    let r = graphql(a, None, read, Value::Null);
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer")));
    assert_eq!(graphql(a, Some("not-a-token"), read, Value::Null).status, 401);
    assert_eq!(admin(None), 401);
    assert_eq!(http(a, "GET", "/metrics", &[], b"").status, 401);
    assert_eq!(http(a, "GET", "/health", &[], b"").status, 200);
    // read: queries only.
    assert_eq!(graphql(a, Some("reader-token"), read, Value::Null).status, 200);
    let r = graphql(a, Some("reader-token"), write, Value::Null);
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            403,
            r#"{"errors":[{"message":"This caller may only read: a mutation needs write access.","locations":[{"line":1,"column":1}]}]}"#
        )
    );
    assert_eq!(admin(Some("reader-token")), 403);
    // write: queries and mutations.
    assert_eq!(
        graphql(a, Some("writer-token"), write, Value::Null).body,
        r#"{"data":{"addProduct":{"numUids":1}}}"#
    );
    assert_eq!(admin(Some("writer-token")), 403);
    // admin: everything.
    assert_eq!(admin(Some("admin-token")), 200);
    assert_eq!(graphql(a, Some("admin-token"), write, Value::Null).status, 200);

    // The same over TCP with the Rust client.
    let refused = |r: Result<quiver::blocking::Client, quiver::ClientError>| match r {
        Err(quiver::ClientError::Server { code, .. }) => code,
        other => panic!("{other:?}"),
    };
    assert_eq!(refused(quiver::blocking::Client::connect(server.tcp.as_str(), None)), "unauthorized");
    assert_eq!(
        refused(quiver::blocking::Client::connect(server.tcp.as_str(), Some("wrong-token"))),
        "unauthorized"
    );
    let mut reader = quiver::blocking::Client::connect(server.tcp.as_str(), Some("reader-token")).unwrap();
    assert_eq!(
        reader.query(read, &Value::Null).unwrap().json(),
        r#"{"data":{"aggregateProduct":{"count":6}}}"#
    );
    assert!(reader.query(write, &Value::Null).unwrap().json().contains("a mutation needs write access"));
    assert!(
        matches!(reader.admin("stats", json!({})), Err(quiver::ClientError::Server { code, .. }) if code == "forbidden")
    );
    let mut writer = quiver::blocking::Client::connect(server.tcp.as_str(), Some("writer-token")).unwrap();
    assert_eq!(writer.query(write, &Value::Null).unwrap().json(), r#"{"data":{"addProduct":{"numUids":1}}}"#);
    assert!(
        matches!(writer.admin("stats", json!({})), Err(quiver::ClientError::Server { code, .. }) if code == "forbidden")
    );
    let mut admin = quiver::blocking::Client::connect(server.tcp.as_str(), Some("admin-token")).unwrap();
    assert_eq!(admin.admin("stats", json!({})).unwrap()["nodes"], 28);
}

/// graphql-http's server audits (the GraphQL-over-HTTP conformance suite), fetched from npm
/// into `target/graphql-http` on first run: every MUST passes, and every SHOULD too.
#[test]
fn graphql_http_audits_pass() {
    use std::process::Command;
    let (_dir, server) = loaded(&[], None);
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tools = manifest.join("target/graphql-http");
    if !tools.join("node_modules/graphql-http/package.json").exists() {
        std::fs::create_dir_all(&tools).unwrap();
        let out = Command::new("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .args(["graphql-http@1.23.1", "graphql@16"])
            .output()
            .expect("npm is needed to fetch graphql-http");
        assert!(out.status.success(), "npm install failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let script = tools.join("audit.mjs");
    std::fs::copy(manifest.join("server/tests/graphql_http/audit.mjs"), &script).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .arg(format!("http://{}/graphql", server.http))
        .output()
        .expect("node is needed to run the audits");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(results.len() >= 50, "only {} audits ran", results.len());
    let failed: Vec<&Value> = results.iter().filter(|r| r["status"] != "ok").collect();
    assert!(failed.is_empty(), "audits failed: {failed:#?}");
}
