//! One client connection of the native protocol: the hello, then requests answered in order
//! (clients may pipeline: answers to requests already received are written together, and
//! flushed when nothing more is waiting). A framing error ends the connection after saying
//! why; a bad message is answered and the connection goes on.
//!
//! Time limits: the hello must arrive within `handshake_timeout`, each later frame within
//! `frame_timeout` of its first byte, and the next request within `idle_timeout`; a connection
//! waiting for its next request is closed first when the server needs its slot.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::watch;

use crate::accept::IdleSet;
use crate::auth::Role;
use crate::frame::{FrameEnd, read_frame, write_frame};
use crate::metrics::{ErrorKind, PollOutcome, RequestKind, Transport};
use crate::request::{GraphqlRequest, access_of};
use crate::{PROTOCOL, Shared};

/// An error frame: `{"id": .., "error": {"code": .., "message": ..}}`.
fn error(id: &Value, code: &str, message: impl Into<String>) -> Vec<u8> {
    json!({ "id": id, "error": { "code": code, "message": message.into() } }).to_string().into_bytes()
}

/// How many connections may poll for their next request at once (`ServerConfig::spin`): half
/// the machine's threads, at least one, so that polling never keeps every thread awake and a
/// busy server's idle clients cost no more than that.
#[derive(Debug)]
pub(crate) struct PollSlots {
    taken: AtomicUsize,
    limit: usize,
}

impl Default for PollSlots {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        PollSlots::new((threads / 2).max(1))
    }
}

impl PollSlots {
    fn new(limit: usize) -> PollSlots {
        PollSlots { taken: AtomicUsize::new(0), limit }
    }

    /// A slot to poll in, held until dropped; `None` when all are taken.
    fn take(&self) -> Option<PollSlot<'_>> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.limit).then_some(n + 1))
            .ok()
            .map(|_| PollSlot(&self.taken))
    }
}

/// A connection's turn to poll (see [`PollSlots`]).
struct PollSlot<'a>(&'a AtomicUsize);

impl Drop for PollSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What reading the next frame gave.
enum Next {
    /// A frame, in the connection's buffer.
    Frame,
    /// A frame that is not UTF-8: its boundary is known, so the connection may go on.
    NotUtf8,
    /// The connection is over: the client left or was told why it is closed, or the server
    /// is stopping.
    Over,
}

