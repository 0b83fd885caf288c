//! Carrying out a parsed command line.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use tracing::{info, warn};

use crate::cassette::{load_folder, Rerecord, Store};
use crate::cli::{Cli, Command, RecordArgs, ReplayArgs};
use crate::error::Error;
use crate::record::Record;
use crate::replay::Replay;
use crate::server;
use crate::upstream::{Trust, Upstream, UpstreamConfig};

/// Runs the command until it is done or signalled to stop.
pub async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Replay(args) => replay(args).await,
        Command::Record(args) => record(args).await,
    }
}

async fn replay(args: ReplayArgs) -> Result<(), Error> {
    let replay = Replay::load(&args.cassettes)?;
    info!(
        cassettes = replay.cassette_count(),
        folder = %args.cassettes.display(),
        "loaded cassettes"
    );
    serve(args.listen, replay).await
}

async fn record(args: RecordArgs) -> Result<(), Error> {
    Store::prepare_folder(&args.cassettes).map_err(|source| Error::CassetteFolder {
        path: args.cassettes.clone(),
        source,
    })?;
    let cassettes = load_folder(&args.cassettes)?;
    let trust = trust_of(&args);
    if trust == Trust::Insecure {
        warn!(
            "--insecure: the upstream's TLS certificate is NOT verified; anyone on the path can read and change this traffic"
        );
    }
    let upstream = Upstream::new(UpstreamConfig {
        url: args.upstream.clone(),
        trust,
        timeout: args.upstream_timeout,
    })?;
    let rerecord = if args.replace {
        Rerecord::Replace
    } else {
        Rerecord::Append
    };
    let known = args.new_episodes.then(|| Replay::new(cassettes.clone()));
    info!(
        cassettes = cassettes.len(),
        folder = %args.cassettes.display(),
        upstream = %args.upstream,
        mode = if args.new_episodes { "new-episodes" } else { "all" },
        "recording"
    );
    let store = Store::new(&args.cassettes, rerecord, cassettes);
    serve(args.listen, Record::new(upstream, store, known)).await
}

fn trust_of(args: &RecordArgs) -> Trust {
    match (&args.ca_cert, args.upstream_thumbprint, args.insecure) {
        (_, _, true) => Trust::Insecure,
        (_, Some(thumbprint), _) => Trust::Thumbprint(thumbprint),
        (Some(path), _, _) => Trust::CaFile(path.clone()),
        (None, None, false) => Trust::DefaultRoots,
    }
}

/// Binds, prints the ready line, and serves until SIGINT or SIGTERM.
async fn serve<H: server::Handler>(listen: SocketAddr, handler: H) -> Result<(), Error> {
    let shutdown = server::shutdown_signal().map_err(Error::Signals)?;
    let listener = server::bind(listen).await?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: listen,
        source,
    })?;
    announce(&format!("dsvcr listening on http://{addr}"));
    server::serve(listener, Arc::new(handler), shutdown).await;
    Ok(())
}

/// Prints the one ready line scripts wait for.
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
