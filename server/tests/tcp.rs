#![allow(clippy::unwrap_used, missing_docs)]
//! The native protocol over a real socket, spoken as raw bytes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;

use quiver_query::Database;
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/customer360").join(name),
    )
    .unwrap()
}

/// A server on a free loopback port, on a runtime of its own, serving the customer-360 data.
fn server() -> (SocketAddr, tempfile::TempDir, std::thread::JoinHandle<()>) {
    let (addr, dir, handle, stop) =
        stoppable(quiver_server::ServerConfig { max_frame: 1 << 20, ..Default::default() });
    std::mem::forget(stop); // runs as long as the test
    (addr, dir, handle)
}

/// The same, with the sender that stops it.
fn stoppable(
    config: quiver_server::ServerConfig,
) -> (SocketAddr, tempfile::TempDir, std::thread::JoinHandle<()>, tokio::sync::oneshot::Sender<()>) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(&fixture("schema.graphql")).unwrap();
    db.import_json("data.json", &fixture("data.json")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let shutdown = async {
                let _ = stopped.await;
            };
            quiver_server::run_tcp(listener, db, config, shutdown).await.unwrap();
        });
    });
    (rx.recv().unwrap(), dir, handle, stop)
}

struct Client(TcpStream);

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        Client(s)
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).unwrap();
    }

    fn send(&mut self, body: &[u8]) {
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        self.send_raw(&frame);
    }

    fn recv(&mut self) -> Option<String> {
        let mut len = [0u8; 4];
        if self.0.read_exact(&mut len).is_err() {
            return None;
        }
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.0.read_exact(&mut body).unwrap();
        Some(String::from_utf8(body).unwrap())
    }

    fn hello(addr: SocketAddr) -> Client {
        let mut c = Client::connect(addr);
        c.send(br#"{"hello": "quiver/1", "token": null}"#);
        assert_eq!(c.recv().unwrap(), r#"{"hello":"quiver/1","server":"quiver 0.1.0"}"#);
        c
    }
}

#[test]
fn the_customer360_query_over_tcp_answers_exactly_with_its_id() {
    let (addr, _dir, _server) = server();
    let mut c = Client::hello(addr);
    c.send(json!({"id": 7, "query": fixture("query.graphql")}).to_string().as_bytes());
    let expected: Value = serde_json::from_str(&fixture("expected.json")).unwrap();
    let want = format!("{{\"id\":7,{}", &serde_json::to_string(&expected).unwrap()[1..]);
    assert_eq!(c.recv().unwrap(), want);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (addr, _dir, _server) = server();
    let mut c = Client::hello(addr);
    for i in 0..20 {
        let q = json!({"id": format!("r{i}"), "query": "query($id: ID!) { getCustomer(id: $id) { name } }", "variables": {"id": if i % 2 == 0 { "0x28caba09" } else { "0x28caba0a" }}});
        c.send(q.to_string().as_bytes());
    }
    for i in 0..20 {
        let name = if i % 2 == 0 { "John Doe" } else { "Jane Roe" };
        assert_eq!(
            c.recv().unwrap(),
            format!(r#"{{"id":"r{i}","data":{{"getCustomer":{{"name":"{name}"}}}}}}"#)
        );
    }
    // Operation choice and errors come back as GraphQL responses with their id.
    c.send(br#"{"id": 1, "query": "query A { __typename } query B { queryCustomer { name } }", "operationName": "A"}"#);
    assert_eq!(c.recv().unwrap(), r#"{"id":1,"data":{"__typename":"Query"}}"#);
    c.send(br#"{"id": 2, "query": "{ nope }"}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":2,"errors":[{"message":"Cannot query field \"nope\" on type \"Query\".","locations":[{"line":1,"column":3}],"path":["nope"]}]}"#
    );
}

#[test]
fn requests_are_answered_whether_the_server_polls_or_sleeps_between_them() {
    use std::time::Duration;
    let query = br#"{"id": 1, "query": "{ getCustomer(id: \"0x28caba09\") { name } }"}"#;
    let answer = r#"{"id":1,"data":{"getCustomer":{"name":"John Doe"}}}"#;
    for spin in [Duration::ZERO, Duration::from_millis(300)] {
        let (addr, _dir, _server, _stop) =
            stoppable(quiver_server::ServerConfig { spin, ..Default::default() });
        let mut c = Client::hello(addr);
        // At once, while the server polls (when it does), and after it has gone to sleep.
        for pause in [0, 50, 600] {
            std::thread::sleep(Duration::from_millis(pause));
            c.send(query);
            assert_eq!(c.recv().unwrap(), answer, "spin {spin:?}, pause {pause} ms");
        }
        // A client that leaves while the server polls for its next request: others are served.
        c.send(query);
        assert_eq!(c.recv().unwrap(), answer);
        drop(c);
        let mut other = Client::hello(addr);
        other.send(query);
        assert_eq!(other.recv().unwrap(), answer, "spin {spin:?}");
    }
}

#[test]
fn bad_messages_get_their_own_errors_and_the_connection_goes_on() {
    let (addr, _dir, _server) = server();
    let mut c = Client::hello(addr);
    c.send(b"{not json");
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":null,"error":{"code":"bad_json","message":"the frame is not JSON: key must be a string at line 1 column 2"}}"#
    );
    c.send(b"\xc3\x28");
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":null,"error":{"code":"bad_utf8","message":"the frame is not UTF-8"}}"#
    );
    c.send(br#"{"id": 3, "ping": true}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":3,"error":{"code":"unknown_message","message":"expected a request {\"id\", \"query\", \"variables\", \"operationName\"} or an admin request {\"id\", \"admin\", ...}"}}"#
    );
    c.send(br#"{"id": 4, "query": "{ queryCustomer(first: ) { name } }"}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":4,"errors":[{"message":"syntax error at 1:24: expected a value","locations":[{"line":1,"column":24}]}]}"#
    );
    c.send(br#"{"id": 5, "query": "query($n: Int!) { queryCustomer(first: $n) { name } }", "variables": {"n": "x"}}"#);
    assert!(
        c.recv()
            .unwrap()
            .starts_with(r#"{"id":5,"errors":[{"message":"Variable \"$n\" got invalid value \"x\""#)
    );
    // Still serving.
    c.send(br#"{"id": 6, "query": "{ aggregateCustomer { count } }"}"#);
    assert_eq!(c.recv().unwrap(), r#"{"id":6,"data":{"aggregateCustomer":{"count":2}}}"#);
}

#[test]
fn framing_errors_and_a_missing_hello_close_the_connection_and_others_are_served() {
    let (addr, _dir, _server) = server();
    let mut other = Client::hello(addr);

    let mut c = Client::connect(addr);
    c.send(br#"{"id": 1, "query": "{ __typename }"}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":null,"error":{"code":"no_hello","message":"the first frame must be {\"hello\": \"quiver/1\", \"token\": ...}"}}"#
    );
    assert_eq!(c.recv(), None);

    let mut c = Client::connect(addr);
    c.send(br#"{"hello": "quiver/2"}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":null,"error":{"code":"bad_version","message":"this server speaks quiver/1, not quiver/2"}}"#
    );
    assert_eq!(c.recv(), None);

    let mut c = Client::hello(addr);
    c.send_raw(&u32::MAX.to_be_bytes());
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":null,"error":{"code":"too_large","message":"a frame of 4294967295 bytes is over the limit of 1048576"}}"#
    );
    assert_eq!(c.recv(), None);

    let mut c = Client::hello(addr);
    c.send_raw(&[0, 0, 0, 0]);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":null,"error":{"code":"bad_frame","message":"a frame's length must be at least 1"}}"#
    );
    assert_eq!(c.recv(), None);

    // A client that sends half a length and stalls holds nobody else up.
    let mut slow = Client::hello(addr);
    slow.send_raw(&[0, 0]);
    other.send(br#"{"id": "x", "query": "{ aggregateProduct { count } }"}"#);
    assert_eq!(other.recv().unwrap(), r#"{"id":"x","data":{"aggregateProduct":{"count":4}}}"#);
}

/// The Python example client (examples/python) gets the exact customer-360 answer.
#[test]
fn the_python_example_client_answers_the_customer360_query() {
    let (addr, _dir, _server) = server();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/python/quiver_client.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(addr.to_string())
        .arg(fixture("query.graphql"))
        .output()
        .expect("python3 is needed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: Value = serde_json::from_str(&fixture("expected.json")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), serde_json::to_string(&expected).unwrap() + "\n");
}

#[test]
fn stopping_closes_idle_connections_and_returns() {
    let (addr, _dir, handle, stop) = stoppable(quiver_server::ServerConfig::default());
    let mut idle = Client::hello(addr);
    let mut busy = Client::hello(addr);
    busy.send(br#"{"id": 1, "query": "{ aggregateCustomer { count } }"}"#);
    assert_eq!(busy.recv().unwrap(), r#"{"id":1,"data":{"aggregateCustomer":{"count":2}}}"#);
    stop.send(()).unwrap();
    handle.join().unwrap();
    assert_eq!(idle.recv(), None);
    assert_eq!(busy.recv(), None);
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}

#[test]
fn connections_past_the_limit_wait_while_none_is_idle() {
    let (addr, _dir, _handle, _stop) =
        stoppable(quiver_server::ServerConfig { max_connections: 1, ..Default::default() });
    let mut first = Client::hello(addr);
    // Inside a frame: busy, so not given up for a newcomer (once the server has seen the
    // bytes: until then it is idle, and a newcomer could take its slot).
    first.send_raw(b"\x00\x00");
    std::thread::sleep(std::time::Duration::from_millis(200));
    // The second is accepted by the kernel but not served until the first leaves.
    let mut second = Client::connect(addr);
    second.0.set_read_timeout(Some(std::time::Duration::from_millis(300))).unwrap();
    second.send(br#"{"hello": "quiver/1"}"#);
    let mut byte = [0u8; 1];
    assert!(second.0.read(&mut byte).is_err(), "served past the limit");
    let body = br#"{"id": 1, "query": "{ aggregateCustomer { count } }"}"#;
    first.send_raw(&(body.len() as u32).to_be_bytes()[2..]);
    first.send_raw(body);
    assert_eq!(first.recv().unwrap(), r#"{"id":1,"data":{"aggregateCustomer":{"count":2}}}"#);
    drop(first);
    second.0.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    assert_eq!(second.recv().unwrap(), r#"{"hello":"quiver/1","server":"quiver 0.1.0"}"#);
}

#[test]
fn idle_connections_give_their_slot_to_a_newcomer() {
    let (addr, _dir, _handle, _stop) =
        stoppable(quiver_server::ServerConfig { max_connections: 50, ..Default::default() });
    // Five hundred connections sit idle after their hello (and some before it).
    let mut idle: Vec<Client> =
        (0..500).map(|i| if i % 10 == 0 { Client::connect(addr) } else { Client::hello(addr) }).collect();
    let mut fresh = Client::hello(addr);
    fresh.send(br#"{"id": 1, "query": "{ aggregateCustomer { count } }"}"#);
    assert_eq!(fresh.recv().unwrap(), r#"{"id":1,"data":{"aggregateCustomer":{"count":2}}}"#);
    // The oldest idle connections were told why they were closed.
    let oldest = idle.iter_mut().find_map(|c| c.recv()).unwrap();
    assert_eq!(
        oldest,
        r#"{"id":null,"error":{"code":"evicted","message":"closed while idle: the server needed this connection's slot"}}"#
    );
}

#[test]
fn admin_requests() {
    let (addr, _dir, _server) = server();
    let mut c = Client::hello(addr);
    c.send(br#"{"id": 1, "admin": "schema.get"}"#);
    assert_eq!(c.recv().unwrap(), json!({"id": 1, "schema": fixture("schema.graphql")}).to_string());
    c.send(br#"{"id": 2, "admin": "stats"}"#);
    let stats: Value = serde_json::from_str(&c.recv().unwrap()).unwrap();
    assert_eq!((stats["id"].clone(), stats["nodes"].clone()), (json!(2), json!(25)));
    c.send(br#"{"id": 3, "admin": "import", "format": "ndjson", "data": "{\"__typename\": \"Product\", \"name\": \"P\", \"category\": \"c\", \"price\": 2}\n"}"#);
    assert_eq!(c.recv().unwrap(), r#"{"id":3,"nodes":1,"edges":0,"batches":1}"#);
    c.send(br#"{"id": 4, "admin": "import", "data": "{\"Product\": [{\"name\": 5}]}"}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":4,"error":{"code":"admin_failed","message":"request:1: Product.name: expected String, found 5"}}"#
    );
    c.send(br#"{"id": 5, "admin": "export"}"#);
    let export: Value = serde_json::from_str(&c.recv().unwrap()).unwrap();
    assert_eq!(export["export"]["Product"].as_array().unwrap().len(), 5);
    c.send(br#"{"id": 6, "admin": "check"}"#);
    let check: Value = serde_json::from_str(&c.recv().unwrap()).unwrap();
    assert_eq!((check["nodes"].clone(), check["problems"].clone()), (json!(26), json!([])));
    c.send(br#"{"id": 7, "admin": "schema.set", "sdl": "type Product { id: ID! }"}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":7,"error":{"code":"admin_failed","message":"schema change refused: Product.name holds data; force the change to drop it"}}"#
    );
    c.send(br#"{"id": 8, "admin": "compact"}"#);
    assert!(c.recv().unwrap().starts_with(r#"{"id":8,"bytes_before":"#));
    c.send(br#"{"id": 9, "admin": "reboot"}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":9,"error":{"code":"unknown_admin","message":"unknown admin request \"reboot\": schema.get, schema.set, import, export, check, compact or stats"}}"#
    );
    c.send(br#"{"id": 10, "admin": "schema.set"}"#);
    assert_eq!(
        c.recv().unwrap(),
        r#"{"id":10,"error":{"code":"bad_request","message":"schema.set needs \"sdl\" (a string)"}}"#
    );
    // Queries still answer, from the compacted log.
    c.send(br#"{"id": 11, "query": "{ aggregateProduct { count } }"}"#);
    assert_eq!(c.recv().unwrap(), r#"{"id":11,"data":{"aggregateProduct":{"count":5}}}"#);
}

#[test]
fn each_role_is_refused_what_it_may_not_do() {
    let tokens =
        quiver_server::auth::Tokens::parse("read:reader-token, write:writer-token, admin:admin-token")
            .unwrap();
    let config =
        quiver_server::ServerConfig { tokens: Some(std::sync::Arc::new(tokens)), ..Default::default() };
    let (addr, _dir, _handle, _stop) = stoppable(config);
    let login = |token: Option<&str>| {
        let mut c = Client::connect(addr);
        c.send(json!({"hello": "quiver/1", "token": token}).to_string().as_bytes());
        (c.recv().unwrap(), c)
    };
    let unauthorized = r#"{"id":null,"error":{"code":"unauthorized","message":"this server needs a token: the hello's \"token\" is missing or not one of its tokens"}}"#;
    for bad in [None, Some("reader-tokeN"), Some("")] {
        let (answer, mut c) = login(bad);
        assert_eq!(answer, unauthorized);
        assert_eq!(c.recv(), None);
    }
    let query = br#"{"id": 1, "query": "{ aggregateProduct { count } }"}"#;
    let mutation = br#"{"id": 2, "query": "mutation { addProduct(input: [{name: \"N\", category: \"c\", price: 1}]) { numUids } }"}"#;
    let admin = br#"{"id": 3, "admin": "stats"}"#;

    let (_, mut reader) = login(Some("reader-token"));
    reader.send(query);
    assert_eq!(reader.recv().unwrap(), r#"{"id":1,"data":{"aggregateProduct":{"count":4}}}"#);
    reader.send(mutation);
    assert_eq!(
        reader.recv().unwrap(),
        r#"{"id":2,"errors":[{"message":"This caller may only read: a mutation needs write access.","locations":[{"line":1,"column":1}]}]}"#
    );
    reader.send(admin);
    assert_eq!(
        reader.recv().unwrap(),
        r#"{"id":3,"error":{"code":"forbidden","message":"admin requests need an admin token"}}"#
    );

    let (_, mut writer) = login(Some("writer-token"));
    writer.send(mutation);
    assert_eq!(writer.recv().unwrap(), r#"{"id":2,"data":{"addProduct":{"numUids":1}}}"#);
    writer.send(admin);
    assert_eq!(
        writer.recv().unwrap(),
        r#"{"id":3,"error":{"code":"forbidden","message":"admin requests need an admin token"}}"#
    );

    let (_, mut root) = login(Some("admin-token"));
    root.send(mutation);
    assert_eq!(root.recv().unwrap(), r#"{"id":2,"data":{"addProduct":{"numUids":1}}}"#);
    root.send(admin);
    assert!(root.recv().unwrap().starts_with(r#"{"id":3,"nodes":27,"#));
}

/// The byte-by-byte example of docs/PROTOCOL.md, exactly.
#[test]
fn the_documented_byte_example_holds() {
    let (addr, _dir, _server) = server();
    let mut c = Client::connect(addr);
    let exchange: [(&[u8], &[u8]); 3] = [
        (b"\x00\x00\x00\x14{\"hello\":\"quiver/1\"}", b"\x00\x00\x00\x2c{\"hello\":\"quiver/1\",\"server\":\"quiver 0.1.0\"}"),
        (
            b"\x00\x00\x00\x32{\"id\":1,\"query\":\"{ aggregateCustomer { count } }\"}",
            b"\x00\x00\x00\x31{\"id\":1,\"data\":{\"aggregateCustomer\":{\"count\":2}}}",
        ),
        (
            b"\x00\x00\x00\x07{\"id\":2",
            b"\x00\x00\x00\x79{\"id\":null,\"error\":{\"code\":\"bad_json\",\"message\":\"the frame is not JSON: EOF while parsing an object at line 1 column 7\"}}",
        ),
    ];
    for (sent, want) in exchange {
        c.send_raw(sent);
        let mut got = vec![0u8; want.len()];
        c.0.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    }
}
