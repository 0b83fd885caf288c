//! The rules of replay's recorded world, one by one, on cassettes made in memory.

use super::*;
use crate::cassette::{Create, Recorded, Track};
use crate::vapi::model::{FileInfo, FileStatus, SessionState};
use crate::vapi::{DownloadSession, Style};

const ITEM: &str = "item-1";

fn recorded() -> Recorded {
    Recorded {
        at: "2026-12-07T00:00:00Z".to_owned(),
        upstream: None,
        form: None,
    }
}

fn id(text: &str) -> SessionId {
    SessionId::parse(text).unwrap()
}

fn file(name: &str, status: FileStatus) -> Answer {
    Answer::File(FileInfo {
        bytes_transferred: Some(0),
        checksum_info: None,
        download_endpoint: None,
        error_message: None,
        name: name.to_owned(),
        size: None,
        status,
    })
}

fn track(op: Op, file_name: Option<&str>, answers: Vec<Answer>) -> Track {
    Track {
        op,
        file_name: file_name.map(str::to_owned),
        responses: answers
            .into_iter()
            .map(|answer| Entry { repeat: 1, answer })
            .collect(),
    }
}

fn session(name: &str, order: u32, timelines: Vec<Track>) -> Cassette {
    Cassette {
        id: id(name),
        recorded: recorded(),
        create: Some(Create {
            library_item_id: ITEM.to_owned(),
            client_token: None,
            order,
        }),
        timelines,
        downloads: Vec::new(),
    }
}

/// `whole` listed its files and prepared both; `single` prepared one file, unlisted.
fn two_exports() -> Cassettes {
    let files = Answer::Files(vec![]);
    let whole = session(
        "whole",
        0,
        vec![
            track(Op::FileList, None, vec![files]),
            track(
                Op::FileGet,
                Some("disk.iso"),
                vec![
                    file("disk.iso", FileStatus::Preparing),
                    file("disk.iso", FileStatus::Prepared),
                ],
            ),
            track(
                Op::FileGet,
                Some("notes.txt"),
                vec![file("notes.txt", FileStatus::Prepared)],
            ),
        ],
    );
    let single = session(
        "single",
        1,
        vec![track(
            Op::FileGet,
            Some("disk.iso"),
            vec![file("disk.iso", FileStatus::Prepared)],
        )],
    );
    Cassettes {
        sessions: vec![single, whole],
        calls: Vec::new(),
        tapes: Vec::new(),
    }
}

fn call(op: Op, key: CallKey) -> Call {
    Call {
        op,
        key,
        style: Style::REST_JSON,
        form: None,
    }
}

fn create() -> Call {
    call(
        Op::Create,
        CallKey::Create {
            item: ITEM.to_owned(),
            token: None,
        },
    )
}

fn created(timelines: &Timelines) -> SessionId {
    match timelines.answer(&create(), &Extra::default) {
        Ok(Found::Made(Answer::Id(id))) => id,
        _ => panic!("a create answers an id"),
    }
}

/// What a call finds: `("played" | "made" | "derived", answer)`, or the miss.
fn ask(timelines: &Timelines, op: Op, key: CallKey) -> Result<(&'static str, Answer), Missing> {
    ask_with(timelines, op, key, Extra::default())
}

fn ask_with(
    timelines: &Timelines,
    op: Op,
    key: CallKey,
    extra: Extra,
) -> Result<(&'static str, Answer), Missing> {
    timelines
        .answer(&call(op, key), &|| extra.clone())
        .map(|found| match found {
            Found::Played(played) => ("played", played.answer.clone()),
            Found::Made(answer) => ("made", answer),
            Found::Derived(answer) => ("derived", answer),
        })
}

