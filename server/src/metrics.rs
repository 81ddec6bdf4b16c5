//! Counters for `GET /metrics`, written as Prometheus text (exposition format 0.0.4).
//!
//! The label sets are small and fixed (two transports, a handful of kinds), so every series is
//! one atomic in an array: recording a request is a few relaxed increments, with no lock and
//! no map lookup on the hot path. The storage figures (commits, fsyncs, bytes) are read from
//! the engine when the page is rendered.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use quiver_query::Database;

/// Where a request came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// The native framed protocol.
    Tcp = 0,
    /// GraphQL over HTTP and the admin endpoints.
    Http = 1,
}

const TRANSPORTS: [&str; 2] = ["tcp", "http"];

impl Transport {
    /// Its name in metrics and logs.
    pub fn name(self) -> &'static str {
        TRANSPORTS[self as usize]
    }
}

/// What a request asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// A GraphQL request.
    Graphql = 0,
    /// An admin request (schema, import, export, check, compact, stats).
    Admin = 1,
}

const REQUEST_KINDS: [&str; 2] = ["graphql", "admin"];

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A syntax, validation or variable error: nothing ran.
    Request = 0,
    /// Execution reported errors beside its data (a field failed, a limit was hit).
    Field = 1,
    /// A malformed frame or HTTP request (bad JSON, wrong media type, too large...).
    Protocol = 2,
    /// A missing or unknown token.
    Unauthorized = 3,
    /// A token whose role may not do what was asked.
    Forbidden = 4,
    /// An admin request that failed (bad schema, bad import...).
    Admin = 5,
    /// A client that was too slow or idle too long and was disconnected.
    Timeout = 6,
}

const ERROR_KINDS: [&str; 7] =
    ["request", "field", "protocol", "unauthorized", "forbidden", "admin", "timeout"];

/// How a native connection's poll for its next request ended (`ServerConfig::spin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollOutcome {
    /// The next request (or the client's end) arrived while polling.
    Arrived = 0,
    /// Nothing came in time: the connection went to sleep.
    Idle = 1,
    /// Every poll slot was taken: the connection slept without polling.
    NoSlot = 2,
}

const POLL_OUTCOMES: [&str; 3] = ["arrived", "idle", "no_slot"];

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The server's counters.
///
/// ```
/// use quiver_server::metrics::{Metrics, RequestKind, Transport};
/// let m = Metrics::default();
/// m.request(Transport::Tcp, RequestKind::Graphql, std::time::Duration::from_micros(80));
/// assert!(m.render(None).contains("quiver_requests_total{transport=\"tcp\",kind=\"graphql\"} 1"));
/// ```
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [[AtomicU64; 2]; 2],
    errors: [[AtomicU64; ERROR_KINDS.len()]; 2],
    /// Per transport: one count per bucket (not cumulative; summed when rendered) plus +Inf.
    latency: [[AtomicU64; BUCKETS.len() + 1]; 2],
    latency_sum_us: [AtomicU64; 2],
    connections: [AtomicI64; 2],
    polls: [AtomicU64; POLL_OUTCOMES.len()],
}

