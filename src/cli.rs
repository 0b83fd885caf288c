//! The command line: `dsvcr replay`, `record`, `check`, `inspect`, `completions` and `man`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::cassette::MAX_CASSETTE_BYTES;
use crate::server::DownloadLimits;
use crate::server::Limits;
use crate::upstream::{Thumbprint, UpstreamUrl};

/// Record-and-replay proxy for the vSphere Automation API's content-library download sessions.
///
/// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM/SIGHUP) or a clean `check` or `inspect`;
/// 1 for runtime errors (unreadable cassette folder, invalid cassette, address in use) and for
/// problems `check` or `inspect` found; 2 for usage errors; 3 when `replay --fail-on-miss` saw a miss or an
/// unrecorded route; 4 when `record` could not record an answer it should have, or a forwarded
/// call got no usable answer from the upstream (502/504).
#[derive(Debug, Parser)]
#[command(name = "dsvcr", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the download-session operations from cassettes, offline.
    ///
    /// Prints `dsvcr listening on http://ADDR` on stdout when ready, then logs to stderr
    /// (set RUST_LOG=debug to log every request). An id without a cassette gets vCenter's
    /// 404 not_found answer, marked with the header `x-dsvcr-synthetic: no-cassette`; a
    /// route no cassette covers gets 404 operation_not_found and is counted.
    Replay(ReplayArgs),

    /// Forward everything to a lab vCenter and record every download-session operation.
    ///
    /// Every request (login, logout, any other API call) is forwarded to the upstream and its
    /// answer streamed back. Each download-session operation, in any form and flavour, is
    /// decoded and added to its session's cassette (results and vAPI errors) before the
    /// client gets the answer. Exits 4 at shutdown if an answer could not be recorded for a
    /// reason other than "never recorded by design", or if a forwarded call got no usable
    /// answer from the upstream (502/504). Prints the same ready line as `replay`.
    Record(RecordArgs),

    /// Validate a cassette folder without serving it (for CI).
    ///
    /// Checks that every cassette parses, is named after its id, has a known format version
    /// and a well-formed timeline, and holds nothing that looks like a secret (credentials,
    /// session tokens, Authorization or Cookie headers, private keys, a secret-named field
    /// that is not "<redacted>"), and that blobs are regular files inside the folder. Prints one line per
    /// problem, `FILE: reason`; exits 0 when clean, 1 when problems were found.
    Check(CheckArgs),

    /// Show what a cassette folder holds, without serving it.
    ///
    /// Lists the sessions (id, library item, operations with their answer counts, files with
    /// their sizes and whether their blobs are present), the call cassettes and the tape
    /// (operation or method and path, status, answers), the blobs (count, total size,
    /// orphans), and every problem `check` finds, one line each. Exits 0 when the folder is
    /// clean, 1 when it has problems (all of them listed).
    Inspect(InspectArgs),

    /// Print a shell completion script on stdout (e.g. `dsvcr completions bash > dsvcr.bash`).
    Completions(CompletionsArgs),

    /// Print the man page (roff) on stdout (e.g. `dsvcr man > dsvcr.1`).
    Man,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Cassette folder to inspect.
    #[arg(value_name = "DIR", default_value = "cassettes")]
    pub(crate) folder: PathBuf,

    /// Print one JSON document (for tools) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    ///
    /// The script goes to stdout; anything but these shells is a usage error (exit 2).
    #[arg(value_name = "SHELL", value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// How the serving modes log on stderr.
#[derive(Debug, Args, Default)]
pub(crate) struct LogArgs {
    /// Log format on stderr: text (one line per event, for people) or json (one object per line, for machines).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,

