//! Forwarded calls that got no usable answer from the vCenter (the 502s and 504s record
//! gives), counted by reason for the health endpoint, the run summary and the exit code.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use super::UpstreamError;

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
    /// Counts `err` and hands it back.
    pub(crate) fn note(&self, err: UpstreamError) -> UpstreamError {
        let mut seen = self.seen.lock().expect("never poisoned");
        seen.count += 1;
        *seen.by_reason.entry(err.reason()).or_default() += 1;
        if seen.first.len() < MAX_FAILURE_EXAMPLES {
            seen.first.push(err.to_string());
        }
        err
    }

    pub(crate) fn snapshot(&self) -> UpstreamFailures {
        self.seen.lock().expect("never poisoned").clone()
    }
}

impl UpstreamError {
    /// The reason this failure is counted under.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            UpstreamError::Tls { .. } | UpstreamError::HandshakeEnded { .. } => "tls",
            UpstreamError::Unreachable { .. } => "unreachable",
            UpstreamError::TimedOut { .. } => "timeout",
            UpstreamError::ConnectTimedOut { .. } => "connect_timeout",
            UpstreamError::Broken { .. } => "broken",
            UpstreamError::TooLarge { .. } => "too_large",
            UpstreamError::SelfLoop { .. } => "self_loop",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timed_out(n: u64) -> UpstreamError {
        UpstreamError::TimedOut {
            upstream: format!("http://lab-{n}"),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn failures_are_counted_by_reason_and_the_first_are_kept() {
        let failures = Failures::default();
        for n in 0..12 {
            failures.note(timed_out(n));
        }
        failures.note(UpstreamError::TooLarge {
            upstream: "http://lab".to_owned(),
            limit: 4,
        });
        let seen = failures.snapshot();
        assert_eq!(seen.count, 13);
        assert_eq!(
            seen.by_reason,
            BTreeMap::from([("timeout", 12), ("too_large", 1)])
        );
        assert_eq!(seen.first.len(), MAX_FAILURE_EXAMPLES);
        assert_eq!(
            seen.first[0],
            "upstream http://lab-0 did not answer within 1s"
        );
    }
}
