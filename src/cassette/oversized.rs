//! Cassette files over `--max-cassette-bytes`, as `check` reports them.

use std::fs;
use std::path::PathBuf;

use super::report::Problem;

pub(super) type Files = Vec<PathBuf>;

/// The files within the limit, and a problem for each one over it.
pub(super) fn within(
    sessions: Files,
    calls: Files,
    tapes: Files,
    limit: u64,
) -> (Files, Files, Files, Vec<Problem>) {
    let mut oversized = Vec::new();
    let mut keep = |files: Files| -> Files {
        files
            .into_iter()
            .filter(|path| {
                let size = fs::metadata(path).map_or(0, |metadata| metadata.len());
                if size <= limit {
                    return true;
                }
                oversized.push(Problem {
                    path: path.clone(),
                    reason: format!("{size} bytes, over the limit of {limit} bytes for one cassette file (--max-cassette-bytes); replay would not load it"),
                });
                false
            })
            .collect()
    };
    (keep(sessions), keep(calls), keep(tapes), oversized)
}
