use super::*;
use crate::cassette::load_folder;
use crate::cassette::session_file::SUBFOLDER;
use serde_json::json;

/// A folder with a `download-session` subfolder holding `files` (name, content).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(SUBFOLDER);
    fs::create_dir(&sub).unwrap();
    for (name, content) in files {
        fs::write(sub.join(name), content).unwrap();
    }
    dir
}

fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(SUBFOLDER).join(name)
}

/// A valid cassette for `obj-1` after `edit`, as pretty JSON.
fn cassette(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value = json!({
        "format": 1,
        "operation": "com.vmware.content.library.item.download_session.get",
        "id": "obj-1",
        "recorded": { "at": "2026-11-02T10:00:00Z", "form": "A" },
        "responses": [
            {
                "status": 200,
                "session": {
                    "client_progress": 35,
                    "error_message": {
                        "args": ["photon-5.0.ova", "obj-1"],
                        "default_message": "The file photon-5.0.ova could not be read.",
                        "id": "com.vmware.vdcs.cls-main.file_read_error"
                    },
                    "expiration_time": "2026-11-02T10:05:00.000Z",
                    "id": "obj-1",
                    "library_item_content_version": "2",
                    "library_item_id": "8f6a1c2e-4b7d-4e90-a3f5-1d2c3b4a5e6f",
                    "state": "ERROR"
                }
            }
        ]
    });
    edit(&mut value);
    serde_json::to_string_pretty(&value).unwrap()
}

/// A valid cassette for `obj-1` whose error message reads `message`.
fn with_message(message: &str) -> String {
    cassette(|v| v["responses"][0]["session"]["error_message"]["default_message"] = message.into())
}

/// Checks a folder holding only `obj-1.json` with `content`, and asserts its
/// problems display exactly as that file's path followed by each of `reasons`.
fn assert_problems(content: &str, reasons: &[&str]) {
    let dir = folder(&[("obj-1.json", content)]);
    let report = check_folder(dir.path()).unwrap();
    assert_eq!(report.checked, 1);
    let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    let path = path_in(&dir, "obj-1.json");
    let expected: Vec<String> = reasons
        .iter()
        .map(|reason| format!("{}: {reason}", path.display()))
        .collect();
    assert_eq!(lines, expected, "{content}");
}

fn single(content: &str, reason: &str) {
    assert_problems(content, &[reason]);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_shipped_cassettes_are_clean() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes"),
        dir.path(),
    );
    let report = check_folder(dir.path()).unwrap();
    assert_eq!(report.problems, []);
    assert_eq!(report.checked, 4);
    assert!(report.is_clean());
}

#[test]
fn problems_display_as_path_and_reason() {
    let problem = Problem {
        path: PathBuf::from("cassettes/download-session/obj-1.json"),
        reason: "contains a PEM private key".to_owned(),
    };
    assert_eq!(
        problem.to_string(),
        "cassettes/download-session/obj-1.json: contains a PEM private key"
    );
}

#[test]
fn a_folder_without_the_subfolder_holds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(check_folder(dir.path()).unwrap(), CheckReport::default());
}

#[test]
fn an_unreadable_folder_is_an_error_worded_as_when_loading() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = check_folder(&missing).unwrap_err();
    assert!(matches!(err, LoadError::Folder { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        load_folder(&missing).unwrap_err().to_string()
    );
    assert!(err
        .to_string()
        .starts_with(&format!("cassette folder {}: ", missing.display())));

    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    let err = check_folder(&file).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cassette folder {} is not a directory", file.display())
    );
    assert_eq!(err.to_string(), load_folder(&file).unwrap_err().to_string());
}

#[test]
fn hidden_and_other_files_are_skipped_and_not_counted() {
    let leaky = "{\"authorization\": \"Basic YWRtaW46c2VjcmV0\"}";
    let dir = folder(&[
        ("obj-1.json", &cassette(|_| {})),
        (".obj-2.json", leaky),
        (".obj-1.json.tmp123", leaky),
        ("notes.txt", leaky),
        ("obj-3.json.bak", leaky),
    ]);
    fs::create_dir(path_in(&dir, "folder.json")).unwrap();
    let report = check_folder(dir.path()).unwrap();
    assert_eq!(
        report,
        CheckReport {
            checked: 1,
            problems: vec![]
        }
    );
}

