//! The content-library model the fake serves: libraries holding items holding files, and the
//! `com.vmware.content.library` / `.item` lookups over it.

use bytes::Bytes;
use serde_json::{json, Value};

use super::vapi::VapiError;

pub(crate) const LIBRARY_ID: &str = "6778b9f2-0c1d-4e5f-8a9b-1c2d3e4f5a6b";
pub(crate) const LIBRARY_NAME: &str = "harness-lib";
pub(crate) const ITEM_ID: &str = "ca5b6d9a-7e8f-4a0b-9c1d-2e3f4a5b6c7d";
pub(crate) const ITEM_NAME: &str = "harness-item";
pub(crate) const ISO_NAME: &str = "disk.iso";
pub(crate) const ISO_LEN: usize = 4096;
pub(crate) const NOTES_NAME: &str = "notes.txt";
pub(crate) const NOTES_TEXT: &str = "harness-item: a small ISO for dsvcr tests.\n";

#[derive(Clone, Debug)]
pub(crate) struct FakeLibrary {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) items: Vec<FakeItem>,
}

#[derive(Clone, Debug)]
pub(crate) struct FakeItem {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The item's `type`, e.g. `iso` or `ovf`.
    pub(crate) kind: String,
    pub(crate) files: Vec<FakeFile>,
}

#[derive(Clone, Debug)]
pub(crate) struct FakeFile {
    pub(crate) name: String,
    pub(crate) bytes: Bytes,
}

impl FakeFile {
    pub(crate) fn new(name: &str, bytes: impl Into<Bytes>) -> FakeFile {
        FakeFile {
            name: name.to_owned(),
            bytes: bytes.into(),
        }
    }
}

/// `disk.iso`'s bytes: byte `i` is `(i * 7 + 3) mod 251`, so no window repeats within 251.
pub(crate) fn default_iso_bytes() -> Bytes {
    (0..ISO_LEN).map(|i| ((i * 7 + 3) % 251) as u8).collect()
}

/// `harness-lib` holding `harness-item` (type `iso`) holding `disk.iso` and `notes.txt`.
pub(crate) fn default_libraries() -> Vec<FakeLibrary> {
    vec![FakeLibrary {
        id: LIBRARY_ID.to_owned(),
        name: LIBRARY_NAME.to_owned(),
        items: vec![FakeItem {
            id: ITEM_ID.to_owned(),
            name: ITEM_NAME.to_owned(),
            kind: "iso".to_owned(),
            files: vec![
                FakeFile::new(ISO_NAME, default_iso_bytes()),
                FakeFile::new(NOTES_NAME, NOTES_TEXT),
            ],
        }],
    }]
}

pub(super) fn library_model(library: &FakeLibrary) -> Value {
    json!({"id": library.id, "name": library.name, "type": "LOCAL"})
}

pub(super) fn item_model(library: &FakeLibrary, item: &FakeItem) -> Value {
    json!({"id": item.id, "library_id": library.id, "name": item.name, "type": item.kind})
}

pub(super) fn library<'a>(
    libraries: &'a [FakeLibrary],
    id: &str,
) -> Result<&'a FakeLibrary, VapiError> {
    libraries
        .iter()
        .find(|library| library.id == id)
        .ok_or_else(|| VapiError::library_not_found(id))
}

pub(super) fn item<'a>(
    libraries: &'a [FakeLibrary],
    id: &str,
) -> Result<(&'a FakeLibrary, &'a FakeItem), VapiError> {
    libraries
        .iter()
        .flat_map(|library| library.items.iter().map(move |item| (library, item)))
        .find(|(_, item)| item.id == id)
        .ok_or_else(|| VapiError::item_not_found(id))
}

/// `find` with a spec: a missing name matches every library.
pub(super) fn find_libraries(libraries: &[FakeLibrary], name: Option<&str>) -> Vec<String> {
    libraries
        .iter()
        .filter(|library| name.is_none_or(|name| library.name == name))
        .map(|library| library.id.clone())
        .collect()
}

/// `find` with a spec: a missing library or name matches all of them.
pub(super) fn find_items(
    libraries: &[FakeLibrary],
    library_id: Option<&str>,
    name: Option<&str>,
) -> Vec<String> {
    libraries
        .iter()
        .filter(|library| library_id.is_none_or(|id| library.id == id))
        .flat_map(|library| library.items.iter())
        .filter(|item| name.is_none_or(|name| item.name == name))
        .map(|item| item.id.clone())
        .collect()
}
