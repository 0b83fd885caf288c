//! What replay did with each session id it handed out: which recorded session answers for
//! it, how many calls of each operation it answered, and the effects of the session
//! operations dsvcr derived (a delete, a cancel, a fail, a keep-alive).
//!
//! A replayed create for library item X stands for every recorded session of X. Calls are
//! answered from the session chosen so far; when it has no recording of the operation (or
//! file) asked for and another recorded session of X has, and that one also recorded every
//! operation already answered, the id is bound to that one from then on, at the same turn
//! of each timeline.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::{Found, Missing, Played, Timeline, Timelines};
use crate::cassette::Cassette;
use crate::text::shorten_to;
use crate::vapi::model::SessionState;
use crate::vapi::{
    Answer, DownloadSession, ErrorKind, LocalizableMessage, Op, SessionId, VapiError,
};

/// One recorded session, and what replay did with its id.
pub(super) struct Session {
    /// The library item it was created for, if its create was recorded.
    pub(super) item: Option<String>,
    tracks: Vec<Track>,
    pub(super) used: AtomicBool,
    /// The `not_found` recorded for this session, if any: the wording after a delete.
    pub(super) recorded_not_found: Option<VapiError>,
    live: Mutex<Live>,
}

struct Track {
    op: Op,
    file: Option<Box<str>>,
    timeline: Timeline,
}

/// Replay's state for one session id.
#[derive(Default)]
struct Live {
    /// The recorded session answering for this id, when not its own.
    bound: Option<SessionId>,
    /// Calls answered per timeline of the answering session, by its index there.
    served: Vec<u64>,
    deleted: bool,
    /// Handed out by a create in this replay.
    created: bool,
    /// Whether derived operations changed the session (`effects` is not empty).
    changed: bool,
    effects: Effects,
}

/// What derived session operations changed, shown by later gets.
#[derive(Clone, Default)]
struct Effects {
    state: Option<SessionState>,
    error_message: Option<LocalizableMessage>,
    progress: Option<i64>,
}

/// The inputs of a call that are not part of its key, read only when an answer is derived.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Extra {
    /// keep_alive's `progress`.
    pub(crate) progress: Option<i64>,
    /// fail's `client_error_message`.
    pub(crate) client_error_message: Option<String>,
}

impl Extra {
    /// The inputs in a REST call's JSON body, if it has one.
    pub(crate) fn of_json_body(body: &[u8]) -> Self {
        match serde_json::from_slice(body) {
            Ok(serde_json::Value::Object(fields)) => Extra::of_fields(&fields),
            _ => Extra::default(),
        }
    }

    /// The inputs among a call's fields (a JSON body, or a JSON-RPC operation input as
    /// plain values).
    pub(crate) fn of_fields(fields: &serde_json::Map<String, serde_json::Value>) -> Self {
        Extra {
            progress: fields.get("progress").and_then(serde_json::Value::as_i64),
            client_error_message: fields
                .get("client_error_message")
                .and_then(serde_json::Value::as_str)
                .map(|message| shorten_to(message.to_owned(), MAX_CLIENT_MESSAGE_BYTES)),
        }
    }
}

/// The longest client error message a derived `fail` keeps, in bytes: every session
/// created in this replay may hold one, so a client's 1 MiB bodies must not each stay.
const MAX_CLIENT_MESSAGE_BYTES: usize = 4096;

/// The message id of the error message a derived `fail` leaves on its session.
const CLIENT_FAILED_ID: &str = "dsvcr.download_session.client_failed";

impl Session {
    pub(super) fn new(cassette: Cassette) -> Self {
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
        let owner = cassette.id;
        let tracks = cassette
            .timelines
            .into_iter()
            .map(|track| Track {
                op: track.op,
                file: track.file_name.map(String::into_boxed_str),
                timeline: Timeline::of(
                    track
                        .responses
                        .into_iter()
                        .map(|entry| (entry.repeat, Played::owned(entry.answer, &owner))),
                ),
            })
            .collect();
        Session {
            item: cassette.create.map(|create| create.library_item_id),
            tracks,
            used: AtomicBool::new(false),
            recorded_not_found,
            live: Mutex::new(Live::default()),
        }
    }

    pub(super) fn has_track(&self, op: Op, file: Option<&str>) -> bool {
        self.track_index(op, file).is_some()
    }

