//! Files that hold one download session: replay refuses such a folder, so `check` must
//! too.

use std::collections::HashMap;
use std::path::PathBuf;

use super::report::Problem;

/// One problem per file after the first holding an id (in the order given), in linear
/// time.
pub(super) fn duplicate_ids(held: impl IntoIterator<Item = (String, PathBuf)>) -> Vec<Problem> {
    let mut first: HashMap<String, PathBuf> = HashMap::new();
    let mut problems = Vec::new();
    for (id, path) in held {
        match first.get(&id) {
            Some(earlier) => problems.push(Problem {
                reason: format!(
                    "holds download session {id}, as {} does (one under the name dsvcr 0.1 gave it); replay refuses the folder: keep one",
                    earlier.display()
                ),
                path,
            }),
            None => {
                first.insert(id, path);
            }
        }
    }
    problems
}
