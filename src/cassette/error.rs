//! Why a cassette file cannot be used.

use super::*;

/// Why a cassette file cannot be used.
#[derive(Debug, Clone)]
pub(crate) struct CassetteError {
    pub(crate) path: PathBuf,
    pub(crate) reason: String,
    /// The JSON parser's error, when the file is not the JSON the format describes.
    pub(super) parse: Option<Arc<serde_json::Error>>,
}

impl CassetteError {
    pub(crate) fn new(path: &Path, problem: impl Into<Problem>) -> Self {
        let (reason, parse) = match problem.into() {
            Problem::Parse(err) => (err.to_string(), Some(Arc::new(err))),
            Problem::Invalid(reason) => (reason, None),
        };
        CassetteError {
            path: path.to_owned(),
            reason,
            parse,
        }
    }
}

impl PartialEq for CassetteError {
    fn eq(&self, other: &Self) -> bool {
        (&self.path, &self.reason) == (&other.path, &other.reason)
    }
}

impl Eq for CassetteError {}

impl fmt::Display for CassetteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for CassetteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.parse
            .as_deref()
            .map(|err| err as &(dyn std::error::Error + 'static))
    }
}

/// What is wrong with a cassette file's bytes.
#[derive(Debug)]
pub(crate) enum Problem {
    /// Not the JSON the format describes (the message is the parser's).
    Parse(serde_json::Error),
    /// JSON of the right shape whose content the format refuses.
    Invalid(String),
}

impl From<String> for Problem {
    fn from(reason: String) -> Self {
        Problem::Invalid(reason)
    }
}

impl From<serde_json::Error> for Problem {
    fn from(err: serde_json::Error) -> Self {
        Problem::Parse(err)
    }
}