impl Metrics {
    /// Records a request answered after `took`.
    pub fn request(&self, transport: Transport, kind: RequestKind, took: Duration) {
        let t = transport as usize;
        self.requests[t][kind as usize].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&b| secs <= b).unwrap_or(BUCKETS.len());
        self.latency[t][bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us[t].fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// Records an error.
    pub fn error(&self, transport: Transport, kind: ErrorKind) {
        self.errors[transport as usize][kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Records how a native connection's poll for its next request ended.
    pub fn poll(&self, outcome: PollOutcome) {
        self.polls[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Polls counted so far that ended so.
    pub fn polls(&self, outcome: PollOutcome) -> u64 {
        self.polls[outcome as usize].load(Ordering::Relaxed)
    }

    /// A connection opened; the guard counts it closed when dropped.
    pub fn connection(&self, transport: Transport) -> ConnectionGauge<'_> {
        self.connections[transport as usize].fetch_add(1, Ordering::Relaxed);
        ConnectionGauge { metrics: self, transport }
    }

    /// Connections open now over `transport`.
    pub fn open_connections(&self, transport: Transport) -> i64 {
        self.connections[transport as usize].load(Ordering::Relaxed)
    }

    /// Requests counted so far.
    pub fn requests(&self, transport: Transport, kind: RequestKind) -> u64 {
        self.requests[transport as usize][kind as usize].load(Ordering::Relaxed)
    }

    /// Errors counted so far.
    pub fn errors(&self, transport: Transport, kind: ErrorKind) -> u64 {
        self.errors[transport as usize][kind as usize].load(Ordering::Relaxed)
    }

    /// The Prometheus text page, with the storage figures of `db` when given.
    pub fn render(&self, db: Option<&Database>) -> String {
        let mut out = String::with_capacity(4096);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP quiver_requests_total Requests answered, by transport and kind.\n");
        out.push_str("# TYPE quiver_requests_total counter\n");
        for (t, tname) in TRANSPORTS.iter().enumerate() {
            for (k, kname) in REQUEST_KINDS.iter().enumerate() {
                let n = load(&self.requests[t][k]);
                let _ = writeln!(out, "quiver_requests_total{{transport=\"{tname}\",kind=\"{kname}\"}} {n}");
            }
        }
        out.push_str("# HELP quiver_errors_total Errors, by transport and kind.\n");
        out.push_str("# TYPE quiver_errors_total counter\n");
        for (t, tname) in TRANSPORTS.iter().enumerate() {
            for (k, kname) in ERROR_KINDS.iter().enumerate() {
                let n = load(&self.errors[t][k]);
                let _ = writeln!(out, "quiver_errors_total{{transport=\"{tname}\",kind=\"{kname}\"}} {n}");
            }
        }
        out.push_str(
            "# HELP quiver_request_duration_seconds Time from a request read to its answer written.\n",
        );
        out.push_str("# TYPE quiver_request_duration_seconds histogram\n");
        for (t, tname) in TRANSPORTS.iter().enumerate() {
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += load(&self.latency[t][i]);
                let _ = writeln!(
                    out,
                    "quiver_request_duration_seconds_bucket{{transport=\"{tname}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += load(&self.latency[t][BUCKETS.len()]);
            let _ = writeln!(
                out,
                "quiver_request_duration_seconds_bucket{{transport=\"{tname}\",le=\"+Inf\"}} {cumulative}"
            );
            let sum = load(&self.latency_sum_us[t]) as f64 / 1e6;
            let _ = writeln!(out, "quiver_request_duration_seconds_sum{{transport=\"{tname}\"}} {sum}");
            let _ =
                writeln!(out, "quiver_request_duration_seconds_count{{transport=\"{tname}\"}} {cumulative}");
        }
        out.push_str(
            "# HELP quiver_tcp_polls_total Native connections' polls for their next request after an answer, by how they ended.\n",
        );
        out.push_str("# TYPE quiver_tcp_polls_total counter\n");
        for (o, oname) in POLL_OUTCOMES.iter().enumerate() {
            let n = load(&self.polls[o]);
            let _ = writeln!(out, "quiver_tcp_polls_total{{outcome=\"{oname}\"}} {n}");
        }
        out.push_str("# HELP quiver_open_connections Connections open now.\n");
        out.push_str("# TYPE quiver_open_connections gauge\n");
        for (t, tname) in TRANSPORTS.iter().enumerate() {
            let n = self.connections[t].load(Ordering::Relaxed);
            let _ = writeln!(out, "quiver_open_connections{{transport=\"{tname}\"}} {n}");
        }
        if let Some(db) = db {
            let activity = db.store().activity();
            let stats = db.store().snapshot().stats();
            let gauges: [(&str, &str, &str, u64); 6] = [
                (
                    "quiver_commits_total",
                    "counter",
                    "Transactions committed since the server started.",
                    activity.commits,
                ),
                (
                    "quiver_fsyncs_total",
                    "counter",
                    "Fsyncs of the log (group commit shares them).",
                    activity.fsyncs,
                ),
                (
                    "quiver_segment_bytes",
                    "gauge",
                    "Bytes of the data directory's files.",
                    activity.disk_bytes,
                ),
                (
                    "quiver_index_adjacency_bytes",
                    "gauge",
                    "Bytes of the checkpointed adjacency arrays.",
                    stats.adjacency_bytes,
                ),
                (
                    "quiver_index_postings_bytes",
                    "gauge",
                    "Bytes of the secondary indexes' postings.",
                    stats.postings_bytes,
                ),
                (
                    "quiver_log_bytes_since_checkpoint",
                    "gauge",
                    "Log bytes a reopen would replay.",
                    stats.log_bytes_since_checkpoint,
                ),
            ];
            for (name, kind, help, value) in gauges {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
            }
        }
        out
    }
}

/// Counts a connection open while it lives.
#[derive(Debug)]
pub struct ConnectionGauge<'a> {
    metrics: &'a Metrics,
    transport: Transport,
}

impl Drop for ConnectionGauge<'_> {
    fn drop(&mut self) {
        self.metrics.connections[self.transport as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_match() {
        let m = Metrics::default();
        m.request(Transport::Http, RequestKind::Graphql, Duration::from_micros(50));
        m.request(Transport::Http, RequestKind::Admin, Duration::from_millis(3));
        m.request(Transport::Http, RequestKind::Graphql, Duration::from_secs(9));
        m.error(Transport::Http, ErrorKind::Forbidden);
        m.poll(PollOutcome::Arrived);
        m.poll(PollOutcome::Arrived);
        m.poll(PollOutcome::NoSlot);
        {
            let _open = m.connection(Transport::Tcp);
            assert_eq!(m.open_connections(Transport::Tcp), 1);
        }
        let page = m.render(None);
        for line in [
            "quiver_requests_total{transport=\"http\",kind=\"graphql\"} 2",
            "quiver_requests_total{transport=\"http\",kind=\"admin\"} 1",
            "quiver_errors_total{transport=\"http\",kind=\"forbidden\"} 1",
            "quiver_request_duration_seconds_bucket{transport=\"http\",le=\"0.0001\"} 1",
            "quiver_request_duration_seconds_bucket{transport=\"http\",le=\"0.005\"} 2",
            "quiver_request_duration_seconds_bucket{transport=\"http\",le=\"5\"} 2",
            "quiver_request_duration_seconds_bucket{transport=\"http\",le=\"+Inf\"} 3",
            "quiver_request_duration_seconds_count{transport=\"http\"} 3",
            "quiver_request_duration_seconds_sum{transport=\"http\"} 9.00305",
            "quiver_open_connections{transport=\"tcp\"} 0",
            "quiver_tcp_polls_total{outcome=\"arrived\"} 2",
            "quiver_tcp_polls_total{outcome=\"idle\"} 0",
            "quiver_tcp_polls_total{outcome=\"no_slot\"} 1",
        ] {
            assert!(page.lines().any(|l| l == line), "{line} missing from\n{page}");
        }
    }
}