    fn track_index(&self, op: Op, file: Option<&str>) -> Option<usize> {
        self.tracks
            .iter()
            .position(|track| track.op == op && track.file.as_deref() == file)
    }

    /// Forgets what replay did with this id.
    pub(super) fn rewind(&self) {
        *self.live.lock().expect("never poisoned") = Live::default();
    }

    /// Marks the id as handed out by a create; a create that hands it out again (more
    /// creates than were recorded) starts it afresh, as a new session would be.
    pub(super) fn created(&self, afresh: bool) {
        let mut live = self.live.lock().expect("never poisoned");
        if afresh && live.created {
            *live = Live::default();
        }
        live.created = true;
    }

    /// Whether the id was handed out in this replay and not deleted since.
    pub(super) fn is_open(&self) -> bool {
        let live = self.live.lock().expect("never poisoned");
        live.created && !live.deleted
    }
}

impl Live {
    /// The turn of timeline `index` of the answering session, counting this call.
    fn take_turn(&mut self, index: usize, timelines: usize) -> u64 {
        if self.served.len() < timelines {
            self.served.resize(timelines, 0);
        }
        let turn = self.served[index];
        self.served[index] += 1;
        turn
    }

    /// The timelines of `owner` this id was already answered from.
    fn answered<'a>(&'a self, owner: &'a Session) -> impl Iterator<Item = (usize, &'a Track)> {
        owner
            .tracks
            .iter()
            .enumerate()
            .filter(|(index, _)| self.served.get(*index).is_some_and(|turns| *turns > 0))
    }

    /// Whether `session` recorded every operation `owner` answered this id.
    fn fits(&self, owner: &Session, session: &Session) -> bool {
        self.answered(owner)
            .all(|(_, track)| session.has_track(track.op, track.file.as_deref()))
    }

    /// Moves the turns taken on `owner`'s timelines to the same timelines of `to`.
    fn rebind(&mut self, owner: &Session, to: &Session) {
        let mut served = vec![0; to.tracks.len()];
        for (index, track) in self.answered(owner) {
            if let Some(at) = to.track_index(track.op, track.file.as_deref()) {
                served[at] = self.served[index];
            }
        }
        self.served = served;
    }

    fn state(&self) -> SessionState {
        self.effects.state.unwrap_or(SessionState::Active)
    }
}

impl Timelines {
    /// A call about session `id`: from the recorded session answering for it, from another
    /// recorded session of its item, or derived.
    pub(super) fn session_call(
        &self,
        id: &SessionId,
        op: Op,
        file: Option<&str>,
        extra: &dyn Fn() -> Extra,
    ) -> Result<Found<'_>, Missing> {
        let session = self.sessions.get(id).ok_or(Missing::Session)?;
        session.used.store(true, Ordering::Relaxed);
        let mut live = session.live.lock().expect("never poisoned");
        if live.deleted {
            let error = session
                .recorded_not_found
                .clone()
                .unwrap_or_else(|| self.not_found.for_id(id));
            return Ok(Found::Made(Answer::Error { status: 404, error }));
        }
        let owner = match live.bound.as_ref() {
            Some(bound) => self.sessions.get(bound).expect("bound to a loaded session"),
            None => session,
        };
        if let Some(index) = owner.track_index(op, file) {
            return Ok(self.played(id, owner, &mut live, op, index));
        }
        if !self.world {
            return Err(Missing::Operation);
        }
        if let Some((bound, to)) = self.rebinding(session, owner, &live, op, file) {
            live.rebind(owner, to);
            live.bound = (bound != id).then(|| bound.clone());
            to.used.store(true, Ordering::Relaxed);
            let index = to.track_index(op, file).expect("chosen for it");
            return Ok(self.played(id, to, &mut live, op, index));
        }
        if live.created {
            if let Some(answer) = derive(id, session, &mut live, op, extra) {
                return Ok(Found::Derived(answer));
            }
        }
        Err(Missing::Operation)
    }

    /// The next answer of `owner`'s timeline `index` for this id.
    fn played<'a>(
        &'a self,
        id: &SessionId,
        owner: &'a Session,
        live: &mut Live,
        op: Op,
        index: usize,
    ) -> Found<'a> {
        let turn = live.take_turn(index, owner.tracks.len());
        let played = owner.tracks[index].timeline.at(turn);
        if op == Op::Delete && played.answer.is_success() {
            live.deleted = true;
        }
        match &played.answer {
            Answer::Session(model) if live.changed => Found::Derived(Answer::Session(
                with_effects(model.clone(), id, &live.effects),
            )),
            Answer::Session(model) if live.bound.is_some() => {
                let mut model = model.clone();
                model.id = Some(id.as_str().to_owned());
                Found::Made(Answer::Session(model))
            }
            _ => Found::Played(played),
        }
    }

    /// Another recorded session of `session`'s item that can answer `op` (for `file`) and
    /// recorded every timeline `owner` answered this id from; earliest created first.
    fn rebinding<'a>(
        &'a self,
        session: &'a Session,
        owner: &Session,
        live: &Live,
        op: Op,
        file: Option<&str>,
    ) -> Option<(&'a SessionId, &'a Session)> {
        let creates = self.creates.get(session.item.as_deref()?)?;
        creates.sessions.iter().find_map(|(candidate, _)| {
            let recorded = self.sessions.get(candidate)?;
            (recorded.has_track(op, file) && live.fits(owner, recorded))
                .then_some((candidate, recorded))
        })
    }
}

