//! The recorded answers, held in memory with a cursor per timeline: what replay answers
//! from, and what record's `--new-episodes` mode answers known calls from.
//!
//! - Each session's operations replay in recorded order, per operation and per file
//!   name, repeating the last answer.
//! - A create for library item L answers the id recorded for L's first create, the
//!   second create the second id, and so on; a client token recorded with a create
//!   selects that create whatever the order. Past the last recorded create, the last id
//!   is answered again.
//! - A replayed successful delete ends its session: later calls on that id answer
//!   `not_found` until a reset.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;

use crate::cassette::{CallCassette, Cassette, Cassettes, Entry, TapeCassette};
use crate::exchange::{PreparedTapeAnswer, TapeKey};
use crate::protocol::Unencodable;
use crate::vapi::wire::Encoding;
use crate::vapi::{Answer, Call, CallKey, ErrorKind, LocalizableMessage, Op, SessionId, VapiError};

/// Every cassette of a folder, ready to answer calls.
pub(crate) struct Timelines {
    sessions: HashMap<SessionId, Session>,
    /// Call cassettes' timelines by operation, then key (looked up without copying a key).
    calls: HashMap<Op, HashMap<CallKey, Timeline>>,
    /// Taped exchanges by canonical key.
    tapes: HashMap<String, Timeline<PreparedTapeAnswer>>,
    creates: HashMap<String, Creates>,
    not_found: NotFoundTemplate,
}

/// What a call finds.
// A made answer is rare (creates, deleted sessions); boxing it would cost more than it saves.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Found<'a> {
    /// A recorded answer.
    Played(&'a Played),
    /// An answer made from the recordings (a create's id, a deleted session's not_found).
    Made(Answer),
}

/// Why a call finds nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Missing {
    /// No cassette for the session id.
    Session,
    /// The session has no recording of this operation (for this file).
    Operation,
    /// No create was recorded for the library item.
    Item,
    /// No recording of this call (a list with this filter).
    Call,
}

struct Session {
    tracks: Vec<Track>,
    deleted: AtomicBool,
    used: AtomicBool,
    /// The `not_found` recorded for this session, if any: the wording after a delete.
    recorded_not_found: Option<VapiError>,
}

struct Track {
    op: Op,
    file: Option<Box<str>>,
    timeline: Timeline,
}

/// The sessions recorded for one library item, in create order.
struct Creates {
    sessions: Vec<(SessionId, Option<String>)>,
    next: AtomicUsize,
}

impl Timelines {
    pub(crate) fn new(cassettes: Cassettes) -> Self {
        let not_found = NotFoundTemplate::from_recordings(&cassettes.sessions);
        let creates = creates_of(&cassettes.sessions);
        let sessions = cassettes
            .sessions
            .into_iter()
            .map(|cassette| (cassette.id.clone(), Session::new(cassette)))
            .collect();
        let mut calls: HashMap<Op, HashMap<CallKey, Timeline>> = HashMap::new();
        for CallCassette {
            op, key, responses, ..
        } in cassettes.calls
        {
            calls
                .entry(op)
                .or_default()
                .insert(key, Timeline::new(responses));
        }
        let tapes = cassettes
            .tapes
            .into_iter()
            .map(
                |TapeCassette {
                     request, responses, ..
                 }| {
                    let entries = responses
                        .into_iter()
                        .map(|entry| (entry.repeat, entry.answer.prepared()));
                    (request.canonical(), Timeline::of(entries))
                },
            )
            .collect();
        Timelines {
            sessions,
            calls,
            tapes,
            creates,
            not_found,
        }
    }

    pub(crate) fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the call has a recording to answer from.
    pub(crate) fn covers(&self, call: &Call) -> bool {
        match (&call.key, call.op) {
            (CallKey::Create { item, .. }, _) => {
                self.creates.contains_key(item)
                    || self.call_timeline(Op::Create, &create_key(item)).is_some()
            }
            (CallKey::Items(_) | CallKey::Lookup(_), op) => {
                self.call_timeline(op, &call.key).is_some()
            }
            (key, op) => key
                .session()
                .and_then(|id| self.sessions.get(id))
                .is_some_and(|session| session.track(op, key.file()).is_some()),
        }
    }

