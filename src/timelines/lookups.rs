//! Library lookups nobody recorded, answered from the library and item models the
//! cassettes hold (`library.get` and `library.item.get` answers) and the ids recorded lists
//! and finds answered: `library.list`, `library.item.list`, `library.find` and
//! `library.item.find`. When the recorded facts do not settle an answer (a find on a
//! field some recorded model does not carry, a library nobody recorded), there is none.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::cassette::CallCassette;
use crate::vapi::{Answer, CallKey, ErrorKind, LocalizableMessage, Op, VapiError};

/// What the cassettes tell about libraries and items.
#[derive(Default)]
pub(super) struct Facts {
    /// Library models by id.
    libraries: BTreeMap<String, Map<String, Value>>,
    /// Item models by id.
    items: BTreeMap<String, Map<String, Value>>,
    /// Library ids recorded lists and finds answered.
    listed_libraries: BTreeSet<String>,
    /// Item ids recorded item lists and finds answered, by the library they named.
    listed_items: BTreeMap<String, BTreeSet<String>>,
    /// Lookups already derived, by operation and key: the facts never change, so each is
    /// derived once. At most [`MAX_REMEMBERED`], keys of at most [`MAX_REMEMBERED_KEY_BYTES`]
    /// (a find's key is the client's body).
    derived: Mutex<HashMap<Op, HashMap<String, Option<Answer>>>>,
}

const MAX_REMEMBERED: usize = 1024;
const MAX_REMEMBERED_KEY_BYTES: usize = 1024;

/// The find spec fields each find takes, and the model field each one is compared with.
const LIBRARY_FIND: &[(&str, &str)] = &[
    ("name", "name"),
    ("type", "type"),
    ("storage_backing", "storage_backings"),
];
const ITEM_FIND: &[(&str, &str)] = &[
    ("name", "name"),
    ("library_id", "library_id"),
    ("source_id", "source_id"),
    ("type", "type"),
    ("cached", "cached"),
];

impl Facts {
    pub(super) fn learn(&mut self, cassette: &CallCassette) {
        let input = match &cassette.key {
            CallKey::Lookup(input) => serde_json::from_str::<Value>(input).unwrap_or_default(),
            _ => return,
        };
        for answer in cassette.responses.iter().map(|entry| &entry.answer) {
            match (cassette.op, answer) {
                (Op::LibraryGet, Answer::Value(Value::Object(model))) => {
                    if let Some(id) = model.get("id").and_then(Value::as_str) {
                        self.libraries.insert(id.to_owned(), model.clone());
                    }
                }
                (Op::ItemGet, Answer::Value(Value::Object(model))) => {
                    if let Some(id) = model.get("id").and_then(Value::as_str) {
                        self.items.insert(id.to_owned(), model.clone());
                    }
                }
                (Op::LibraryList | Op::LibraryFind, Answer::Ids(ids)) => {
                    self.listed_libraries.extend(ids.iter().cloned());
                }
                (Op::ItemList, Answer::Ids(ids)) => self.list_items(input.get("library_id"), ids),
                (Op::ItemFind, Answer::Ids(ids)) => {
                    let library = input.get("spec").and_then(|spec| spec.get("library_id"));
                    self.list_items(library, ids);
                }
                _ => {}
            }
        }
    }

    fn list_items(&mut self, library: Option<&Value>, ids: &[String]) {
        if let Some(library) = library.and_then(Value::as_str) {
            self.listed_items
                .entry(library.to_owned())
                .or_default()
                .extend(ids.iter().cloned());
        }
    }

    /// The answer to a lookup the cassettes settle, if they do.
    pub(super) fn answer(&self, op: Op, key: &str) -> Option<Answer> {
        let mut derived = self.derived.lock().expect("never poisoned");
        if let Some(answer) = derived.get(&op).and_then(|by_key| by_key.get(key)) {
            return answer.clone();
        }
        let answer = self.derive(op, key);
        let remembered: usize = derived.values().map(HashMap::len).sum();
        if remembered < MAX_REMEMBERED && key.len() <= MAX_REMEMBERED_KEY_BYTES {
            derived
                .entry(op)
                .or_default()
                .insert(key.to_owned(), answer.clone());
        }
        answer
    }

    fn derive(&self, op: Op, key: &str) -> Option<Answer> {
        let input: Value = serde_json::from_str(key).ok()?;
        match op {
            Op::LibraryList => self.library_ids().map(Answer::Ids),
            Op::ItemList => self.items_of(input.get("library_id")?.as_str()?),
            Op::LibraryFind => find(&self.libraries, LIBRARY_FIND, "library", input.get("spec")),
            Op::ItemFind => find(&self.items, ITEM_FIND, "library item", input.get("spec")),
            _ => None,
        }
    }

