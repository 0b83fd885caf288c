use std::fs;
use std::path::{Path, PathBuf};

use super::super::folder::load_folder;
use super::super::session_file::SUBFOLDER;
use super::super::*;
use super::*;
use crate::exchange::{TapeAnswer, TapeBody, TapeKey};
use crate::secrets::Secrets;
use crate::vapi::model::SessionState;

fn session(progress: i64) -> DownloadSession {
    DownloadSession {
        client_progress: Some(progress),
        error_message: None,
        expiration_time: None,
        id: Some("obj-1".to_owned()),
        library_item_content_version: None,
        library_item_id: "item-1".to_owned(),
        state: SessionState::Active,
    }
}

fn get(progress: i64) -> Recording {
    Recording::Session {
        id: SessionId::parse("obj-1").unwrap(),
        op: Op::Get,
        file: None,
        answer: Answer::Session(session(progress)),
    }
}

fn provenance() -> Provenance {
    Provenance {
        at: "2026-11-29T01:00:00Z".to_owned(),
        upstream: "vc.lab".to_owned(),
        form: None,
    }
}

fn store(dir: &Path) -> Store {
    Store::prepare_folder(dir).unwrap();
    Store::new(dir, Rerecord::Append, Cassettes::default())
}

fn base(dir: &Path) -> PathBuf {
    dir.join(SUBFOLDER).join("obj-1.json")
}

/// The get timeline of the folder's only session, as (repeat, progress).
fn gets(dir: &Path) -> Vec<(u32, i64)> {
    let sessions = load_folder(dir).unwrap().sessions;
    sessions[0]
        .track(Op::Get, None)
        .unwrap()
        .responses
        .iter()
        .map(|entry| match &entry.answer {
            Answer::Session(session) => (entry.repeat, session.client_progress.unwrap()),
            other => panic!("{other:?}"),
        })
        .collect()
}

async fn record_all(store: &Store, progress: &[i64]) -> Vec<(usize, u64)> {
    let mut sizes = Vec::new();
    for value in progress {
        let appended = store
            .record(get(*value), &provenance(), &Secrets::default())
            .await
            .unwrap();
        sizes.push((appended.entries, appended.responses));
    }
    sizes
}

fn far_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(60)
}

/// Found by a hostile review: each changed answer rewrote the whole cassette (1000 polls
/// wrote about 1 GiB for a 2.1 MB tape). The first answer of the run writes the file;
/// later ones are one line each in the journal, which every loader applies, and the end
/// of the run folds it back into a plain file.
#[tokio::test]
async fn later_answers_are_appended_to_a_journal_that_loads_and_folds_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(store(dir.path()));
    let sizes = record_all(&store, &[10, 20, 20, 30]).await;
    assert_eq!(sizes, [(1, 1), (2, 2), (2, 3), (3, 4)]);
    let file = fs::read(base(dir.path())).unwrap();
    let written = Cassette::from_file_bytes(&base(dir.path()), &file).unwrap();
    assert_eq!(written.track(Op::Get, None).unwrap().responses.len(), 1);
    let journal = fs::read_to_string(journal_path(&base(dir.path()))).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{{\"journal\":1,\"base_sha256\":\"{}\"}}",
            sha256_hex(&file)
        )
    );
    assert_eq!(
        lines[1],
        r#"{"operation":"com.vmware.content.library.item.download_session.get","response":{"status":200,"session":{"client_progress":20,"id":"obj-1","library_item_id":"item-1","state":"ACTIVE"}}}"#
    );
    assert_eq!(lines.len(), 4);
    assert_eq!(gets(dir.path()), [(1, 10), (2, 20), (1, 30)]);
    assert!(super::super::check::check_folder(dir.path())
        .unwrap()
        .is_clean());

    assert_eq!(store.clone().fold_journals(far_deadline()).await, (1, 0));
    assert!(!journal_path(&base(dir.path())).exists());
    assert_eq!(gets(dir.path()), [(1, 10), (2, 20), (1, 30)]);
    // Recording goes on after a fold, into a new journal.
    assert_eq!(record_all(&store, &[30]).await, [(3, 5)]);
    assert_eq!(gets(dir.path()), [(1, 10), (2, 20), (2, 30)]);
}

