//! What record does with answers it does not write: taped answers it refuses, and
//! recordings `--rerecord keep` leaves out.

use http::header::CONTENT_ENCODING;
use http::StatusCode;
use tracing::info;

use super::declared_length;
use crate::cassette::StoreError;
use crate::exchange::MAX_TAPED_ANSWER_BYTES;
use crate::stats::{NotRecorded, Stats};

/// A recording the run was asked to leave out (`--rerecord keep`): the client's answer
/// stands, and the summary lists it, by design.
pub(super) fn kept(
    stats: &Stats,
    operation: &'static str,
    key: &dyn std::fmt::Display,
    err: &StoreError,
) {
    info!(operation, key = %key, "not recorded: {err}");
    let entry = NotRecorded {
        operation,
        id: key.to_string(),
        reason: err.to_string(),
    };
    stats.not_recorded(entry, true);
}

/// Why an answer cannot be taped whatever its body, if it cannot.
pub(super) fn untapeable(answer: &http::response::Parts) -> Option<String> {
    if answer.status == StatusCode::UNAUTHORIZED || answer.status == StatusCode::FORBIDDEN {
        // A wrong path prefix or a call before login: replaying it would refuse forever.
        return Some(format!(
            "upstream answered {}, which is never taped",
            answer.status
        ));
    }
    if let Some(encoding) = answer
        .headers
        .get(CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .filter(|encoding| !encoding.eq_ignore_ascii_case("identity"))
    {
        return Some(format!("the answer is {encoding}-encoded"));
    }
    declared_length(&answer.headers)
        .filter(|length| *length > MAX_TAPED_ANSWER_BYTES as u64)
        .map(|length| format!("the answer is {length} bytes, over {MAX_TAPED_ANSWER_BYTES}"))
}
