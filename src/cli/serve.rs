//! `quiver serve`: open the database (loading the demo when asked), bind both listeners, serve
//! until SIGINT or SIGTERM, then checkpoint and close.

use std::path::PathBuf;

use anyhow::Context;

use super::open_db;

/// The command's arguments.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The data directory (created if missing).
    #[arg(long, default_value = "./quiver-data")]
    pub data: PathBuf,
    /// Where GraphQL over HTTP listens (`/graphql`, `/admin/...`, `/health`, `/metrics`).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: std::net::SocketAddr,
    /// Where the native protocol listens.
    #[arg(long, default_value = "127.0.0.1:9080")]
    pub tcp: std::net::SocketAddr,
    /// Largest request body or frame, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    pub max_request: u32,
    /// Connections served at once, per transport.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Longest a query may run, in milliseconds, before it stops and says so.
    #[arg(long, default_value_t = 30_000)]
    pub query_timeout_ms: u64,
    /// Most nodes one query may produce.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_nodes: usize,
    /// A file of tokens (`role:token` per line; roles read, write, admin). The
    /// QUIVER_TOKENS environment variable holds the same list when no file is given.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Listen on an address other machines can reach, without tokens.
    #[arg(long)]
    pub insecure: bool,
    /// On an empty data directory, load the customer-360 example plus generated customers
    /// first (a directory that holds data is served as it is).
    #[arg(long)]
    pub demo: bool,
}

/// Generated customers the demo adds to the customer-360 example.
const DEMO_CUSTOMERS: usize = 300;

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let Args {
        data,
        http,
        tcp,
        max_request,
        max_connections,
        query_timeout_ms,
        max_nodes,
        tokens,
        insecure,
        demo,
    } = args;
    init_logging();
    let tokens = match (tokens, std::env::var("QUIVER_TOKENS")) {
        (Some(file), _) => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            Some(
                quiver::server::auth::Tokens::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
            )
        }
        (None, Ok(text)) => Some(
            quiver::server::auth::Tokens::parse(&text).map_err(|e| anyhow::anyhow!("QUIVER_TOKENS: {e}"))?,
        ),
        (None, Err(_)) => None,
    };
    for addr in [http, tcp] {
        if tokens.is_none() && !addr.ip().is_loopback() && !insecure {
            anyhow::bail!(
                "refusing to listen on {addr} without tokens: other machines could reach it (pass --insecure to allow)"
            );
        }
    }
    let limits = quiver::query::QueryLimits {
        max_nodes,
        max_time: Some(std::time::Duration::from_millis(query_timeout_ms)),
        ..Default::default()
    };
    let db = open_db(&data, true)?.with_limits(limits);
    let demo_loaded = demo && {
        let empty = db.schema().trim().is_empty() && db.store().snapshot().node_count() == 0;
        if empty {
            quiver::demo::load(&db, DEMO_CUSTOMERS).context("loading the demo")?;
        } else {
            tracing::warn!("--demo: {} holds data already: serving it as it is", data.display());
        }
        empty
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async {
        let bind = |addr| async move {
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))
        };
        let (http, tcp) = (bind(http).await?, bind(tcp).await?);
        let (http_at, tcp_at) = (http.local_addr()?, tcp.local_addr()?);
        let nodes = db.store().snapshot().node_count();
        // Whoever reads stdout may have gone: the server serves on regardless.
        use std::io::Write as _;
        let mut stdout = std::io::stdout();
        let _ = writeln!(
            stdout,
            "quiver: serving {} ({nodes} nodes) on http {http_at} and tcp {tcp_at}",
            data.display()
        );
        if demo_loaded {
            let _ = writeln!(
                stdout,
                "quiver: demo loaded: the customer-360 example and {DEMO_CUSTOMERS} generated customers.\n\
                 quiver: open http://{http_at}/ to explore it, or try:\n  \
                 curl -s http://{http_at}/graphql -H 'Content-Type: application/json' \\\n    \
                 -d '{{\"query\": \"{{ queryCustomer(first: 3) {{ name orders {{ amount products {{ name }} }} }} }}\"}}'"
            );
        }
        let _ = stdout.flush();
        tracing::info!(
            data = %data.display(), nodes, http = %http_at, tcp = %tcp_at,
            tokens = tokens.is_some(), "serving"
        );
        let config = quiver::server::ServerConfig {
            tokens: tokens.map(std::sync::Arc::new),
            max_frame: max_request,
            max_connections,
            ..Default::default()
        };
        let listeners = quiver::server::Listeners { tcp: Some(tcp), http: Some(http) };
        quiver::server::run(listeners, db.clone(), config, stop_signal()).await.context("serving")
    })?;
    tracing::info!("stopped accepting; in-flight requests answered; checkpointing");
    db.close().context("checkpointing and closing")?;
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "quiver: stopped");
    Ok(())
}

/// Logs to stderr at the level QUIVER_LOG (or RUST_LOG) names; `info` by default.
fn init_logging() {
    let filter = std::env::var("QUIVER_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Completes on SIGINT or SIGTERM.
async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