fn status(found: Result<(&'static str, Answer), Missing>) -> (&'static str, FileStatus) {
    match found {
        Ok((how, Answer::File(info))) => (how, info.status),
        other => panic!("a file info, not {:?}", other.map(|(how, _)| how)),
    }
}

#[test]
fn a_session_is_rebound_to_one_of_its_item_that_recorded_what_is_asked() {
    let timelines = Timelines::new(two_exports()).recorded_world();
    assert_eq!(created(&timelines), id("whole"));
    let single = created(&timelines);
    assert_eq!(single, id("single"));
    // The single-file session never listed its files: the whole-item one answers.
    assert!(matches!(
        ask(&timelines, Op::FileList, CallKey::Session(single.clone())),
        Ok(("played", Answer::Files(_)))
    ));
    // From then on the whole-item session answers for it, from the start of its timelines.
    let disk = || CallKey::File(single.clone(), "disk.iso".to_owned());
    assert_eq!(
        status(ask(&timelines, Op::FileGet, disk())),
        ("played", FileStatus::Preparing)
    );
    assert_eq!(
        status(ask(&timelines, Op::FileGet, disk())),
        ("played", FileStatus::Prepared)
    );
}

#[test]
fn a_session_is_not_rebound_to_one_that_lacks_what_it_already_answered() {
    let disk = |status| {
        track(
            Op::FileGet,
            Some("disk.iso"),
            vec![file("disk.iso", status)],
        )
    };
    let list = || track(Op::FileList, None, vec![Answer::Files(vec![])]);
    let notes = || {
        track(
            Op::FileGet,
            Some("notes.txt"),
            vec![file("notes.txt", FileStatus::Prepared)],
        )
    };
    let cassettes = Cassettes {
        sessions: vec![
            // Recorded disk.iso but never listed.
            session("a", 0, vec![disk(FileStatus::Prepared)]),
            session("b", 1, vec![list(), disk(FileStatus::Preparing), notes()]),
            session("c", 2, vec![list(), notes()]),
        ],
        calls: Vec::new(),
        tapes: Vec::new(),
    };
    let timelines = Timelines::new(cassettes).recorded_world();
    created(&timelines);
    created(&timelines);
    let third = created(&timelines);
    assert_eq!(third, id("c"));
    ask(&timelines, Op::FileList, CallKey::Session(third.clone())).unwrap();
    // `a` is first in create order and recorded disk.iso, but not the list `c` answered.
    let disk = CallKey::File(third, "disk.iso".to_owned());
    assert_eq!(
        status(ask(&timelines, Op::FileGet, disk)),
        ("played", FileStatus::Preparing)
    );
}

#[test]
fn strict_neither_rebinds_nor_derives() {
    let timelines = Timelines::new(two_exports());
    created(&timelines);
    let single = created(&timelines);
    assert_eq!(
        ask(&timelines, Op::FileList, CallKey::Session(single.clone())).unwrap_err(),
        Missing::Operation
    );
    assert_eq!(
        ask(&timelines, Op::Get, CallKey::Session(single)).unwrap_err(),
        Missing::Operation
    );
    // Past the last recorded create, the last id again.
    assert_eq!(created(&timelines), id("single"));
    assert_eq!(
        ask(&timelines, Op::List, CallKey::Items(None)).unwrap_err(),
        Missing::Call
    );
}

#[test]
fn creates_past_the_recorded_ones_reuse_them_in_turn_afresh() {
    let timelines = Timelines::new(two_exports()).recorded_world();
    let whole = created(&timelines);
    let disk = || CallKey::File(whole.clone(), "disk.iso".to_owned());
    ask(&timelines, Op::FileGet, disk()).unwrap();
    ask(&timelines, Op::Delete, CallKey::Session(whole.clone())).unwrap();
    created(&timelines);
    // The third create hands out `whole` again: not deleted, its timelines from the start.
    assert_eq!(created(&timelines), whole);
    assert_eq!(
        status(ask(&timelines, Op::FileGet, disk())),
        ("played", FileStatus::Preparing)
    );
}

fn model(state: SessionState, progress: i64) -> Answer {
    Answer::Session(DownloadSession {
        client_progress: Some(progress),
        error_message: None,
        expiration_time: None,
        id: Some("whole".to_owned()),
        library_item_content_version: None,
        library_item_id: ITEM.to_owned(),
        state,
    })
}

#[test]
fn a_get_nobody_recorded_follows_from_the_create_and_what_happened_since() {
    let timelines = Timelines::new(two_exports()).recorded_world();
    let whole = CallKey::Session(created(&timelines));
    let get = || ask(&timelines, Op::Get, whole.clone());
    assert_eq!(get(), Ok(("derived", model(SessionState::Active, 0))));
    let progress = Extra {
        progress: Some(70),
        client_error_message: None,
    };
    assert_eq!(
        ask_with(&timelines, Op::KeepAlive, whole.clone(), progress),
        Ok(("derived", Answer::Void))
    );
    assert_eq!(get(), Ok(("derived", model(SessionState::Active, 70))));
    assert_eq!(
        ask(&timelines, Op::Cancel, whole.clone()),
        Ok(("derived", Answer::Void))
    );
    assert_eq!(get(), Ok(("derived", model(SessionState::Canceled, 70))));
    let Ok(("derived", Answer::Error { status, error })) = ask(&timelines, Op::Fail, whole.clone())
    else {
        panic!("a fail after a cancel is refused");
    };
    assert_eq!(
        (status, error.kind),
        (400, ErrorKind::NotAllowedInCurrentState)
    );
}

#[test]
fn a_fail_leaves_the_clients_message_on_the_session() {
    let timelines = Timelines::new(two_exports()).recorded_world();
    let whole = CallKey::Session(created(&timelines));
    let failed = Extra {
        progress: None,
        client_error_message: Some("disk full".to_owned()),
    };
    ask_with(&timelines, Op::Fail, whole.clone(), failed).unwrap();
    let Ok(("derived", Answer::Session(model))) = ask(&timelines, Op::Get, whole) else {
        panic!("a derived get");
    };
    assert_eq!(model.state, SessionState::Error);
    let message = model.error_message.unwrap();
    assert_eq!(
        (message.id.as_str(), message.default_message.as_str()),
        ("dsvcr.download_session.client_failed", "disk full")
    );
}

#[test]
fn a_clients_error_message_is_kept_to_its_first_4_kib() {
    let long = serde_json::json!({ "client_error_message": "x".repeat(1 << 20) });
    let extra = Extra::of_json_body(long.to_string().as_bytes());
    let kept = extra.client_error_message.unwrap();
    assert!(kept.len() <= 4096 + '…'.len_utf8(), "{}", kept.len());
    assert!(kept.starts_with("xxxx"));
}

#[test]
fn a_deleted_session_is_gone_and_unlisted() {
    let timelines = Timelines::new(two_exports()).recorded_world();
    let whole = created(&timelines);
    let single = created(&timelines);
    let listed = |filter: Option<&str>| {
        ask(
            &timelines,
            Op::List,
            CallKey::Items(filter.map(str::to_owned)),
        )
    };
    let ids = |names: &[&str]| {
        Ok((
            "derived",
            Answer::Ids(names.iter().map(|n| (*n).to_owned()).collect()),
        ))
    };
    // In create order.
    assert_eq!(listed(None), ids(&["whole", "single"]));
    assert_eq!(listed(Some("item-9")), ids(&[]));
    let delete = || ask(&timelines, Op::Delete, CallKey::Session(whole.clone()));
    assert_eq!(delete(), Ok(("derived", Answer::Void)));
    assert_eq!(listed(Some(ITEM)), ids(&["single"]));
    for op in [Op::Delete, Op::KeepAlive, Op::Get] {
        let Ok(("made", Answer::Error { status, error })) =
            ask(&timelines, op, CallKey::Session(whole.clone()))
        else {
            panic!("{op:?} after a delete");
        };
        assert_eq!((status, error.kind), (404, ErrorKind::NotFound), "{op:?}");
    }
    let _ = single;
}

#[test]
fn only_sessions_created_in_this_replay_derive() {
    let timelines = Timelines::new(two_exports()).recorded_world();
    assert_eq!(
        ask(&timelines, Op::Get, CallKey::Session(id("whole"))).unwrap_err(),
        Missing::Operation
    );
}

#[test]
fn a_client_token_reused_for_another_item_is_refused_and_a_retry_gets_its_session() {
    let mut cassettes = two_exports();
    let mut other = session("other", 0, Vec::new());
    other.create.as_mut().unwrap().library_item_id = "item-2".to_owned();
    cassettes.sessions.push(other);
    let timelines = Timelines::new(cassettes).recorded_world();
    let with_token = |item: &str| {
        let key = CallKey::Create {
            item: item.to_owned(),
            token: Some("t-1".to_owned()),
        };
        ask(&timelines, Op::Create, key)
    };
    assert_eq!(with_token(ITEM), Ok(("made", Answer::Id(id("whole")))));
    created(&timelines);
    // A retry with the same token gets the same session, not the next one.
    assert_eq!(with_token(ITEM), Ok(("made", Answer::Id(id("whole")))));
    let Ok(("derived", Answer::Error { status, error })) = with_token("item-2") else {
        panic!("refused");
    };
    assert_eq!((status, error.kind), (400, ErrorKind::AlreadyExists));
    assert_eq!(
        error.messages[0].default_message,
        "The client token t-1 was already used to create a download session for library item item-1."
    );
}
