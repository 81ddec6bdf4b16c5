//! Accepting connections: one loop per listener, a semaphore capping the connections served at
//! once, and a stop signal watched by every connection. When the native protocol is at its cap,
//! a new connection closes the connection idle the longest ([`IdleSet`]), so idle clients,
//! however many, cannot keep a working one out.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::Shared;

/// Connections waiting for their next request, oldest first; each can be told to close.
#[derive(Default)]
pub(crate) struct IdleSet {
    waiting: Mutex<BTreeMap<u64, Arc<Notify>>>,
    next: AtomicU64,
}

/// A connection's place in the [`IdleSet`] while it waits; leaves the set when dropped.
pub(crate) struct Idle<'a> {
    set: &'a IdleSet,
    key: u64,
    evict: &'a Arc<Notify>,
}

impl IdleSet {
    /// Marks a connection idle until the returned guard is dropped; `evict` (the
    /// connection's own, kept across waits) is notified if the server needs its slot.
    pub fn enter<'a>(&'a self, evict: &'a Arc<Notify>) -> Idle<'a> {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(key, Arc::clone(evict));
        Idle { set: self, key, evict }
    }

    /// Tells the connection idle the longest to close; false when none is idle.
    fn evict_oldest(&self) -> bool {
        match self.lock().pop_first() {
            Some((_, evict)) => {
                // `notify_one` keeps a permit, so the eviction is seen even if the connection
                // is not polling yet.
                evict.notify_one();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Notify>>> {
        // The map is whole after every operation on it, so a poisoned lock still guards it.
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Idle<'_> {
    /// Completes when the server needs this connection's slot.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Idle<'_> {
    fn drop(&mut self) {
        self.set.lock().remove(&self.key);
    }
}

/// Completes when the server is stopping (the guard `wait_for` returns is dropped here, so
/// callers' futures stay `Send`).
pub(crate) async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

/// Accepts until `stopping`; each accepted socket is served by `serve` on its own task while
/// holding a slot. Returns once every connection has ended.
async fn accept_loop<F, Fut>(
    listener: TcpListener,
    max: usize,
    idle: Option<Arc<IdleSet>>,
    mut stopping: watch::Receiver<bool>,
    serve: F,
) -> std::io::Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(max));
    // Each connection task holds a clone of `done` until it ends: `finished.recv()` returns
    // once the last has.
    let (done, mut finished) = mpsc::channel::<()>(1);
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut stopping) => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // A failed accept (out of descriptors, a reset before accept) concerns that
            // connection only: wait a little and go on.
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot: OwnedSemaphorePermit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if let Some(idle) = &idle {
                    idle.evict_oldest();
                }
                tokio::select! {
                    _ = stopped(&mut stopping) => break,
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let task = serve(stream);
        let done = done.clone();
        tokio::spawn(async move {
            task.await;
            drop(slot);
            drop(done);
        });
    }
    drop(listener);
    drop(done);
    let _ = finished.recv().await;
    Ok(())
}

/// The native protocol on `listener`.
pub(crate) async fn serve_tcp(
    listener: TcpListener,
    shared: Arc<Shared>,
    stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let idle = Arc::new(IdleSet::default());
    let max = shared.config.max_connections;
    accept_loop(listener, max, Some(Arc::clone(&idle)), stopping.clone(), move |stream| {
        let (shared, idle, stopping) = (Arc::clone(&shared), Arc::clone(&idle), stopping.clone());
        async move {
            let peer = stream.peer_addr().ok();
            if let Err(e) = crate::connection::serve(stream, &shared, &idle, stopping).await {
                tracing::debug!(?peer, "tcp connection ended: {e}");
            }
        }
    })
    .await
}

/// GraphQL over HTTP on `listener`.
pub(crate) async fn serve_http(
    listener: TcpListener,
    shared: Arc<Shared>,
    stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let router = crate::http::router(Arc::clone(&shared));
    let max = shared.config.max_connections;
    accept_loop(listener, max, None, stopping.clone(), move |stream| {
        let (router, shared, stopping) = (router.clone(), Arc::clone(&shared), stopping.clone());
        crate::http::serve_connection(stream, router, shared, stopping)
    })
    .await
}