/// A journal may grow to the size of its file (at least 256 KiB) before it is folded, so
/// the bytes written stay proportional to the answers recorded.
#[tokio::test]
async fn a_journal_is_folded_once_it_outgrows_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let journal = journal_path(&base(dir.path()));
    let mut folds = 0;
    let mut written = 0;
    for progress in 0..3000 {
        record_all(&store, &[progress % 2]).await;
        let file = fs::metadata(base(dir.path())).unwrap().len();
        let lines = fs::metadata(&journal).map_or(0, |metadata| metadata.len());
        assert!(lines <= file.max(256 * 1024), "{lines} > {file}");
        if lines == 0 {
            folds += 1;
            written += file;
        }
    }
    assert!(folds >= 2, "{folds}");
    let final_size = fs::metadata(base(dir.path())).unwrap().len();
    assert!(written < 4 * final_size.max(256 * 1024), "{written}");
    assert_eq!(gets(dir.path()).len(), 3000);
}

/// A file edited while the run has a journal open keeps the edit and the journal's
/// answers: the next answer folds both.
#[tokio::test]
async fn an_edit_to_the_file_while_its_journal_is_open_keeps_both() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    record_all(&store, &[10, 20]).await;
    let path = base(dir.path());
    let mut edited = Cassette::from_file_bytes(&path, &fs::read(&path).unwrap()).unwrap();
    edited.append(Op::Delete, None, Answer::Void);
    fs::write(&path, edited.to_file_bytes()).unwrap();
    record_all(&store, &[30]).await;
    assert!(!journal_path(&path).exists());
    assert_eq!(gets(dir.path()), [(1, 10), (1, 20), (1, 30)]);
    let sessions = load_folder(dir.path()).unwrap().sessions;
    assert!(sessions[0].track(Op::Delete, None).is_some());
}

/// A tape's journal: whole answers, `repeat` counted, folded like the rest.
#[tokio::test]
async fn tape_answers_are_journaled_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(store(dir.path()));
    let key = TapeKey {
        method: "GET".to_owned(),
        path: "/rest/thing".to_owned(),
        query: Vec::new(),
        body: None,
        body_sha256: None,
        soap: None,
    };
    for text in ["a", "b", "b"] {
        let answer = TapeAnswer {
            status: 200,
            content_type: Some("text/plain".to_owned()),
            body: TapeBody::Text(text.to_owned()),
        };
        let recording = Recording::Tape {
            key: key.clone(),
            answer,
        };
        store
            .record(recording, &provenance(), &Secrets::default())
            .await
            .unwrap();
    }
    let path = dir.path().join(TAPE_SUBFOLDER).join(key.file_name());
    assert!(journal_path(&path).exists());
    let tapes = load_folder(dir.path()).unwrap().tapes;
    let answers: Vec<(u32, &TapeBody)> = tapes[0]
        .responses
        .iter()
        .map(|entry| (entry.repeat, &entry.answer.body))
        .collect();
    let (a, b) = (TapeBody::Text("a".into()), TapeBody::Text("b".into()));
    assert_eq!(answers, [(1, &a), (2, &b)]);
    store.clone().fold_journals(far_deadline()).await;
    assert!(!journal_path(&path).exists());
    assert_eq!(load_folder(dir.path()).unwrap().tapes, tapes);
}

/// The journal as a crash can leave it: a last line without its newline was never
/// acknowledged and is ignored; so is a header cut short.
#[test]
fn a_line_cut_short_by_a_crash_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = one_get_file(dir.path());
    let line = br#"{"operation":"com.vmware.content.library.item.download_session.get","response":{"status":200,"session":{"client_progress":20,"id":"obj-1","library_item_id":"item-1","state":"ACTIVE"}}}"#;
    let mut journal = header_line(&file);
    journal.extend_from_slice(line);
    journal.push(b'\n');
    journal.extend_from_slice(&line[..40]);
    fs::write(journal_path(&path), &journal).unwrap();
    assert_eq!(gets(dir.path()), [(1, 10), (1, 20)]);
    fs::write(journal_path(&path), &header_line(&file)[..20]).unwrap();
    assert_eq!(gets(dir.path()), [(1, 10)]);
}

/// A journal written for another version of its file (a fold cut short after the new
/// file was renamed into place) is ignored: the file holds its answers.
#[test]
fn a_journal_for_another_version_of_its_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = one_get_file(dir.path());
    let line = br#"{"operation":"com.vmware.content.library.item.download_session.get","response":{"status":200,"session":{"client_progress":20,"id":"obj-1","library_item_id":"item-1","state":"ACTIVE"}}}"#;
    let mut journal = header_line(b"the file before it was folded");
    journal.extend_from_slice(line);
    journal.push(b'\n');
    fs::write(journal_path(&path), &journal).unwrap();
    assert_eq!(gets(dir.path()), [(1, 10)]);
    assert!(super::super::check::check_folder(dir.path())
        .unwrap()
        .is_clean());
}