    /// Log warnings and errors only: no access log, no start-up or shutdown lines (even when RUST_LOG asks for more).
    #[arg(long)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Where and how to listen (both modes).
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// Address to listen on; port 0 picks a free port (the ready line tells which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,

    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(
        long,
        value_name = "PEM",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,

    /// Serve HTTPS with a certificate for 127.0.0.1/localhost made at start, signed by the CA kept in DIR (DIR/dsvcr-ca.pem, for clients to trust, and its key DIR/dsvcr-ca-key.pem; made when DIR holds none).
    #[arg(long, value_name = "DIR")]
    pub(crate) tls_self_signed: Option<PathBuf>,

    /// Let clients beyond loopback use the admin endpoints (/__dsvcr/health, /__dsvcr/reset); by default they get 403.
    #[arg(long)]
    pub(crate) admin_from_anywhere: bool,

    /// Also answer requests whose Host names this host (a name or address, no port); on a loopback listener only loopback names and addresses are answered otherwise (421), on another every Host is unless this narrows it; repeatable.
    #[arg(long, value_name = "NAME", value_parser = crate::browsers::parse_host)]
    pub(crate) allow_host: Vec<String>,

    /// Let web pages from this origin (http(s)://HOST[:PORT]) send requests other than GET and use the admin endpoints; requests carrying another Origin get 403 there; repeatable.
    #[arg(long, value_name = "ORIGIN", value_parser = crate::browsers::parse_origin)]
    pub(crate) allow_origin: Vec<String>,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,

    #[command(flatten)]
    pub(crate) log: LogArgs,
}

/// Resource limits (both modes).
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub(crate) max_body_bytes: usize,

    /// Bytes buffered for request bodies across all connections at once; a request whose body would go beyond gets 503.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_buffered_body_bytes, value_parser = parse_positive)]
    pub(crate) max_buffered_body_bytes: usize,

    /// Largest request head (request line and headers), in bytes, at least 8192 (431 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_header_bytes, value_parser = parse_header_bytes)]
    pub(crate) max_header_bytes: usize,

    /// Most headers in one request (431 beyond).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_headers)]
    pub(crate) max_headers: usize,

    /// Seconds a client has to send a whole request head, counted from the previous answer on a kept-alive HTTP/1.1 connection; slower clients are cut off.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub(crate) header_read_timeout: Duration,

    /// Seconds a connection may sit with no traffic before it is closed.
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = parse_seconds)]
    pub(crate) idle_timeout: Duration,

    /// Connections served at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections, value_parser = parse_positive)]
    pub(crate) max_connections: usize,

    /// File downloads (/__dsvcr/files/) served at once; more get 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = DownloadLimits::default().max_downloads, value_parser = parse_positive)]
    pub(crate) max_downloads: usize,

    /// Blob files open at once (replay: one per download, briefly per HEAD; record: one per download being kept); more get 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = DownloadLimits::default().max_open_blobs, value_parser = parse_positive)]
    pub(crate) max_open_blobs: usize,

    /// Bytes of file one download holds in memory, from 8192 to 16777216 (replay reads half of it ahead; also each HTTP/2 stream's send buffer).
    #[arg(long, value_name = "BYTES", default_value_t = DownloadLimits::default().buffer_bytes, value_parser = parse_buffer_bytes)]
    pub(crate) download_buffer_bytes: usize,
}

impl LimitArgs {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            max_buffered_body_bytes: self.max_buffered_body_bytes,
            max_header_bytes: self.max_header_bytes,
            max_headers: self.max_headers,
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
            send_buffer_bytes: self.download_buffer_bytes,
        }
    }

    pub(crate) fn downloads(&self) -> DownloadLimits {
        DownloadLimits {
            max_downloads: self.max_downloads,
            max_open_blobs: self.max_open_blobs,
            buffer_bytes: self.download_buffer_bytes,
        }
    }
}

/// Run summary flags (both modes).
#[derive(Debug, Args)]
pub(crate) struct SummaryArgs {
    /// At shutdown, also write the run summary (requests per operation and form, hits, misses, unrecorded routes, answers not recorded, unused and written cassettes) to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    pub(crate) summary: Option<PathBuf>,
}

