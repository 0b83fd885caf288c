//! Carrying out a parsed command line: one wiring from command line, listener and
//! shutdown to an exit code, used by `main` and the tests alike.

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::admin::Observable;
use crate::browsers;
use crate::cassette::blobs::{verify_present, BlobError};
use crate::cassette::{
    check_folder_with, load_folder_within, rekeyed, write_atomically, Cassette, LoadError,
    Rerecord, Store,
};
use crate::cli::{
    CheckArgs, Cli, Command, ListenArgs, RecordArgs, ReplayArgs, RerecordMode, SummaryArgs,
};
use crate::downloads::{DownloadBudget, Fetcher, Listener, ListenerCertificate, Replayed};
use crate::front::{DoorOptions, FrontDoor, Mode};
use crate::record::Record;
use crate::redact::Redactor;
use crate::replay::{Replay, ReplayOptions};
use crate::server::fds::{self, Usage};
use crate::server::{self, tls};
use crate::stats::{Stats, Summary};
use crate::text::escape_controls;
use crate::timelines::Timelines;
use crate::timeshift;
use crate::upstream::{Trust, TrustError, Upstream, UpstreamConfig};
use crate::vapi::Answer;
use crate::{generate, inspect};

/// Exit code of `replay --fail-on-miss` after a miss or an unrecorded route.
pub const EXIT_MISSED: u8 = 3;

/// Exit code of `record` when an answer of a recorded operation could not be recorded
/// for a reason other than "never recorded by design", or a forwarded call got no
/// usable answer from the upstream (502, 504).
pub const EXIT_NOT_RECORDED: u8 = 4;

/// How long record waits at shutdown for the recordings still being written.
const FINISH_WRITES: std::time::Duration = std::time::Duration::from_secs(1);

