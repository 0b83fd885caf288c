//! The one HTTP(S) client to the lab vCenter: URL rewriting, hop-by-hop header removal,
//! timeouts, and errors that say what failed.

mod counting;
mod failures;
mod tls;
mod url;

use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http::{request, response, Request, Response, Version};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::body::{collect, CollectError};
use crate::body::{full, Body};
use crate::stats::Failures;
use counting::Counting;
pub(crate) use tls::{client_config, Thumbprint, Trust, TrustError};
pub(crate) use url::UpstreamUrl;

/// Settings for [`Upstream::new`].
#[derive(Clone, Debug)]
pub(crate) struct UpstreamConfig {
    pub(crate) url: UpstreamUrl,
    pub(crate) trust: Trust,
    /// Limit for a whole answer (headers, and body when it is read whole), and for any
    /// silence in a streamed body.
    pub(crate) timeout: Duration,
    /// Limit for opening a connection.
    pub(crate) connect_timeout: Duration,
    /// Counts the connections opened to the upstream.
    pub(crate) connections: Arc<AtomicU64>,
    /// Counts the forwarded calls that got no usable answer.
    pub(crate) failures: Arc<Failures>,
}

/// The error behind an [`UpstreamError`]: hyper's, with the io or rustls error inside.
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a forwarded request got no usable answer. Messages show the innermost cause (or
/// the rustls error), the one that says what actually happened; `source()` is the whole
/// error hyper returned.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error("TLS with upstream {upstream} failed: {}", tls_detail(&**source))]
    Tls {
        upstream: String,
        #[source]
        source: Cause,
    },
    #[error(
        "TLS with upstream {upstream} failed: the handshake ended early ({}); is the upstream serving HTTPS on that port?",
        innermost(&**source)
    )]
    HandshakeEnded {
        upstream: String,
        #[source]
        source: Cause,
    },
    #[error("cannot connect to upstream {upstream}: {}", innermost(&**source))]
    Unreachable {
        upstream: String,
        #[source]
        source: Cause,
    },
    #[error("upstream {upstream} did not answer within {timeout:?}")]
    TimedOut { upstream: String, timeout: Duration },
    #[error("cannot connect to upstream {upstream} within {timeout:?}")]
    ConnectTimedOut { upstream: String, timeout: Duration },
    #[error("upstream {upstream} failed mid-answer: {}", innermost(&**source))]
    Broken {
        upstream: String,
        #[source]
        source: Cause,
    },
    #[error("upstream {upstream} answered with a body over {limit} bytes")]
    TooLarge { upstream: String, limit: usize },
    #[error("the download endpoint {target} names dsvcr itself ({listener}); dsvcr never fetches from itself: is --upstream, or the vCenter's idea of its own address, pointing at dsvcr?")]
    SelfLoop { target: String, listener: String },
}

/// Marks an answer whose body ends only where its connection closes (no
/// `Content-Length`, no chunked framing): a cut body looks whole.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CloseDelimited;

/// Largest upstream answer read whole (download-session answers are well under 1 KiB).
pub(crate) const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The shared client: one connection pool for every request.
pub(crate) struct Upstream {
    client: Client<HttpsConnector<Counting<HttpConnector>>, Body>,
    url: UpstreamUrl,
    timeout: Duration,
    connect_timeout: Duration,
    failures: Arc<Failures>,
}

impl Upstream {
    pub(crate) fn new(config: UpstreamConfig) -> Result<Self, TrustError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_nodelay(true);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(client_config(&config.trust)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(Counting::new(http, config.connections));
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(Upstream {
            client,
            url: config.url,
            timeout: config.timeout,
            connect_timeout: config.connect_timeout,
            failures: config.failures,
        })
    }

    pub(crate) fn url(&self) -> &UpstreamUrl {
        &self.url
    }