/// Found by a hostile review: ids differing only in case were written to names a
/// case-insensitive file system keeps one of.
#[test]
fn names_equal_but_for_case_are_flagged() {
    let upper = cassette(|v| {
        v["id"] = "OBJ-1".into();
        v["responses"][0]["session"]["id"] = "OBJ-1".into();
    });
    let dir = folder(&[("obj-1.json", &cassette(|_| {})), ("OBJ-1.json", &upper)]);
    let report = check_folder(dir.path()).unwrap();
    let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [format!(
            "{}: has the same name as {} when case is ignored; a case-insensitive file system (macOS, Windows) keeps only one of them",
            path_in(&dir, "obj-1.json").display(),
            path_in(&dir, "OBJ-1.json").display()
        )]
    );
}

#[test]
fn unparseable_json() {
    single("{", "EOF while parsing an object at line 1 column 1");
    single("", "EOF while parsing a value at line 1 column 0");
    single("{\"format\": 1,}", "trailing comma at line 1 column 14");
}

#[test]
fn unknown_format_version() {
    single(
        &cassette(|v| v["format"] = 3.into()),
        "format 3 is not known; this dsvcr reads formats 1 to 2",
    );
}

#[test]
fn name_and_id_mismatch() {
    single(
        &cassette(|v| v["id"] = "obj-2".into()),
        "holds id \"obj-2\", so its file name must be obj-2.json",
    );
}

#[test]
fn empty_responses() {
    single(
        &cassette(|v| v["responses"] = json!([])),
        "timelines[0] (download_session.get): responses is empty; a timeline needs at least one",
    );
}

#[test]
fn a_malformed_timeline_entry() {
    single(
        &cassette(|v| v["responses"][0]["repeat"] = 0.into()),
        "repeat must be at least 1 at line 30 column 3",
    );
}

#[test]
fn an_authorization_header() {
    single(
        &cassette(|v| {
            v["responses"][0]["session"]["error_message"]["args"] =
                json!(["Authorization", "redacted"])
        }),
        "contains an Authorization header",
    );
    single(
        &with_message("request failed; headers: authorization : redacted"),
        "contains an Authorization header",
    );
}

#[test]
fn a_cookie_header() {
    single(
        &with_message("request failed; headers: Cookie: theme=dark"),
        "contains a Cookie header",
    );
    single(
        &cassette(|v| {
            v["responses"][0]["session"]["error_message"]["args"] = json!(["cookie", "theme=dark"])
        }),
        "contains a Cookie header",
    );
}

#[test]
fn a_set_cookie_header() {
    single(
        &with_message("response headers: Set-Cookie: theme=dark; Path=/"),
        "contains a Set-Cookie header",
    );
    single(
        &cassette(|v| {
            v["responses"][0]["session"]["error_message"]["args"] =
                json!(["SET-COOKIE", "theme=dark"])
        }),
        "contains a Set-Cookie header",
    );
}

#[test]
fn a_session_header_name() {
    single(
        &with_message("missing header vmware-api-session-id"),
        "contains a vmware-api-session-id header or cookie",
    );
}

#[test]
fn basic_credentials() {
    // admin@vsphere.local:VMware1!
    single(
        &with_message("sent Basic YWRtaW5AdnNwaGVyZS5sb2NhbDpWTXdhcmUxIQ== upstream"),
        "contains Basic credentials (\"YWRt…\")",
    );
    // user:pass, lower-case scheme, no padding needed
    single(
        &with_message("basic dXNlcjpwYXNz"),
        "contains Basic credentials (\"dXNl…\")",
    );
}

#[test]
fn a_bearer_token() {
    single(
        &with_message(
            "sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",
        ),
        "contains a Bearer token (\"eyJh…\")",
    );
}

