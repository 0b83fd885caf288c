//! Counters for the health endpoint and the run summary.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::text::shorten_to;
use crate::vapi::{Call, Form, Op};

/// Distinct missed calls kept for the summary; a client asking for endless new ids must
/// not grow memory without bound. The miss count keeps counting.
pub(crate) const MAX_MISSED_IDS: usize = 1000;

/// Longest name of a miss kept for the summary, in bytes (before the `…` that marks a cut).
pub(crate) const MAX_MISSED_NAME_BYTES: usize = 1024;

/// Distinct unrecorded routes (method and path) kept for the summary.
pub(crate) const MAX_UNRECORDED_ROUTES: usize = 100;

/// Answers not recorded kept for the summary.
pub(crate) const MAX_NOT_RECORDED: usize = 100;

/// What happened in this run. Shared by the services; cheap to update.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    by_operation: [AtomicU64; Op::ALL.len()],
    by_form: [AtomicU64; Form::ALL.len()],
    hits: AtomicU64,
    /// Answers derived from the recordings, by rule (the operation).
    derived: [AtomicU64; Op::ALL.len()],
    misses: AtomicU64,
    missed_ids: Mutex<BTreeSet<String>>,
    unrecorded: AtomicU64,
    unrecorded_routes: Mutex<BTreeSet<String>>,
    recordings: AtomicU64,
    written: Mutex<BTreeSet<String>>,
    not_recorded: AtomicU64,
    /// Of `not_recorded`, those refused for a reason other than "not recordable by design".
    refused: AtomicU64,
    not_recorded_list: Mutex<Vec<NotRecorded>>,
    /// Values replaced by the placeholder before they were written.
    redacted: AtomicU64,
    /// Upstream connections opened (record mode); shared with the upstream connector.
    pub(crate) upstream_connections: Arc<AtomicU64>,
    /// Forwarded calls that got no usable answer (record mode); shared with the upstream
    /// client.
    pub(crate) upstream_failures: Arc<Failures>,
}

/// An answer of a recorded operation that did not reach a cassette.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct NotRecorded {
    pub(crate) operation: &'static str,
    /// The session id or other key of the call.
    pub(crate) id: String,
    pub(crate) reason: String,
}

