use std::fs;

use crate::cassette::journal::{header_line, journal_path};
use crate::cassette::{Cassette, Recorded};
use crate::vapi::model::SessionState;
use crate::vapi::{Answer, DownloadSession, Op, SessionId};

/// A journal a killed run left: `inspect` counts its answers with its file's and names it.
#[test]
fn a_journal_is_named_and_its_answers_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut cassette = Cassette::new(
        SessionId::parse("obj-1").unwrap(),
        Recorded {
            at: "2026-11-02T10:00:00Z".to_owned(),
            upstream: None,
            form: None,
        },
    );
    cassette.append(
        Op::Get,
        None,
        Answer::Session(DownloadSession {
            client_progress: Some(10),
            error_message: None,
            expiration_time: None,
            id: Some("obj-1".to_owned()),
            library_item_content_version: None,
            library_item_id: "item-1".to_owned(),
            state: SessionState::Active,
        }),
    );
    let path = dir.path().join("download-session/obj-1.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = cassette.to_file_bytes();
    fs::write(&path, &file).unwrap();
    let mut journal = header_line(&file);
    journal.extend_from_slice(br#"{"operation":"com.vmware.content.library.item.download_session.get","response":{"status":200,"session":{"client_progress":20,"id":"obj-1","library_item_id":"item-1","state":"ACTIVE"}}}"#);
    journal.push(b'\n');
    fs::write(journal_path(&path), &journal).unwrap();

    let inspection = super::inspect(dir.path()).unwrap();
    let session = serde_json::to_value(&inspection.sessions[0]).unwrap();
    assert_eq!(
        session["journal"],
        serde_json::json!({"file": "download-session/obj-1.json.journal", "answers": 1})
    );
    assert_eq!(session["operations"][0]["answers"], 2);
    assert!(inspection.problems.is_empty(), "{:?}", inspection.problems);
    assert!(super::text::render(&inspection)
        .contains("(download-session/obj-1.json + download-session/obj-1.json.journal: 1 answer)"));
}