    /// Every library the cassettes name, if they name any.
    fn library_ids(&self) -> Option<Vec<String>> {
        let ids: BTreeSet<&String> = self
            .libraries
            .keys()
            .chain(&self.listed_libraries)
            .chain(self.listed_items.keys())
            .chain(self.items.values().filter_map(library_of))
            .collect();
        (!ids.is_empty()).then(|| ids.into_iter().cloned().collect())
    }

    fn items_of(&self, library: &str) -> Option<Answer> {
        let known = self.libraries.contains_key(library)
            || self.listed_libraries.contains(library)
            || self.listed_items.contains_key(library)
            || self
                .items
                .values()
                .any(|model| library_of(model).is_some_and(|id| id == library));
        if !known {
            return None;
        }
        let ids: BTreeSet<&String> = self
            .items
            .iter()
            .filter(|(_, model)| library_of(model).is_some_and(|id| id == library))
            .map(|(id, _)| id)
            .chain(self.listed_items.get(library).into_iter().flatten())
            .collect();
        Some(Answer::Ids(ids.into_iter().cloned().collect()))
    }
}

fn library_of(model: &Map<String, Value>) -> Option<&String> {
    match model.get("library_id") {
        Some(Value::String(id)) => Some(id),
        _ => None,
    }
}

/// The ids of the `models` matching `spec`; an `invalid_argument` for a spec that is not
/// an object or names a field the find does not take; `None` when some model does not
/// carry a field the spec filters on (or nothing was recorded), so the answer is unknown.
fn find(
    models: &BTreeMap<String, Map<String, Value>>,
    fields: &[(&str, &str)],
    what: &str,
    spec: Option<&Value>,
) -> Option<Answer> {
    let spec = match spec {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(spec)) => spec.clone(),
        Some(other) => {
            return Some(invalid_spec(format!(
                "the find spec must be a structure, not {other}"
            )))
        }
    };
    if let Some(unknown) = spec
        .keys()
        .find(|name| !fields.iter().any(|(field, _)| field == name))
    {
        let known: Vec<&str> = fields.iter().map(|(field, _)| *field).collect();
        return Some(invalid_spec(format!(
            "a {what} find spec has no field {unknown:?} (its fields: {})",
            known.join(", ")
        )));
    }
    if models.is_empty() {
        return None;
    }
    let filters: Vec<(&str, &Value)> = fields
        .iter()
        .filter_map(|(field, model_field)| match spec.get(*field) {
            None | Some(Value::Null) => None,
            Some(wanted) => Some((*model_field, wanted)),
        })
        .collect();
    let mut ids = Vec::new();
    for (id, model) in models {
        let mut matches = true;
        for (field, wanted) in &filters {
            matches &= matching(field, model.get(*field)?, wanted)?;
        }
        if matches {
            ids.push(id.clone());
        }
    }
    Some(Answer::Ids(ids))
}

/// Whether a model's field value matches the spec's; `None` when the model's value is
/// null (not carried).
fn matching(field: &str, carried: &Value, wanted: &Value) -> Option<bool> {
    match (field, carried, wanted) {
        (_, Value::Null, _) => None,
        // Names are compared case-insensitively, as vCenter's find does.
        ("name", Value::String(name), Value::String(wanted)) => {
            Some(name.to_lowercase() == wanted.to_lowercase())
        }
        ("storage_backings", Value::Array(backings), Value::Object(wanted)) => {
            let wanted: Vec<(&String, &Value)> = wanted
                .iter()
                .filter(|(_, value)| !value.is_null())
                .collect();
            let mut any = false;
            for backing in backings {
                let mut all = true;
                for (name, value) in &wanted {
                    all &= backing.get(name.as_str())? == *value;
                }
                any |= all;
            }
            Some(any)
        }
        _ => Some(carried == wanted),
    }
}

