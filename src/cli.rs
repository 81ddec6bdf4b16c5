//! Command-line parsing and dispatch. Each command is a thin call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use quiver::engine::{Error, Options, Store};

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

#[derive(Subcommand)]
enum Command {
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

fn open_existing(data: &PathBuf) -> anyhow::Result<Store> {
    if !data.join("CURRENT").exists() {
        anyhow::bail!("{} holds no Quiver database", data.display());
    }
    Store::open_with(data, Options::default()).with_context(|| format!("opening {}", data.display()))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { data } => {
            let store = open_existing(&data)?;
            let report = store.check().context("checking")?;
            println!(
                "{} segments, {} records, {} bytes; {} nodes, {} edges",
                report.segments, report.records, report.bytes, report.nodes, report.edges
            );
            for p in &report.problems {
                println!("problem: {p}");
            }
            Ok(if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_CORRUPT) })
        }
        Command::Compact { data } => {
            let store = open_existing(&data)?;
            let r = store.compact().context("compacting")?;
            println!(
                "log: {} bytes -> {} bytes (generation {})",
                r.bytes_before, r.bytes_after, r.generation
            );
            store.close().context("closing")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Parses arguments, runs the command, maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            let corrupt = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<Error>(),
                    Some(
                        Error::Corrupt { .. }
                            | Error::NotQuiverFile { .. }
                            | Error::UnsupportedVersion { .. }
                    )
                )
            });
            ExitCode::from(if corrupt { EXIT_CORRUPT } else { EXIT_USER })
        }
    }
}