/// Replay refuses a folder holding one session under its name and the name dsvcr 0.1
/// gave it; `check` says so instead of passing it.
#[test]
fn one_session_under_two_file_names_is_refused_as_replay_refuses_it() {
    let id = crate::vapi::SessionId::parse("Obj-1").unwrap();
    let content = cassette(|v| {
        v["id"] = "Obj-1".into();
        v["responses"][0]["session"]["id"] = "Obj-1".into();
    });
    let current = format!("{}.json", id.file_stem());
    let legacy = format!("{}.json", id.legacy_file_stem());
    assert_ne!(current, legacy);
    let dir = folder(&[(&current, &content), (&legacy, &content)]);
    assert!(matches!(
        load_folder(dir.path()),
        Err(crate::cassette::LoadError::DuplicateId { .. })
    ));
    let report = check_folder(dir.path()).unwrap();
    let mut names = [current, legacy];
    names.sort();
    let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [format!(
            "{}: holds download session Obj-1, as {} does (one under the name dsvcr 0.1 gave it); replay refuses the folder: keep one",
            path_in(&dir, &names[1]).display(),
            path_in(&dir, &names[0]).display()
        )]
    );
}

#[test]
fn a_private_key() {
    for kind in ["", "RSA ", "EC ", "ENCRYPTED ", "OPENSSH "] {
        single(
            &with_message(&format!(
                "-----BEGIN {kind}PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END {kind}PRIVATE KEY-----\n"
            )),
            "contains a PEM private key",
        );
    }
}

#[test]
fn soap_session_secrets() {
    single(
        &with_message("Set vmware_soap_session=52b1e7a0; HttpOnly"),
        "contains a vmware_soap_session cookie",
    );
    single(
        &with_message(
            "<returnval type=\"PropertyCollector\">session[52b1e7a0-9df7]c321</returnval>",
        ),
        "contains a session-scoped id holding its session key (session[KEY]…)",
    );
    single(
        &with_message("<spec><password versionId=\"8.0\">Hunter2</password></spec>"),
        "contains a SOAP password, session id or token element with a value",
    );
    assert_problems(
        &with_message("<returnval>session[]c321</returnval><password></password>"),
        &[],
    );
}