fn invalid_spec(problem: String) -> Answer {
    let message = LocalizableMessage::new("dsvcr.find.invalid_spec", problem, Vec::new());
    Answer::Error {
        status: ErrorKind::InvalidArgument.http_status(),
        error: VapiError::new(ErrorKind::InvalidArgument, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{Entry, Recorded};
    use serde_json::json;

    fn cassette(op: Op, key: Value, answer: Answer) -> CallCassette {
        CallCassette {
            op,
            key: CallKey::Lookup(key.to_string()),
            recorded: Recorded {
                at: "2026-12-07T00:00:00Z".to_owned(),
                upstream: None,
                form: None,
            },
            responses: vec![Entry { repeat: 1, answer }],
        }
    }

    /// Two libraries and three items, as `get`s recorded them.
    fn facts() -> Facts {
        let mut facts = Facts::default();
        let models = [
            (
                Op::LibraryGet,
                json!({"id": "lib-1", "name": "Harness-Lib", "type": "LOCAL",
                "storage_backings": [{"datastore_id": "ds-1", "type": "DATASTORE"}]}),
            ),
            (
                Op::LibraryGet,
                json!({"id": "lib-2", "name": "other", "type": "SUBSCRIBED",
                "storage_backings": [{"datastore_id": "ds-2", "type": "DATASTORE"}]}),
            ),
            (
                Op::ItemGet,
                json!({"id": "item-1", "library_id": "lib-1", "name": "harness-item", "type": "iso"}),
            ),
            (
                Op::ItemGet,
                json!({"id": "item-2", "library_id": "lib-1", "name": "notes", "type": "file"}),
            ),
            (
                Op::ItemGet,
                json!({"id": "item-3", "library_id": "lib-2", "name": "harness-item", "type": "ovf"}),
            ),
        ];
        for (op, model) in models {
            let key = json!({"x": model["id"]});
            facts.learn(&cassette(op, key, Answer::Value(model)));
        }
        facts
    }

    fn ids(list: &[&str]) -> Option<Answer> {
        Some(Answer::Ids(
            list.iter().map(|id| (*id).to_owned()).collect(),
        ))
    }

    fn key(value: Value) -> String {
        value.to_string()
    }

    #[test]
    fn library_list_names_every_recorded_library() {
        assert_eq!(
            facts().answer(Op::LibraryList, "{}"),
            ids(&["lib-1", "lib-2"])
        );
        assert_eq!(Facts::default().answer(Op::LibraryList, "{}"), None);
    }

    #[test]
    fn item_list_is_the_items_whose_model_names_the_library() {
        let facts = facts();
        assert_eq!(
            facts.answer(Op::ItemList, &key(json!({"library_id": "lib-1"}))),
            ids(&["item-1", "item-2"])
        );
        assert_eq!(
            facts.answer(Op::ItemList, &key(json!({"library_id": "lib-9"}))),
            None
        );
    }

    #[test]
    fn library_find_matches_names_without_case_and_backings_by_their_fields() {
        let facts = facts();
        let find = |spec: Value| facts.answer(Op::LibraryFind, &key(json!({ "spec": spec })));
        assert_eq!(find(json!({"name": "harness-lib"})), ids(&["lib-1"]));
        assert_eq!(find(json!({"type": "SUBSCRIBED"})), ids(&["lib-2"]));
        assert_eq!(find(json!({"name": "nothing"})), ids(&[]));
        assert_eq!(
            find(
                json!({"storage_backing": {"type": "DATASTORE", "datastore_id": "ds-2", "storage_uri": null}})
            ),
            ids(&["lib-2"])
        );
        assert_eq!(find(json!({})), ids(&["lib-1", "lib-2"]));
    }

    #[test]
    fn item_find_by_name_alone_or_with_its_library() {
        let facts = facts();
        let find = |spec: Value| facts.answer(Op::ItemFind, &key(json!({ "spec": spec })));
        assert_eq!(
            find(json!({"name": "harness-item"})),
            ids(&["item-1", "item-3"])
        );
        assert_eq!(
            find(json!({"name": "harness-item", "library_id": "lib-1", "cached": null})),
            ids(&["item-1"])
        );
    }

    #[test]
    fn a_field_no_recorded_model_carries_settles_nothing() {
        let facts = facts();
        let find = |spec: Value| facts.answer(Op::ItemFind, &key(json!({ "spec": spec })));
        assert_eq!(find(json!({"cached": true})), None);
        assert_eq!(find(json!({"source_id": "src-1"})), None);
    }

    #[test]
    fn an_unknown_field_or_a_spec_that_is_no_structure_is_an_invalid_argument() {
        let facts = facts();
        let Some(Answer::Error { status, error }) =
            facts.answer(Op::LibraryFind, &key(json!({"spec": {"colour": "red"}})))
        else {
            panic!("an error");
        };
        assert_eq!((status, error.kind), (400, ErrorKind::InvalidArgument));
        assert_eq!(
            error.messages[0].default_message,
            "a library find spec has no field \"colour\" (its fields: name, type, storage_backing)"
        );
        let Some(Answer::Error { error, .. }) =
            facts.answer(Op::ItemFind, &key(json!({"spec": "harness-item"})))
        else {
            panic!("an error");
        };
        assert_eq!(
            error.messages[0].default_message,
            "the find spec must be a structure, not \"harness-item\""
        );
    }

    #[test]
    fn recorded_finds_and_lists_name_libraries_and_their_items() {
        let mut facts = Facts::default();
        facts.learn(&cassette(
            Op::ItemFind,
            json!({"spec": {"library_id": "lib-7", "name": "x"}}),
            Answer::Ids(vec!["item-7".to_owned()]),
        ));
        assert_eq!(facts.answer(Op::LibraryList, "{}"), ids(&["lib-7"]));
        assert_eq!(
            facts.answer(Op::ItemList, &key(json!({"library_id": "lib-7"}))),
            ids(&["item-7"])
        );
    }
}