/// The answer to a session operation nothing recorded, for an id created in this replay.
fn derive(
    id: &SessionId,
    session: &Session,
    live: &mut Live,
    op: Op,
    extra: &dyn Fn() -> Extra,
) -> Option<Answer> {
    Some(match op {
        Op::Get => {
            let model = DownloadSession {
                client_progress: Some(0),
                error_message: None,
                expiration_time: None,
                id: Some(id.as_str().to_owned()),
                library_item_content_version: None,
                library_item_id: session.item.clone()?,
                state: SessionState::Active,
            };
            Answer::Session(with_effects(model, id, &live.effects))
        }
        Op::KeepAlive => {
            if let Some(progress) = extra().progress {
                live.effects.progress = Some(progress);
                live.changed = true;
            }
            Answer::Void
        }
        Op::Cancel | Op::Fail if live.state() != SessionState::Active => {
            not_allowed(id, op, live.state())
        }
        Op::Cancel => {
            live.effects.state = Some(SessionState::Canceled);
            live.changed = true;
            Answer::Void
        }
        Op::Fail => {
            let message = extra().client_error_message.unwrap_or_default();
            live.effects.state = Some(SessionState::Error);
            live.changed = true;
            live.effects.error_message = Some(LocalizableMessage::new(
                CLIENT_FAILED_ID,
                message.clone(),
                vec![message],
            ));
            Answer::Void
        }
        Op::Delete => {
            live.deleted = true;
            Answer::Void
        }
        _ => return None,
    })
}

fn with_effects(mut model: DownloadSession, id: &SessionId, effects: &Effects) -> DownloadSession {
    model.id = Some(id.as_str().to_owned());
    if let Some(state) = effects.state {
        model.state = state;
    }
    if let Some(message) = &effects.error_message {
        model.error_message = Some(message.clone());
    }
    if let Some(progress) = effects.progress {
        model.client_progress = Some(progress);
    }
    model
}

fn not_allowed(id: &SessionId, op: Op, state: SessionState) -> Answer {
    let verb = if op == Op::Cancel {
        "canceled"
    } else {
        "failed"
    };
    let message = LocalizableMessage::new(
        "dsvcr.download_session.not_active",
        format!(
            "Download session {id} is in state {} and cannot be {verb}: only an ACTIVE session can.",
            state.as_str()
        ),
        vec![id.as_str().to_owned(), state.as_str().to_owned()],
    );
    Answer::Error {
        status: ErrorKind::NotAllowedInCurrentState.http_status(),
        error: VapiError::new(ErrorKind::NotAllowedInCurrentState, message),
    }
}

/// The ids handed out by creates in this replay and not deleted, for `item` or for all.
pub(super) fn open_sessions<'a>(
    sessions: &'a HashMap<SessionId, Session>,
    ids: impl Iterator<Item = &'a SessionId>,
) -> Vec<String> {
    ids.filter(|id| sessions.get(*id).is_some_and(Session::is_open))
        .map(|id| id.as_str().to_owned())
        .collect()
}