    /// The `--upstream-timeout`; also the longest silence allowed in a streamed body.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Forwards a request and returns the answer as soon as its headers arrive; the body
    /// streams after.
    pub(crate) async fn send(
        &self,
        parts: request::Parts,
        body: Body,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let request = self.rewrite(parts, body);
        let mut answer = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|err| self.classify(err))?;
        strip_hop_by_hop(answer.headers_mut());
        Ok(answer)
    }

    /// Forwards a request to `target`, an absolute URI an upstream answer named (a
    /// download endpoint), and returns the answer as soon as its headers arrive.
    pub(crate) async fn send_to(
        &self,
        target: http::Uri,
        mut parts: request::Parts,
        body: Body,
    ) -> Result<Response<Incoming>, UpstreamError> {
        parts.version = Version::HTTP_11;
        strip_hop_by_hop(&mut parts.headers);
        parts.headers.remove(header::HOST);
        parts.uri = target;
        let request = Request::from_parts(parts, body);
        let mut answer = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|err| self.classify(err))?;
        let headers = answer.headers();
        if !headers.contains_key(header::CONTENT_LENGTH)
            && !headers.contains_key(header::TRANSFER_ENCODING)
        {
            answer.extensions_mut().insert(CloseDelimited);
        }
        strip_hop_by_hop(answer.headers_mut());
        Ok(answer)
    }

    /// Forwards a request and reads the whole answer, all within the timeout.
    pub(crate) async fn exchange(
        &self,
        parts: request::Parts,
        body: Bytes,
    ) -> Result<(response::Parts, Bytes), UpstreamError> {
        let whole = async {
            let answer = self.send(parts, full(body)).await?;
            let (parts, body) = answer.into_parts();
            // One buffer however the answer is framed: one-byte chunks cost their bytes.
            let bytes =
                collect(body, MAX_ANSWER_BYTES, None, None)
                    .await
                    .map_err(|err| match err {
                        CollectError::TooLarge(limit) => {
                            self.failures.noted(UpstreamError::TooLarge {
                                upstream: self.url.to_string(),
                                limit,
                            })
                        }
                        CollectError::OverBudget(_) => unreachable!("no budget is given"),
                        CollectError::Body(err) => self.broken(err),
                    })?;
            Ok((parts, bytes))
        };
        tokio::time::timeout(self.timeout, whole)
            .await
            .map_err(|_| self.timed_out())?
    }

    fn rewrite(&self, mut parts: request::Parts, body: Body) -> Request<Body> {
        parts.uri = self.url.target(parts.uri.path_and_query());
        parts.version = Version::HTTP_11;
        strip_hop_by_hop(&mut parts.headers);
        // hyper sets Host from the upstream URI.
        parts.headers.remove(header::HOST);
        Request::from_parts(parts, body)
    }

    fn timed_out(&self) -> UpstreamError {
        self.failures.noted(UpstreamError::TimedOut {
            upstream: self.url.to_string(),
            timeout: self.timeout,
        })
    }

    /// A download endpoint that names dsvcr's own listener (counted as a failure).
    pub(crate) fn self_loop(&self, target: &http::Uri, listener: String) -> UpstreamError {
        self.failures.noted(UpstreamError::SelfLoop {
            target: target.to_string(),
            listener,
        })
    }

    /// The upstream failed mid-answer (counted as a failure).
    pub(crate) fn broken(&self, err: impl Into<Cause>) -> UpstreamError {
        self.failures.noted(UpstreamError::Broken {
            upstream: self.url.to_string(),
            source: err.into(),
        })
    }

    /// Classifies hyper's error and counts it as a failure.
    fn classify(&self, err: hyper_util::client::legacy::Error) -> UpstreamError {
        if find_source::<rustls::Error>(&err).is_none() && !err.is_connect() {
            return self.broken(err);
        }
        self.failures.noted(self.classify_connect(err))
    }

    fn classify_connect(&self, err: hyper_util::client::legacy::Error) -> UpstreamError {
        let upstream = self.url.to_string();
        if find_source::<rustls::Error>(&err).is_some() {
            return UpstreamError::Tls {
                upstream,
                source: err.into(),
            };
        }
        if err.is_connect() {
            let io_kind = find_source::<std::io::Error>(&err).map(std::io::Error::kind);
            if io_kind == Some(std::io::ErrorKind::TimedOut) {
                return UpstreamError::ConnectTimedOut {
                    upstream,
                    timeout: self.connect_timeout,
                };
            }
            if io_kind == Some(std::io::ErrorKind::UnexpectedEof) && self.url.is_https() {
                return UpstreamError::HandshakeEnded {
                    upstream,
                    source: err.into(),
                };
            }
        }
        UpstreamError::Unreachable {
            upstream,
            source: err.into(),
        }
    }
}

/// The innermost cause's message: the one that says what actually happened.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    causes(err)
        .last()
        .map_or_else(String::new, ToString::to_string)
}

/// The rustls error's message in `err`'s causes (else the innermost's).
fn tls_detail(err: &(dyn std::error::Error + 'static)) -> String {
    match find_source::<rustls::Error>(err) {
        Some(tls @ rustls::Error::InvalidCertificate(_)) => format!("{tls}; {TRUST_HINT}"),
        Some(tls) => tls.to_string(),
        None => innermost(err),
    }
}

/// What a refused certificate's message suggests.
const TRUST_HINT: &str = "to trust this lab, give --ca-cert a PEM file holding the certificate it presents or its CA (`govc about.cert -show`), or pin it with --upstream-thumbprint (SHA-1 or SHA-256, e.g. from `govc about.cert -thumbprint`)";

fn find_source<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    causes(err).find_map(|cause| cause.downcast_ref::<E>())
}

/// `err` and its causes. An `io::Error` that wraps another error is descended into
/// directly: its `source()` skips the wrapped error itself.
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |err| {
        match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        }
    })
}

const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
];

/// Removes the headers that belong to one connection (RFC 9110 §7.6.1), including any
/// named in `Connection`. `Transfer-Encoding` and `Upgrade` go too: hyper re-frames
/// bodies itself.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_str(name.trim()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(&named) {
        headers.remove(name);
    }
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::UPGRADE);
}

/// A response to send on to the client from an upstream answer read whole.
pub(crate) fn response_from(parts: response::Parts, body: Bytes) -> Response<Body> {
    let mut response = Response::from_parts(parts, full(body));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unreachable upstream's error says what failed and keeps hyper's error, with the
    /// io error inside, as its source.
    #[tokio::test]
    async fn a_refused_connection_keeps_its_cause() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let upstream = Upstream::new(UpstreamConfig {
            url: url.parse().unwrap(),
            trust: Trust::DefaultRoots,
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            connections: Arc::default(),
            failures: Arc::default(),
        })
        .unwrap();
        let (parts, ()) = Request::get("/api/session").body(()).unwrap().into_parts();
        let err = upstream.exchange(parts, Bytes::new()).await.unwrap_err();
        assert!(matches!(err, UpstreamError::Unreachable { .. }), "{err:?}");
        let source = std::error::Error::source(&err).expect("the cause is kept");
        assert!(
            source.is::<hyper_util::client::legacy::Error>(),
            "{source:?}"
        );
        let io = find_source::<std::io::Error>(source).expect("an io error inside");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            err.to_string(),
            format!("cannot connect to upstream {url}: {io}")
        );
    }

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("x-private", "1"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("vmware-api-session-id", "abc"),
            ("accept", "application/json"),
        ] {
            headers.insert(HeaderName::from_static(name), value.parse().unwrap());
        }
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort();
        assert_eq!(left, ["accept", "vmware-api-session-id"]);
    }
}
