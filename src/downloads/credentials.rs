//! Which download endpoints get the client's credentials: only those on the upstream's own
//! origin (scheme, host and port). A link an answer or a cassette names elsewhere is
//! fetched without them, and that is logged once per origin.

use std::collections::HashSet;
use std::sync::Mutex;

use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
use http::{HeaderMap, Uri};
use tracing::warn;

use crate::secrets::credentials::SESSION_HEADER;
use crate::upstream::UpstreamUrl;

/// Most origins remembered as warned about; later ones are warned about every time.
const MAX_WARNED: usize = 1024;

/// The origins already warned about.
#[derive(Debug, Default)]
pub(crate) struct Foreign {
    warned: Mutex<HashSet<String>>,
}

impl Foreign {
    /// Removes the client's credentials from `headers` unless `target` is on the upstream's
    /// origin; true when it removed them.
    pub(crate) fn strip_unless_same_origin(
        &self,
        upstream: &UpstreamUrl,
        target: &Uri,
        headers: &mut HeaderMap,
    ) -> bool {
        if upstream.is_same_origin(target) {
            return false;
        }
        for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
            headers.remove(name);
        }
        headers.remove(SESSION_HEADER);
        let origin = format!(
            "{}://{}",
            target.scheme_str().unwrap_or("http"),
            target
                .authority()
                .map_or("", |authority| authority.as_str())
        );
        let mut warned = self.warned.lock().expect("never poisoned");
        if warned.len() >= MAX_WARNED || warned.insert(origin.clone()) {
            warn!(%origin, upstream = %upstream, "a download endpoint is on another origin than the upstream: fetched without the client's credentials (Authorization, session header, cookies)");
        }
        true
    }
}
