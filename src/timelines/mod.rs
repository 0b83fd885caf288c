//! The recorded answers, held in memory with a cursor per timeline: what replay answers
//! from, and what record's `--new-episodes` mode answers known calls from.
//!
//! - Each session's operations replay in recorded order, per operation and per file
//!   name, repeating the last answer.
//! - A create for library item L answers the id recorded for L's first create, the
//!   second create the second id, and so on; a client token recorded with a create
//!   selects that create whatever the order. Past the last recorded create, the ids are
//!   answered again in turn, each starting afresh (strict: the last id, where it was).
//! - A session id stands for every recorded session of its item ([`live`]), and what
//!   the recordings settle but nobody recorded is derived ([`lookups`], [`live`]),
//!   unless strict.
//! - A replayed successful delete ends its session: later calls on that id answer
//!   `not_found` until a reset.

mod live;
mod lookups;
mod not_found;

pub(crate) use live::Extra;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;

use crate::cassette::{CallCassette, Cassette, Cassettes, Entry, TapeCassette};
use crate::exchange::{PreparedTapeAnswer, TapeKey};
use crate::protocol::Unencodable;
use crate::vapi::wire::Encoding;
use crate::vapi::{Answer, Call, CallKey, ErrorKind, LocalizableMessage, Op, SessionId, VapiError};
use live::{open_sessions, Session};
use lookups::Facts;
use not_found::NotFoundTemplate;

/// Every cassette of a folder, ready to answer calls.
pub(crate) struct Timelines {
    sessions: HashMap<SessionId, Session>,
    /// Call cassettes' timelines by operation, then key (looked up without copying a key).
    calls: HashMap<Op, HashMap<CallKey, Timeline>>,
    /// Taped exchanges by canonical key.
    tapes: HashMap<String, Timeline<PreparedTapeAnswer>>,
    creates: HashMap<String, Creates>,
    not_found: NotFoundTemplate,
    facts: Facts,
    /// Rebind sessions and derive answers (replay unless `--strict`).
    world: bool,
    /// Client tokens of creates in this replay, with their item and session, at most
    /// [`MAX_REMEMBERED_TOKENS`].
    tokens: Mutex<HashMap<String, (String, SessionId)>>,
}

/// Client tokens remembered to refuse one reused for another item; a client sending endless
/// new tokens must not grow memory without bound.
const MAX_REMEMBERED_TOKENS: usize = 1024;