    /// The answer to `call`, moving its timeline's cursor.
    pub(crate) fn answer(&self, call: &Call) -> Result<Found<'_>, Missing> {
        match &call.key {
            CallKey::Create { item, token } => self.create(item, token.as_deref()),
            CallKey::Items(_) | CallKey::Lookup(_) => self
                .call_timeline(call.op, &call.key)
                .map(|timeline| Found::Played(timeline.next()))
                .ok_or(Missing::Call),
            CallKey::Session(id) => self.session_call(id, call.op, None),
            CallKey::File(id, file) => self.session_call(id, call.op, Some(file)),
        }
    }

    fn call_timeline(&self, op: Op, key: &CallKey) -> Option<&Timeline> {
        self.calls.get(&op)?.get(key)
    }

    fn create(&self, item: &str, token: Option<&str>) -> Result<Found<'_>, Missing> {
        let Some(creates) = self.creates.get(item) else {
            return self
                .call_timeline(Op::Create, &create_key(item))
                .map(|timeline| Found::Played(timeline.next()))
                .ok_or(Missing::Item);
        };
        let by_token = token.and_then(|token| {
            creates
                .sessions
                .iter()
                .find(|(_, recorded)| recorded.as_deref() == Some(token))
        });
        let (id, _) = by_token.unwrap_or_else(|| {
            let turn = creates.next.fetch_add(1, Ordering::Relaxed);
            &creates.sessions[turn.min(creates.sessions.len() - 1)]
        });
        if let Some(session) = self.sessions.get(id) {
            session.used.store(true, Ordering::Relaxed);
        }
        Ok(Found::Made(Answer::Id(id.clone())))
    }

    fn session_call(
        &self,
        id: &SessionId,
        op: Op,
        file: Option<&str>,
    ) -> Result<Found<'_>, Missing> {
        let session = self.sessions.get(id).ok_or(Missing::Session)?;
        session.used.store(true, Ordering::Relaxed);
        if session.deleted.load(Ordering::Relaxed) {
            let error = session
                .recorded_not_found
                .clone()
                .unwrap_or_else(|| self.not_found.for_id(id));
            return Ok(Found::Made(Answer::Error { status: 404, error }));
        }
        let track = session.track(op, file).ok_or(Missing::Operation)?;
        let played = track.timeline.next();
        if op == Op::Delete && played.answer.is_success() {
            session.deleted.store(true, Ordering::Relaxed);
        }
        Ok(Found::Played(played))
    }

    /// The next taped answer to a request with this key, if it was taped.
    pub(crate) fn taped(&self, key: &TapeKey) -> Option<&PreparedTapeAnswer> {
        self.tapes.get(&key.canonical()).map(Timeline::next)
    }

    /// vCenter's `not_found` for a session id nothing recorded.
    pub(crate) fn not_found(&self, id: &SessionId) -> VapiError {
        self.not_found.for_id(id)
    }

    /// Rewinds one session (its timelines, and undoes its delete), or everything (every
    /// timeline, every delete and the create order). `None` if `id` has no cassette.
    pub(crate) fn rewind(&self, id: Option<&SessionId>) -> Option<usize> {
        match id {
            Some(id) => {
                self.sessions.get(id)?.rewind();
                Some(1)
            }
            None => {
                self.sessions.values().for_each(Session::rewind);
                self.calls
                    .values()
                    .flat_map(HashMap::values)
                    .for_each(Timeline::rewind);
                self.tapes.values().for_each(Timeline::rewind);
                for creates in self.creates.values() {
                    creates.next.store(0, Ordering::Relaxed);
                }
                Some(self.sessions.len())
            }
        }
    }

    /// The session ids no call was answered from, sorted.
    pub(crate) fn unused(&self) -> Vec<String> {
        let mut unused: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, session)| !session.used.load(Ordering::Relaxed))
            .map(|(id, _)| id.to_string())
            .collect();
        unused.sort();
        unused
    }
}

fn create_key(item: &str) -> CallKey {
    CallKey::Create {
        item: item.to_owned(),
        token: None,
    }
}

fn creates_of(cassettes: &[Cassette]) -> HashMap<String, Creates> {
    let mut by_item: HashMap<String, Vec<(u32, &Cassette)>> = HashMap::new();
    for cassette in cassettes {
        if let Some(create) = &cassette.create {
            by_item
                .entry(create.library_item_id.clone())
                .or_default()
                .push((create.order, cassette));
        }
    }
    by_item
        .into_iter()
        .map(|(item, mut sessions)| {
            // Orders can repeat across recording runs; ties go by recording time, then id.
            sessions.sort_by(|(a_order, a), (b_order, b)| {
                (a_order, &a.recorded.at, &a.id).cmp(&(b_order, &b.recorded.at, &b.id))
            });
            let sessions = sessions
                .into_iter()
                .map(|(_, cassette)| {
                    let token = cassette
                        .create
                        .as_ref()
                        .and_then(|c| c.client_token.clone());
                    (cassette.id.clone(), token)
                })
                .collect();
            (
                item,
                Creates {
                    sessions,
                    next: AtomicUsize::new(0),
                },
            )
        })
        .collect()
}

