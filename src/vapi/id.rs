//! Download session identifiers, validated before they can become file names.

use std::borrow::Borrow;
use std::fmt;

/// Longest identifier accepted, in bytes.
pub(crate) const MAX_ID_BYTES: usize = 256;

/// A download session identifier that is a plausible vSphere id and safe as a file name:
/// it starts with an ASCII letter or digit and holds only letters, digits, `-`, `_`, `.`
/// and `:`, never `..`, at most [`MAX_ID_BYTES`] bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SessionId(Box<str>);

/// Why a string is not a usable download session identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IdError {
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
pub(crate) struct Shown(String);

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
/// in file names. No id contains `%`.
const COLON_IN_FILE_NAME: &str = "%3A";

/// Longest file stem written out in full. With `.json` and a temp file's prefix and
/// suffix, a name stays well under the 255 bytes most file systems allow.
const MAX_PLAIN_STEM_BYTES: usize = 200;

/// How much of a long or case-carrying stem is kept before its hash.
const KEPT_STEM_BYTES: usize = 150;

impl SessionId {
    pub(crate) fn parse(raw: &str) -> Result<Self, IdError> {
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

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The file name stem for this id's cassette: the id with `:` spelled `%3A`. When
    /// the id holds an upper-case letter, or that stem would pass 200 bytes, the stem is
    /// cut to at most 150 bytes and followed by `~` and 16 hex digits of the id's SHA-256:
    /// ids that differ only in case then never share a file on a case-insensitive file
    /// system (macOS, Windows), and every id dsvcr accepts makes a name short enough to
    /// store. The cassette holds the id itself, which the loader checks against the name.
    pub(crate) fn file_stem(&self) -> String {
        let plain = self.legacy_file_stem();
        if plain.len() <= MAX_PLAIN_STEM_BYTES && !self.0.bytes().any(|b| b.is_ascii_uppercase()) {
            return plain;
        }
        // Ids are ASCII, so any cut is a character boundary; never cut a `%3A` in two.
        let mut cut = KEPT_STEM_BYTES.min(plain.len());
        while plain[..cut].ends_with('%') || plain[..cut].ends_with("%3") {
            cut -= 1;
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        let hash: String = digest.as_ref()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{}~{hash}", &plain[..cut])
    }

    /// Whether `stem` is this id's file stem, or the one dsvcr 0.1 gave it.
    pub(crate) fn is_file_stem(&self, stem: &str) -> bool {
        let plain = !self.0.contains(':')
            && self.0.len() <= MAX_PLAIN_STEM_BYTES
            && !self.0.bytes().any(|b| b.is_ascii_uppercase());
        if plain {
            // Both stems are the id itself.
            return stem == &*self.0;
        }
        stem == self.file_stem() || stem == self.legacy_file_stem()
    }

    /// The stem dsvcr 0.1 wrote for every id (the id with `:` spelled `%3A`); still
    /// accepted when loading.
    pub(crate) fn legacy_file_stem(&self) -> String {
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
    fn file_stems_spell_colons_and_keep_plain_ids_readable() {
        let id = SessionId::parse("urn:vapi:obj-1").unwrap();
        assert_eq!(id.file_stem(), "urn%3Avapi%3Aobj-1");
        assert_eq!(id.legacy_file_stem(), "urn%3Avapi%3Aobj-1");
    }

    /// Found by a hostile review: `Obj-1` and `obj-1` shared one file on a
    /// case-insensitive file system, and 256-byte ids made names too long to create.
    #[test]
    fn file_stems_stay_distinct_under_case_folding_and_short() {
        let stems: Vec<String> = ["obj-1", "Obj-1", "OBJ-1"]
            .iter()
            .map(|raw| SessionId::parse(raw).unwrap().file_stem())
            .collect();
        assert_eq!(stems[0], "obj-1");
        let folded: std::collections::HashSet<String> =
            stems.iter().map(|stem| stem.to_ascii_lowercase()).collect();
        assert_eq!(folded.len(), 3, "{stems:?}");
        assert!(stems[1].starts_with("Obj-1~") && stems[1].len() == "Obj-1~".len() + 16);
        let long = SessionId::parse(&format!("a{}", ":".repeat(255))).unwrap();
        let stem = long.file_stem();
        assert!(stem.len() <= 150 + 17, "{}", stem.len());
        assert!(!stem.contains("%~") && !stem.contains("%3~"), "{stem}");
        let longest = SessionId::parse(&"b".repeat(256)).unwrap().file_stem();
        assert_eq!(longest.len(), 150 + 17);
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
