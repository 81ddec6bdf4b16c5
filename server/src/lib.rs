//! # quiver-server
//!
//! Quiver's server. It owns the network: the native framed TCP protocol (connection, frame,
//! request), GraphQL over HTTP with the admin endpoints, tokens and roles, limits on clients,
//! metrics and graceful shutdown. It answers requests with a [`quiver_query::Database`] and
//! must never know how queries run or how data is stored.
//!
//! ```no_run
//! # async fn serve() -> std::io::Result<()> {
//! let db = quiver_query::Database::open("./quiver-data").unwrap();
//! let listeners = quiver_server::Listeners {
//!     tcp: Some(tokio::net::TcpListener::bind("127.0.0.1:9080").await?),
//!     http: Some(tokio::net::TcpListener::bind("127.0.0.1:8080").await?),
//! };
//! quiver_server::run(listeners, db, Default::default(), std::future::pending()).await
//! # }
//! ```

mod accept;
mod admin;
pub mod auth;
mod connection;
pub mod frame;
mod http;
mod http_admin;
pub mod metrics;
mod request;
mod writer;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use quiver_query::Database;
use tokio::net::TcpListener;

/// The protocol a client names in its hello.
pub const PROTOCOL: &str = "quiver/1";

/// How the server runs. Query limits (depth, nodes, time) are the [`Database`]'s
/// ([`quiver_query::QueryLimits`]); these are the network's.
///
/// ```
/// let c = quiver_server::ServerConfig::default();
/// assert_eq!((c.max_frame, c.max_connections), (16 << 20, 1024));
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest frame (TCP) or request body (HTTP) accepted, in bytes. Default 16 MiB. An
    /// import larger than this is sent in several requests.
    pub max_frame: u32,
    /// Connections served at once, per transport. When the native protocol is at its limit, a
    /// new connection closes the one idle the longest; otherwise it waits to be accepted.
    /// Default 1,024.
    pub max_connections: usize,
    /// How long a native connection may wait before its hello, and an HTTP connection before a
    /// request's headers are complete. Default 10 s.
    pub handshake_timeout: Duration,
    /// How long a frame may take to arrive once its first byte has. Default 30 s: a client
    /// sending a byte a second holds its own connection only.
    pub frame_timeout: Duration,
    /// How long a native connection may sit between requests before it is closed. Default 5 min.
    pub idle_timeout: Duration,
    /// How long a native connection keeps polling for its client's next request after
    /// answering, before its task sleeps. A client that sends requests one at a time then
    /// finds the server awake instead of waiting for a sleeping thread to be woken (tens of
    /// microseconds on a virtual machine: more than a small query takes). It costs up to this
    /// much of a worker thread's time per answer, given first to any other task that is
    /// ready. At most half the machine's threads' worth of connections poll at once; the
    /// others wait asleep as before. Default 50 us; zero turns it off.
    pub spin: Duration,
    /// Tokens a connection must present, with their roles. Default none: every connection
    /// may do everything (then serve on loopback only).
    pub tokens: Option<Arc<auth::Tokens>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_frame: 16 << 20,
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
            frame_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            spin: Duration::from_micros(50),
            tokens: None,
        }
    }
}

/// The sockets to serve on: the native protocol, GraphQL over HTTP, or both.
#[derive(Debug, Default)]
pub struct Listeners {
    /// The native framed protocol (docs/PROTOCOL.md).
    pub tcp: Option<TcpListener>,
    /// GraphQL over HTTP and the admin endpoints.
    pub http: Option<TcpListener>,
}

/// What every connection shares.
pub(crate) struct Shared {
    pub db: Database,
    pub config: ServerConfig,
    pub metrics: metrics::Metrics,
    pub mutations: writer::MutationQueue,
    /// Connections polling for their next request (`ServerConfig::spin`).
    pub polling: connection::PollSlots,
}

/// Serves `listeners` until `shutdown` completes; then stops accepting, lets every connection
/// finish the request it is running, and returns once all have closed. The caller checkpoints
/// and closes the database afterwards.
pub async fn run(
    listeners: Listeners,
    db: Database,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mutations = writer::MutationQueue::start(db.clone())?;
    let shared = Arc::new(Shared {
        db,
        config,
        metrics: metrics::Metrics::default(),
        mutations,
        polling: Default::default(),
    });
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(listener) = listeners.tcp {
        tasks.spawn(accept::serve_tcp(listener, Arc::clone(&shared), stopping.clone()));
    }
    if let Some(listener) = listeners.http {
        tasks.spawn(accept::serve_http(listener, Arc::clone(&shared), stopping.clone()));
    }
    shutdown.await;
    let _ = stop.send(true);
    let mut result = Ok(());
    while let Some(done) = tasks.join_next().await {
        if let Ok(Err(e)) = done {
            result = Err(e);
        }
    }
    result
}

/// [`run`] with the native protocol only.
pub async fn run_tcp(
    listener: TcpListener,
    db: Database,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    run(Listeners { tcp: Some(listener), http: None }, db, config, shutdown).await
}
