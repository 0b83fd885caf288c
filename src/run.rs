//! Carrying out a parsed command line.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use tracing::{info, warn};

use crate::admin::{Observable, WithAdmin};
use crate::cassette::{check_folder, load_folder, write_atomically, Cassette, Rerecord, Store};
use crate::cli::{CheckArgs, Cli, Command, ListenArgs, RecordArgs, ReplayArgs, SummaryArgs};
use crate::error::Error;
use crate::record::Record;
use crate::replay::{Replay, ReplayOptions};
use crate::server::{self, tls};
use crate::stats::{Stats, Summary};
use crate::timeshift;
use crate::upstream::{Trust, Upstream, UpstreamConfig};

/// Exit code of `replay --fail-on-miss` after a miss.
pub const EXIT_MISSED: u8 = 3;

/// Runs the command until it is done or signalled to stop.
pub async fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Replay(args) => replay(args).await,
        Command::Record(args) => record(args).await,
        Command::Check(args) => check(&args),
    }
}

async fn replay(args: ReplayArgs) -> Result<ExitCode, Error> {
    let mut cassettes = load_folder(&args.cassettes)?;
    if args.shift_times {
        shift_times(&mut cassettes)?;
    }
    info!(
        cassettes = cassettes.len(),
        folder = %args.cassettes.display(),
        "loaded cassettes"
    );
    let options = ReplayOptions {
        require_session: args.require_session,
    };
    let replay = Arc::new(Replay::with_options(cassettes, options, Stats::new()));
    serve(&args.listen, replay.clone()).await?;
    let summary = finish(replay.as_ref(), &args.summary)?;
    if args.fail_on_miss && summary.health.misses > 0 {
        eprintln!(
            "dsvcr: {} request(s) asked for download sessions without a cassette ({}); failing because of --fail-on-miss",
            summary.health.misses,
            summary.missed_ids.join(", ")
        );
        return Ok(ExitCode::from(EXIT_MISSED));
    }
    Ok(ExitCode::SUCCESS)
}

/// Moves each cassette's date-times by the time since it was recorded.
fn shift_times(cassettes: &mut [Cassette]) -> Result<(), Error> {
    let start = time::OffsetDateTime::now_utc();
    for cassette in cassettes {
        let shift = |cassette: &mut Cassette| -> Result<(), String> {
            let offset = timeshift::offset(&cassette.recorded.at, start)?;
            for entry in &mut cassette.responses {
                if let crate::cassette::Recording::Session(session) = &mut entry.response {
                    timeshift::shift_session(session, offset)?;
                }
            }
            Ok(())
        };
        shift(cassette).map_err(|reason| Error::ShiftTimes {
            id: cassette.id.to_string(),
            reason,
        })?;
    }
    Ok(())
}

async fn record(args: RecordArgs) -> Result<ExitCode, Error> {
    let removed =
        Store::prepare_folder(&args.cassettes).map_err(|source| Error::CassetteFolder {
            path: args.cassettes.clone(),
            source,
        })?;
    if removed > 0 {
        warn!(
            removed,
            "removed temp files an interrupted earlier run left behind"
        );
    }
    let cassettes = load_folder(&args.cassettes)?;
    let trust = trust_of(&args);
    if trust == Trust::Insecure {
        warn!(
            "--insecure: the upstream's TLS certificate is NOT verified; anyone on the path can read and change this traffic"
        );
    }
    let stats = Stats::new();
    let upstream = Upstream::new(UpstreamConfig {
        url: args.upstream.clone(),
        trust,
        timeout: args.upstream_timeout,
        connect_timeout: args.upstream_connect_timeout,
        connections: stats.upstream_connections.clone(),
    })?;
    let rerecord = if args.replace {
        Rerecord::Replace
    } else {
        Rerecord::Append
    };
    let known = args
        .new_episodes
        .then(|| Replay::with_options(cassettes.clone(), ReplayOptions::default(), stats.clone()));
    info!(
        cassettes = cassettes.len(),
        folder = %args.cassettes.display(),
        upstream = %args.upstream,
        mode = if args.new_episodes { "new-episodes" } else { "all" },
        "recording"
    );
    let store = Store::new(&args.cassettes, rerecord, cassettes);
    let record = Arc::new(Record::new(upstream, store, known, stats));
    serve(&args.listen, record.clone()).await?;
    record.finish_writes().await;
    finish(record.as_ref(), &args.summary)?;
    Ok(ExitCode::SUCCESS)
}

