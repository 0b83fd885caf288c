//! Reading a file's format version, and the older formats that still load.

use super::*;

/// Just the format version, read first to pick the parser.
#[derive(Deserialize)]
pub(super) struct Version {
    pub(super) format: u32,
}

/// Format 1: one `get` timeline.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FormatOne {
    #[allow(dead_code)]
    pub(super) format: u32,
    pub(super) operation: String,
    pub(super) id: SessionId,
    pub(super) recorded: Recorded,
    pub(super) responses: Vec<Entry>,
}

/// Format 2, as spelled in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FormatTwo {
    pub(super) format: u32,
    pub(super) id: SessionId,
    pub(super) recorded: Recorded,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) create: Option<Create>,
    #[serde(default)]
    pub(super) timelines: Vec<RawTrack>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) downloads: Vec<Download>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrack {
    pub(super) operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) file_name: Option<String>,
    pub(super) responses: Vec<Entry>,
}

/// The format version of a file whose first member is `"format"` with a plain number,
/// found without parsing the rest; `None` for any other file. Both formats' structs also
/// read `format`, and a repeated member fails them, so a file they accept holds this
/// version and no other.
pub(super) fn leading_format(bytes: &[u8]) -> Option<u32> {
    let skip_space = |at: usize| {
        at + bytes[at.min(bytes.len())..]
            .iter()
            .take_while(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
            .count()
    };
    let mut at = skip_space(0);
    for expected in [&b"{"[..], b"\"format\"", b":"] {
        if !bytes.get(at..)?.starts_with(expected) {
            return None;
        }
        at = skip_space(at + expected.len());
    }
    let digits = bytes[at..]
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if !matches!(bytes.get(skip_space(at + digits)), Some(b',' | b'}')) {
        return None;
    }
    std::str::from_utf8(&bytes[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// Parses a file of a kind only format 2 has (`kind` cassettes), checking its version
/// first so that an unknown one is named as such.
pub(super) fn parse_format_two<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    kind: &str,
) -> Result<T, Problem> {
    let version: Version = serde_json::from_slice(bytes)?;
    if version.format != FORMAT_VERSION {
        return Err(Problem::Invalid(format!(
            "format {} is not known for {kind} cassettes; this dsvcr reads format {FORMAT_VERSION}",
            version.format
        )));
    }
    Ok(serde_json::from_slice(bytes)?)
}