impl Stats {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Stats::default())
    }

    /// Counts a recognised call.
    pub(crate) fn request(&self, call: &Call) {
        self.by_operation[op_index(call.op)].fetch_add(1, Ordering::Relaxed);
        if let Some(form) = call.form {
            let index = Form::ALL
                .iter()
                .position(|known| *known == form)
                .expect("every form is in Form::ALL");
            self.by_form[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn hit(&self) {
        crate::access::mark(crate::access::Outcome::Hit);
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an answer derived from the recordings under its rule, the operation.
    pub(crate) fn derived(&self, op: Op) {
        self.derived[op_index(op)].fetch_add(1, Ordering::Relaxed);
    }

    fn derived_counts(&self) -> Derived {
        let by_rule: BTreeMap<&'static str, u64> = Op::ALL
            .iter()
            .zip(&self.derived)
            .map(|(op, count)| (op.label(), count.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect();
        Derived {
            count: by_rule.values().sum(),
            by_rule,
        }
    }

    /// Counts a miss; `what` names it in the summary (a session id, or the operation
    /// and its key, cut to [`MAX_MISSED_NAME_BYTES`]: a lookup's key is a client's whole
    /// body). True the first time `what` missed (while the list has room), so that a miss
    /// is logged once, not once per request.
    pub(crate) fn miss(&self, what: String) -> bool {
        crate::access::mark(crate::access::Outcome::Miss);
        self.misses.fetch_add(1, Ordering::Relaxed);
        let what = shorten_to(what, MAX_MISSED_NAME_BYTES);
        let mut missed = self.missed_ids.lock().expect("never poisoned");
        missed.len() < MAX_MISSED_IDS && missed.insert(what)
    }

    /// Counts a request on a route no cassette covers; true the first time for this
    /// method and path (while the list has room).
    pub(crate) fn unrecorded_route(&self, method: &http::Method, path: &str) -> bool {
        crate::access::mark(crate::access::Outcome::Miss);
        self.unrecorded.fetch_add(1, Ordering::Relaxed);
        let mut routes = self.unrecorded_routes.lock().expect("never poisoned");
        // A JSON-RPC route names the operation the client's body gave: kept cut short.
        routes.len() < MAX_UNRECORDED_ROUTES
            && routes.insert(shorten_to(
                format!("{method} {path}"),
                MAX_MISSED_NAME_BYTES,
            ))
    }

    pub(crate) fn recorded(&self, file: String) {
        self.recordings.fetch_add(1, Ordering::Relaxed);
        self.written.lock().expect("never poisoned").insert(file);
    }

    /// Counts an answer that was not recorded; `by_design` when it is an answer dsvcr
    /// never records (a 401, a 5xx, a page that is not a vAPI answer).
    pub(crate) fn not_recorded(&self, entry: NotRecorded, by_design: bool) {
        self.not_recorded.fetch_add(1, Ordering::Relaxed);
        if !by_design {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        let mut list = self.not_recorded_list.lock().expect("never poisoned");
        if list.len() < MAX_NOT_RECORDED {
            list.push(entry);
        }
    }

    /// Counts values redacted in what was written.
    pub(crate) fn redacted(&self, count: usize) {
        self.redacted.fetch_add(count as u64, Ordering::Relaxed);
    }

    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Answers not recorded for a reason other than "not recordable by design".
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    pub(crate) fn health(&self, mode: &'static str, cassettes: usize) -> Health {
        Health {
            mode,
            cassettes,
            hits: self.hits.load(Ordering::Relaxed),
            derived: self.derived_counts(),
            misses: self.misses(),
            unrecorded: self.unrecorded.load(Ordering::Relaxed),
            recordings: self.recordings.load(Ordering::Relaxed),
            not_recorded: self.not_recorded.load(Ordering::Relaxed),
            upstream_connections: self.upstream_connections.load(Ordering::Relaxed),
            upstream_failures: self.upstream_failures.snapshot(),
        }
    }

    /// The run summary; `unused` are the cassettes no request was answered from.
    pub(crate) fn summary(&self, health: Health, unused: Vec<String>) -> Summary {
        let requests_by_operation = Op::ALL
            .iter()
            .zip(&self.by_operation)
            .map(|(op, count)| (op.label(), count.load(Ordering::Relaxed)))
            .collect();
        let requests_by_form = Form::ALL
            .iter()
            .zip(&self.by_form)
            .map(|(form, count)| (form.label(), count.load(Ordering::Relaxed)))
            .collect();
        Summary {
            health,
            requests_by_operation,
            requests_by_form,
            missed_ids: sorted(&self.missed_ids),
            unrecorded_routes: sorted(&self.unrecorded_routes),
            not_recorded: self
                .not_recorded_list
                .lock()
                .expect("never poisoned")
                .clone(),
            unused_cassettes: unused,
            cassettes_written: sorted(&self.written),
            redacted: self.redacted.load(Ordering::Relaxed),
        }
    }
}

fn op_index(op: Op) -> usize {
    Op::ALL
        .iter()
        .position(|known| *known == op)
        .expect("every operation is in Op::ALL")
}

fn sorted(set: &Mutex<BTreeSet<String>>) -> Vec<String> {
    set.lock()
        .expect("never poisoned")
        .iter()
        .cloned()
        .collect()
}

/// The body of `GET /__dsvcr/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Health {
    pub(crate) mode: &'static str,
    pub(crate) cassettes: usize,
    pub(crate) hits: u64,
    /// Answers derived from the recordings (replay).
    pub(crate) derived: Derived,
    pub(crate) misses: u64,
    /// Requests on routes no cassette covers (replay).
    pub(crate) unrecorded: u64,
    pub(crate) recordings: u64,
    /// Answers of recorded operations that did not reach a cassette (record).
    pub(crate) not_recorded: u64,
    pub(crate) upstream_connections: u64,
    /// Forwarded calls that got no usable answer (record), by reason.
    pub(crate) upstream_failures: UpstreamFailures,
}

/// The run summary written at shutdown (`--summary FILE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    /// The health counters, with the count of answers not recorded as
    /// `not_recorded_count`: `not_recorded` is their list.
    #[serde(flatten, serialize_with = "counts_in_summary")]
    pub(crate) health: Health,
    /// Calls per catalogued operation, e.g. `download_session.create`.
    pub(crate) requests_by_operation: BTreeMap<&'static str, u64>,
    /// `download_session.get` calls per request form (`A`, `B`, `C/json`, `C/xml`,
    /// `C/query`, `D`).
    pub(crate) requests_by_form: BTreeMap<&'static str, u64>,
    /// What missed, at most [`MAX_MISSED_IDS`]: a session id for a `get`, otherwise the
    /// operation and its key.
    pub(crate) missed_ids: Vec<String>,
    /// `METHOD /path` of requests no cassette covers, at most [`MAX_UNRECORDED_ROUTES`].
    pub(crate) unrecorded_routes: Vec<String>,
    /// Answers not recorded, with why, at most [`MAX_NOT_RECORDED`].
    pub(crate) not_recorded: Vec<NotRecorded>,
    pub(crate) unused_cassettes: Vec<String>,
    pub(crate) cassettes_written: Vec<String>,
    /// Values (fields, query parameters, XML elements, private keys) replaced by the
    /// placeholder in what this run wrote.
    pub(crate) redacted: u64,
}

/// [`Health`] as the summary writes it.
#[derive(Serialize)]
struct SummaryCounts<'a> {
    mode: &'a str,
    cassettes: usize,
    hits: u64,
    derived: &'a Derived,
    misses: u64,
    unrecorded: u64,
    recordings: u64,
    not_recorded_count: u64,
    upstream_connections: u64,
    upstream_failures: &'a UpstreamFailures,
}

fn counts_in_summary<S: serde::Serializer>(health: &Health, to: S) -> Result<S::Ok, S::Error> {
    SummaryCounts {
        mode: health.mode,
        cassettes: health.cassettes,
        hits: health.hits,
        derived: &health.derived,
        misses: health.misses,
        unrecorded: health.unrecorded,
        recordings: health.recordings,
        not_recorded_count: health.not_recorded,
        upstream_connections: health.upstream_connections,
        upstream_failures: &health.upstream_failures,
    }
    .serialize(to)
}

/// What `derived` says in the health answer and the run summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Derived {
    pub(crate) count: u64,
    /// Answers per rule, named by the operation, e.g. `library.item.find`.
    pub(crate) by_rule: BTreeMap<&'static str, u64>,
}

/// Forwarded calls that got no usable answer from the vCenter (the 502s and 504s record
/// gives), counted by reason for the health endpoint, the run summary and the exit code.
/// Failures whose message the summary keeps; the count keeps counting.
pub(crate) const MAX_FAILURE_EXAMPLES: usize = 10;

/// The failures of one run. Shared by the upstream client and the counters.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    seen: Mutex<UpstreamFailures>,
}

/// What `upstream_failures` says in the health answer and the run summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct UpstreamFailures {
    pub(crate) count: u64,
    /// Failures per reason: `unreachable`, `tls`, `timeout`, `connect_timeout`,
    /// `broken` (failed mid-answer), `too_large`, `self_loop` (a download link naming
    /// dsvcr itself).
    pub(crate) by_reason: BTreeMap<&'static str, u64>,
    /// The first failures' messages, at most [`MAX_FAILURE_EXAMPLES`].
    pub(crate) first: Vec<String>,
}

