//! Taped exchanges that cannot be redacted: refused loudly, counted as not recorded
//! (which makes `record` exit 4), and answered 500 `cassette-not-written`.

use std::sync::Arc;

use http::request;
use tracing::error;

use super::Record;
use crate::answers::{ApiError, Refusal};
use crate::exchange::{TapeAnswer, TapeKey};
use crate::redact::{Redacted, Redactor, Unparseable};
use crate::stats::NotRecorded;
use crate::vapi::Style;

impl Record {
    /// Tapes requests and answers redacted with `redactor`'s names.
    pub(crate) fn with_redactor(mut self, redactor: Arc<Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// The tape key of a request, made from its redacted form, and how many values were
    /// redacted in it.
    pub(super) fn tape_key(
        &self,
        parts: &request::Parts,
        body: &[u8],
        style: Style,
    ) -> Result<(TapeKey, usize), Refusal> {
        let key = self
            .redactor
            .tape_key(&parts.method, &parts.uri, &parts.headers, body)
            .map_err(|err| self.untapeable(parts, &err, style))?;
        Ok((key.value, key.count))
    }

    /// A request whose body cannot be redacted: refused before it is forwarded.
    fn untapeable(&self, parts: &request::Parts, err: &Unparseable, style: Style) -> Refusal {
        let what = format!("{} {}", parts.method, parts.uri.path());
        self.refuse_tape(what, err, style)
    }

    /// An answer as the tape keeps it, redacted; one that cannot be is withheld, as an
    /// answer holding a secret is.
    pub(super) fn tape_answer(
        &self,
        key: &TapeKey,
        head: &http::response::Parts,
        body: &[u8],
        style: Style,
    ) -> Result<Redacted<TapeAnswer>, Refusal> {
        self.redactor
            .tape_answer(head, body)
            .map_err(|err| self.refuse_tape(key.to_string(), &err, style))
    }

    fn refuse_tape(&self, what: String, err: &Unparseable, style: Style) -> Refusal {
        error!(request = %what, "not taped: {err}");
        let reason = err.to_string();
        let entry = NotRecorded {
            operation: "tape",
            id: what,
            reason: reason.clone(),
        };
        self.stats.not_recorded(entry, false);
        (ApiError::cassette_not_written(reason), style)
    }
}
