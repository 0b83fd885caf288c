//! Redaction: values under secret-named fields, and PEM private keys anywhere, become
//! [`PLACEHOLDER`] before anything reaches a cassette, and requests are keyed by their
//! redacted form so that a replayed request carrying another secret still matches (and
//! without the volatile inputs `--ignore-field` and `--ignore-query` name, see
//! [`crate::volatile`]).
//!
//! A name is secret when, lowercased and without `_` and `-`, it equals one of
//! [`SECRET_NAMES`] or a name given with `--redact`. Names are matched whole, so
//! `client_token` or `download_session_id` are not secret while `token` and
//! `session_id` are.

mod body;
mod check;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use regex::Regex;
use serde_json::Value;

use crate::volatile::Volatile;

pub(crate) use body::{Redacted, Unparseable};
pub(crate) use check::unredacted;

/// What a redacted value becomes: a JSON string, so every JSON document stays valid.
pub(crate) const PLACEHOLDER: &str = "<redacted>";

/// The built-in secret names, normalized (lowercase, no `_` or `-`).
pub(crate) const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "clientsecret",
    "token",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "sessiontoken",
    "bearertoken",
    "apikey",
    "xapikey",
    "privatekey",
    "authorization",
    "proxyauthorization",
    "cookie",
    "setcookie",
    "sessionid",
    "vmwareapisessionid",
];

/// The secret names in use: the built-in ones and those added with `--redact`.
#[derive(Debug)]
pub(crate) struct Redactor {
    names: BTreeSet<String>,
    /// Finds any of `names` in normalized text.
    mentions: AhoCorasick,
    /// The inputs tape keys leave out besides the secrets (`--ignore-field`, `--ignore-query`).
    volatile: Volatile,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(&[])
    }
}

/// `name` lowercased, without `_` and `-`.
pub(crate) fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

impl Redactor {
    /// The built-in names plus `extra` (as given to `--redact`).
    pub(crate) fn new(extra: &[String]) -> Self {
        let mut names: BTreeSet<String> = SECRET_NAMES.iter().map(|n| (*n).to_owned()).collect();
        names.extend(extra.iter().map(|name| normalize(name)));
        names.retain(|name| !name.is_empty());
        let mentions = AhoCorasick::new(&names).expect("names of bounded size always build");
        Redactor {
            names,
            mentions,
            volatile: Volatile::default(),
        }
    }

    /// The same names, with tape keys also leaving out `volatile`'s inputs.
    pub(crate) fn ignoring(mut self, volatile: Volatile) -> Self {
        self.volatile = volatile;
        self
    }

    /// Whether values under `name` are secret.
    pub(crate) fn is_secret(&self, name: &str) -> bool {
        self.names.contains(&normalize(name))
    }

    /// Whether a secret name appears anywhere in `bytes` (ignoring case, `_` and `-`).
    pub(crate) fn mentions_secret_name(&self, bytes: &[u8]) -> bool {
        let normalized: Vec<u8> = bytes
            .iter()
            .filter(|byte| **byte != b'_' && **byte != b'-')
            .map(u8::to_ascii_lowercase)
            .collect();
        self.mentions.is_match(&normalized)
    }

    /// Redacts `value` in place, at any depth; returns how many values were replaced.
    /// A secret-named field is replaced whole, whatever it holds; so is the `value` of a
    /// `{"key": NAME, "value": …}` pair (vAPI's map entries) whose NAME is secret.
    pub(crate) fn json(&self, value: &mut Value) -> usize {
        match value {
            Value::String(text) => redact_pem(text),
            Value::Array(items) => items.iter_mut().map(|item| self.json(item)).sum(),
            Value::Object(fields) => {
                let secret_pair = fields
                    .get("key")
                    .and_then(Value::as_str)
                    .is_some_and(|key| self.is_secret(key));
                let mut count = 0;
                for (name, field) in fields.iter_mut() {
                    let secret = self.is_secret(name) || (secret_pair && name == "value");
                    count += if secret {
                        replace(field)
                    } else {
                        self.json(field)
                    };
                }
                count
            }
            _ => 0,
        }
    }

    /// Redacts the values of secret-named query parameters (or form fields).
    pub(crate) fn pairs(&self, pairs: &mut [(String, String)]) -> usize {
        let mut count = 0;
        for (name, value) in pairs.iter_mut() {
            if self.is_secret(name) {
                if value != PLACEHOLDER {
                    *value = PLACEHOLDER.to_owned();
                    count += 1;
                }
            } else {
                count += redact_pem(value);
            }
        }
        count
    }
}

/// Replaces `value` by the placeholder; 1 if it was anything else.
fn replace(value: &mut Value) -> usize {
    if value.as_str() == Some(PLACEHOLDER) {
        return 0;
    }
    *value = Value::String(PLACEHOLDER.to_owned());
    1
}

/// A PEM private-key block, from its BEGIN line to its END line or, when it has none,
/// to the end of the text.
fn pem_private_key() -> &'static Regex {
    static PEM: OnceLock<Regex> = OnceLock::new();
    PEM.get_or_init(|| {
        Regex::new(
            r"(?s)-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\z)",
        )
        .expect("the PEM pattern compiles")
    })
}

/// Whether `text` holds the start of a PEM private key.
pub(crate) fn has_pem_private_key(text: &str) -> bool {
    text.contains("PRIVATE KEY-----") && pem_private_key().is_match(text)
}

/// Replaces every PEM private-key block in `text`; returns how many.
pub(crate) fn redact_pem(text: &mut String) -> usize {
    if !has_pem_private_key(text) {
        return 0;
    }
    let count = pem_private_key().find_iter(text).count();
    *text = pem_private_key()
        .replace_all(text, PLACEHOLDER)
        .into_owned();
    count
}

#[cfg(test)]
mod tests;