/// Redaction flags (both modes).
#[derive(Debug, Args)]
pub(crate) struct RedactArgs {
    /// Also redact values under this field, header, query parameter or XML element name (case, '_' and '-' ignored); repeatable.
    #[arg(long = "redact", value_name = "NAME", value_parser = parse_redact_name)]
    pub(crate) names: Vec<String>,
}

/// Volatile inputs left out of tape keys (both modes).
#[derive(Debug, Args)]
pub(crate) struct IgnoreArgs {
    /// Leave this JSON body field out of tape keys: a name matches it at any depth, a dotted path (meta.timestamp) only there; letters, digits, '_', '-', '$', '@', ':'; repeatable.
    #[arg(long = "ignore-field", value_name = "NAME", value_parser = crate::volatile::parse_field)]
    pub(crate) fields: Vec<crate::volatile::Field>,

    /// Leave this query parameter (by its decoded name) out of tape keys; repeatable.
    #[arg(long = "ignore-query", value_name = "NAME", value_parser = crate::volatile::parse_query)]
    pub(crate) query: Vec<String>,
}

impl IgnoreArgs {
    pub(crate) fn volatile(&self) -> crate::volatile::Volatile {
        crate::volatile::Volatile::new(self.fields.clone(), self.query.clone())
    }
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Cassette folder to check.
    #[arg(value_name = "DIR", default_value = "cassettes")]
    pub(crate) folder: PathBuf,

    #[command(flatten)]
    pub(crate) redact: RedactArgs,

    #[command(flatten)]
    pub(crate) cassette_limit: CassetteLimitArgs,
}

/// The bound on one cassette file (all commands).
#[derive(Debug, Args)]
pub(crate) struct CassetteLimitArgs {
    /// Largest cassette file read, in bytes; a larger one is an error naming it (check: a problem), before it is read.
    #[arg(long, value_name = "BYTES", default_value_t = MAX_CASSETTE_BYTES, value_parser = parse_positive_u64)]
    pub(crate) max_cassette_bytes: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// Cassette folder; cassettes are read from its `download-session/` subfolder.
    #[arg(long, value_name = "DIR", default_value = "cassettes")]
    pub(crate) cassettes: PathBuf,

    #[command(flatten)]
    pub(crate) cassette_limit: CassetteLimitArgs,

    #[command(flatten)]
    pub(crate) listen: ListenArgs,

    /// Answer catalogued operations only for callers holding a live session token from this server (header, cookie, or a JSON-RPC call's securityCtx), as vCenter does; others get 401.
    #[arg(long)]
    pub(crate) require_session: bool,

    /// Move every date-time in replayed sessions by the time between each cassette's recording and the start of this replay.
    #[arg(long)]
    pub(crate) shift_times: bool,

    #[command(flatten)]
    pub(crate) summary: SummaryArgs,

    #[command(flatten)]
    pub(crate) redact: RedactArgs,

    /// Exit with code 3 at shutdown if any call had no recording or any request hit a route no cassette covers.
    #[arg(long)]
    pub(crate) fail_on_miss: bool,

    /// Do not answer from the tape (the exchanges recorded outside the catalog): such requests are unrecorded routes.
    #[arg(long)]
    pub(crate) no_tape: bool,

    /// Answer only from recorded exchanges: a session id keeps the recorded session its create chose, and nothing is derived (no x-dsvcr-derived answers).
    #[arg(long)]
    pub(crate) strict: bool,

    #[command(flatten)]
    pub(crate) ignore: IgnoreArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The lab vCenter: https://HOST[:PORT] or http://…; a path, if any, is put before every forwarded path.
    #[arg(long, value_name = "URL")]
    pub(crate) upstream: UpstreamUrl,

    /// Cassette folder to record into (created if missing); cassettes go in its `download-session/` subfolder.
    #[arg(long, value_name = "DIR", default_value = "cassettes")]
    pub(crate) cassettes: PathBuf,

    #[command(flatten)]
    pub(crate) cassette_limit: CassetteLimitArgs,

