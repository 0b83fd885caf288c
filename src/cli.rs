//! The command line: `dsvcr replay`, and later subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Record-and-replay proxy for the vSphere REST API's content-library download sessions.
///
/// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 for runtime errors
/// (unreadable cassette folder, invalid cassette, address in use), 2 for usage errors.
#[derive(Debug, Parser)]
#[command(name = "dsvcr", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve download-session gets from cassettes, offline.
    ///
    /// Prints `dsvcr listening on http://ADDR` on stdout when ready, then logs to stderr
    /// (set RUST_LOG=debug to log every request). An id without a cassette gets vCenter's
    /// 404 not_found answer, marked with the header `x-dsvcr-synthetic: no-cassette`.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Cassette folder; cassettes are read from its `download-session/` subfolder.
    #[arg(long, value_name = "DIR", default_value = "cassettes")]
    pub cassettes: PathBuf,

    /// Address to listen on; port 0 picks a free port (the ready line tells which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}
