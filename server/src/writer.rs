//! Mutations from every connection go through one writer thread, so that they share fsyncs
//! without a crowd of threads contending for the database's single writer.
//!
//! The writer runs each mutation in its own transaction with [`Database::execute_deferred`]:
//! written, answered, but not yet durable. It hands the answer to the syncer thread and goes
//! on to the next mutation at once; the syncer waits until every commit handed over so far is
//! on disk (one fsync for all of them) and only then sends their answers. While it waits the
//! writer keeps committing, and those commits share the next fsync: group commit without the
//! context switches of one blocked thread per mutation. A failed fsync fails every commit it
//! should have covered; their clients are told, and the engine refuses further writes.

use std::sync::mpsc;

use quiver_query::{Access, Database, Pending, Response};
use tokio::sync::oneshot;

use crate::request::GraphqlRequest;

struct Job {
    request: GraphqlRequest,
    access: Access,
    answer: oneshot::Sender<(Response, GraphqlRequest)>,
}

struct Written {
    pending: Pending,
    request: GraphqlRequest,
    answer: oneshot::Sender<(Response, GraphqlRequest)>,
}

/// The queue into the writer thread. The threads end when it is dropped.
pub(crate) struct MutationQueue {
    jobs: mpsc::Sender<Job>,
}

impl MutationQueue {
    /// Starts the writer and syncer threads for `db`.
    pub fn start(db: Database) -> std::io::Result<MutationQueue> {
        let (jobs, incoming) = mpsc::channel::<Job>();
        let (written, to_sync) = mpsc::channel::<Written>();
        let writer_db = db.clone();
        std::thread::Builder::new().name("quiver-writer".into()).spawn(move || {
            for job in incoming {
                let r = &job.request;
                let pending =
                    writer_db.execute_deferred(&r.query, &r.variables, r.operation.as_deref(), job.access);
                let item = Written { pending, request: job.request, answer: job.answer };
                if written.send(item).is_err() {
                    break;
                }
            }
        })?;
        std::thread::Builder::new().name("quiver-syncer".into()).spawn(move || {
            let mut batch = Vec::new();
            while let Ok(first) = to_sync.recv() {
                batch.push(first);
                batch.extend(to_sync.try_iter());
                // Sequence numbers grow with each commit: the last one's durability covers all.
                let last = batch.iter().filter_map(|w| w.pending.seq()).max();
                let synced = match last {
                    Some(seq) => db.store().await_durable(seq),
                    None => Ok(()),
                };
                for w in batch.drain(..) {
                    let response = match (&synced, w.pending.seq()) {
                        (Err(e), Some(_)) => w.pending.into_failure(e),
                        _ => w.pending.into_response(),
                    };
                    // The client may have gone; nothing to tell then.
                    let _ = w.answer.send((response, w.request));
                }
            }
        })?;
        Ok(MutationQueue { jobs })
    }

    /// Runs a mutation on the writer thread; its answer once it is durable. `None` if the
    /// writer has stopped (only when the server is going away).
    pub async fn run(&self, request: GraphqlRequest, access: Access) -> Option<(Response, GraphqlRequest)> {
        let (answer, answered) = oneshot::channel();
        self.jobs.send(Job { request, access, answer }).ok()?;
        answered.await.ok()
    }
}
