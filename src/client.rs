//! A client of the native TCP protocol (docs/PROTOCOL.md): [`Client`] on tokio, and
//! [`blocking::Client`] for code without a runtime.

use serde_json::{Value, json};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpStream, ToSocketAddrs};

/// What a client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection failed or broke.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered with a protocol error (`unauthorized`, `forbidden`, `too_large`...).
    #[error("the server refused the request ({code}): {message}")]
    Server {
        /// The error code (docs/PROTOCOL.md lists them).
        code: String,
        /// What the server said.
        message: String,
    },
    /// The server sent something that is not the protocol.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

/// The answer to a GraphQL request: the response object, exactly as the server wrote it
/// (`{"data": ..., "errors": [...]}`, without the request id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    json: String,
}

impl Reply {
    /// The response object as JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The response object parsed.
    pub fn value(&self) -> Value {
        // The server writes valid JSON; were it not, the caller sees Null rather than a panic.
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    /// Whether the response carries errors.
    pub fn has_errors(&self) -> bool {
        self.value().get("errors").is_some()
    }
}

/// A connection to a Quiver server's native protocol. Requests on one client run in order;
/// [`Client::pipeline`] sends several before reading their answers. Open one client per task
/// for concurrency.
///
/// ```no_run
/// # async fn demo() -> Result<(), quiver::ClientError> {
/// let mut client = quiver::Client::connect("127.0.0.1:9080", None).await?;
/// let reply = client.query("{ queryCustomer { name } }", &serde_json::Value::Null).await?;
/// println!("{}", reply.json());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Client {
    stream: BufReader<BufWriter<TcpStream>>,
    next_id: u64,
    /// The last answer read, and the request being written: reused.
    buf: Vec<u8>,
    out: Vec<u8>,
    /// How long to poll for an answer before sleeping ([`Client::set_spin`]).
    spin: Duration,
}

/// The default of [`Client::set_spin`].
const SPIN: Duration = Duration::from_micros(50);

