//! Logging on stderr: text for people or JSON lines for machines (`--log-format`), at
//! `info` unless RUST_LOG says otherwise, and warnings only with `--quiet`.

use std::io::IsTerminal;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::{Cli, Command, LogArgs, LogFormat};

/// Installs the process's logger as the command line asks.
pub fn init_logging(cli: &Cli) {
    let defaults = LogArgs::default();
    let args = match &cli.command {
        Command::Replay(args) => &args.listen.log,
        Command::Record(args) => &args.listen.log,
        _ => &defaults,
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Caps whatever RUST_LOG allows.
    let quiet = args.quiet.then_some(LevelFilter::WARN);
    let output = match args.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => {
            crate::access::log_as_json();
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_writer(std::io::stderr)
                .boxed()
        }
    };
    tracing_subscriber::registry()
        .with(quiet)
        .with(filter)
        .with(output)
        .init();
}