impl Failures {
    /// Counts a failure under `reason`, keeping its message while there is room.
    pub(crate) fn note(&self, reason: &'static str, message: impl FnOnce() -> String) {
        let mut seen = self.seen.lock().expect("never poisoned");
        seen.count += 1;
        *seen.by_reason.entry(reason).or_default() += 1;
        if seen.first.len() < MAX_FAILURE_EXAMPLES {
            seen.first.push(message());
        }
    }

    pub(crate) fn snapshot(&self) -> UpstreamFailures {
        self.seen.lock().expect("never poisoned").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary is the health counters plus lists; the count of answers not recorded
    /// and their list must not both be written as `not_recorded` (a JSON object with a
    /// duplicate key, which every reader resolves its own way).
    #[test]
    fn the_summary_has_no_duplicate_keys() {
        let stats = Stats::new();
        stats.not_recorded(
            NotRecorded {
                operation: "download_session.get",
                id: "obj-1".to_owned(),
                reason: "the body is empty".to_owned(),
            },
            false,
        );
        let summary = stats.summary(stats.health("record", 1), Vec::new());
        let text = serde_json::to_string(&summary).unwrap();
        assert_eq!(text.matches("\"not_recorded\":").count(), 1, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["not_recorded"],
            serde_json::json!([{
                "operation": "download_session.get",
                "id": "obj-1",
                "reason": "the body is empty",
            }])
        );
        assert_eq!(value["not_recorded_count"], 1);
        let health = serde_json::to_value(stats.health("record", 1)).unwrap();
        assert_eq!(health["not_recorded"], 1, "health keeps its count");
    }

    /// A lookup's key is the client's body: the summary keeps only the start of it, so
    /// a thousand different 1 MiB lookups cannot hold a gigabyte.
    #[test]
    fn a_long_miss_is_kept_cut_short_and_still_counted_once_per_name() {
        let stats = Stats::new();
        let long = format!("library.find {}", "x".repeat(100_000));
        assert!(stats.miss(long.clone()));
        assert!(!stats.miss(long), "the same miss is logged once");
        assert!(stats.miss("obj-1".to_owned()));
        let summary = stats.summary(stats.health("replay", 0), Vec::new());
        let kept = &summary.missed_ids;
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1], "obj-1");
        let cut = &kept[0];
        assert_eq!(cut.len(), MAX_MISSED_NAME_BYTES + '…'.len_utf8());
        assert!(
            cut.starts_with("library.find xxx") && cut.ends_with('…'),
            "{cut}"
        );
        assert_eq!(stats.misses(), 3);
    }
}