impl Client {
    /// Connects and says hello, with `token` when the server needs one.
    pub async fn connect(addr: impl ToSocketAddrs, token: Option<&str>) -> Result<Client, ClientError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut client = Client {
            stream: BufReader::new(BufWriter::new(stream)),
            next_id: 1,
            buf: Vec::new(),
            out: Vec::new(),
            spin: SPIN,
        };
        let hello = json!({ "hello": "quiver/1", "token": token }).to_string();
        client.send(hello.as_bytes()).await?;
        client.stream.flush().await?;
        let welcome = client.receive().await?;
        let welcome: Value =
            serde_json::from_str(welcome).map_err(|e| ClientError::Protocol(format!("the welcome: {e}")))?;
        if let Some(err) = welcome.get("error") {
            return Err(server_error(err));
        }
        if welcome.get("hello").and_then(Value::as_str) != Some("quiver/1") {
            return Err(ClientError::Protocol(format!("not a quiver/1 welcome: {welcome}")));
        }
        Ok(client)
    }

    /// How long to keep polling for an answer before the task sleeps; default 50 us, zero
    /// turns it off. A small query's answer comes back within tens of microseconds, about as
    /// long as waking a sleeping thread takes on a virtual machine; polling first saves that
    /// wake-up at the cost of this much of the calling thread's time per request (yielded to
    /// any other task that is ready).
    pub fn set_spin(&mut self, spin: Duration) {
        self.spin = spin;
    }

    /// Runs a GraphQL request.
    pub async fn query(&mut self, query: &str, variables: &Value) -> Result<Reply, ClientError> {
        self.request(query, variables, None).await
    }

    /// Runs a GraphQL request naming the operation to run.
    pub async fn request(
        &mut self,
        query: &str,
        variables: &Value,
        operation: Option<&str>,
    ) -> Result<Reply, ClientError> {
        let mut replies = self.pipeline(&[(query, variables, operation)]).await?;
        replies
            .pop()
            .unwrap_or_else(|| Err(ClientError::Protocol("the server sent no answer to the request".into())))
    }

    /// Sends every request, then reads their answers, in order.
    pub async fn pipeline(
        &mut self,
        requests: &[(&str, &Value, Option<&str>)],
    ) -> Result<Vec<Result<Reply, ClientError>>, ClientError> {
        let first = self.next_id;
        let mut body = std::mem::take(&mut self.out);
        for (query, variables, operation) in requests {
            let id = self.next_id;
            self.next_id += 1;
            // Written straight from the arguments: no JSON tree is built for a request.
            body.clear();
            body.extend_from_slice(b"{\"id\":");
            body.extend_from_slice(id.to_string().as_bytes());
            body.extend_from_slice(b",\"query\":");
            serde_json::to_writer(&mut body, query).map_err(|e| ClientError::Protocol(e.to_string()))?;
            if !variables.is_null() {
                body.extend_from_slice(b",\"variables\":");
                serde_json::to_writer(&mut body, variables)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
            }
            if let Some(op) = operation {
                body.extend_from_slice(b",\"operationName\":");
                serde_json::to_writer(&mut body, op).map_err(|e| ClientError::Protocol(e.to_string()))?;
            }
            body.push(b'}');
            let sent = self.send(&body).await;
            if let Err(e) = sent {
                self.out = body;
                return Err(e);
            }
        }
        self.out = body;
        self.stream.flush().await?;
        let mut replies = Vec::with_capacity(requests.len());
        for id in first..self.next_id {
            let frame = self.receive().await?;
            replies.push(reply(frame, id));
        }
        Ok(replies)
    }

    /// Runs an admin request (`schema.get`, `schema.set`, `import`, `export`, `check`,
    /// `compact`, `stats`) with its fields in `args` (an object); the answer's fields.
    pub async fn admin(&mut self, name: &str, args: Value) -> Result<Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "admin": name });
        if let (Some(msg), Value::Object(args)) = (msg.as_object_mut(), args) {
            msg.extend(args);
        }
        self.send(msg.to_string().as_bytes()).await?;
        self.stream.flush().await?;
        let frame = self.receive().await?;
        let mut answer: Value = serde_json::from_str(frame)
            .map_err(|e| ClientError::Protocol(format!("an admin answer: {e}")))?;
        if let Some(err) = answer.get("error") {
            return Err(server_error(err));
        }
        if let Some(map) = answer.as_object_mut() {
            map.remove("id");
        }
        Ok(answer)
    }

    async fn send(&mut self, body: &[u8]) -> Result<(), ClientError> {
        let len =
            u32::try_from(body.len()).map_err(|_| ClientError::Protocol("request over 4 GiB".into()))?;
        self.stream.write_all(&len.to_be_bytes()).await?;
        self.stream.write_all(body).await?;
        Ok(())
    }

    async fn receive(&mut self) -> Result<&str, ClientError> {
        // Poll for up to `spin` before `read_exact` sleeps. (The server's frame module has the
        // same loop; this crate's client does not depend on the server.)
        let until = Instant::now() + self.spin;
        while self.stream.buffer().is_empty() && Instant::now() < until {
            tokio::select! {
                biased;
                got = self.stream.fill_buf() => {
                    got?;
                    break;
                }
                () = tokio::task::yield_now() => {}
            }
        }
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).await?;
        self.buf.resize(u32::from_be_bytes(len) as usize, 0);
        self.stream.read_exact(&mut self.buf).await?;
        std::str::from_utf8(&self.buf)
            .map_err(|_| ClientError::Protocol("an answer that is not UTF-8".into()))
    }
}

fn server_error(err: &Value) -> ClientError {
    let field = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    ClientError::Server { code: field("code"), message: field("message") }
}

