//! What the fake remembers, shared by the REST side, the JSON-RPC side and the byte endpoint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use http::HeaderMap;

use super::library::FakeLibrary;
use super::sessions::DownloadSession;
use super::tls::hex;
use super::{ByteFault, SeenRequest};

pub(super) const SESSION_HEADER: &str = "vmware-api-session-id";

pub(super) struct Shared {
    pub(crate) require_session: bool,
    pub(crate) scripts: HashMap<String, Vec<i64>>,
    pub(crate) libraries: Vec<FakeLibrary>,
    pub(crate) prepare_polls: u32,
    /// `http://127.0.0.1:PORT` or `https://…`: the host download endpoints name.
    pub(crate) base_url: String,
    pub(crate) thumbprint: Option<String>,
    pub(crate) state: Mutex<State>,
}

#[derive(Default)]
pub(super) struct State {
    pub(crate) requests: Vec<SeenRequest>,
    /// Every download-session get received, per id, whatever its outcome.
    pub(crate) gets: HashMap<String, usize>,
    /// Gets answered from the progress script, per id.
    pub(crate) steps: HashMap<String, usize>,
    /// Every token issued, in order.
    pub(crate) issued: Vec<String>,
    /// Live tokens -> created time.
    pub(crate) live: HashMap<String, String>,
    /// Every download session created, in order (including deleted ones).
    pub(crate) created: Vec<String>,
    pub(crate) sessions: HashMap<String, DownloadSession>,
    /// (client token, library item) -> the session that create made.
    pub(crate) client_tokens: HashMap<(String, String), String>,
    pub(crate) byte_fault: ByteFault,
    /// Live SOAP session keys (the `vmware_soap_session` cookie) -> user.
    pub(crate) soap_sessions: HashMap<String, String>,
    pub(crate) soap_logins: u64,
    pub(crate) soap_collectors: u64,
}

impl Shared {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The live token the request presents (header, else cookie), with its created time.
    pub(crate) fn valid_session(&self, headers: &HeaderMap) -> Option<(String, String)> {
        self.live_token(&presented_token(headers)?)
    }

    pub(crate) fn live_token(&self, token: &str) -> Option<(String, String)> {
        let state = self.lock();
        let created = state.live.get(token)?;
        Some((token.to_owned(), created.clone()))
    }

    pub(crate) fn issue_token(&self) -> String {
        let token = random_hex(self, 16);
        let mut state = self.lock();
        state.issued.push(token.clone());
        state.live.insert(token.clone(), now_text());
        token
    }
}

/// The token a request presents: header `vmware-api-session-id`, else the cookie.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(token.trim().to_owned());
    }
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix("vmware-api-session-id=")
                .map(|token| token.trim_matches('"').to_owned())
        })
}

/// `len` bytes of unpredictable lowercase hex; unique across every fake in the process.
pub(super) fn random_hex(shared: &Shared, len: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let seed = format!("{count}:{nanos}:{:p}", shared);
    let digest = ring::digest::digest(&ring::digest::SHA256, seed.as_bytes());
    hex(&digest.as_ref()[..len])
}

pub(super) fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}
