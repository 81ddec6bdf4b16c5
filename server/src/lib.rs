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

pub mod connection;
pub mod frame;

use std::future::Future;
use std::sync::Arc;

use quiver_query::Database;
use tokio::net::TcpListener;

/// The protocol a client names in its hello.
pub const PROTOCOL: &str = "quiver/1";

/// How the server runs.
///
/// ```
/// assert_eq!(quiver_server::ServerConfig::default().max_frame, 16 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest frame accepted, in bytes. Default 16 MiB.
    pub max_frame: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { max_frame: 16 << 20 }
    }
}

/// Accepts connections on `listener` until `shutdown` completes, serving each on its own task.
pub async fn run_tcp(
    listener: TcpListener,
    db: Database,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    // A failed accept (out of descriptors, a reset before accept) concerns
                    // that connection only: wait a little and go on.
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (db, config) = (db.clone(), Arc::clone(&config));
                tokio::spawn(async move {
                    let _ = connection::serve(stream, db, config).await;
                });
            }
        }
    }
}
