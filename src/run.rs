//! Carrying out a parsed command line.

use std::io::Write;
use std::sync::Arc;

use tracing::info;

use crate::cli::{Cli, Command, ReplayArgs};
use crate::error::Error;
use crate::replay::Replay;
use crate::server;

/// Runs the command until it is done or signalled to stop.
pub async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Replay(args) => replay(args).await,
    }
}

async fn replay(args: ReplayArgs) -> Result<(), Error> {
    let replay = Replay::load(&args.cassettes)?;
    info!(
        cassettes = replay.cassette_count(),
        folder = %args.cassettes.display(),
        "loaded cassettes"
    );
    let listener = server::bind(args.listen).await?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: args.listen,
        source,
    })?;
    announce(&format!("dsvcr listening on http://{addr}"));
    server::serve(listener, Arc::new(replay), server::shutdown_signal()).await;
    Ok(())
}

/// Prints the one ready line scripts wait for.
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