impl Session {
    fn new(cassette: Cassette) -> Self {
        let recorded_not_found = cassette.timelines.iter().find_map(|track| {
            track
                .responses
                .iter()
                .find_map(|entry| match &entry.answer {
                    Answer::Error { error, .. } if error.kind == ErrorKind::NotFound => {
                        Some(error.clone())
                    }
                    _ => None,
                })
        });
        let tracks = cassette
            .timelines
            .into_iter()
            .map(|track| Track {
                op: track.op,
                file: track.file_name.map(String::into_boxed_str),
                timeline: Timeline::new(track.responses),
            })
            .collect();
        Session {
            tracks,
            deleted: AtomicBool::new(false),
            used: AtomicBool::new(false),
            recorded_not_found,
        }
    }

    fn track(&self, op: Op, file: Option<&str>) -> Option<&Track> {
        self.tracks
            .iter()
            .find(|track| track.op == op && track.file.as_deref() == file)
    }

    fn rewind(&self) {
        self.tracks.iter().for_each(|track| track.timeline.rewind());
        self.deleted.store(false, Ordering::Relaxed);
    }
}

/// One timeline's answers with a cursor: the n-th call gets the n-th answer (counting
/// repeats), and every call after the last gets the last.
pub(crate) struct Timeline<T = Played> {
    entries: Vec<T>,
    /// `ends[i]` is the number of calls answered once entry `i` is used up.
    ends: Vec<u64>,
    served: AtomicU64,
}

impl Timeline<Played> {
    fn new(responses: Vec<Entry>) -> Self {
        Timeline::of(
            responses
                .into_iter()
                .map(|entry| (entry.repeat, Played::new(entry.answer))),
        )
    }
}

impl<T> Timeline<T> {
    /// A timeline of `(repeat, answer)` entries.
    fn of(entries: impl ExactSizeIterator<Item = (u32, T)>) -> Self {
        let mut end = 0;
        let mut ends = Vec::with_capacity(entries.len());
        let mut answers = Vec::with_capacity(entries.len());
        for (repeat, answer) in entries {
            end += u64::from(repeat);
            ends.push(end);
            answers.push(answer);
        }
        Timeline {
            entries: answers,
            ends,
            served: AtomicU64::new(0),
        }
    }

    fn rewind(&self) {
        self.served.store(0, Ordering::Relaxed);
    }

    fn next(&self) -> &T {
        let turn = self.served.fetch_add(1, Ordering::Relaxed);
        let index = self.ends.partition_point(|&end| end <= turn);
        &self.entries[index.min(self.entries.len() - 1)]
    }
}

/// A recorded answer, rendered once per encoding on first use (or found not to fit the
/// encoding: a library or item model its vAPI schema does not take).
pub(crate) struct Played {
    pub(crate) answer: Answer,
    rendered: [OnceLock<Result<Bytes, Unencodable>>; Encoding::COUNT],
    /// The answer with its download endpoints pointed at dsvcr, rendered for the authority
    /// clients last reached dsvcr by (in practice there is one): polling a file does not
    /// redo the rewrite and the rendering every time.
    pointed: Mutex<Option<Box<Pointed>>>,
}

struct Pointed {
    authority: String,
    rendered: [Option<Bytes>; Encoding::COUNT],
}

impl Played {
    fn new(answer: Answer) -> Self {
        Played {
            answer,
            rendered: Default::default(),
            pointed: Mutex::new(None),
        }
    }

    /// The answer as `op` answers in `encoding`.
    pub(crate) fn body(&self, op: Op, encoding: Encoding) -> Result<Bytes, Unencodable> {
        self.rendered[encoding.index()]
            .get_or_init(|| crate::protocol::answer(op, &self.answer, encoding))
            .clone()
    }

