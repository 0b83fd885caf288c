//! Finding the catalogued resource a path names.

use super::*;

pub(super) const REST_PREFIX: &[&str] = &["rest", "com", "vmware", "content", "library"];
pub(super) const REFERENCE_PREFIX: &[&str] = &["com", "vmware", "content", "library"];
pub(super) const API_PREFIX: &[&str] = &["api", "content", "library"];
pub(super) const REST_LITERAL: &str = "rest/com/vmware/content/library";
pub(super) const REFERENCE_LITERAL: &str = "com/vmware/content/library";
pub(super) const API_LITERAL: &str = "api/content/library";
pub(super) const ITEMS_SESSIONS: &str = "item/download-session";
pub(super) const ITEMS: &str = "item";
pub(super) const SESSIONS: &str = "download-session";
pub(super) const REST_FILES: &[&str] = &["downloadsession", "file"];
pub(super) const API_FILES: &str = "file";
pub(super) const ID_PARAMETER: &str = "download_session_id";

/// Which catalogued resource a path names, with the decoded id in it (for `/rest`,
/// after `id:`), borrowed from the path unless it had to be decoded.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Resource<'a> {
    pub(super) shape: Shape,
    pub(super) id: Option<Cow<'a, str>>,
}

/// Finds the catalogued resource a path names, ignoring one trailing slash and
/// percent-encoding in any segment.
pub(super) fn resource_of(path: &str) -> Option<(Flavour, Resource<'_>)> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let flavour = Flavour::of_path(path);
    let (prefix, literal) = match flavour {
        Flavour::Rest => (REST_PREFIX, REST_LITERAL),
        Flavour::Reference => (REFERENCE_PREFIX, REFERENCE_LITERAL),
        Flavour::Api | Flavour::JsonRpc => (API_PREFIX, API_LITERAL),
    };
    let rest = path.strip_prefix('/')?;
    // Nearly every path spells its prefix literally: one comparison instead of one per segment.
    let rest = match strip_literal(rest, literal) {
        Some(rest) => rest,
        None => prefix
            .iter()
            .try_fold(rest, |rest, expected| strip_segment(rest, expected))?,
    };
    let rest_flavour = flavour != Flavour::Api;
    if let Some(sessions) = strip_literal(rest, ITEMS_SESSIONS) {
        return sessions_resource(flavour, sessions);
    }
    let Some(under_items) = strip_segment(rest, ITEMS) else {
        // A library: `…/library` or `…/library/id:L` (`/rest`), `…/library/L` (`/api`).
        return one_item(rest, rest_flavour, Shape::Libraries, Shape::Library)
            .map(|r| (flavour, r));
    };
    if rest_flavour {
        if let Some(after) = REST_FILES
            .iter()
            .try_fold(under_items, |rest, expected| strip_segment(rest, expected))
        {
            return rest_item(after, Shape::Files, Shape::File).map(|r| (flavour, r));
        }
    }
    let Some(sessions) = strip_segment(under_items, SESSIONS) else {
        return one_item(under_items, rest_flavour, Shape::Items, Shape::Item)
            .map(|r| (flavour, r));
    };
    sessions_resource(flavour, sessions)
}

/// The download-session resource named by what follows `…/item/download-session`.
pub(super) fn sessions_resource(
    flavour: Flavour,
    sessions: &str,
) -> Option<(Flavour, Resource<'_>)> {
    let resource = match flavour {
        Flavour::Api | Flavour::JsonRpc => api_item(sessions),
        Flavour::Rest | Flavour::Reference => rest_item(sessions, Shape::Sessions, Shape::Session)?,
    };
    Some((flavour, resource))
}

/// A collection or one member of it named by a single segment (`id:X` on `/rest`).
pub(super) fn one_item(
    rest: &str,
    rest_flavour: bool,
    collection: Shape,
    item: Shape,
) -> Option<Resource<'_>> {
    if rest.contains('/') {
        return None;
    }
    if rest_flavour {
        return rest_item(rest, collection, item);
    }
    let id = (!rest.is_empty()).then(|| decode_joined(rest));
    Some(Resource {
        shape: if id.is_some() { item } else { collection },
        id,
    })
}

/// What follows a matched segment: `""` when the path ends there, the rest after its
/// `/` otherwise; `None` if the next segment is not `expected`.
pub(super) fn strip_segment<'a>(rest: &'a str, expected: &str) -> Option<&'a str> {
    if let Some(after) = strip_literal(rest, expected) {
        return Some(after);
    }
    let (segment, after) = rest.split_once('/').unwrap_or((rest, ""));
    if !segment.contains('%') || decode(segment).as_deref() != Some(expected) {
        return None;
    }
    Some(after)
}

/// What follows `literal` (segments spelt exactly, joined by `/`) when `rest` starts
/// with it and a segment ends there.
pub(super) fn strip_literal<'a>(rest: &'a str, literal: &str) -> Option<&'a str> {
    let after = rest.strip_prefix(literal)?;
    match after.as_bytes().first() {
        None => Some(""),
        Some(b'/') => Some(&after[1..]),
        Some(_) => None,
    }
}

/// A `/rest` collection or `id:ID` item. An id is one segment; more segments are kept
/// so that the id check names the '/'.
pub(super) fn rest_item(rest: &str, collection: Shape, item: Shape) -> Option<Resource<'_>> {
    if rest.is_empty() {
        return Some(Resource {
            shape: collection,
            id: None,
        });
    }
    let id = match decode_joined(rest) {
        Cow::Borrowed(id) => Cow::Borrowed(id.strip_prefix("id:")?),
        Cow::Owned(id) => Cow::Owned(id.strip_prefix("id:")?.to_owned()),
    };
    Some(Resource {
        shape: item,
        id: Some(id),
    })
}

/// An `/api` collection, `ID` or `ID/file`.
pub(super) fn api_item(rest: &str) -> Resource<'_> {
    if rest.is_empty() {
        return Resource {
            shape: Shape::Sessions,
            id: None,
        };
    }
    if let Some((id, files)) = rest.split_once('/') {
        if !id.is_empty() && decode(files).as_deref() == Some(API_FILES) {
            return Resource {
                shape: Shape::SessionFiles,
                id: Some(decode_joined(id)),
            };
        }
    }
    Resource {
        shape: Shape::Session,
        id: Some(decode_joined(rest)),
    }
}

/// Every segment of `rest` percent-decoded (a segment that is not UTF-8 is kept as
/// sent), borrowed when nothing needed decoding.
pub(super) fn decode_joined(rest: &str) -> Cow<'_, str> {
    if !rest.contains('%') {
        return Cow::Borrowed(rest);
    }
    Cow::Owned(
        rest.split('/')
            .map(|segment| decode(segment).unwrap_or(Cow::Borrowed(segment)))
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// A segment percent-decoded, borrowed when it holds no `%`; `None` if not UTF-8.
pub(super) fn decode(segment: &str) -> Option<Cow<'_, str>> {
    if !segment.contains('%') {
        return Some(Cow::Borrowed(segment));
    }
    percent_decode_str(segment).decode_utf8().ok()
}