#[test]
fn a_session_token() {
    single(
        &with_message(r#"{"token": "b00db39f948d13ea1bd9a9e1f8b0d8f1"}"#),
        "contains what looks like a session token (\"b00d…\")",
    );
    single(
        &cassette(|v| {
            v["responses"][0]["session"]["error_message"]["args"] = json!([
                "photon-5.0.ova",
                r#"{"Session_Id":"0123456789ABCDEF0123456789ABCDEF"}"#
            ])
        }),
        "contains what looks like a session token (\"0123…\")",
    );
}

/// 32 hex digits are also an MD5 checksum or a content version: only a secret-named
/// field's value is a token, so a clean recording carrying checksums passes.
#[test]
fn md5_checksums_are_not_session_tokens() {
    let md5 = "9e107d9d372bb6826bd81d3542a419d6";
    let content = cassette(|v| {
        v["responses"][0]["session"]["library_item_content_version"] = md5.into();
        v["responses"][0]["session"]["error_message"]["args"] = json!([
            md5,
            format!(r#"{{"checksum_info":{{"algorithm":"MD5","checksum":"{md5}"}}}}"#)
        ]);
    });
    assert_problems(&content, &[]);
}

#[test]
fn the_whole_secret_is_never_shown() {
    let token = "b00db39f948d13ea1bd9a9e1f8b0d8f1";
    let field = format!(r#"{{"token":"{token}"}}"#);
    let basic = "YWRtaW5AdnNwaGVyZS5sb2NhbDpWTXdhcmUxIQ==";
    let dir = folder(&[(
        "obj-1.json",
        &cassette(|v| {
            v["responses"][0]["session"]["error_message"]["default_message"] =
                format!("Basic {basic}").into();
            v["responses"][0]["session"]["error_message"]["args"] = json!([field]);
        }),
    )]);
    let problems = check_folder(dir.path()).unwrap().problems;
    assert_eq!(problems.len(), 2, "{problems:?}");
    for problem in &problems {
        let line = problem.to_string();
        assert!(!line.contains(token) && !line.contains(basic), "{line}");
    }
}

#[test]
fn every_kind_in_one_file_gives_one_problem_each_sorted_by_reason() {
    let message = "Authorization: Basic dXNlcjpwYXNz Bearer abc.def-123456 \
                   Cookie: a=b Set-Cookie: vmware-api-session-id=c \
                   -----BEGIN PRIVATE KEY----- Authorization: Basic dXNlcjpwYXNz";
    let content = cassette(|v| {
        v["responses"][0]["session"]["error_message"]["default_message"] = message.into();
        v["responses"][0]["session"]["error_message"]["args"] = json!([
            r#"{"token": "0123456789abcdef0123456789abcdef"}"#,
            r#"{"password": "fedcba9876543210fedcba9876543210"}"#
        ]);
    });
    assert_problems(
        &content,
        &[
            "contains Basic credentials (\"dXNl…\")",
            "contains a Bearer token (\"abc.…\")",
            "contains a Cookie header",
            "contains a PEM private key",
            "contains a Set-Cookie header",
            "contains a vmware-api-session-id header or cookie",
            "contains an Authorization header",
            "contains what looks like a session token (\"0123…\")",
        ],
    );
}

#[test]
fn a_file_that_does_not_parse_is_still_scanned_for_secrets() {
    assert_problems(
        "{\"Authorization\": \"Basic dXNlcjpwYXNz\"",
        &[
            "EOF while parsing an object at line 1 column 38",
            "contains Basic credentials (\"dXNl…\")",
            "contains an Authorization header",
        ],
    );
    assert_problems(
        "{\"token\": \"0123456789abcdef0123456789abcdef\"",
        &[
            "EOF while parsing an object at line 1 column 44",
            "contains what looks like a session token (\"0123…\")",
        ],
    );
}

#[test]
fn several_broken_files_give_several_problems_in_path_order() {
    let leaky = cassette(|v| {
        v["id"] = "obj-4".into();
        v["responses"][0]["session"]["id"] = "obj-4".into();
        v["responses"][0]["session"]["error_message"]["default_message"] =
            r#"{"token": "b00db39f948d13ea1bd9a9e1f8b0d8f1"}"#.into();
    });
    let renamed = |id: &str| {
        let id = id.to_owned();
        move |v: &mut serde_json::Value| {
            v["id"] = id.clone().into();
            v["responses"][0]["session"]["id"] = id.clone().into();
        }
    };
    let clean = cassette(renamed("obj-5"));
    let empty = cassette(|v| {
        renamed("obj-3")(v);
        v["responses"] = json!([]);
    });
    let unknown_format = cassette(|v| {
        renamed("obj-2")(v);
        v["format"] = 7.into();
    });
    let dir = folder(&[
        ("obj-5.json", &clean),
        ("obj-4.json", &leaky),
        ("obj-3.json", &empty),
        ("obj-2.json", &unknown_format),
        ("obj-1.json", "not json"),
        ("obj-6.json", &cassette(|_| {})),
    ]);
    let report = check_folder(dir.path()).unwrap();
    assert_eq!(report.checked, 6);
    let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    let expected = [
        ("obj-1.json", "expected ident at line 1 column 2"),
        (
            "obj-2.json",
            "format 7 is not known; this dsvcr reads formats 1 to 2",
        ),
        (
            "obj-3.json",
            "timelines[0] (download_session.get): responses is empty; a timeline needs at least one",
        ),
        (
            "obj-4.json",
            "contains what looks like a session token (\"b00d…\")",
        ),
        (
            "obj-6.json",
            "holds id \"obj-1\", so its file name must be obj-1.json",
        ),
    ]
    .map(|(name, reason)| format!("{}: {reason}", path_in(&dir, name).display()));
    assert_eq!(lines, expected);
    assert!(!report.is_clean());
}

#[test]
fn ordinary_content_is_not_taken_for_a_secret() {
    for message in [
        // UUIDs, with dashes, as vSphere writes library item ids.
        "8f6a1c2e-4b7d-4e90-a3f5-1d2c3b4a5e6f",
        "Basic authentication failed for the content library.",
        "A bearer token is required.",
        "The bearer authentication.failed",
        "Unauthorized: the user is not authorized.",
        "Cookies are disabled.",
        "0123456789abcdef0123456789abcdef is the checksum",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    ] {
        assert_problems(&with_message(message), &[]);
    }
    for hex in [
        "0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef0",
        "0123456789abcdef-0123456789abcdef",
        "0123456789abcdeg0123456789abcdef",
    ] {
        let content =
            cassette(|v| v["responses"][0]["session"]["library_item_content_version"] = hex.into());
        assert_problems(&content, &[]);
    }
    assert_problems(&cassette(|_| {}), &[]);
}