/// Turns `{"id":N,...}` into the reply without the id, or the error it carries.
fn reply(frame: &str, id: u64) -> Result<Reply, ClientError> {
    let rest = frame
        .strip_prefix("{\"id\":")
        .and_then(|r| r.strip_prefix(id.to_string().as_str()))
        .and_then(|r| r.strip_prefix(','));
    match rest {
        Some(rest) if !rest.starts_with("\"error\"") => {
            let mut json = String::with_capacity(rest.len() + 1);
            json.push('{');
            json.push_str(rest);
            Ok(Reply { json })
        }
        _ => {
            let v: Value = serde_json::from_str(frame)
                .map_err(|e| ClientError::Protocol(format!("an answer that is not JSON: {e}")))?;
            match v.get("error") {
                Some(err) => Err(server_error(err)),
                None => Err(ClientError::Protocol(format!("an answer for another request: {frame}"))),
            }
        }
    }
}

/// The same client for code without a tokio runtime: each call blocks.
pub mod blocking {
    use serde_json::Value;

    use super::{ClientError, Reply};

    /// A blocking [`super::Client`], with a single-threaded runtime of its own.
    ///
    /// ```no_run
    /// let mut client = quiver::blocking::Client::connect("127.0.0.1:9080", None)?;
    /// let reply = client.query("{ queryCustomer { name } }", &serde_json::Value::Null)?;
    /// println!("{}", reply.json());
    /// # Ok::<(), quiver::ClientError>(())
    /// ```
    #[derive(Debug)]
    pub struct Client {
        runtime: tokio::runtime::Runtime,
        inner: super::Client,
    }

    impl Client {
        /// Connects and says hello, with `token` when the server needs one.
        pub fn connect(
            addr: impl std::net::ToSocketAddrs,
            token: Option<&str>,
        ) -> Result<Client, ClientError> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let addrs: Vec<std::net::SocketAddr> = addr.to_socket_addrs()?.collect();
            let inner = runtime.block_on(super::Client::connect(&addrs[..], token))?;
            Ok(Client { runtime, inner })
        }

        /// How long to poll for an answer before sleeping: see [`super::Client::set_spin`].
        pub fn set_spin(&mut self, spin: std::time::Duration) {
            self.inner.set_spin(spin);
        }

        /// Runs a GraphQL request.
        pub fn query(&mut self, query: &str, variables: &Value) -> Result<Reply, ClientError> {
            self.runtime.block_on(self.inner.query(query, variables))
        }

        /// Runs a GraphQL request naming the operation to run.
        pub fn request(
            &mut self,
            query: &str,
            variables: &Value,
            operation: Option<&str>,
        ) -> Result<Reply, ClientError> {
            self.runtime.block_on(self.inner.request(query, variables, operation))
        }

        /// Sends every request, then reads their answers, in order.
        pub fn pipeline(
            &mut self,
            requests: &[(&str, &Value, Option<&str>)],
        ) -> Result<Vec<Result<Reply, ClientError>>, ClientError> {
            self.runtime.block_on(self.inner.pipeline(requests))
        }

        /// Runs an admin request; the answer's fields.
        pub fn admin(&mut self, name: &str, args: Value) -> Result<Value, ClientError> {
            self.runtime.block_on(self.inner.admin(name, args))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_lose_their_id_and_errors_become_errors() {
        assert_eq!(
            reply(r#"{"id":3,"data":{"a":1}}"#, 3).ok(),
            Some(Reply { json: r#"{"data":{"a":1}}"#.into() })
        );
        match reply(r#"{"id":3,"error":{"code":"forbidden","message":"no"}}"#, 3) {
            Err(ClientError::Server { code, message }) => {
                assert_eq!((code.as_str(), message.as_str()), ("forbidden", "no"))
            }
            other => panic!("{other:?}"),
        }
        match reply(r#"{"id":null,"error":{"code":"bad_json","message":"x"}}"#, 3) {
            Err(ClientError::Server { code, .. }) => assert_eq!(code, "bad_json"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(reply(r#"{"id":4,"data":null}"#, 3), Err(ClientError::Protocol(_))));
    }
}
