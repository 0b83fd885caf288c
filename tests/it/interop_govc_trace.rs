//! What govc's `GOVC_DEBUG` traces say, for `interop_govc`: the SOAP calls it made and
//! what each got, the session keys it was handed, the Login bodies it sent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::interop_soap::sha256_hex;

/// One SOAP call govc made, from its `GOVC_DEBUG` trace.
pub(crate) struct SoapCall {
    /// The operation, with the type and property it reads for `RetrieveProperties` and
    /// `CreateFilter`.
    pub(crate) what: String,
    /// The answer's status line, e.g. `200 OK`.
    pub(crate) status: String,
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// The SOAP calls in a `GOVC_DEBUG` trace, in the order govc made them. Each client's
/// log (`N-client.log`) lists its calls as `TIME - NNNN: … (*methods.OpBody)`, with the
/// request and answer beside it as `N-NNNN.req.xml` and `N-NNNN.res.headers`.
pub(crate) fn soap_calls(debug: &Path) -> Vec<SoapCall> {
    let mut calls: Vec<(String, SoapCall)> = Vec::new();
    for log in files_under(debug) {
        let name = log.file_name().unwrap().to_str().unwrap();
        let Some(client) = name.strip_suffix("-client.log") else {
            continue;
        };
        let folder = log.parent().unwrap();
        for line in std::fs::read_to_string(&log).unwrap().lines() {
            let Some(op) = between(line, "(*methods.", "Body)") else {
                continue;
            };
            let (time, rest) = line.split_once(" - ").unwrap();
            let number = rest.split(':').next().unwrap();
            let file = |suffix: &str| folder.join(format!("{client}-{number}.{suffix}"));
            let request = std::fs::read_to_string(file("req.xml")).unwrap_or_default();
            let what = match (
                between(&request, "<type>", "</type>"),
                between(&request, "<pathSet>", "</pathSet>"),
            ) {
                (Some(kind), Some(path)) => format!("{op} {kind}.{path}"),
                _ => op.to_owned(),
            };
            let headers = std::fs::read_to_string(file("res.headers")).unwrap_or_default();
            let status = headers.lines().next().unwrap_or("no answer");
            let status = status
                .strip_prefix("HTTP/1.1 ")
                .unwrap_or(status)
                .to_owned();
            calls.push((time.to_owned(), SoapCall { what, status }));
        }
    }
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    calls.into_iter().map(|(_, call)| call).collect()
}

/// The SOAP session keys the server handed govc, from its traces under `debug` and its
/// `GOVMOMI_HOME` `home`: the `vmware_soap_session`
/// cookies its traces show being set, the `UserSession` keys of its logins, and the
/// cookies in its session cache.
pub(crate) fn session_keys(debug: &Path, home: &Path) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for file in files_under(debug) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let name = file.display().to_string();
        if name.ends_with(".res.headers") {
            for line in text.lines() {
                if let Some(cookie) = line.strip_prefix("Set-Cookie: vmware_soap_session=") {
                    keys.insert(
                        cookie
                            .split(';')
                            .next()
                            .unwrap()
                            .trim_matches('"')
                            .to_owned(),
                    );
                }
            }
        } else if name.ends_with(".res.xml") && text.contains("<LoginResponse") {
            keys.extend(between(&text, "<key>", "</key>").map(str::to_owned));
        }
    }
    for file in files_under(&home.join("sessions")) {
        let cached: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for cookie in cached["SoapClient"]["Cookies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if cookie["Name"] == "vmware_soap_session" {
                keys.insert(cookie["Value"].as_str().unwrap().to_owned());
            }
        }
    }
    keys
}

/// The SHA-256 of each `Login` body govc sent (traces under `debug`), with `password`. Its trace masks the password
/// as `********` and is otherwise the body as sent, so the body is the trace with the
/// password put back: a tape key or file name made from its hash confirms a guessed
/// password offline.
pub(crate) fn login_body_hashes(debug: &Path, password: &str) -> BTreeSet<String> {
    files_under(debug)
        .into_iter()
        .filter(|file| file.display().to_string().ends_with(".req.xml"))
        .map(|file| std::fs::read_to_string(file).unwrap())
        .filter(|body| body.contains("<Login xmlns=\"urn:vim25\">"))
        .map(|body| {
            let masked = "<password>********</password>";
            let clear = format!("<password>{password}</password>");
            sha256_hex(body.replace(masked, &clear).as_bytes())
        })
        .collect()
}
