//! Download session identifiers, validated before they can become file names.

use std::borrow::Borrow;
use std::fmt;

/// Longest identifier accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// A download session identifier that is a plausible vSphere id and safe as a file name:
/// it starts with an ASCII letter or digit and holds only letters, digits, `-`, `_`, `.`
/// and `:`, never `..`, at most [`MAX_ID_BYTES`] bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Box<str>);

/// Why a string is not a usable download session identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("download_session_id is empty")]
    Empty,
    #[error("download_session_id is {0} bytes long; the limit is {MAX_ID_BYTES}")]
    TooLong(usize),
    #[error("download_session_id {0} contains a control character")]
    ControlCharacter(Shown),
    #[error("download_session_id {0} contains a path separator")]
    PathSeparator(Shown),
    #[error("download_session_id {0} contains '..'")]
    DotDot(Shown),
    #[error("download_session_id {0} must start with a letter or digit")]
    BadStart(Shown),
    #[error(
        "download_session_id {id} contains {character:?}, which vSphere identifiers do not use"
    )]
    BadCharacter { id: Shown, character: char },
}

/// An offending id quoted for an error message: escaped and cut to a readable length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    fn of(raw: &str) -> Self {
        const SHOWN_CHARS: usize = 80;
        let mut quoted: String = raw.chars().take(SHOWN_CHARS).collect();
        if raw.chars().count() > SHOWN_CHARS {
            quoted.push('…');
        }
        Shown(format!("{quoted:?}"))
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `:` is the one allowed character that some file systems refuse; it is spelled `%3A`
/// in file names. No id contains `%`, so the mapping is reversible.
const COLON_IN_FILE_NAME: &str = "%3A";

impl SessionId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        // The common case in one pass; anything else goes through the checks below,
        // which say what is wrong.
        let plausible = raw.len() <= MAX_ID_BYTES
            && raw
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_alphanumeric)
            && raw.bytes().all(|byte| is_id_char(char::from(byte)))
            && !raw.contains("..");
        if plausible {
            return Ok(SessionId(raw.into()));
        }
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if raw.len() > MAX_ID_BYTES {
            return Err(IdError::TooLong(raw.len()));
        }
        if raw.chars().any(char::is_control) {
            return Err(IdError::ControlCharacter(Shown::of(raw)));
        }
        if raw.contains(['/', '\\']) {
            return Err(IdError::PathSeparator(Shown::of(raw)));
        }
        if raw.contains("..") {
            return Err(IdError::DotDot(Shown::of(raw)));
        }
        if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(IdError::BadStart(Shown::of(raw)));
        }
        if let Some(character) = raw.chars().find(|c| !is_id_char(*c)) {
            return Err(IdError::BadCharacter {
                id: Shown::of(raw),
                character,
            });
        }
        Ok(SessionId(raw.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file name stem for this id's cassette.
    pub fn file_stem(&self) -> String {
        self.0.replace(':', COLON_IN_FILE_NAME)
    }
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        SessionId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_vsphere_ids() {
        for raw in [
            "obj-103",
            "b7c2a3f0-5d7e-4c1b-9a55-0e8f2d1c3b4a",
            "session-42",
            "urn:vapi:x.y",
        ] {
            assert_eq!(SessionId::parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn rejects_ids_that_could_escape_the_folder_or_are_not_plausible() {
        assert_eq!(SessionId::parse(""), Err(IdError::Empty));
        assert_eq!(
            SessionId::parse(&"a".repeat(257)),
            Err(IdError::TooLong(257))
        );
        assert!(SessionId::parse(&"a".repeat(256)).is_ok());
        assert!(matches!(
            SessionId::parse("a/b"),
            Err(IdError::PathSeparator(_))
        ));
        assert!(matches!(
            SessionId::parse("a\\b"),
            Err(IdError::PathSeparator(_))
        ));
        assert!(matches!(SessionId::parse("a..b"), Err(IdError::DotDot(_))));
        assert!(matches!(SessionId::parse(".."), Err(IdError::DotDot(_))));
        assert!(matches!(
            SessionId::parse("a\0b"),
            Err(IdError::ControlCharacter(_))
        ));
        assert!(matches!(
            SessionId::parse("a\nb"),
            Err(IdError::ControlCharacter(_))
        ));
        assert!(matches!(SessionId::parse(".a"), Err(IdError::BadStart(_))));
        assert_eq!(
            SessionId::parse("a b").unwrap_err().to_string(),
            "download_session_id \"a b\" contains ' ', which vSphere identifiers do not use"
        );
    }

    #[test]
    fn file_stems_are_reversible() {
        let id = SessionId::parse("urn:vapi:obj-1").unwrap();
        assert_eq!(id.file_stem(), "urn%3Avapi%3Aobj-1");
    }

    #[test]
    fn long_ids_are_cut_in_messages() {
        let message = SessionId::parse(&format!("{} x", "a".repeat(200)))
            .unwrap_err()
            .to_string();
        assert!(message.contains('…'), "{message}");
        assert!(message.len() < 200, "{message}");
    }
}
