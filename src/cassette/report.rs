//! What checking a cassette folder finds.

use std::fmt;
use std::path::PathBuf;

/// One problem found in a cassette folder.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Problem {
    pub(crate) path: PathBuf,
    pub(crate) reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// What [`check_folder`](super::check_folder) found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CheckReport {
    /// How many cassette files were looked at.
    pub(crate) checked: usize,
    /// Every problem found, sorted by path, then reason.
    pub(crate) problems: Vec<Problem>,
}

impl CheckReport {
    /// True when no problem was found.
    #[cfg(test)]
    pub(crate) fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}
