//! Call cassettes: an operation that is not about one session, keyed by its input.

use super::*;

/// The answers of an operation that is not about one session (a list, a create that
/// failed, a library or item lookup), keyed by its canonical input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallCassette {
    pub(crate) op: Op,
    pub(crate) key: CallKey,
    pub(crate) recorded: Recorded,
    pub(crate) responses: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallCassette {
    pub(super) format: u32,
    pub(super) operation: String,
    /// The call's key as named inputs, e.g. `{"library_item_id": "L"}` or `{"spec": {…}}`.
    pub(super) key: serde_json::Map<String, serde_json::Value>,
    pub(super) recorded: Recorded,
    pub(super) responses: Vec<Entry>,
}

/// Call cassettes live in this subfolder of the cassette folder.
pub(crate) const CALLS_SUBFOLDER: &str = "calls";

impl CallCassette {
    /// The key a call cassette is stored under: the call's, less what does not select
    /// a recording (a failed create's client token).
    pub(crate) fn key_of(op: Op, key: &CallKey) -> Option<CallKey> {
        match (op, key) {
            (Op::List, CallKey::Items(item)) => Some(CallKey::Items(item.clone())),
            (Op::Create, CallKey::Create { item, .. }) => Some(CallKey::Create {
                item: item.clone(),
                token: None,
            }),
            (_, CallKey::Lookup(input)) => Some(CallKey::Lookup(input.clone())),
            _ => None,
        }
    }

    /// The key as named inputs.
    pub(super) fn key_object(key: &CallKey) -> serde_json::Map<String, serde_json::Value> {
        let item = |item: &str| {
            let mut object = serde_json::Map::new();
            object.insert("library_item_id".to_owned(), item.into());
            object
        };
        match key {
            CallKey::Items(None) => serde_json::Map::new(),
            CallKey::Items(Some(id)) | CallKey::Create { item: id, .. } => item(id),
            CallKey::Lookup(input) => match serde_json::from_str(input) {
                Ok(serde_json::Value::Object(object)) => object,
                _ => serde_json::Map::new(),
            },
            CallKey::Session(id) => item(id.as_str()),
            CallKey::File(id, _) => item(id.as_str()),
        }
    }

    /// The file name: the operation's label and a hash of its canonical key, so that any
    /// key is a safe, short, case-distinct name.
    pub(crate) fn file_name(op: Op, key: &CallKey) -> String {
        let canonical = serde_json::Value::Object(Self::key_object(key)).to_string();
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        let hex: String = digest.as_ref()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{}-{hex}.json", op.label())
    }

    pub(crate) fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        let fail = |problem| CassetteError::new(path, problem);
        let raw: RawCallCassette = parse_format_two(bytes, "call").map_err(fail)?;
        let cassette = Self::from_raw(raw).map_err(|reason| fail(reason.into()))?;
        let name = path.file_name().and_then(|name| name.to_str());
        let expected = Self::file_name(cassette.op, &cassette.key);
        if name != Some(expected.as_str()) {
            return Err(fail(Problem::Invalid(format!(
                "holds {} for {}, so its file name must be {expected}",
                cassette.op.label(),
                cassette.key
            ))));
        }
        Ok(cassette)
    }

    pub(super) fn from_raw(raw: RawCallCassette) -> Result<Self, String> {
        let op = Op::from_full_name(&raw.operation).ok_or_else(|| {
            format!(
                "operation {:?} is not an operation dsvcr knows",
                raw.operation
            )
        })?;
        let key = Self::key_from(op, raw.key)?;
        validate_recorded(&raw.recorded)?;
        validate_responses(op, &raw.responses, |answer| match (op, answer) {
            // Successful creates live in the session cassette of the id they answered.
            (Op::Create, Answer::Error { .. }) => Ok(()),
            (Op::Create, _) => {
                Err("a successful create belongs in its session's cassette".to_owned())
            }
            _ => Ok(()),
        })?;
        Ok(CallCassette {
            op,
            key,
            recorded: raw.recorded,
            responses: raw.responses,
        })
    }

    pub(super) fn key_from(
        op: Op,
        mut key: serde_json::Map<String, serde_json::Value>,
    ) -> Result<CallKey, String> {
        let item = key.remove("library_item_id");
        let item = match item {
            None => None,
            Some(serde_json::Value::String(item)) => Some(item),
            Some(other) => {
                return Err(format!("key.library_item_id must be a string, not {other}"))
            }
        };
        match (op.key(), item) {
            (Key::ItemFilter, item) if key.is_empty() => Ok(CallKey::Items(item)),
            (Key::Create, Some(item)) if key.is_empty() => {
                Ok(CallKey::Create { item, token: None })
            }
            (Key::Lookup, item) => {
                if let Some(item) = item {
                    key.insert("library_item_id".to_owned(), item.into());
                }
                Ok(CallKey::lookup(
                    key.iter().map(|(name, value)| (name.as_str(), value)),
                ))
            }
            (Key::Create, _) => {
                Err("a create's key is its library_item_id, and only that".to_owned())
            }
            (Key::ItemFilter, _) => {
                Err("a list's key is its library_item_id filter, and only that".to_owned())
            }
            (Key::Session | Key::SessionFile, _) => Err(format!(
                "{} is recorded in session cassettes, not call cassettes",
                op.label()
            )),
        }
    }

    pub(crate) fn to_file_bytes(&self) -> Vec<u8> {
        pretty(&RawCallCassette {
            format: FORMAT_VERSION,
            operation: self.op.full_name().to_owned(),
            key: Self::key_object(&self.key),
            recorded: self.recorded.clone(),
            responses: self.responses.clone(),
        })
    }
}
