//! `cassette`: loading cassette files, session and call, from arbitrary bytes.
//!
//! Loading must never panic. A cassette that loads (format 1 or 2) writes format 2
//! bytes that load back to an equal cassette, and writing that again gives the same
//! bytes (re-writing an unchanged cassette produces no diff).

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cassette::{CallCassette, Cassette, CassetteError, CALLS_SUBFOLDER, FORMAT_VERSION};
use crate::vapi::{CallKey, Op, SessionId};

/// What the bytes loaded as.
// Read by the seed tests; the fuzz targets only need the checks.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Default)]
pub(super) struct Loaded {
    pub(super) session: Option<Cassette>,
    pub(super) call: Option<CallCassette>,
}

pub(super) fn check(data: &[u8]) -> Loaded {
    let json = serde_json::from_slice::<Value>(data).ok();
    Loaded {
        session: round_trip(
            &session_path(json.as_ref()),
            data,
            Cassette::from_file_bytes,
            Cassette::to_file_bytes,
        ),
        call: round_trip(
            &call_path(json.as_ref()),
            data,
            CallCassette::from_file_bytes,
            CallCassette::to_file_bytes,
        ),
    }
}

fn round_trip<T: PartialEq + Debug>(
    path: &Path,
    data: &[u8],
    load: fn(&Path, &[u8]) -> Result<T, CassetteError>,
    write: fn(&T) -> Vec<u8>,
) -> Option<T> {
    let cassette = load(path, data).ok()?;
    let written = write(&cassette);
    let shown = String::from_utf8_lossy(&written);
    let format = serde_json::from_slice::<Value>(&written)
        .ok()
        .and_then(|value| value.get("format")?.as_u64());
    assert_eq!(format, Some(u64::from(FORMAT_VERSION)), "{shown}");
    let back = load(path, &written)
        .unwrap_or_else(|err| panic!("written cassette does not load: {err}\n{shown}"));
    assert_eq!(back, cassette, "{shown}");
    assert_eq!(write(&back), written, "re-writing changes the file");
    Some(cassette)
}

fn text<'a>(json: Option<&'a Value>, field: &str) -> Option<&'a str> {
    json?.get(field)?.as_str()
}

/// The file name the cassette's own id asks for, so that loading gets past the name
/// check; `obj-103.json` when the bytes hold no usable id.
fn session_path(json: Option<&Value>) -> PathBuf {
    let stem = text(json, "id")
        .and_then(|id| SessionId::parse(id).ok())
        .map_or_else(|| "obj-103".to_owned(), |id| id.file_stem());
    PathBuf::from(format!("download-session/{stem}.json"))
}

/// The file name a call cassette's operation and key ask for; the unfiltered list's when
/// the bytes name no operation dsvcr keeps in call cassettes.
fn call_path(json: Option<&Value>) -> PathBuf {
    let op = text(json, "operation").and_then(Op::from_full_name);
    let key = json.and_then(|json| json.get("key"));
    let item = key
        .and_then(|key| key.get("library_item_id")?.as_str())
        .map(str::to_owned);
    let (op, key) = match (op, item) {
        (Some(op), _) if op.key() == crate::vapi::catalog::Key::Lookup => (
            op,
            CallKey::Lookup(key.cloned().unwrap_or_default().to_string()),
        ),
        (Some(Op::Create), Some(item)) => (Op::Create, CallKey::Create { item, token: None }),
        (_, item) => (Op::List, CallKey::Items(item)),
    };
    let name = CallCassette::file_name(op, &key);
    PathBuf::from(format!("{CALLS_SUBFOLDER}/{name}"))
}