/// A whole line that is not an answer the file can take stops loading, and `check`
/// names the journal and the line.
#[test]
fn a_bad_line_is_refused_naming_the_journal_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = one_get_file(dir.path());
    let cases: [(&[u8], &str); 4] = [
        (br#"{"operation":"com.vmware.content.library.item.download_session.get","response":{"status":200,"session":{"client_progress":20,"id":"obj-1","library_item_id":"item-1","state":"ACTIVE"}}}"#, ""),
        (br#"{"operation":"nope","response":{"status":200}}"#, "line 3: operation \"nope\" is not an operation dsvcr knows"),
        (br#"{"operation":"com.vmware.content.library.item.download_session.get","response":{"status":200,"session":{"client_progress":101,"id":"obj-1","library_item_id":"item-1","state":"ACTIVE"}}}"#,
         "its answers make a cassette dsvcr cannot load: timelines[0] (download_session.get): responses[2]: client_progress 101 is not between 0 and 100"),
        (b"not json", "line 3: expected ident at line 1 column 2"),
    ];
    for (bad, expected) in &cases[1..] {
        let mut journal = header_line(&file);
        for line in [cases[0].0, bad] {
            journal.extend_from_slice(line);
            journal.push(b'\n');
        }
        let journal_file = journal_path(&path);
        fs::write(&journal_file, &journal).unwrap();
        let err = load_folder(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}: {expected}", journal_file.display()));
        let report = super::super::check::check_folder(dir.path()).unwrap();
        let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems, [err]);
    }
}

/// `check` reads a journal's text with the secret rules, as it reads the file's.
#[tokio::test]
async fn check_finds_secrets_in_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let key = TapeKey {
        method: "GET".to_owned(),
        path: "/rest/thing".to_owned(),
        query: Vec::new(),
        body: None,
        body_sha256: None,
        soap: None,
    };
    let answer = TapeAnswer {
        status: 200,
        content_type: None,
        body: TapeBody::Empty,
    };
    store
        .record(
            Recording::Tape {
                key: key.clone(),
                answer,
            },
            &provenance(),
            &Secrets::default(),
        )
        .await
        .unwrap();
    let path = dir.path().join(TAPE_SUBFOLDER).join(key.file_name());
    let mut journal = header_line(&fs::read(&path).unwrap());
    journal.extend_from_slice(br#"{"response":{"status":200,"json":{"password":"hunter2"}}}"#);
    journal.push(b'\n');
    fs::write(journal_path(&path), &journal).unwrap();
    assert_eq!(load_folder(dir.path()).unwrap().tapes[0].responses.len(), 2);
    let report = super::super::check::check_folder(dir.path()).unwrap();
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        problems,
        [format!(
            "{}: field \"password\" holds a value that is not the placeholder \"<redacted>\"",
            journal_path(&path).display()
        )]
    );
}

/// Record folds what an interrupted run left at start: journals with answers into their
/// files; stale ones, ones without a whole line and ones without a file are removed.
#[test]
fn leftover_journals_are_folded_or_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = one_get_file(dir.path());
    let line = br#"{"operation":"com.vmware.content.library.item.download_session.get","response":{"status":200,"session":{"client_progress":20,"id":"obj-1","library_item_id":"item-1","state":"ACTIVE"}}}"#;
    let mut journal = header_line(&file);
    journal.extend_from_slice(line);
    journal.push(b'\n');
    fs::write(journal_path(&path), &journal).unwrap();
    let orphan = dir.path().join(SUBFOLDER).join("obj-2.json.journal");
    fs::write(&orphan, &journal).unwrap();
    let torn = dir.path().join(CALLS_SUBFOLDER).join("list-0.json.journal");
    fs::create_dir_all(torn.parent().unwrap()).unwrap();
    fs::write(&torn, b"{\"jour").unwrap();
    let leftovers = fold_leftover_journals(dir.path(), MAX_CASSETTE_BYTES).unwrap();
    assert_eq!(
        leftovers,
        file::Leftovers {
            folded: 1,
            dropped: 2
        }
    );
    assert!(!journal_path(&path).exists() && !orphan.exists() && !torn.exists());
    assert_eq!(gets(dir.path()), [(1, 10), (1, 20)]);
}

/// A folder holding `obj-1.json` with one get answer (progress 10): its path and bytes.
fn one_get_file(dir: &Path) -> (PathBuf, Vec<u8>) {
    let mut cassette = Cassette::new(
        SessionId::parse("obj-1").unwrap(),
        Recorded {
            at: "2026-11-02T10:00:00Z".to_owned(),
            upstream: None,
            form: None,
        },
    );
    cassette.append(Op::Get, None, Answer::Session(session(10)));
    let path = base(dir);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let bytes = cassette.to_file_bytes();
    fs::write(&path, &bytes).unwrap();
    (path, bytes)
}
