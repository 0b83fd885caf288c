//! What a request body holds and which representation the answer takes.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyKind {
    None,
    Json,
    Xml,
}

/// What a body holds: judged by its first character, or by `Content-Type` when that
/// character is neither `{` nor `<`.
pub(super) fn body_kind(headers: &HeaderMap, body: &[u8]) -> BodyKind {
    match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
        None => BodyKind::None,
        Some(b'<') => BodyKind::Xml,
        Some(b'{') => BodyKind::Json,
        Some(_) if content_type_is_xml(headers) => BodyKind::Xml,
        Some(_) => BodyKind::Json,
    }
}

pub(super) fn content_type_is_xml(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| media_kind(value.split(';').next().unwrap_or("")) == MediaKind::Xml)
        .unwrap_or(false)
}

/// XML when `Accept` prefers an XML type over JSON, or when `Accept` names neither and
/// the request body was XML; JSON otherwise.
pub(super) fn representation(headers: &HeaderMap, body: BodyKind) -> Representation {
    let mut best_json = 0.0_f32;
    let mut best_xml = 0.0_f32;
    for value in headers.get_all(ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let kind = media_kind(parts.next().unwrap_or(""));
            let quality = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match kind {
                MediaKind::Json => best_json = best_json.max(quality),
                MediaKind::Xml => best_xml = best_xml.max(quality),
                MediaKind::Other => {}
            }
        }
    }
    if best_xml > best_json {
        Representation::Xml
    } else if best_json > 0.0 || body != BodyKind::Xml {
        Representation::Json
    } else {
        Representation::Xml
    }
}

#[derive(PartialEq, Eq)]
pub(super) enum MediaKind {
    Json,
    Xml,
    Other,
}

pub(super) fn media_kind(media_type: &str) -> MediaKind {
    let media_type = media_type.trim();
    let is = |name: &str| media_type.eq_ignore_ascii_case(name);
    let ends_with = |suffix: &str| {
        media_type.len() >= suffix.len()
            && media_type.as_bytes()[media_type.len() - suffix.len()..]
                .eq_ignore_ascii_case(suffix.as_bytes())
    };
    if is("application/json") || ends_with("+json") {
        MediaKind::Json
    } else if is("application/xml") || is("text/xml") || ends_with("+xml") {
        MediaKind::Xml
    } else {
        MediaKind::Other
    }
}
