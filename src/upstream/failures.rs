//! Forwarded calls that got no usable answer from the vCenter (the 502s and 504s record
//! gives), counted by reason for the health endpoint, the run summary and the exit code.

use super::UpstreamError;
use crate::stats::Failures;

impl Failures {
    /// Counts `err` under its reason and hands it back.
    pub(crate) fn noted(&self, err: UpstreamError) -> UpstreamError {
        self.note(err.reason(), || err.to_string());
        err
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
    use crate::stats::MAX_FAILURE_EXAMPLES;
    use std::collections::BTreeMap;
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
            failures.noted(timed_out(n));
        }
        failures.noted(UpstreamError::TooLarge {
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
