//! What `check` finds in a cassette's journal: the secret rules read its text as they read
//! the file's (loading it with its file is `journal::load`'s, as in every mode).

use std::path::Path;

use serde_json::Value;

use super::super::journal::{journal_path, read_journal};
use super::super::LoadError;
use super::Problem;
use crate::redact::Redactor;
use crate::secrets::secret_reasons;

/// The secret-looking text and unredacted values in the journal of the file at `base`,
/// if it has one (a journal that cannot be read is the loader's problem, reported there).
pub(super) fn secrets_in_journal(base: &Path, redactor: &Redactor, limit: u64) -> Vec<Problem> {
    let path = journal_path(base);
    let Ok(Some(bytes)) = read_journal(&path, limit) else {
        return Vec::new();
    };
    let problem = |reason: String| Problem {
        path: path.clone(),
        reason,
    };
    let mut reasons = secret_reasons(&String::from_utf8_lossy(&bytes));
    for line in bytes.split(|byte| *byte == b'\n') {
        if let Ok(value) = serde_json::from_slice::<Value>(line) {
            reasons.extend(crate::redact::unredacted(redactor, &as_in_file(value)));
        }
    }
    reasons.sort();
    reasons.dedup();
    reasons.into_iter().map(problem).collect()
}

/// A line's answer where the file keeps its answers (`responses`), so that the rules
/// for a file's answers apply to it.
fn as_in_file(mut line: Value) -> Value {
    if let Some(object) = line.as_object_mut() {
        if let Some(response) = object.remove("response") {
            object.insert("responses".to_owned(), Value::Array(vec![response]));
        }
    }
    line
}

/// A cassette that does not load, as the problem `check` reports: the file (or journal)
/// at fault and why.
pub(super) fn load_problem(err: LoadError, base: &Path) -> Problem {
    match err {
        LoadError::Invalid(err) => Problem {
            path: err.path,
            reason: err.reason,
        },
        LoadError::TooLarge { path, size, limit } => Problem {
            path,
            reason: format!(
                "{}, over the limit of {limit} bytes for one cassette file (--max-cassette-bytes); replay would not load it",
                size.map_or_else(|| "larger".to_owned(), |size| format!("{size} bytes"))
            ),
        },
        LoadError::Read { path, source } => Problem {
            path,
            reason: format!("cannot be read: {source}"),
        },
        other => Problem {
            path: base.to_owned(),
            reason: other.to_string(),
        },
    }
}