/// A connection's stream and what it needs to read from it.
struct Connection<'a, S> {
    stream: BufReader<BufWriter<S>>,
    /// The last frame's body (reused).
    buf: Vec<u8>,
    shared: &'a Shared,
    idle: &'a IdleSet,
    /// Notified when the server needs this connection's slot while it is idle.
    evict: Arc<tokio::sync::Notify>,
    stopping: watch::Receiver<bool>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Reads the next frame into `buf`. Unless the client pipelined it or sends it within the
    /// server's `spin`, waits for its first byte as an idle connection (evictable, and for at
    /// most `wait`); then for the rest, for
    /// at most `read`. Too slow, idle too long, evicted or a broken frame: the client is told
    /// and the connection is over.
    async fn next_frame(
        &mut self,
        wait: std::time::Duration,
        read: std::time::Duration,
        what: &str,
    ) -> std::io::Result<Next> {
        let none = Value::Null;
        let metrics = &self.shared.metrics;
        if self.stream.buffer().is_empty() {
            self.stream.flush().await?;
        }
        if self.stream.buffer().is_empty() && !self.poll_next().await? {
            let waiting = self.idle.enter(&self.evict);
            let (code, msg) = tokio::select! {
                read = self.stream.fill_buf() => match read?.is_empty() {
                    true => return Ok(Next::Over),
                    false => (None, String::new()),
                },
                _ = crate::accept::stopped(&mut self.stopping) => return Ok(Next::Over),
                _ = waiting.evicted() => {
                    (Some("evicted"), "closed while idle: the server needed this connection's slot".to_string())
                }
                _ = tokio::time::sleep(wait) => {
                    (Some("idle_timeout"), format!("closed after {} s without {what}", wait.as_secs_f64()))
                }
            };
            drop(waiting);
            if let Some(code) = code {
                metrics.error(Transport::Tcp, ErrorKind::Timeout);
                self.send_last(&error(&none, code, msg)).await?;
                return Ok(Next::Over);
            }
        }
        // (A frame already whole in the buffer completes at the first poll, before the timer
        // is ever registered.)
        let max = self.shared.config.max_frame;
        let frame = match tokio::time::timeout(read, read_frame(&mut self.stream, &mut self.buf, max)).await {
            Err(_) => {
                metrics.error(Transport::Tcp, ErrorKind::Timeout);
                let msg = format!("{what} took longer than {} s to arrive", read.as_secs_f64());
                self.send_last(&error(&none, "timeout", msg)).await?;
                return Ok(Next::Over);
            }
            Ok(frame) => frame?,
        };
        match frame {
            Ok(()) => Ok(Next::Frame),
            Err(FrameEnd::Closed | FrameEnd::Truncated) => Ok(Next::Over),
            Err(FrameEnd::NotUtf8) => {
                metrics.error(Transport::Tcp, ErrorKind::Protocol);
                Ok(Next::NotUtf8)
            }
            Err(end) => {
                metrics.error(Transport::Tcp, ErrorKind::Protocol);
                self.send_last(&framing_error(&end)).await?;
                Ok(Next::Over)
            }
        }
    }

    /// Polls for the client's next bytes for the server's `spin` (see `ServerConfig::spin`), in
    /// a poll slot when one is free, and counts how it ended: whether they arrived (or the
    /// client's end did), so the connection need not wait as an idle one.
    async fn poll_next(&mut self) -> std::io::Result<bool> {
        let spin = self.shared.config.spin;
        if spin.is_zero() {
            return Ok(false);
        }
        let outcome = match self.shared.polling.take() {
            Some(_slot) => match crate::frame::poll_for_bytes(&mut self.stream, spin).await? {
                true => PollOutcome::Arrived,
                false => PollOutcome::Idle,
            },
            None => PollOutcome::NoSlot,
        };
        self.shared.metrics.poll(outcome);
        Ok(outcome == PollOutcome::Arrived)
    }

    /// Writes a frame and flushes it: the last frame of a connection, or the welcome.
    async fn send_last(&mut self, body: &[u8]) -> std::io::Result<()> {
        write_frame(&mut self.stream, body).await?;
        self.stream.flush().await
    }

    /// The hello: the caller's role, or `None` when it was refused (and told why).
    async fn hello(&mut self) -> std::io::Result<Option<Role>> {
        let config = &self.shared.config;
        let metrics = &self.shared.metrics;
        let none = Value::Null;
        match self.next_frame(config.handshake_timeout, config.handshake_timeout, "a hello").await? {
            Next::Frame => {}
            Next::NotUtf8 => {
                self.send_last(&framing_error(&FrameEnd::NotUtf8)).await?;
                return Ok(None);
            }
            Next::Over => return Ok(None),
        }
        let refuse = |kind, code, msg: String| {
            metrics.error(Transport::Tcp, kind);
            error(&none, code, msg)
        };
        let hello: Value = match serde_json::from_slice(&self.buf) {
            Ok(v) => v,
            Err(e) => {
                let answer = refuse(ErrorKind::Protocol, "bad_json", format!("the hello is not JSON: {e}"));
                self.send_last(&answer).await?;
                return Ok(None);
            }
        };
        let refusal = match hello.get("hello").and_then(Value::as_str) {
            Some(PROTOCOL) => None,
            Some(other) => Some(refuse(
                ErrorKind::Protocol,
                "bad_version",
                format!("this server speaks {PROTOCOL}, not {other}"),
            )),
            None => Some(refuse(
                ErrorKind::Protocol,
                "no_hello",
                format!("the first frame must be {{\"hello\": \"{PROTOCOL}\", \"token\": ...}}"),
            )),
        };
        let role = match (&refusal, &config.tokens) {
            (Some(_), _) => None,
            (None, None) => Some(Role::Admin),
            (None, Some(tokens)) => {
                hello.get("token").and_then(Value::as_str).and_then(|t| tokens.role_of(t))
            }
        };
        let answer = match (refusal, role) {
            (Some(refusal), _) => refusal,
            (None, None) => refuse(
                ErrorKind::Unauthorized,
                "unauthorized",
                "this server needs a token: the hello's \"token\" is missing or not one of its tokens".into(),
            ),
            (None, Some(_)) => {
                json!({ "hello": PROTOCOL, "server": concat!("quiver ", env!("CARGO_PKG_VERSION")) })
                    .to_string()
                    .into_bytes()
            }
        };
        self.send_last(&answer).await?;
        Ok(role)
    }
}

