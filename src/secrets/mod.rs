//! Secrets seen in traffic (Basic credentials, session tokens), kept in memory only, so
//! that bytes about to be written can be checked for them.
//!
//! A set is a stack of shared layers, each with its own Aho–Corasick automaton over its
//! values and their common encodings, built on the first search after the layer last
//! grew. Extending a small set with a large one that already holds it shares the large
//! one's layer (and automaton) instead of copying it, so the per-request set record mode
//! makes costs O(its own values), and a search is one pass over the bytes per layer.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use aho_corasick::AhoCorasick;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use http::header::AUTHORIZATION;
use http::HeaderMap;

pub(crate) mod credentials;
mod looks_secret;
mod memory;

pub(crate) use looks_secret::secret_reasons;
pub(crate) use memory::{login_secrets, Remembered};

use credentials::{decode_basic, session_cookies, soap_cookie};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Shorter values are not checked: they would match ordinary cassette text by chance.
pub(crate) const MIN_SECRET_BYTES: usize = 6;

/// A longer value is remembered by its first this many bytes: finding those finds it.
pub(crate) const MAX_SECRET_BYTES: usize = 256;

/// Most values one layer holds; more are not remembered. With [`MAX_SECRET_BYTES`] this
/// bounds a layer's values to 1 MiB (and its automaton to a few times that).
pub(crate) const MAX_SECRETS: usize = 4096;

pub(crate) use credentials::SESSION_HEADER;

/// More layers than this are merged into one.
const MAX_LAYERS: usize = 4;

/// RFC 3986's unreserved characters stay as they are; everything else is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A set of secret strings, each with what it is.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    layers: Vec<Arc<Layer>>,
}

#[derive(Clone, Default)]
struct Layer {
    whats: HashMap<Box<str>, &'static str>,
    searcher: OnceLock<Searcher>,
}

#[derive(Clone)]
struct Searcher {
    automaton: AhoCorasick,
    /// What each pattern of the automaton is, by pattern index.
    whats: Vec<&'static str>,
}

/// Never prints the values.
impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("len", &self.len())
            .field("layers", &self.layers.len())
            .finish()
    }
}

impl Secrets {
    /// The secrets a request carries: its `Authorization` credentials (for Basic, padded
    /// or not, also `user:password` and the password) and its session token, from the
    /// `vmware-api-session-id` header or the cookie of that name. Other cookies are not
    /// secrets dsvcr knows of, and any client could set them.
    pub(crate) fn from_request(headers: &HeaderMap) -> Self {
        let mut secrets = Secrets::default();
        for value in headers.get_all(AUTHORIZATION) {
            if let Ok(value) = value.to_str() {
                secrets.add_authorization(value);
            }
        }
        for value in headers.get_all(SESSION_HEADER) {
            if let Ok(token) = value.to_str() {
                secrets.add(token.trim(), "session token");
            }
        }
        for token in session_cookies(headers) {
            secrets.add(token, "session token");
        }
        if let Some(cookie) = soap_cookie(headers) {
            secrets.add(cookie, "SOAP session cookie");
        }
        secrets
    }

    fn add_authorization(&mut self, value: &str) {
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            self.add(value.trim(), "authorization credentials");
            return;
        };
        let credentials = credentials.trim();
        self.add(credentials, "authorization credentials");
        if !scheme.eq_ignore_ascii_case("basic") {
            return;
        }
        let Some(decoded) = decode_basic(credentials) else {
            return;
        };
        if let Some((_, password)) = decoded.split_once(':') {
            self.add(password, "Basic password");
        }
        self.add(&decoded, "Basic credentials");
    }

    /// Remembers `value` as a secret unless it is too short to check, already known, or
    /// its layer is full ([`MAX_SECRETS`]).
    pub(crate) fn add(&mut self, value: &str, what: &'static str) {
        if value.len() < MIN_SECRET_BYTES {
            return;
        }
        let value = clip(value);
        if self.contains(value) {
            return;
        }
        if self.layers.is_empty() {
            self.layers.push(Arc::default());
        }
        let last = self.layers.last_mut().expect("one layer at least");
        if last.whats.len() >= MAX_SECRETS {
            return;
        }
        let layer = Arc::make_mut(last);
        layer.whats.insert(value.into(), what);
        layer.searcher = OnceLock::new();
    }

    /// Adds `other`'s secrets, in time proportional to the smaller of the two sets.
    pub(crate) fn extend(&mut self, other: &Secrets) {
        if other.len() <= self.len() {
            for (value, what) in other.values() {
                self.add(value, what);
            }
            return;
        }
        let mine: Vec<(&str, &'static str)> = self
            .values()
            .filter(|(value, _)| !other.contains(value))
            .collect();
        let mut layer = Layer::default();
        for (value, what) in mine {
            layer.whats.insert(value.into(), what);
        }
        self.layers = other.layers.clone();
        if !layer.whats.is_empty() {
            self.layers.push(Arc::new(layer));
        }
        if self.layers.len() > MAX_LAYERS {
            self.flatten();
        }
    }

    fn flatten(&mut self) {
        let mut merged = Secrets::default();
        for (value, what) in self.values() {
            merged.add(value, what);
        }
        *self = merged;
    }

    fn contains(&self, value: &str) -> bool {
        self.layers
            .iter()
            .any(|layer| layer.whats.contains_key(value))
    }

    fn values(&self) -> impl Iterator<Item = (&str, &'static str)> {
        self.layers
            .iter()
            .flat_map(|layer| layer.whats.iter().map(|(value, what)| (&**value, *what)))
    }

    pub(crate) fn len(&self) -> usize {
        self.layers.iter().map(|layer| layer.whats.len()).sum()
    }

    /// What kind of secret `bytes` contain, if any: as written, JSON-escaped,
    /// percent-encoded, base64 or base64url, in any ASCII case.
    pub(crate) fn found_in(&self, bytes: &[u8]) -> Option<&'static str> {
        self.layers.iter().find_map(|layer| {
            let searcher = layer.searcher.get_or_init(|| Searcher::new(&layer.whats));
            let found = searcher.automaton.find(bytes)?;
            Some(searcher.whats[found.pattern().as_usize()])
        })
    }
}

impl Searcher {
    fn new(whats: &HashMap<Box<str>, &'static str>) -> Self {
        let mut patterns = Vec::new();
        let mut kinds = Vec::new();
        for (value, what) in whats {
            for form in encodings(value) {
                patterns.push(form);
                kinds.push(*what);
            }
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .expect("patterns of bounded size always build");
        Searcher {
            automaton,
            whats: kinds,
        }
    }
}

/// `value` and the forms it takes in JSON, URLs and base64, each once.
fn encodings(value: &str) -> Vec<String> {
    let json = serde_json::to_string(value).expect("strings serialise");
    let mut forms = vec![
        value.to_owned(),
        json[1..json.len() - 1].to_owned(),
        utf8_percent_encode(value, COMPONENT).to_string(),
        form_urlencoded::byte_serialize(value.as_bytes()).collect(),
        // A padded encoding starts with the unpadded one.
        STANDARD_NO_PAD.encode(value),
        URL_SAFE_NO_PAD.encode(value),
    ];
    forms.sort_unstable();
    forms.dedup();
    forms
}

/// The first [`MAX_SECRET_BYTES`] of `value`, cut on a character boundary.
fn clip(value: &str) -> &str {
    if value.len() <= MAX_SECRET_BYTES {
        return value;
    }
    let mut end = MAX_SECRET_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests;
