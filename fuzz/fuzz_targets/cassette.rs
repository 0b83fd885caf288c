//! Cassette file loading: `Cassette::from_file_bytes` on arbitrary bytes.
//!
//! It must never panic. A cassette that loads writes (`to_file_bytes`) bytes that load
//! back to an equal cassette, and writing that again gives the same bytes (re-writing
//! an unchanged cassette produces no diff).

#![no_main]

use std::path::PathBuf;

use dsvcr::cassette::Cassette;
use dsvcr::vapi::SessionId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = path_for(data);
    let Ok(cassette) = Cassette::from_file_bytes(&path, data) else {
        return;
    };
    let written = cassette.to_file_bytes();
    let back = Cassette::from_file_bytes(&path, &written).unwrap_or_else(|err| {
        panic!(
            "written cassette does not load: {err}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(back, cassette, "{}", String::from_utf8_lossy(&written));
    assert_eq!(back.to_file_bytes(), written, "re-writing changes the file");
});

/// The file name the cassette's own id asks for, so that loading gets past the name
/// check; `obj-103.json` when the bytes hold no usable id.
fn path_for(data: &[u8]) -> PathBuf {
    let stem = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|value| value.get("id")?.as_str().map(str::to_owned))
        .and_then(|id| SessionId::parse(&id).ok())
        .map(|id| id.file_stem())
        .unwrap_or_else(|| "obj-103".to_owned());
    PathBuf::from(format!("download-session/{stem}.json"))
}