/// Serves one connection until the client leaves, breaks the framing, is too slow, or the
/// server stops (`stopping` turns true): the request being run is answered first.
pub(crate) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    shared: &Arc<Shared>,
    idle: &IdleSet,
    stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let _open = shared.metrics.connection(Transport::Tcp);
    let mut conn = Connection {
        stream: BufReader::new(BufWriter::new(stream)),
        buf: Vec::with_capacity(4096),
        shared,
        idle,
        evict: Arc::new(tokio::sync::Notify::new()),
        stopping,
    };
    let Some(role) = conn.hello().await? else { return Ok(()) };
    let (config, metrics) = (&shared.config, &shared.metrics);
    let none = Value::Null;
    loop {
        let answer = match conn.next_frame(config.idle_timeout, config.frame_timeout, "a request").await? {
            Next::Over => return Ok(()),
            Next::NotUtf8 => error(&none, "bad_utf8", "the frame is not UTF-8"),
            // The common message, a GraphQL request, is read without building a JSON tree of
            // it; anything else (admin requests, wrong shapes, bad JSON) takes the general path.
            Next::Frame => match serde_json::from_slice::<GraphqlMessage<'_>>(&conn.buf) {
                Ok(GraphqlMessage { id, query: Some(query), variables, operation_name, admin: None }) => {
                    let request = GraphqlRequest {
                        query: query.into_owned(),
                        variables: variables.unwrap_or(Value::Null),
                        operation: operation_name.map(std::borrow::Cow::into_owned),
                    };
                    let id = id.map_or("null", |raw| raw.get());
                    graphql(shared, id, request, role).await
                }
                _ => match serde_json::from_slice::<Value>(&conn.buf) {
                    Err(e) => {
                        metrics.error(Transport::Tcp, ErrorKind::Protocol);
                        error(&none, "bad_json", format!("the frame is not JSON: {e}"))
                    }
                    Ok(msg) => request(shared, msg, role).await,
                },
            },
        };
        write_frame(&mut conn.stream, &answer).await?;
        if *conn.stopping.borrow() {
            // The request in hand is answered; the server is going away.
            return conn.stream.flush().await;
        }
    }
}

/// A GraphQL request as it arrives, borrowing from the frame where it can.
#[derive(serde::Deserialize)]
struct GraphqlMessage<'a> {
    #[serde(borrow, default)]
    id: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    query: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(borrow, default, rename = "operationName")]
    operation_name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    admin: Option<&'a serde_json::value::RawValue>,
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

/// Answers one message: a GraphQL request `{"id", "query", "variables", "operationName"}` or an
/// admin request `{"id", "admin", ...}`.
async fn request(shared: &Arc<Shared>, msg: Value, role: Role) -> Vec<u8> {
    let metrics = &shared.metrics;
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    if let Some(name) = msg.get("admin") {
        if role < Role::Admin {
            metrics.error(Transport::Tcp, ErrorKind::Forbidden);
            return error(&id, "forbidden", "admin requests need an admin token");
        }
        let started = Instant::now();
        let name = name.as_str().unwrap_or_default().to_string();
        let answer = crate::admin::run(&shared.db, name.clone(), msg).await;
        metrics.request(Transport::Tcp, RequestKind::Admin, started.elapsed());
        tracing::debug!(transport = "tcp", admin = %name, micros = started.elapsed().as_micros() as u64, "admin request");
        return match answer {
            Ok(crate::admin::Answer::Object(map)) => {
                let mut out = serde_json::Map::with_capacity(map.len() + 1);
                out.insert("id".into(), id);
                out.extend(map);
                Value::Object(out).to_string().into_bytes()
            }
            Ok(crate::admin::Answer::Export(doc)) => {
                let mut out = format!("{{\"id\":{id},\"export\":").into_bytes();
                out.extend_from_slice(&doc);
                out.push(b'}');
                out
            }
            Err((code, message)) => {
                metrics.error(Transport::Tcp, ErrorKind::Admin);
                error(&id, code, message)
            }
        };
    }
    let Some(query) = msg.get("query").and_then(Value::as_str).map(str::to_string) else {
        metrics.error(Transport::Tcp, ErrorKind::Protocol);
        return error(
            &id,
            "unknown_message",
            "expected a request {\"id\", \"query\", \"variables\", \"operationName\"} or an admin request {\"id\", \"admin\", ...}",
        );
    };
    let variables = msg.get("variables").cloned().unwrap_or(Value::Null);
    let operation = msg.get("operationName").and_then(Value::as_str).map(str::to_string);
    let request = GraphqlRequest { query, variables, operation };
    graphql(shared, &id.to_string(), request, role).await
}

