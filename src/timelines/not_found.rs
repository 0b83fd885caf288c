//! The wording of synthetic `not_found`s.

use crate::cassette::Cassette;
use crate::vapi::{Answer, ErrorKind, LocalizableMessage, SessionId, VapiError};

/// The wording of synthetic `not_found`s: vCenter's own, taken from the first recorded
/// `not_found` answer (in id order) whose message names its session id, or dsvcr's when
/// none was recorded.
pub(super) struct NotFoundTemplate {
    /// The id the recorded message was about, to be replaced by the missing id.
    recorded_id: Option<String>,
    message: LocalizableMessage,
}

const DEFAULT_NOT_FOUND_ID: &str = "dsvcr.download_session.not_found";

/// Shorter recorded ids are not used as templates: replacing them inside a message
/// would hit other words.
const MIN_TEMPLATE_ID_BYTES: usize = 4;

impl NotFoundTemplate {
    pub(super) fn from_recordings(cassettes: &[Cassette]) -> Self {
        let recorded = cassettes
            .iter()
            .filter(|cassette| cassette.id.as_str().len() >= MIN_TEMPLATE_ID_BYTES)
            .find_map(|cassette| {
                let id = cassette.id.as_str();
                cassette
                    .timelines
                    .iter()
                    .flat_map(|track| &track.responses)
                    .find_map(|entry| match &entry.answer {
                        Answer::Error { error, .. } if error.kind == ErrorKind::NotFound => error
                            .messages
                            .first()
                            .filter(|message| names(message, id))
                            .map(|message| (id.to_owned(), message.clone())),
                        _ => None,
                    })
            });
        match recorded {
            Some((recorded_id, message)) => NotFoundTemplate {
                recorded_id: Some(recorded_id),
                message,
            },
            None => NotFoundTemplate {
                recorded_id: None,
                message: LocalizableMessage::new(DEFAULT_NOT_FOUND_ID, String::new(), Vec::new()),
            },
        }
    }

    pub(super) fn for_id(&self, id: &SessionId) -> VapiError {
        let id = id.as_str();
        let message = match &self.recorded_id {
            Some(recorded_id) => {
                let substitute = |text: &str| replace_token(text, recorded_id, id);
                LocalizableMessage {
                    args: self
                        .message
                        .args
                        .iter()
                        .map(|arg| {
                            if arg == recorded_id {
                                id.to_owned()
                            } else {
                                arg.clone()
                            }
                        })
                        .collect(),
                    default_message: substitute(&self.message.default_message),
                    id: self.message.id.clone(),
                    localized: self.message.localized.as_deref().map(substitute),
                    params: self.message.params.clone(),
                }
            }
            None => LocalizableMessage::new(
                DEFAULT_NOT_FOUND_ID,
                format!("No download session with id {id} exists (dsvcr has no cassette for it)."),
                vec![id.to_owned()],
            ),
        };
        VapiError::new(ErrorKind::NotFound, message)
    }
}

/// Whether a message names `id`: as a whole argument, or as a token of its text.
fn names(message: &LocalizableMessage, id: &str) -> bool {
    message.args.iter().any(|arg| arg == id)
        || replace_token(&message.default_message, id, "") != message.default_message
}

/// `text` with every occurrence of `token` that stands alone (not inside a longer id)
/// replaced by `with`.
fn replace_token(text: &str, token: &str, with: &str) -> String {
    let is_id_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(token) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + token.len()..].chars().next();
        out.push_str(&rest[..at]);
        let alone = !before.is_some_and(is_id_char) && !after.is_some_and(is_id_char);
        out.push_str(if alone { with } else { token });
        rest = &rest[at + token.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_only_where_they_stand_alone() {
        assert_eq!(
            replace_token("Session obj-1 not found (obj-10, xobj-1).", "obj-1", "S"),
            "Session S not found (obj-10, xobj-1)."
        );
        assert_eq!(replace_token("obj-1", "obj-1", "S"), "S");
        assert_eq!(replace_token("'obj-1'.", "obj-1", "S"), "'S'.");
    }
}
