//! # quiver-server
//!
//! Quiver's server. It owns the network: the native framed TCP protocol (connection, frame,
//! request), and, next, GraphQL over HTTP, authentication, limits, metrics and shutdown. It
//! answers requests with a [`quiver_query::Database`] and must never know how queries run or
//! how data is stored.
//!
//! ```no_run
//! # async fn serve() -> std::io::Result<()> {
//! let db = quiver_query::Database::open("./quiver-data").unwrap();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9080").await?;
//! quiver_server::run_tcp(listener, db, Default::default(), std::future::pending()).await
//! # }
//! ```

mod admin;
pub mod auth;
pub mod connection;
pub mod frame;

use std::future::Future;
use std::sync::Arc;

use quiver_query::Database;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};

/// The protocol a client names in its hello.
pub const PROTOCOL: &str = "quiver/1";

/// How the server runs.
///
/// ```
/// let c = quiver_server::ServerConfig::default();
/// assert_eq!((c.max_frame, c.max_connections), (16 << 20, 1024));
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest frame accepted, in bytes. Default 16 MiB.
    pub max_frame: u32,
    /// Connections served at once; more wait to be accepted. Default 1,024.
    pub max_connections: usize,
    /// Tokens a connection must present, with their roles. Default none: every connection
    /// may do everything (then serve on loopback only).
    pub tokens: Option<Arc<auth::Tokens>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { max_frame: 16 << 20, max_connections: 1024, tokens: None }
    }
}

/// Accepts connections on `listener` until `shutdown` completes, serving each on its own task;
/// then stops accepting, lets every connection finish the request it is running, and returns
/// once all have closed.
pub async fn run_tcp(
    listener: TcpListener,
    db: Database,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    // Connections watch this to stop between requests; each holds a clone of `done` until it
    // ends, so `finished.recv()` returns once the last has.
    let (stop, stopping) = watch::channel(false);
    let (done, mut finished) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // A failed accept (out of descriptors, a reset before accept) concerns that
            // connection only: wait a little and go on.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (db, config, stopping, done) = (db.clone(), Arc::clone(&config), stopping.clone(), done.clone());
        tokio::spawn(async move {
            let _ = connection::serve(stream, db, config, stopping).await;
            drop(slot);
            drop(done);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(done);
    let _ = finished.recv().await;
    Ok(())
}