/// Runs a GraphQL request; the answer with `id` (JSON text) first.
async fn graphql(shared: &Arc<Shared>, id: &str, request: GraphqlRequest, role: Role) -> Vec<u8> {
    match crate::request::execute(shared, Transport::Tcp, request, access_of(role)).await {
        Some(response) => {
            // `{"data"...}` becomes `{"id":..,"data"...}`.
            let body = response.json();
            let mut out = Vec::with_capacity(body.len() + id.len() + 8);
            out.extend_from_slice(b"{\"id\":");
            out.extend_from_slice(id.as_bytes());
            out.push(b',');
            out.extend_from_slice(&body.as_bytes()[1..]);
            out
        }
        None => {
            let id: Value = serde_json::from_str(id).unwrap_or(Value::Null);
            error(&id, "internal", "the request failed inside the server")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, DuplexStream};

    use super::*;
    use crate::ServerConfig;

    fn shared() -> (Arc<Shared>, tempfile::TempDir) {
        shared_with(ServerConfig::default(), PollSlots::default())
    }

    fn shared_with(config: ServerConfig, polling: PollSlots) -> (Arc<Shared>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = quiver_query::Database::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        db.set_schema("type Person { id: ID! }").unwrap_or_else(|e| panic!("{e}"));
        let mutations = crate::writer::MutationQueue::start(db.clone()).unwrap_or_else(|e| panic!("{e}"));
        (Arc::new(Shared { db, config, metrics: Default::default(), mutations, polling }), dir)
    }

    /// A request answered at once finds the connection polling; one sent after the spin finds
    /// it asleep; with no poll slot free, none polls. Each is counted.
    #[tokio::test]
    async fn polls_are_counted_by_how_they_end() {
        let query = br#"{"id": 1, "query": "{ queryPerson { id } }"}"#;
        let answer = r#"{"id":1,"data":{"queryPerson":[]}}"#;
        let spin = Duration::from_millis(200);
        for slots in [1, 0] {
            let (shared, _dir) =
                shared_with(ServerConfig { spin, ..Default::default() }, PollSlots::new(slots));
            let idle = Arc::new(IdleSet::default());
            let (_stop, stopping) = watch::channel(false);
            let mut c = connect(&shared, &idle, &stopping);
            hello(&mut c).await;
            let m = &shared.metrics;
            let before = [PollOutcome::Arrived, PollOutcome::Idle].map(|o| m.polls(o));
            frame(&mut c, query).await;
            assert_eq!(recv(&mut c).await.as_deref(), Some(answer));
            frame(&mut c, query).await;
            assert_eq!(recv(&mut c).await.as_deref(), Some(answer));
            tokio::time::sleep(spin * 2).await;
            frame(&mut c, query).await;
            assert_eq!(recv(&mut c).await.as_deref(), Some(answer));
            let [arrived, idled] = [PollOutcome::Arrived, PollOutcome::Idle].map(|o| m.polls(o));
            if slots == 1 {
                assert!(arrived - before[0] >= 1, "the request sent at once arrived while polling");
                assert!(idled - before[1] >= 1, "the request sent after the spin found it asleep");
                assert_eq!(m.polls(PollOutcome::NoSlot), 0);
            } else {
                assert_eq!((arrived, idled), (0, 0));
                assert!(m.polls(PollOutcome::NoSlot) >= 3, "no slot: every wait sleeps at once");
            }
        }
    }

    /// Serves one end of an in-memory pipe; the other end is the client.
    fn connect(shared: &Arc<Shared>, idle: &Arc<IdleSet>, stopping: &watch::Receiver<bool>) -> DuplexStream {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (shared, idle, stopping) = (Arc::clone(shared), Arc::clone(idle), stopping.clone());
        tokio::spawn(async move { serve(server, &shared, &idle, stopping).await });
        client
    }

    async fn frame(c: &mut DuplexStream, body: &[u8]) {
        c.write_all(&(body.len() as u32).to_be_bytes()).await.unwrap_or_else(|e| panic!("{e}"));
        c.write_all(body).await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// The next frame, or `None` when the server closed the connection.
    async fn recv(c: &mut DuplexStream) -> Option<String> {
        let mut len = [0u8; 4];
        c.read_exact(&mut len).await.ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        c.read_exact(&mut body).await.ok()?;
        String::from_utf8(body).ok()
    }

    async fn hello(c: &mut DuplexStream) {
        frame(c, br#"{"hello": "quiver/1"}"#).await;
        assert_eq!(recv(c).await.as_deref(), Some(r#"{"hello":"quiver/1","server":"quiver 0.1.0"}"#));
    }

    #[test]
    fn poll_slots_are_limited_and_given_back() {
        let slots = PollSlots::new(2);
        let (a, b) = (slots.take(), slots.take());
        assert!(a.is_some() && b.is_some());
        assert!(slots.take().is_none(), "both slots are taken");
        drop(a);
        let c = slots.take();
        assert!(c.is_some(), "a slot given back is taken again");
        assert!(slots.take().is_none());
        drop((b, c));
        assert_eq!(slots.taken.load(Ordering::Acquire), 0);
        assert!(PollSlots::default().limit >= 1);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_and_silent_clients_are_timed_out_while_others_are_served() {
        let (shared, _dir) = shared();
        let idle = Arc::new(IdleSet::default());
        let (_stop, stopping) = watch::channel(false);
        let started = tokio::time::Instant::now();

        // Silent: never says hello.
        let mut silent = connect(&shared, &idle, &stopping);
        // A byte a second: a hello that would take 21 s, then a request at that pace.
        let mut trickle = connect(&shared, &idle, &stopping);
        // Says hello, then nothing.
        let mut idler = connect(&shared, &idle, &stopping);
        hello(&mut idler).await;

        let trickler = tokio::spawn(async move {
            let body = br#"{"hello": "quiver/1"}"#;
            let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
            bytes.extend_from_slice(body);
            for b in bytes {
                if trickle.write_all(&[b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let took = started.elapsed();
            (recv(&mut trickle).await, took)
        });

        // Meanwhile a well-behaved client is answered at once, again and again.
        let mut good = connect(&shared, &idle, &stopping);
        hello(&mut good).await;
        for i in 0..40 {
            frame(&mut good, format!(r#"{{"id": {i}, "query": "{{ __typename }}"}}"#).as_bytes()).await;
            assert_eq!(
                recv(&mut good).await,
                Some(format!(r#"{{"id":{i},"data":{{"__typename":"Query"}}}}"#))
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }

        assert_eq!(
            recv(&mut silent).await.as_deref(),
            Some(
                r#"{"id":null,"error":{"code":"idle_timeout","message":"closed after 10 s without a hello"}}"#
            )
        );
        assert_eq!(recv(&mut silent).await, None);
        // The hello's first byte came at once; the rest did not come within 10 s.
        let (answer, _) = trickler.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            answer.as_deref(),
            Some(
                r#"{"id":null,"error":{"code":"timeout","message":"a hello took longer than 10 s to arrive"}}"#
            )
        );
        // Idle for 300 s after its hello.
        let before = tokio::time::Instant::now();
        assert_eq!(
            recv(&mut idler).await.as_deref(),
            Some(
                r#"{"id":null,"error":{"code":"idle_timeout","message":"closed after 300 s without a request"}}"#
            )
        );
        assert_eq!(before.duration_since(started) + before.elapsed(), Duration::from_secs(300));
        assert_eq!(shared.metrics.errors(Transport::Tcp, ErrorKind::Timeout), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_frame_must_arrive_within_the_frame_timeout() {
        let (shared, _dir) = shared();
        let idle = Arc::new(IdleSet::default());
        let (_stop, stopping) = watch::channel(false);
        let mut c = connect(&shared, &idle, &stopping);
        hello(&mut c).await;
        let started = tokio::time::Instant::now();
        c.write_all(b"\x00\x00\x00\x20{\"id\"").await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            recv(&mut c).await.as_deref(),
            Some(
                r#"{"id":null,"error":{"code":"timeout","message":"a request took longer than 30 s to arrive"}}"#
            )
        );
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert_eq!(recv(&mut c).await, None);
    }
}
