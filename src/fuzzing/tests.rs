//! The committed seeds and the fuzz crate, checked by `cargo test`: a seed or a facade
//! function that rots fails here rather than in a fuzzing run nobody makes.

use std::fs;
use std::path::{Path, PathBuf};

use super::recognise::Outcome;
use crate::protocol::rest::recognise::Operation;
use crate::vapi::call::Answer;
use crate::vapi::catalog::Op;
use crate::vapi::Form;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 7] = [
    ("cassette", super::cassette),
    ("json_body", super::json_body),
    ("jsonrpc", super::jsonrpc),
    ("recognise", super::recognise),
    ("render", super::render),
    ("soap", super::soap),
    ("xml_body", super::xml_body),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The file names in a folder of `fuzz/`, sorted.
fn names(folder: &str) -> Vec<String> {
    let dir = fuzz_dir().join(folder);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = fuzz_dir().join("seeds").join(target).join(name);
    fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn every_committed_seed_passes_its_targets_checks() {
    let mut failed = Vec::new();
    for (target, check) in TARGETS {
        let seeds = names(&format!("seeds/{target}"));
        assert!(seeds.len() >= 4, "{target} has {} seeds", seeds.len());
        for name in seeds {
            let data = seed(target, &name);
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                failed.push(format!("{target}/{name}"));
            }
        }
    }
    assert!(failed.is_empty(), "seeds failing their checks: {failed:?}");
}

#[test]
fn every_fuzz_target_is_one_call_of_its_facade_function_with_seeds_and_a_dictionary() {
    let targets: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    let files: Vec<String> = targets.iter().map(|name| format!("{name}.rs")).collect();
    let dicts: Vec<String> = targets.iter().map(|name| format!("{name}.dict")).collect();
    assert_eq!(names("fuzz_targets"), files);
    assert_eq!(names("seeds"), targets);
    assert_eq!(names("dicts"), dicts);
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for name in &targets {
        let source =
            fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs"))).unwrap();
        let call = format!("fuzz_target!(|data: &[u8]| dsvcr::fuzzing::{name}(data));");
        assert!(
            source.contains(&call),
            "fuzz_targets/{name}.rs does not hold {call}"
        );
        let bin = format!("name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\"");
        assert!(
            manifest.contains(&bin),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
    }
}

/// One line for what a request was recognised as.
fn summary(outcome: &Outcome) -> String {
    match outcome {
        Ok(Operation::Call(call)) => format!(
            "{} [{}] {:?} {:?} {}",
            call.op.label(),
            call.key,
            call.style.flavour,
            call.style.representation,
            call.form.map_or("-", Form::label)
        ),
        Ok(Operation::MethodNotAllowed { allow, flavour }) => {
            format!("405 {flavour:?} Allow: {allow}")
        }
        Ok(Operation::Session { op, flavour }) => format!("session {op:?} {flavour:?}"),
        Ok(Operation::Other) => "other".to_owned(),
        Err(rejection) => format!("{} {}", rejection.status.as_u16(), rejection.message_id),
    }
}

#[test]
fn recognise_seeds_are_what_they_are_named_for() {
    let expected = [
        ("api-session", "session Logout Api"),
        ("cancel-api", "download_session.cancel [obj-103] Api Json -"),
        (
            "create-api",
            "download_session.create [library item item-1 client token \"t-1\"] Api Json -",
        ),
        (
            "create-api-header",
            "download_session.create [library item item-1 client token \"t-2\"] Api Json -",
        ),
        (
            "create-rest",
            "download_session.create [library item item-1 client token \"t-1\"] Rest Json -",
        ),
        (
            "delete-rest",
            "download_session.delete [obj-103] Rest Json -",
        ),
        ("fail-api", "download_session.fail [obj-103] Api Json -"),
        (
            "file-get-api",
            "downloadsession.file.get [obj-103 file \"disk.iso\"] Api Json -",
        ),
        (
            "file-get-rest",
            "downloadsession.file.get [obj-103 file \"disk.iso\"] Rest Json -",
        ),
        (
            "file-get-rest-xml-body",
            "400 dsvcr.request.xml_not_supported",
        ),
        (
            "file-list-api",
            "downloadsession.file.list [obj-103] Api Json -",
        ),
        (
            "file-list-rest",
            "downloadsession.file.list [obj-103] Rest Json -",
        ),
        (
            "file-prepare-api",
            "downloadsession.file.prepare [obj-103 file \"disk.iso\"] Api Json -",
        ),
        (
            "file-prepare-rest",
            "downloadsession.file.prepare [obj-103 file \"disk.iso\"] Rest Json -",
        ),
        ("form-a", "download_session.get [obj-103] Rest Json A"),
        (
            "form-a-encoded",
            "download_session.get [obj-103] Rest Json A",
        ),
        (
            "form-a-reference-xml",
            "download_session.get [obj-103] Reference Xml A",
        ),
        ("form-b", "download_session.get [obj-103] Rest Json B"),
        (
            "form-b-reference",
            "download_session.get [urn:vapi:obj-7] Reference Json B",
        ),
        ("form-c-conflict", "400 dsvcr.request.conflicting_ids"),
        (
            "form-c-json",
            "download_session.get [obj-103] Rest Json C/json",
        ),
        (
            "form-c-query",
            "download_session.get [obj-103] Rest Json C/query",
        ),
        (
            "form-c-xml",
            "download_session.get [obj-103] Rest Xml C/xml",
        ),
        (
            "form-c-xml-accept-json",
            "download_session.get [obj-7] Reference Json C/xml",
        ),
        ("form-d", "download_session.get [obj-103] Api Json D"),
        ("found-long-rejection", "400 dsvcr.request.malformed_xml"),
        ("invalid-id", "400 dsvcr.request.invalid_id"),
        (
            "keep-alive-rest",
            "download_session.keep_alive [obj-103] Rest Json -",
        ),
        (
            "list-api",
            "download_session.list [all sessions] Api Json -",
        ),
        (
            "list-rest",
            "download_session.list [library item item-1] Rest Json -",
        ),
        ("method-not-allowed", "405 Rest Allow: GET, POST, DELETE"),
        ("method-not-allowed-api-file", "405 Api Allow: GET, POST"),
        ("other", "other"),
        ("session-info", "session Info Rest"),
        ("session-login", "session Login Rest"),
    ];
    let names = names("seeds/recognise");
    assert_eq!(names, expected.map(|(name, _)| name));
    for (name, summary_of) in expected {
        let outcome = super::recognise::check(&seed("recognise", name)).expect("a request");
        assert_eq!(summary(&outcome), summary_of, "{name}");
    }
}

#[test]
fn cassette_seeds_load_as_the_cassettes_they_are_named_for() {
    let get = ("download_session.get", None);
    let expected = [
        (
            "call-create-failed.json",
            "download_session.create [library item missing-item]",
        ),
        (
            "call-list.json",
            "download_session.list [library item item-1]",
        ),
        ("found-non-ascii-digit-time.json", "refused"),
        ("obj-103.json", &format!("obj-103 {:?}", [get])),
        ("obj-104.json", &format!("obj-104 {:?}", [get])),
        ("obj-105.json", &format!("obj-105 {:?}", [get])),
        (
            "obj-106.json",
            &format!(
                "obj-106 {:?}",
                [
                    get,
                    ("download_session.keep_alive", None),
                    ("download_session.delete", None),
                    ("downloadsession.file.list", None),
                    ("downloadsession.file.get", Some("photon-5.0.iso")),
                    ("downloadsession.file.prepare", Some("photon-5.0.iso")),
                ]
            ),
        ),
        (
            "obj-107.json",
            &format!(
                "obj-107 {:?}",
                [
                    get,
                    ("download_session.cancel", None),
                    ("download_session.fail", None),
                    ("downloadsession.file.get", Some("a.vmdk")),
                    ("downloadsession.file.get", Some("disk.iso")),
                ]
            ),
        ),
        ("urn%3Ax.json", &format!("urn:x {:?}", [get])),
    ];
    assert_eq!(names("seeds/cassette"), expected.map(|(name, _)| name));
    for (name, summary) in expected {
        let loaded = super::cassette::check(&seed("cassette", name));
        let read = match (&loaded.session, &loaded.call) {
            (Some(cassette), None) => format!("{} {:?}", cassette.id, timelines(cassette)),
            (None, Some(call)) => format!("{} [{}]", call.op.label(), call.key),
            (None, None) => "refused".to_owned(),
            (Some(_), Some(_)) => "both".to_owned(),
        };
        assert_eq!(read, summary, "{name}");
    }
}

fn timelines(cassette: &crate::cassette::Cassette) -> Vec<(&'static str, Option<&str>)> {
    cassette
        .timelines
        .iter()
        .map(|track| (track.op.label(), track.file_name.as_deref()))
        .collect()
}

#[test]
fn json_body_seeds_are_read_as_they_are_named_for() {
    use crate::vapi::catalog::Output;
    use crate::vapi::ErrorKind;
    use crate::vapi::Flavour::{Api, Rest};
    let file_body = vec![
        (Op::FileGet, Rest),
        (Op::FilePrepare, Rest),
        (Op::FilePrepare, Api),
    ];
    let expected = [
        (
            "bare-session-params.json",
            vec![(Op::Create, Api)],
            Some(Output::Session),
            None,
        ),
        ("create-api-body.json", vec![(Op::Create, Api)], None, None),
        (
            "create-rest-body.json",
            vec![(Op::Create, Rest)],
            None,
            None,
        ),
        (
            "error-api.json",
            vec![],
            None,
            Some(ErrorKind::Unauthenticated),
        ),
        ("error-rest.json", vec![], None, Some(ErrorKind::NotFound)),
        ("file-get-body.json", file_body.clone(), None, None),
        ("file-info-rest.json", vec![], Some(Output::File), None),
        ("files-api.json", vec![], Some(Output::Files), None),
        ("get-input-extra.json", vec![(Op::Get, Rest)], None, None),
        ("get-input.json", vec![(Op::Get, Rest)], None, None),
        ("get-result.json", vec![], Some(Output::Session), None),
        ("id-api.json", vec![], Some(Output::Id), None),
        ("ids-rest.json", vec![], Some(Output::Ids), None),
        ("prepare-body.json", file_body, None, None),
        ("void-rest.json", vec![], Some(Output::Void), None),
    ];
    assert_eq!(
        names("seeds/json_body"),
        expected.clone().map(|(name, ..)| name)
    );
    for (name, accepted_by, output, error) in expected {
        let read = super::json_body::check(&seed("json_body", name));
        assert_eq!(read.accepted_by, accepted_by, "{name}");
        let outputs: Vec<_> = read.answers.iter().map(Answer::output).collect();
        assert_eq!(outputs, Vec::from_iter(output.map(Some)), "{name}");
        assert_eq!(read.error.map(|error| error.kind), error, "{name}");
    }
}

#[test]
fn xml_body_seeds_are_read_as_they_are_named_for() {
    let expected = [
        ("doctype.xml", None, None),
        ("error.xml", None, None),
        ("found-control-char.xml", None, None),
        ("get-input.xml", Some("obj-103"), None),
        ("get-result-error-params.xml", None, Some("obj-104")),
        ("get-result.xml", None, Some("obj-103")),
    ];
    assert_eq!(names("seeds/xml_body"), expected.map(|(name, ..)| name));
    for (name, get_input, get_result) in expected {
        let read = super::xml_body::check(&seed("xml_body", name));
        assert_eq!(read.get_input.as_deref(), get_input, "{name}");
        let id = read.get_result.map(|session| session.id.expect("an id"));
        assert_eq!(id.as_deref(), get_result, "{name}");
    }
}

#[test]
fn render_seeds_are_read_as_they_are_named_for() {
    use crate::vapi::catalog::Output::{File, Files, Id, Ids, Void};
    let expected = [
        ("files.json", true, vec![File, Files, Ids, Void, Id]),
        (
            "found-control-char-in-xml",
            false,
            vec![File, Files, Ids, Void],
        ),
        (
            "found-float-round-trip",
            false,
            vec![File, Files, Ids, Void],
        ),
        ("params.json", true, vec![Files, Ids, Void]),
        ("reference.json", true, vec![Files, Ids, Void]),
    ];
    assert_eq!(
        names("seeds/render"),
        expected.clone().map(|(name, ..)| name)
    );
    for (name, is_json_seed, outputs) in expected {
        let data = seed("render", name);
        assert_eq!(super::render::seed(&data).is_some(), is_json_seed, "{name}");
        let models = super::render::check(&data).expect("models");
        let read: Vec<_> = models.others.iter().filter_map(Answer::output).collect();
        assert_eq!(read, outputs, "{name}");
    }
}

#[test]
fn soap_seeds_are_read_as_they_are_named_for() {
    let expected = [
        ("attributes-not-separated", None),
        ("bad-declaration", None),
        ("bad-declaration-attribute", None),
        ("bad-instruction", None),
        ("bad-name", None),
        ("cdata-end-in-text", None),
        ("control-character", None),
        ("doctype", None),
        ("double-hyphen-in-comment", None),
        (
            "govc-create-filter",
            Some((
                "CreateFilter",
                "PropertyCollector:session[]c321862c-dcf5-4e23-8c54-cae0cc61c933",
            )),
        ),
        (
            "govc-retrieve-service-content",
            Some(("RetrieveServiceContent", "ServiceInstance:ServiceInstance")),
        ),
        ("lt-in-attribute", None),
        ("no-this", None),
        ("not-utf8", None),
        (
            "pyvmomi-login",
            Some(("Login", "SessionManager:SessionManager")),
        ),
        (
            "pyvmomi-login-by-token",
            Some(("LoginByToken", "SessionManager:SessionManager")),
        ),
        ("reference-after-root", None),
        ("reference-outside-root", None),
        ("reserved-namespace", None),
        (
            "session-key-in-type",
            Some((
                "CreateFilter",
                "PropertyCollector]>session[]]>iiropertyCollector:session[9df7d44c-3b1b-4446-908iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiid xmlns=\"urn:http://ssoa-56e8b8199aht]tp://www.w3.org/2001/XMLSc$emac61c933",
            )),
        ),
    ];
    assert_eq!(names("seeds/soap"), expected.map(|(name, _)| name));
    for (name, read_as) in expected {
        let data = seed("soap", name);
        let read = super::soap::check(&data);
        let key = read.request.as_ref().map(crate::protocol::soap::soap_key);
        let found = key
            .as_ref()
            .map(|key| (key.operation.as_str(), key.this.as_str()));
        assert_eq!(found, read_as, "{name}");
    }
}

#[test]
fn jsonrpc_seeds_are_read_as_they_are_named_for() {
    use super::jsonrpc::Read;
    use crate::protocol::jsonrpc::Target;
    let expected = [
        ("create-with-session", "call download_session.create"),
        ("duplicate-name-huge-number", "fault -32700"),
        ("find-extra-member", "call library.find"),
        ("found-huge-number-in-unknown-member", "fault -32700"),
        ("invoke-as-array", "fault -32600"),
        ("item-get", "call library.item.get"),
        ("login", "session"),
        ("lone-surrogate-id", "fault -32700"),
        ("wrong-method", "fault -32601"),
    ];
    assert_eq!(names("seeds/jsonrpc"), expected.map(|(name, _)| name));
    for (name, read_as) in expected {
        let read = super::jsonrpc::check(&seed("jsonrpc", name));
        let found = match read {
            Read::Invoke(Ok(Target::Call(call))) => format!("call {}", call.op.label()),
            Read::Invoke(Ok(Target::Session(_))) => "session".to_owned(),
            Read::Invoke(Ok(Target::Unknown)) => "unknown".to_owned(),
            Read::Invoke(Err(fault)) | Read::Fault(fault) => format!("fault {}", fault.code),
        };
        assert_eq!(found, read_as, "{name}");
    }
}