/// What a call finds.
// A made answer is rare (creates, deleted sessions); boxing it would cost more than it saves.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Found<'a> {
    /// A recorded answer.
    Played(&'a Played),
    /// An answer made from the recordings (a create's id, a deleted session's not_found,
    /// a session's model under the id it was asked for).
    Made(Answer),
    /// An answer nobody recorded, derived from what was (named by the call's operation).
    Derived(Answer),
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
        let mut facts = Facts::default();
        for cassette in cassettes.calls {
            facts.learn(&cassette);
            let CallCassette {
                op, key, responses, ..
            } = cassette;
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
            facts,
            world: false,
            tokens: Mutex::default(),
        }
    }

    /// Binds session ids to any recorded session of their item that can answer, and
    /// derives what the recordings settle but nobody recorded (replay without
    /// `--strict`).
    pub(crate) fn recorded_world(mut self) -> Self {
        self.world = true;
        self
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
                .is_some_and(|session| session.has_track(op, key.file())),
        }
    }

    /// The answer to `call`, moving its timeline's cursor.
    pub(crate) fn answer(
        &self,
        call: &Call,
        extra: &dyn Fn() -> Extra,
    ) -> Result<Found<'_>, Missing> {
        match &call.key {
            CallKey::Create { item, token } => self.create(item, token.as_deref()),
            CallKey::Items(filter) => match self.call_timeline(call.op, &call.key) {
                Some(timeline) => Ok(Found::Played(timeline.next())),
                None if self.world => Ok(Found::Derived(self.open_sessions(filter.as_deref()))),
                None => Err(Missing::Call),
            },
            CallKey::Lookup(input) => match self.call_timeline(call.op, &call.key) {
                Some(timeline) => Ok(Found::Played(timeline.next())),
                None if self.world => self
                    .facts
                    .answer(call.op, input)
                    .map(Found::Derived)
                    .ok_or(Missing::Call),
                None => Err(Missing::Call),
            },
            CallKey::Session(id) => self.session_call(id, call.op, None, extra),
            CallKey::File(id, file) => self.session_call(id, call.op, Some(file), extra),
        }
    }

    fn call_timeline(&self, op: Op, key: &CallKey) -> Option<&Timeline> {
        self.calls.get(&op)?.get(key)
    }

    /// `download_session.list`: the sessions created in this replay, of `item` or all.
    fn open_sessions(&self, item: Option<&str>) -> Answer {
        let mut items: Vec<(&String, &Creates)> = self
            .creates
            .iter()
            .filter(|(created_for, _)| item.is_none_or(|item| item == created_for.as_str()))
            .collect();
        items.sort_by_key(|(item, _)| *item);
        let ids = items
            .into_iter()
            .flat_map(|(_, creates)| creates.sessions.iter().map(|(id, _)| id));
        Answer::Ids(open_sessions(&self.sessions, ids))
    }

    fn create(&self, item: &str, token: Option<&str>) -> Result<Found<'_>, Missing> {
        let Some(creates) = self.creates.get(item) else {
            return self
                .call_timeline(Op::Create, &create_key(item))
                .map(|timeline| Found::Played(timeline.next()))
                .ok_or(Missing::Item);
        };
        let earlier = match token {
            Some(token) if self.world => match self.earlier_create(token) {
                Some((first, _)) if first != item => {
                    return Ok(Found::Derived(token_reused(token, &first)))
                }
                earlier => earlier.map(|(_, id)| id),
            },
            Some(token) => creates
                .sessions
                .iter()
                .find(|(_, recorded)| recorded.as_deref() == Some(token))
                .map(|(id, _)| id.clone()),
            None => None,
        };
        let afresh = self.world && earlier.is_none();
        let id = match earlier {
            Some(id) => id,
            None => {
                let turn = creates.next.fetch_add(1, Ordering::Relaxed);
                let count = creates.sessions.len();
                let index = if self.world {
                    turn % count
                } else {
                    turn.min(count - 1)
                };
                let id = creates.sessions[index].0.clone();
                if let (Some(token), true) = (token, self.world) {
                    self.remember(token, item, &id);
                }
                id
            }
        };
        if let Some(session) = self.sessions.get(&id) {
            session.used.store(true, Ordering::Relaxed);
            // A retry with the same client token asks for the same session.
            session.created(afresh);
        }
        Ok(Found::Made(Answer::Id(id)))
    }

    /// The item and session of the create that `token` was recorded with or first sent
    /// with in this replay.
    fn earlier_create(&self, token: &str) -> Option<(String, SessionId)> {
        let recorded = self.creates.iter().find_map(|(item, creates)| {
            creates
                .sessions
                .iter()
                .find(|(_, recorded)| recorded.as_deref() == Some(token))
                .map(|(id, _)| (item.clone(), id.clone()))
        });
        recorded.or_else(|| {
            let tokens = self.tokens.lock().expect("never poisoned");
            tokens.get(token).cloned()
        })
    }

    fn remember(&self, token: &str, item: &str, id: &SessionId) {
        let mut tokens = self.tokens.lock().expect("never poisoned");
        if tokens.len() < MAX_REMEMBERED_TOKENS {
            tokens.insert(token.to_owned(), (item.to_owned(), id.clone()));
        }
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
                self.tokens.lock().expect("never poisoned").clear();
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

/// vCenter's refusal of a client token already used to create a session for another item.
fn token_reused(token: &str, first_item: &str) -> Answer {
    let message = LocalizableMessage::new(
        "dsvcr.download_session.client_token_reused",
        format!(
            "The client token {token} was already used to create a download session for library item {first_item}."
        ),
        vec![token.to_owned(), first_item.to_owned()],
    );
    Answer::Error {
        status: ErrorKind::AlreadyExists.http_status(),
        error: VapiError::new(ErrorKind::AlreadyExists, message),
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
        self.at(self.served.fetch_add(1, Ordering::Relaxed))
    }

    /// The answer to the call after `turn` earlier ones.
    fn at(&self, turn: u64) -> &T {
        let index = self.ends.partition_point(|&end| end <= turn);
        &self.entries[index.min(self.entries.len() - 1)]
    }
}

/// A recorded answer, rendered once per encoding on first use (or found not to fit the
/// encoding: a library or item model its vAPI schema does not take).
pub(crate) struct Played {
    pub(crate) answer: Answer,
    /// The session whose timeline holds it: its download endpoints name this id.
    pub(crate) owner: Option<SessionId>,
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
            owner: None,
            rendered: Default::default(),
            pointed: Mutex::new(None),
        }
    }

    fn owned(answer: Answer, owner: &SessionId) -> Self {
        Played {
            owner: Some(owner.clone()),
            ..Played::new(answer)
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

#[cfg(test)]
mod tests;