fn trust_of(args: &RecordArgs) -> Trust {
    match (&args.ca_cert, args.upstream_thumbprint, args.insecure) {
        (_, _, true) => Trust::Insecure,
        (_, Some(thumbprint), _) => Trust::Thumbprint(thumbprint),
        (Some(path), _, _) => Trust::CaFile(path.clone()),
        (None, None, false) => Trust::DefaultRoots,
    }
}

fn check(args: &CheckArgs) -> Result<ExitCode, Error> {
    let report = check_folder(&args.folder)?;
    let mut stdout = std::io::stdout().lock();
    for problem in &report.problems {
        let _ = writeln!(stdout, "{problem}");
    }
    eprintln!(
        "dsvcr check: {} cassette(s) in {}, {} problem(s)",
        report.checked,
        args.folder.display(),
        report.problems.len()
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Binds, prints the ready line, and serves (with the admin endpoints) until SIGINT or
/// SIGTERM.
async fn serve<S: server::Handler + Observable>(
    listen: &ListenArgs,
    service: Arc<S>,
) -> Result<(), Error> {
    let shutdown = server::shutdown_signal().map_err(Error::Signals)?;
    let tls = listener_tls(listen)?;
    let listener = server::bind(listen.listen).await?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: listen.listen,
        source,
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    announce(&format!("dsvcr listening on {scheme}://{addr}"));
    warn_beyond_loopback(addr, listen.admin_from_anywhere);
    let options = server::ServeOptions {
        tls,
        limits: listen.limits.limits(),
        admin_from_anywhere: listen.admin_from_anywhere,
    };
    server::serve(listener, options, Arc::new(WithAdmin(service)), shutdown).await;
    Ok(())
}

fn warn_beyond_loopback(addr: std::net::SocketAddr, admin_from_anywhere: bool) {
    if addr.ip().is_loopback() {
        return;
    }
    if admin_from_anywhere {
        warn!(%addr, "listening beyond loopback with --admin-from-anywhere: any client that reaches this address can read the health counters and rewind timelines (/__dsvcr/)");
    } else {
        warn!(%addr, "listening beyond loopback: any client that reaches this address is served; the admin endpoints (/__dsvcr/) answer loopback clients only");
    }
}

fn listener_tls(listen: &ListenArgs) -> Result<Option<tokio_rustls::TlsAcceptor>, Error> {
    match (&listen.tls_cert, &listen.tls_key, &listen.tls_self_signed) {
        (Some(cert), Some(key), _) => Ok(Some(tls::from_files(cert, key)?)),
        (_, _, Some(dir)) => {
            let (acceptor, ca) = tls::self_signed(dir)?;
            info!(ca = %ca.display(), "serving HTTPS with a self-signed CA; trust this file in clients");
            Ok(Some(acceptor))
        }
        _ => Ok(None),
    }
}

/// Logs the run summary and writes it to `--summary FILE` if asked.
fn finish(service: &impl Observable, args: &SummaryArgs) -> Result<Summary, Error> {
    let summary = service.summary();
    let json = serde_json::to_string(&summary).expect("summaries serialise");
    info!(summary = %json, "run summary");
    if let Some(path) = &args.summary {
        let mut bytes = serde_json::to_vec_pretty(&summary).expect("summaries serialise");
        bytes.push(b'\n');
        write_atomically(path, &bytes).map_err(|source| Error::Summary {
            path: path.clone(),
            source,
        })?;
    }
    Ok(summary)
}

/// Prints the one ready line scripts wait for.
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
