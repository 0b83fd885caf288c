//! The bytes of prepared files: download endpoints rewritten to point at dsvcr, fetched
//! and kept as blobs while recording, and served from those blobs in replay.

mod budget;
mod credentials;
mod endpoint;
mod file_body;
mod range;
mod record;
mod replay;
mod self_loop;

pub(crate) use budget::DownloadBudget;
pub(crate) use endpoint::{file_of, names_endpoint, Listener, ListenerCertificate, Origin};
pub(crate) use record::{Fetcher, Keeper};
pub(crate) use replay::Replayed;

use crate::timelines::Found;
use crate::vapi::{Answer, Call, SessionId};

/// A found answer with its download endpoints pointed at dsvcr by `rewrite`. Answers
/// without one keep their once-rendered bytes.
pub(crate) fn through_dsvcr<'a>(
    found: Found<'a>,
    call: &Call,
    rewrite: impl FnOnce(&mut Answer, &SessionId),
) -> Found<'a> {
    let Some(session) = call.key.session() else {
        return found;
    };
    let mut answer = match found {
        Found::Played(played) if names_endpoint(&played.answer) => played.answer.clone(),
        Found::Made(answer) | Found::Derived(answer) => answer,
        played @ Found::Played(_) => return played,
    };
    rewrite(&mut answer, session);
    Found::Made(answer)
}

/// Points the endpoints in `answer` at dsvcr, learning nothing (replay).
pub(crate) fn rewrite(answer: &mut Answer, session: &SessionId, origin: &Origin<'_>) {
    endpoint::rewrite(answer, session, origin);
}