    /// The answer `point` makes for clients reaching dsvcr at `authority`, rendered in
    /// `encoding` as `op` answers; kept for the next call from the same authority.
    pub(crate) fn body_pointed(
        &self,
        op: Op,
        authority: &str,
        encoding: Encoding,
        point: impl FnOnce() -> Answer,
    ) -> Result<Bytes, Unencodable> {
        let mut pointed = self.pointed.lock().expect("never poisoned");
        let kept = pointed
            .as_deref_mut()
            .filter(|kept| kept.authority == authority);
        if let Some(bytes) = kept.and_then(|kept| kept.rendered[encoding.index()].clone()) {
            return Ok(bytes);
        }
        let bytes = crate::protocol::answer(op, &point(), encoding)?;
        let kept = match pointed.take() {
            Some(kept) if kept.authority == authority => kept,
            _ => Box::new(Pointed {
                authority: authority.to_owned(),
                rendered: Default::default(),
            }),
        };
        let kept = pointed.insert(kept);
        kept.rendered[encoding.index()] = Some(bytes.clone());
        Ok(bytes)
    }
}

/// The wording of synthetic `not_found`s: vCenter's own, taken from the first recorded
/// `not_found` answer (in id order) whose message names its session id, or dsvcr's when
/// none was recorded.
struct NotFoundTemplate {
    /// The id the recorded message was about, to be replaced by the missing id.
    recorded_id: Option<String>,
    message: LocalizableMessage,
}

const DEFAULT_NOT_FOUND_ID: &str = "dsvcr.download_session.not_found";

/// Shorter recorded ids are not used as templates: replacing them inside a message
/// would hit other words.
const MIN_TEMPLATE_ID_BYTES: usize = 4;

impl NotFoundTemplate {
    fn from_recordings(cassettes: &[Cassette]) -> Self {
        let recorded = cassettes
            .iter()
            .filter(|cassette| cassette.id.as_str().len() >= MIN_TEMPLATE_ID_BYTES)
            .find_map(|cassette| {
                let id = cassette.id.as_str();
                cassette
                    .timelines
                    .iter()
                    .flat_map(|track| &track.responses)
                    .find_map(|entry| match &entry.answer {
                        Answer::Error { error, .. } if error.kind == ErrorKind::NotFound => error
                            .messages
                            .first()
                            .filter(|message| names(message, id))
                            .map(|message| (id.to_owned(), message.clone())),
                        _ => None,
                    })
            });
        match recorded {
            Some((recorded_id, message)) => NotFoundTemplate {
                recorded_id: Some(recorded_id),
                message,
            },
            None => NotFoundTemplate {
                recorded_id: None,
                message: LocalizableMessage::new(DEFAULT_NOT_FOUND_ID, String::new(), Vec::new()),
            },
        }
    }

    fn for_id(&self, id: &SessionId) -> VapiError {
        let id = id.as_str();
        let message = match &self.recorded_id {
            Some(recorded_id) => {
                let substitute = |text: &str| replace_token(text, recorded_id, id);
                LocalizableMessage {
                    args: self
                        .message
                        .args
                        .iter()
                        .map(|arg| {
                            if arg == recorded_id {
                                id.to_owned()
                            } else {
                                arg.clone()
                            }
                        })
                        .collect(),
                    default_message: substitute(&self.message.default_message),
                    id: self.message.id.clone(),
                    localized: self.message.localized.as_deref().map(substitute),
                    params: self.message.params.clone(),
                }
            }
            None => LocalizableMessage::new(
                DEFAULT_NOT_FOUND_ID,
                format!("No download session with id {id} exists (dsvcr has no cassette for it)."),
                vec![id.to_owned()],
            ),
        };
        VapiError::new(ErrorKind::NotFound, message)
    }
}

/// Whether a message names `id`: as a whole argument, or as a token of its text.
fn names(message: &LocalizableMessage, id: &str) -> bool {
    message.args.iter().any(|arg| arg == id)
        || replace_token(&message.default_message, id, "") != message.default_message
}

/// `text` with every occurrence of `token` that stands alone (not inside a longer id)
/// replaced by `with`.
fn replace_token(text: &str, token: &str, with: &str) -> String {
    let is_id_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(token) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + token.len()..].chars().next();
        out.push_str(&rest[..at]);
        let alone = !before.is_some_and(is_id_char) && !after.is_some_and(is_id_char);
        out.push_str(if alone { with } else { token });
        rest = &rest[at + token.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_only_where_they_stand_alone() {
        assert_eq!(
            replace_token("Session obj-1 not found (obj-10, xobj-1).", "obj-1", "S"),
            "Session S not found (obj-10, xobj-1)."
        );
        assert_eq!(replace_token("obj-1", "obj-1", "S"), "S");
        assert_eq!(replace_token("'obj-1'.", "obj-1", "S"), "'S'.");
    }
}
