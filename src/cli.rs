//! Command-line parsing and dispatch. Each command is a thin call into the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use quiver::engine::{Error as EngineError, Options, Store};
use quiver::query::Error as QueryError;

mod serve;
mod shell;

/// Exit code for a query or user error.
const EXIT_USER: u8 = 1;
/// Exit code for corrupt data.
const EXIT_CORRUPT: u8 = 3;

#[derive(Parser)]
#[command(name = "quiver", version, about = "Quiver: a typed graph database, embedded or served")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where a request goes: a data directory, or a server with --addr.
#[derive(clap::Args)]
pub(crate) struct Target {
    /// The data directory (when not going through a server).
    #[arg(long, default_value = "./quiver-data")]
    pub data: PathBuf,
    /// A server's native protocol address (HOST:PORT): send the requests there.
    #[arg(long)]
    pub addr: Option<String>,
    /// The token for --addr (default: the QUIVER_TOKEN environment variable).
    #[arg(long)]
    pub token: Option<String>,
}

impl Target {
    /// A client of the server at --addr, if one is given.
    pub(crate) fn client(&self) -> anyhow::Result<Option<quiver::blocking::Client>> {
        let Some(addr) = &self.addr else { return Ok(None) };
        let token = self.token.clone().or_else(|| std::env::var("QUIVER_TOKEN").ok());
        let client = quiver::blocking::Client::connect(addr.as_str(), token.as_deref())
            .with_context(|| format!("connecting to {addr}"))?;
        Ok(Some(client))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Set or show the schema (GraphQL SDL).
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Import JSON (`{"Type": [...]}`), NDJSON (`.ndjson`/`.jsonl`, one node per line with
    /// "__typename") or CSV files, one transaction per batch. A CSV file holds nodes (header:
    /// field names) when named `Type.csv` or given with --nodes, and edges (header: how each
    /// end is found, the ID field or an @id field) when named `Type.field.csv` or given with
    /// --edges. Files are imported in order: --nodes, then the others, then --edges.
    ///
    /// Example: quiver import --data ./quiver-data data.json more.ndjson Person.csv Person.knows.csv
    ///
    /// Example: quiver import --data ./quiver-data --nodes Person=nodes.csv --edges Person.knows=edges.csv
    ///
    /// Files are read in place (memory-mapped): do not write to them while they are imported.
    Import {
        /// The data directory.
        #[arg(long, default_value = "./quiver-data")]
        data: PathBuf,
        /// Files to import, in order.
        #[arg(required_unless_present_any = ["nodes", "edges"])]
        files: Vec<PathBuf>,
        /// A CSV file of nodes of a type: TYPE=FILE.
        #[arg(long, value_name = "TYPE=FILE")]
        nodes: Vec<String>,
        /// A CSV file of edges of a field: TYPE.FIELD=FILE.
        #[arg(long, value_name = "TYPE.FIELD=FILE")]
        edges: Vec<String>,
        /// Records (JSON, NDJSON) or rows (CSV) per transaction: a bad record fails its batch
        /// only [default: 50,000 records; 4,000,000 rows].
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        batch_records: Option<u64>,
    },
    /// Write every node as JSON that `quiver import` takes back (uids included), to stdout or
    /// a file.
    ///
    /// Example: quiver export --data ./quiver-data --output backup.json
    Export {
        /// The data directory.
        #[arg(long, default_value = "./quiver-data")]
        data: PathBuf,
        /// Where to write (default: stdout).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Run a GraphQL query (or mutation) and print the response object: directly on a data
    /// directory, or through a server's native protocol with --addr.
    ///
    /// Example: quiver query --data ./quiver-data '{ queryCustomer { name } }'
    ///
    /// Example: quiver query --addr 127.0.0.1:9080 '{ queryCustomer { name } }'
    Query {
        #[command(flatten)]
        target: Target,
        /// The GraphQL document.
        query: String,
        /// Variables, as a JSON object.
        #[arg(long)]
        vars: Option<String>,
        /// Which operation to run when the document has several.
        #[arg(long)]
        operation: Option<String>,
    },
    /// Serve the database over GraphQL over HTTP and the native TCP protocol
    /// (docs/PROTOCOL.md) until SIGINT or SIGTERM; then finish the requests in flight,
    /// checkpoint and exit 0. Logs go to stderr (QUIVER_LOG=debug logs every request).
    ///
    /// Example: quiver serve --data ./quiver-data --http 127.0.0.1:8080 --tcp 127.0.0.1:9080
    Serve(serve::Args),
    /// An interactive prompt for GraphQL on a data directory, or through a server with
    /// --addr: multi-line requests, history, coloured JSON; :help lists its commands. Reads
    /// stdin plainly when it is not a terminal.
    ///
    /// Example: quiver shell --data ./quiver-data
    ///
    /// Example: quiver shell --addr 127.0.0.1:9080
    Shell {
        #[command(flatten)]
        target: Target,
        /// The history file (default: ~/.quiver_history).
        #[arg(long)]
        history: Option<PathBuf>,
    },
    /// Verify every record's checksum and the index against the log.
    ///
    /// Example: quiver check --data ./quiver-data
    Check {
        /// The data directory.
        #[arg(long, default_value = "./quiver-data")]
        data: PathBuf,
    },
    /// Rewrite the live data into fresh segments and drop the old ones.
    ///
    /// Example: quiver compact --data ./quiver-data
    Compact {
        /// The data directory.
        #[arg(long, default_value = "./quiver-data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum SchemaAction {
    /// Set the schema from an SDL file (refuses changes that would drop data unless --force).
    ///
    /// Example: quiver schema set --data ./quiver-data schema.graphql
    Set {
        /// The data directory (created if missing).
        #[arg(long, default_value = "./quiver-data")]
        data: PathBuf,
        /// The SDL file.
        file: PathBuf,
        /// Drop the data of removed or retyped fields and types.
        #[arg(long)]
        force: bool,
    },
    /// Print the schema.
    ///
    /// Example: quiver schema get --data ./quiver-data
    Get {
        /// The data directory.
        #[arg(long, default_value = "./quiver-data")]
        data: PathBuf,
    },
}

fn require_existing(data: &Path) -> anyhow::Result<()> {
    if !data.join("CURRENT").exists() {
        anyhow::bail!("{} holds no Quiver database", data.display());
    }
    Ok(())
}

fn open_store(data: &Path) -> anyhow::Result<Store> {
    require_existing(data)?;
    Store::open_with(data, Options::default()).with_context(|| format!("opening {}", data.display()))
}

/// Turns transparent huge pages off for this process (an import). A bulk import fills
/// hundreds of MB of fresh memory, and huge pages (which mimalloc asks for) made the kernel's
/// work on it swing from 0.3 to 2.2 s between runs of one scale-20 load on our VMs (zeroing
/// and compacting 2 MB at a time); without them it stays at 0.5-0.6 s (docs/BENCHMARKS.md).
/// Best effort: a kernel that refuses leaves them as they were.
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
}

/// Runs one file's import with progress shown: a bar with rate and ETA on a terminal, a line
/// per batch otherwise (when there is more than one); then its counts.
fn import_one(
    file: &Path,
    import: impl FnOnce(quiver::query::ProgressFn<'_>) -> anyhow::Result<quiver::ImportReport>,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let started = std::time::Instant::now();
    let name = file.display().to_string();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} records, {per_sec}, ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(name.clone());
        bar
    });
    let mut batches = 0;
    let report = import(&mut |p: &quiver::query::ImportProgress| {
        batches += 1;
        match &bar {
            Some(bar) => {
                bar.set_length(p.total);
                bar.set_position(p.records);
            }
            None if p.records < p.total || batches > 1 => {
                let rate = p.records as f64 / started.elapsed().as_secs_f64().max(1e-9);
                eprintln!("{name}: {}/{} records ({rate:.0}/s)", p.records, p.total);
            }
            None => {}
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let r = report?;
    println!(
        "{name}: {} nodes, {} edges in {} batches ({:.2} s)",
        r.nodes,
        r.edges,
        r.batches,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub(crate) fn open_db(data: &Path, create: bool) -> anyhow::Result<quiver::Database> {
    if !create {
        require_existing(data)?;
    }
    quiver::Database::open(data).with_context(|| format!("opening {}", data.display()))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Schema { action: SchemaAction::Set { data, file, force } } => {
            let sdl =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let db = open_db(&data, true)?;
            let set = if force { db.set_schema_forced(&sdl) } else { db.set_schema(&sdl) };
            set.with_context(|| format!("setting the schema from {}", file.display()))?;
            db.close().context("closing")?;
            println!("schema set from {}", file.display());
        }
        Command::Schema { action: SchemaAction::Get { data } } => {
            let db = open_db(&data, false)?;
            print!("{}", db.schema());
        }
        Command::Import { data, files, nodes, edges, batch_records } => {
            without_huge_pages();
            let split = |arg: &str, what: &str| -> anyhow::Result<(String, PathBuf)> {
                let (name, file) =
                    arg.split_once('=').with_context(|| format!("--{what} takes NAME=FILE, not {arg:?}"))?;
                Ok((name.to_string(), PathBuf::from(file)))
            };
            let nodes = nodes.iter().map(|n| split(n, "nodes")).collect::<anyhow::Result<Vec<_>>>()?;
            let edges = edges.iter().map(|e| split(e, "edges")).collect::<anyhow::Result<Vec<_>>>()?;
            let db = open_db(&data, true)?;
            let mut options = quiver::query::ImportOptions::default();
            if let Some(n) = batch_records {
                options.batch_records = n as usize;
                options.csv_batch_rows = n as usize;
            }
            for (ty, file) in &nodes {
                import_one(file, |progress| {
                    let name = file.display().to_string();
                    quiver::query::read_input(file, |text| {
                        db.import_csv_nodes_with(&name, ty, text, &options, progress)
                    })
                    .with_context(|| format!("importing {name}"))
                })?;
            }
            for file in &files {
                import_one(file, |progress| {
                    db.import_file_with(file, &options, progress)
                        .with_context(|| format!("importing {}", file.display()))
                })?;
            }
            for (edge, file) in &edges {
                import_one(file, |progress| {
                    let name = file.display().to_string();
                    quiver::query::map_input(file, |bytes| {
                        db.import_csv_edge_bytes(&name, edge, bytes, &options, progress)
                    })
                    .with_context(|| format!("importing {name}"))
                })?;
            }
            db.close().context("closing")?;
        }
        Command::Export { data, output } => {
            let db = open_db(&data, false)?;
            let report = match &output {
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    let mut out = std::io::BufWriter::new(file);
                    let report = db.export_json(&mut out).context("exporting")?;
                    use std::io::Write as _;
                    out.flush().with_context(|| format!("writing {}", path.display()))?;
                    report
                }
                None => db.export_json(&mut std::io::stdout().lock()).context("exporting")?,
            };
            if let Some(path) = output {
                println!("{}: {} nodes, {} edges", path.display(), report.nodes, report.edges);
            }
        }
        Command::Query { target, query, vars, operation } => {
            let vars: serde_json::Value = match vars {
                Some(v) => serde_json::from_str(&v).context("--vars is not valid JSON")?,
                None => serde_json::Value::Null,
            };
            let (json, ok) = match target.client()? {
                Some(mut client) => {
                    let reply =
                        client.request(&query, &vars, operation.as_deref()).context("running the query")?;
                    let ok = !reply.has_errors();
                    (reply.json().to_string(), ok)
                }
                None => {
                    let db = open_db(&target.data, false)?;
                    let r = db.execute_operation(&query, &vars, operation.as_deref());
                    (r.json().to_string(), r.is_ok())
                }
            };
            println!("{json}");
            return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_USER) });
        }
        Command::Serve(args) => serve::run(args)?,
        Command::Shell { target, history } => shell::run(&target, history)?,
        Command::Check { data } => {
            let store = open_store(&data)?;
            let report = store.check().context("checking")?;
            println!(
                "{} segments, {} records, {} bytes; {} nodes, {} edges",
                report.segments, report.records, report.bytes, report.nodes, report.edges
            );
            for p in &report.problems {
                println!("problem: {p}");
            }
            return Ok(if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_CORRUPT) });
        }
        Command::Compact { data } => {
            let store = open_store(&data)?;
            let r = store.compact().context("compacting")?;
            println!(
                "log: {} bytes -> {} bytes (generation {})",
                r.bytes_before, r.bytes_after, r.generation
            );
            store.close().context("closing")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn is_corrupt(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::Corrupt { .. }
            | EngineError::NotQuiverFile { .. }
            | EngineError::UnsupportedVersion { .. }
    )
}

/// Parses arguments, runs the command, maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            let corrupt = e.chain().any(|c| {
                c.downcast_ref::<EngineError>().is_some_and(is_corrupt)
                    || matches!(c.downcast_ref::<QueryError>(), Some(QueryError::Engine(inner)) if is_corrupt(inner))
            });
            ExitCode::from(if corrupt { EXIT_CORRUPT } else { EXIT_USER })
        }
    }
}