    #[command(flatten)]
    pub(crate) listen: ListenArgs,

    /// Trust only the certificates in this PEM file for the upstream (instead of the system and webpki roots): CAs, or the very certificate the lab presents (a self-signed one included).
    #[arg(long, value_name = "PEM", conflicts_with_all = ["insecure", "upstream_thumbprint"])]
    pub(crate) ca_cert: Option<PathBuf>,

    /// Accept the upstream certificate whose SHA-256 (64 hex digits) or SHA-1 (40, as `govc about.cert -thumbprint` prints it) thumbprint is this, ':' optional; chain and host name are not checked.
    #[arg(long, value_name = "THUMBPRINT", conflicts_with = "insecure")]
    pub(crate) upstream_thumbprint: Option<Thumbprint>,

    /// Do not verify the upstream certificate at all (logged as a warning at start).
    #[arg(long)]
    pub(crate) insecure: bool,

    /// Seconds to wait for the upstream's answer, and the longest silence in a streamed body (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub(crate) upstream_timeout: Duration,

    /// Seconds to wait for a connection to the upstream to open.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub(crate) upstream_connect_timeout: Duration,

    /// Answer calls that already have a recording from the cassettes without asking the upstream, and record only the rest (VCR's "new episodes" mode).
    #[arg(long, conflicts_with = "replace")]
    pub(crate) new_episodes: bool,

    /// The same as --rerecord replace (the default).
    #[arg(long, conflicts_with = "rerecord")]
    pub(crate) replace: bool,

    /// What recording into a cassette that existed when the run started does: replace (the default; the cassette starts afresh, as a whole, at this run's first answer for it, so two recordings never mix in one timeline), append (to its timelines; the default with --new-episodes) or keep (leave it untouched; the answer still reaches the client).
    #[arg(long, value_name = "MODE", value_enum, conflicts_with = "new_episodes")]
    pub(crate) rerecord: Option<RerecordMode>,

    /// Forward requests outside the catalog (other API calls) without taping them.
    #[arg(long)]
    pub(crate) no_tape: bool,

    #[command(flatten)]
    pub(crate) summary: SummaryArgs,

    #[command(flatten)]
    pub(crate) redact: RedactArgs,

    #[command(flatten)]
    pub(crate) ignore: IgnoreArgs,
}

/// `--rerecord`'s choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RerecordMode {
    Replace,
    Append,
    Keep,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!(
            "{text:?} must be more than 0 and at most 86400 seconds"
        ))
    }
}

/// A name to redact: letters, digits, `_`, `-` and `.`, as field and header names are.
fn parse_redact_name(text: &str) -> Result<String, String> {
    let plain = text
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || b"_-.".contains(&byte));
    if plain && text.bytes().any(|byte| byte.is_ascii_alphanumeric()) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a field, header or parameter name (letters, digits, '_', '-', '.')"
        ))
    }
}

fn parse_positive_u64(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{text:?} is not a whole number above 0")),
    }
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{text:?} is not a whole number above 0")),
    }
}

fn parse_buffer_bytes(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (8192..=16 * 1024 * 1024).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} must be a number of bytes from 8192 to 16777216"
        )),
    }
}

/// hyper reads a request head into one buffer of at least 8 KiB.
fn parse_header_bytes(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (8192..=1024 * 1024).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} must be a number of bytes from 8192 to 1048576"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_reports_a_usage_error_naming_the_flag() {
        use clap::Parser;
        let err = Cli::try_parse_from([
            "dsvcr",
            "record",
            "--upstream",
            "http://admin:s3cret@vc:99999",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "error: invalid value 'http://***@vc:99999' for '--upstream <URL>': must not hold a \
             user name or password (USER:PASSWORD@); dsvcr forwards each client's own credentials\n\n\
             Usage: dsvcr record [OPTIONS] --upstream <URL>\n\n\
             For more information, try '--help'.\n"
        );
    }
}
