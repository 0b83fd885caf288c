//! Tape cassettes: one file per taped request under `<folder>/tape/`, holding the
//! request's key and the timeline of answers it got.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tracing::info;

use super::{
    parse_format_two, pretty, validate_recorded, CassetteError, Problem, Recorded, FORMAT_VERSION,
};
use crate::exchange::{TapeAnswer, TapeEntry, TapeKey};

/// Tape cassettes live in this subfolder of the cassette folder.
pub(crate) const TAPE_SUBFOLDER: &str = "tape";

/// A taped request and its answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TapeCassette {
    format: u32,
    pub(crate) request: TapeKey,
    pub(crate) recorded: Recorded,
    pub(crate) responses: Vec<TapeEntry>,
}

impl TapeCassette {
    pub(crate) fn new(request: TapeKey, recorded: Recorded) -> Self {
        TapeCassette {
            format: FORMAT_VERSION,
            request,
            recorded,
            responses: Vec::new(),
        }
    }

    /// Adds `answer`, raising the last entry's repeat count when it is the same again.
    pub(crate) fn append(&mut self, answer: TapeAnswer) {
        match self.responses.last_mut() {
            Some(last) if last.answer == answer => last.repeat += 1,
            _ => self.responses.push(TapeEntry { repeat: 1, answer }),
        }
    }

    pub(crate) fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        let fail = |problem: Problem| CassetteError::new(path, problem);
        let cassette: TapeCassette = parse_format_two(bytes, "tape").map_err(fail)?;
        validate_recorded(&cassette.recorded).map_err(|reason| fail(reason.into()))?;
        if cassette.responses.is_empty() {
            return Err(fail(Problem::Invalid(
                "responses is empty; a tape needs at least one answer".to_owned(),
            )));
        }
        let expected = cassette.request.file_name();
        if path.file_name().and_then(|name| name.to_str()) != Some(expected.as_str()) {
            return Err(fail(Problem::Invalid(format!(
                "tapes {}, so its file name must be {expected}",
                cassette.request
            ))));
        }
        Ok(cassette)
    }

    pub(crate) fn to_file_bytes(&self) -> Vec<u8> {
        pretty(self)
    }
}

/// `tapes` with each request key changed by `rekey` (replay's `--ignore-field` and
/// `--ignore-query`): tapes whose keys become the same are one, their answers in recording
/// order (to the second, then by file name) and its recording time the earliest.
pub(crate) fn rekeyed(tapes: Vec<TapeCassette>, rekey: impl Fn(&mut TapeKey)) -> Vec<TapeCassette> {
    let mut by_key: BTreeMap<String, Vec<(String, String, TapeCassette)>> = BTreeMap::new();
    for mut tape in tapes {
        let file = tape.request.file_name();
        rekey(&mut tape.request);
        let at = tape.recorded.at.clone();
        by_key
            .entry(tape.request.canonical())
            .or_default()
            .push((at, file, tape));
    }
    by_key
        .into_values()
        .map(|mut same| {
            same.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            let mut same = same.into_iter().map(|(_, _, tape)| tape);
            let mut first = same.next().expect("every key has a tape");
            for later in same {
                info!(request = %first.request, "taped requests that differ only in ignored inputs answer as one, in recording order");
                first.responses.extend(later.responses);
            }
            first
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::exchange::TapeBody;

    fn tape(body: &str, at: &str, answer: &str) -> TapeCassette {
        let recorded = Recorded {
            at: at.to_owned(),
            upstream: None,
            form: None,
        };
        let method = http::Method::POST;
        let request = TapeKey::of(
            &method,
            &"/rest/vcenter/vm".parse().unwrap(),
            body.as_bytes(),
        );
        let mut tape = TapeCassette::new(request, recorded);
        tape.append(TapeAnswer {
            status: 200,
            content_type: None,
            body: TapeBody::Text(answer.to_owned()),
        });
        tape
    }

    #[test]
    fn tapes_whose_keys_become_the_same_are_one_in_recording_order() {
        let tapes = vec![
            tape(r#"{"ts":2,"v":1}"#, "2026-12-01T00:00:02Z", "second"),
            tape(r#"{"ts":1,"v":1}"#, "2026-12-01T00:00:01Z", "first"),
            tape(r#"{"ts":1,"v":2}"#, "2026-12-01T00:00:00Z", "other"),
        ];
        let without_ts = |key: &mut TapeKey| {
            if let Some(Value::Object(body)) = key.body.as_mut() {
                body.remove("ts");
            }
        };
        let rekeyed = rekeyed(tapes, without_ts);
        let answers: Vec<(Value, Vec<TapeBody>, &str)> = rekeyed
            .iter()
            .map(|tape| {
                let bodies = tape
                    .responses
                    .iter()
                    .map(|entry| entry.answer.body.clone())
                    .collect();
                let body = tape.request.body.clone().unwrap();
                (body, bodies, tape.recorded.at.as_str())
            })
            .collect();
        let text = |text: &str| TapeBody::Text(text.to_owned());
        assert_eq!(
            answers,
            vec![
                (
                    json!({"v": 1}),
                    vec![text("first"), text("second")],
                    "2026-12-01T00:00:01Z"
                ),
                (json!({"v": 2}), vec![text("other")], "2026-12-01T00:00:00Z"),
            ]
        );
    }
}