/// An error that stopped a command; its message names the file, flag or address at
/// fault (control characters escaped: a file name may hold any), and its `source()` is
/// the cause.
#[derive(Debug, thiserror::Error)]
#[error("{}", escape_controls(&.0.to_string()))]
pub struct Error(#[source] Failure);

impl Error {
    /// The async runtime could not start.
    pub fn runtime(source: io::Error) -> Self {
        Error(Failure::Runtime(source))
    }
}

macro_rules! into_error {
    ($($cause:ty),*) => {$(
        impl From<$cause> for Error {
            fn from(cause: $cause) -> Self {
                Error(cause.into())
            }
        }
    )*};
}

into_error!(
    Failure,
    LoadError,
    TrustError,
    tls::ListenerTlsError,
    BlobError
);

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error(transparent)]
    Cassettes(#[from] LoadError),
    #[error("cannot create cassette folder {} (--cassettes): {source}", path.display())]
    CassetteFolder {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    ListenerTls(#[from] tls::ListenerTlsError),
    #[error("--shift-times: cassette {id}: {reason}")]
    ShiftTimes { id: String, reason: String },
    #[error("cannot write the run summary to {} (--summary): {source}", path.display())]
    Summary {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot listen on {addr} (--listen): {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("cannot install the signal handlers: {0}")]
    Signals(#[source] io::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] io::Error),
}

/// Runs the command until it is done or a signal asks it to stop, listening where
/// `--listen` says and printing the ready line on stdout once it serves.
pub async fn run(cli: Cli) -> Result<ExitCode, Error> {
    if let Some(done) = offline(&cli.command) {
        return done;
    }
    let shutdown = server::shutdown_signal().map_err(Failure::Signals)?;
    run_with(cli, None, announce, shutdown).await
}

/// Runs the command on `listener` (instead of binding `--listen`) until `shutdown`
/// completes, calling `ready` with the ready line once cassettes are loaded and it
/// serves: the wiring `main` uses, with the listener, the readiness report and the
/// stop signal injected.
pub async fn run_with(
    cli: Cli,
    listener: Option<TcpListener>,
    ready: impl FnOnce(&str) + Send,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<ExitCode, Error> {
    let launch = Launch {
        listener,
        ready,
        shutdown,
    };
    match cli.command {
        Command::Replay(args) => replay(args, launch).await,
        Command::Record(args) => record(args, launch).await,
        command => offline(&command).expect("the serving commands are matched above"),
    }
}

/// Carries out the commands that neither listen nor need the runtime, or None.
fn offline(command: &Command) -> Option<Result<ExitCode, Error>> {
    Some(match command {
        Command::Check(args) => check(args),
        Command::Inspect(args) => inspect::run(args).map_err(Error::from),
        Command::Completions(args) => {
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = generate::completions(args.shell, &mut std::io::stdout().lock());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = generate::man(&mut std::io::stdout().lock());
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay(_) | Command::Record(_) => return None,
    })
}

/// Where to serve, whom to tell once serving, and when to stop.
struct Launch<R, F> {
    listener: Option<TcpListener>,
    ready: R,
    shutdown: F,
}

async fn replay<R: FnOnce(&str) + Send, F: Future<Output = ()> + Send>(
    mut args: ReplayArgs,
    launch: Launch<R, F>,
) -> Result<ExitCode, Error> {
    let mut cassettes =
        load_folder_within(&args.cassettes, args.cassette_limit.max_cassette_bytes)?;
    verify_present(&args.cassettes, &cassettes.sessions)?;
    if args.shift_times {
        shift_times(&mut cassettes.sessions)?;
    }
    info!(
        cassettes = cassettes.sessions.len(),
        calls = cassettes.calls.len(),
        folder = %args.cassettes.display(),
        "loaded cassettes"
    );
    let options = ReplayOptions {
        require_session: args.require_session,
        tape: !args.no_tape,
        strict: args.strict,
    };
    let (tls, listener) = listener_tls(&args.listen)?;
    let budget = fit_to_open_files(&mut args.listen, Usage::REPLAY);
    let bytes =
        Replayed::new(&args.cassettes, &cassettes.sessions, listener.clone()).with_budget(budget);
    let volatile = args.ignore.volatile();
    if !volatile.is_empty() {
        let tapes = std::mem::take(&mut cassettes.tapes);
        cassettes.tapes = rekeyed(tapes, |key| volatile.apply(key));
    }
    let redactor = Arc::new(Redactor::new(&args.redact.names).ignoring(volatile));
    let replay = Replay::new(cassettes, options, Stats::new())
        .with_bytes(bytes)
        .with_redactor(redactor);
    let replay = Arc::new(replay);
    serve(&args.listen, (tls, listener), replay.clone(), launch).await?;
    let summary = finish(replay.as_ref(), &args.summary)?;
    let missed = summary.health.misses + summary.health.unrecorded;
    if args.fail_on_miss && missed > 0 {
        let mut what = summary.missed_ids.clone();
        what.extend(summary.unrecorded_routes.iter().cloned());
        eprintln!(
            "dsvcr: {missed} request(s) had no recording ({}); failing because of --fail-on-miss",
            what.join(", ")
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
            let entries = cassette
                .timelines
                .iter_mut()
                .flat_map(|track| &mut track.responses);
            for entry in entries {
                if let Answer::Session(session) = &mut entry.answer {
                    timeshift::shift_session(session, offset)?;
                }
            }
            Ok(())
        };
        shift(cassette).map_err(|reason| Failure::ShiftTimes {
            id: cassette.id.to_string(),
            reason,
        })?;
    }
    Ok(())
}

async fn record<R: FnOnce(&str) + Send, F: Future<Output = ()> + Send>(
    mut args: RecordArgs,
    launch: Launch<R, F>,
) -> Result<ExitCode, Error> {
    let removed =
        Store::prepare_folder(&args.cassettes).map_err(|source| Failure::CassetteFolder {
            path: args.cassettes.clone(),
            source,
        })?;
    if removed > 0 {
        warn!(
            removed,
            "removed temp files an interrupted earlier run left behind"
        );
    }
    let limit = args.cassette_limit.max_cassette_bytes;
    let leftovers = crate::cassette::journal::fold_leftover_journals(&args.cassettes, limit)
        .map_err(|source| Failure::CassetteFolder {
            path: args.cassettes.clone(),
            source,
        })?;
    if leftovers.folded > 0 {
        info!(
            folded = leftovers.folded,
            "folded the journals an earlier run left (killed, or out of time at its end) into their cassettes"
        );
    }
    let cassettes = load_folder_within(&args.cassettes, limit)?;
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
        failures: stats.upstream_failures.clone(),
    })?;
    let rerecord = match (args.rerecord, args.new_episodes) {
        (Some(RerecordMode::Append), _) | (None, true) => Rerecord::Append,
        (Some(RerecordMode::Keep), _) => Rerecord::Keep,
        (Some(RerecordMode::Replace), _) | (None, false) => Rerecord::Replace,
    };
    let volatile = args.ignore.volatile();
    let known = args.new_episodes.then(|| {
        let mut known = cassettes.clone();
        if !volatile.is_empty() {
            known.tapes = rekeyed(known.tapes, |key| volatile.apply(key));
        }
        Timelines::new(known)
    });
    info!(
        cassettes = cassettes.sessions.len(),
        folder = %args.cassettes.display(),
        upstream = %args.upstream,
        mode = if args.new_episodes { "new-episodes" } else { "all" },
        "recording"
    );
    let redactor = Arc::new(Redactor::new(&args.redact.names).ignoring(volatile));
    let store = Store::new(&args.cassettes, rerecord, cassettes).with_redactor(redactor.clone());
    let (tls, listener) = listener_tls(&args.listen)?;
    let budget = fit_to_open_files(&mut args.listen, Usage::RECORD);
    let fetcher = Fetcher::new(listener.clone()).with_budget(budget);
    let record = Record::new(upstream, store, known, stats, !args.no_tape)
        .with_bytes(fetcher)
        .with_redactor(redactor);
    let record = Arc::new(record);
    let stopped = Arc::new(std::sync::OnceLock::new());
    let launch = Launch {
        listener: launch.listener,
        ready: launch.ready,
        shutdown: {
            let stopped = stopped.clone();
            async move {
                launch.shutdown.await;
                let _ = stopped.set(tokio::time::Instant::now());
            }
        },
    };
    serve(&args.listen, (tls, listener), record.clone(), launch).await?;
    // The cut connections' recordings end at once; a cassette write in flight is short.
    if tokio::time::timeout(FINISH_WRITES, record.finish_writes())
        .await
        .is_err()
    {
        warn!("recordings still being written after {FINISH_WRITES:?}; not waiting for them");
    }
    fold_journals(&record, stopped.get().copied()).await;
    let summary = finish(record.as_ref(), &args.summary)?;
    let failed = &summary.health.upstream_failures;
    if failed.count > 0 {
        let reasons: Vec<String> = failed
            .by_reason
            .iter()
            .map(|(reason, count)| format!("{reason}: {count}"))
            .collect();
        eprintln!(
            "dsvcr: {} forwarded call(s) got no answer from the upstream ({}), e.g. {}; see upstream_failures in the run summary",
            failed.count,
            reasons.join(", "),
            failed.first.first().map_or("", String::as_str)
        );
    }
    let refused = record.refused();
    if refused > 0 || failed.count > 0 {
        if refused > 0 {
            eprintln!(
            "dsvcr: {refused} answer(s) could not be recorded (see not_recorded in the run summary)"
        );
        }
        return Ok(ExitCode::from(EXIT_NOT_RECORDED));
    }
    Ok(ExitCode::SUCCESS)
}

/// Record folds journals at the end of a run until this long after the signal (or other
/// shutdown) that ended it, within the 10 s a signal may take: what the 8 s grace for
/// requests in flight and [`FINISH_WRITES`] left of it, and at least [`MIN_FOLDING`].
const FOLD_UNTIL: std::time::Duration = std::time::Duration::from_millis(9_000);

/// The least time given to folding journals, however long the shutdown took.
const MIN_FOLDING: std::time::Duration = std::time::Duration::from_millis(200);

/// Folds the run's journals into their cassettes, so that a finished recording leaves
/// plain cassette files; those not folded by the deadline are left (loading and the next
/// record run apply them).
async fn fold_journals(record: &Record, stopped: Option<tokio::time::Instant>) {
    let now = tokio::time::Instant::now();
    let deadline = stopped
        .map_or(now, |stopped| stopped + FOLD_UNTIL)
        .max(now + MIN_FOLDING);
    let (folded, left) = record.fold_journals(deadline).await;
    if left > 0 {
        warn!(folded, left, "journals not folded into their cassettes by the deadline; loading applies them, and the next record run folds them");
    }
}

/// The download budgets, and the connection limit, cut to what the open-file limit holds.
fn fit_to_open_files(listen: &mut ListenArgs, usage: Usage) -> DownloadBudget {
    let (connections, downloads) = fds::fit(
        listen.limits.max_connections,
        listen.limits.downloads(),
        usage,
    );
    listen.limits.max_connections = connections;
    DownloadBudget::new(downloads)
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
    let report = check_folder_with(
        &args.folder,
        &Redactor::new(&args.redact.names),
        args.cassette_limit.max_cassette_bytes,
    )?;
    let mut stdout = std::io::stdout().lock();
    for problem in &report.problems {
        let _ = writeln!(stdout, "{}", escape_controls(&problem.to_string()));
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

/// Binds (unless a listener was given), prints the ready line, and serves (with the
/// admin endpoints) until the shutdown future completes.
async fn serve<S, R, F>(
    listen: &ListenArgs,
    (tls, own): (Option<tokio_rustls::TlsAcceptor>, Listener),
    service: Arc<S>,
    launch: Launch<R, F>,
) -> Result<(), Error>
where
    S: Mode,
    R: FnOnce(&str) + Send,
    F: Future<Output = ()> + Send,
{
    let listener = match launch.listener {
        Some(listener) => listener,
        None => server::bind(listen.listen)
            .await
            .map_err(|source| Failure::Listen {
                addr: listen.listen,
                source,
            })?,
    };
    let addr = listener.local_addr().map_err(|source| Failure::Listen {
        addr: listen.listen,
        source,
    })?;
    own.bound(addr);
    let scheme = if tls.is_some() { "https" } else { "http" };
    (launch.ready)(&format!("dsvcr listening on {scheme}://{addr}"));
    warn_beyond_loopback(addr, listen.admin_from_anywhere);
    let limits = listen.limits.limits();
    let door = DoorOptions {
        admin_from_anywhere: listen.admin_from_anywhere,
        max_headers: limits.max_headers,
        browsers: browsers::Policy {
            loopback_listener: addr.ip().is_loopback(),
            hosts: listen.allow_host.clone(),
            origins: listen.allow_origin.clone(),
        },
    };
    let options = server::ServeOptions { tls, limits };
    server::serve(
        listener,
        options,
        Arc::new(FrontDoor::new(service, door)),
        launch.shutdown,
    )
    .await;
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

/// The listener's TLS, and the listener as rewritten download endpoints name it.
fn listener_tls(
    listen: &ListenArgs,
) -> Result<(Option<tokio_rustls::TlsAcceptor>, Listener), Error> {
    let (acceptor, leaf) = match (&listen.tls_cert, &listen.tls_key, &listen.tls_self_signed) {
        (Some(cert), Some(key), _) => tls::from_files(cert, key)?,
        (_, _, Some(dir)) => {
            let (acceptor, ca, leaf) = tls::self_signed(dir)?;
            info!(ca = %ca.display(), "serving HTTPS with a self-signed CA; trust this file in clients");
            (acceptor, leaf)
        }
        _ => return Ok((None, Listener::new(None))),
    };
    let listener = Listener::new(Some(ListenerCertificate::of(&leaf)));
    Ok((Some(acceptor), listener))
}

/// Logs the run summary and writes it to `--summary FILE` if asked.
fn finish(service: &impl Observable, args: &SummaryArgs) -> Result<Summary, Error> {
    let summary = service.summary();
    let json = serde_json::to_string(&summary).expect("summaries serialise");
    info!(summary = %json, "run summary");
    if let Some(path) = &args.summary {
        let mut bytes = serde_json::to_vec_pretty(&summary).expect("summaries serialise");
        bytes.push(b'\n');
        write_atomically(path, &bytes).map_err(|source| Failure::Summary {
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
