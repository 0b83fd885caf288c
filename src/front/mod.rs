//! The front door: every request is classified once — a file download, an admin
//! request, a catalogued call in some protocol, a session operation, a method a
//! catalogued path does not allow, anything else, or a request recognition rejected —
//! and handed with its classification to the mode (replay or record), whose policy is
//! one `match` on it. The front door also answers the admin endpoints and reads bodies
//! and calls ([`read`]).

mod read;

pub(crate) use read::{
    body_limit, declared_length, read_body, read_call, read_invoke, read_soap, soap_request,
};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::future::{ready, Either};
use http::request::Parts;
use http::Response;
use hyper::body::Incoming;

use crate::access::{self, Outcome};
use crate::admin::{self, Observable};
use crate::answers::ApiError;
use crate::body::Body;
use crate::browsers;
use crate::downloads;
use crate::protocol::{jsonrpc, rest, soap};
use crate::server::Handler;
use crate::vapi::{Flavour, Rejection, SessionId, SessionOp, Style};

/// A request and what it is, as the front door classified it.
pub(crate) struct Request {
    pub(crate) parts: Parts,
    pub(crate) body: Incoming,
    pub(crate) kind: Kind,
    /// The client's address, as the listener saw it.
    pub(crate) client: SocketAddr,
    /// Counts the request in flight until the mode's answer is made (or the request is
    /// dropped): the mode holds it in its own future, so no layer wraps that future.
    pub(crate) in_flight: InFlight,
}

/// What a request is. Admin requests never reach a mode: the front door answers them.
pub(crate) enum Kind {
    /// `/__dsvcr/files/<session>/<file>`: a file's bytes (`Err` names what is wrong
    /// with the path).
    Download(Result<(SessionId, String), String>),
    /// A catalogued REST call, recognised from its method and URI; the rest of it is
    /// read with [`read_call`].
    Call(rest::recognise::PendingCall),
    /// A vAPI JSON-RPC call (`POST /api`), read with [`read_invoke`].
    JsonRpc,
    /// A vim25 SOAP call (`POST /sdk`), read with [`read_soap`].
    Soap,
    /// Logging in, asking about or ending an API session over REST.
    Session { op: SessionOp, flavour: Flavour },
    /// A catalogued path with a method no operation uses there.
    NotAllowed {
        allow: &'static str,
        flavour: Flavour,
    },
    /// Anything else: another operation or another API.
    Other,
    /// Recognisably a catalogued call, but one that cannot be answered.
    Rejected(Rejection),
}

/// The protocols, in the order they claim a request: dsvcr's own file endpoints, vAPI
/// JSON-RPC's one endpoint, vim25 SOAP's, then REST, which recognises everything else (its `Other`
/// included).
fn classify(parts: &Parts) -> Kind {
    let path = parts.uri.path();
    if let Some(file) = downloads::file_of(path) {
        return Kind::Download(file);
    }
    if jsonrpc::is_call(&parts.method, path) {
        return Kind::JsonRpc;
    }
    if soap::is_call(&parts.method, path) {
        return Kind::Soap;
    }
    match rest::recognise::route(&parts.method, &parts.uri) {
        Ok(rest::recognise::Route::Call(pending)) => Kind::Call(pending),
        Ok(rest::recognise::Route::Session { op, flavour }) => Kind::Session { op, flavour },
        Ok(rest::recognise::Route::MethodNotAllowed { allow, flavour }) => {
            Kind::NotAllowed { allow, flavour }
        }
        Ok(rest::recognise::Route::Other) => Kind::Other,
        Err(rejection) => Kind::Rejected(rejection),
    }
}

/// A mode: what answers the requests the front door classified (its answer's future
/// owns the mode's `Arc`, as the listener's [`Handler`] asks).
pub(crate) trait Mode: Observable + Send + Sync + 'static {
    fn answer(
        self: Arc<Self>,
        request: Request,
    ) -> impl Future<Output = Response<Body>> + Send + 'static;
}

/// How the front door treats what it sees before any mode does.
#[derive(Clone, Debug)]
pub(crate) struct DoorOptions {
    /// Let clients beyond loopback use the admin endpoints (`--admin-from-anywhere`).
    pub(crate) admin_from_anywhere: bool,
    /// Most headers in one request (`--max-headers`; 431 beyond).
    pub(crate) max_headers: usize,
    /// Which `Host`s and `Origin`s are answered (`--allow-host`, `--allow-origin`): the
    /// checks that keep web pages from driving dsvcr run before anything else.
    pub(crate) browsers: browsers::Policy,
}

/// The front door before a mode, counting the mode's requests in flight.
pub(crate) struct FrontDoor<M> {
    mode: Arc<M>,
    options: DoorOptions,
    in_flight: Arc<AtomicU64>,
}

impl<M> FrontDoor<M> {
    pub(crate) fn new(mode: Arc<M>, options: DoorOptions) -> Self {
        FrontDoor {
            mode,
            options,
            in_flight: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// Counts one request in flight while it lives (a dropped, cancelled request included).
pub(crate) struct InFlight(Arc<AtomicU64>);

impl InFlight {
    fn enter(count: &Arc<AtomicU64>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the front door makes of a request.
enum Admitted {
    /// Classified, for the mode to answer.
    ForMode(Request),
    /// Answered by the front door itself (a refusal, an admin endpoint).
    Answered(Response<Body>),
}

impl<M: Mode> FrontDoor<M> {
    fn admit(&self, request: http::Request<Incoming>, client: SocketAddr) -> Admitted {
        let max_headers = self.options.max_headers;
        if request.headers().len() > max_headers {
            let style = Style::json(Flavour::of_path(request.uri().path()));
            access::mark(Outcome::Refused);
            let answer = ApiError::too_many_headers(max_headers).into_response(style);
            return Admitted::Answered(answer);
        }
        if let Some(refused) = self.options.browsers.refusal(&request) {
            access::mark(Outcome::Refused);
            return Admitted::Answered(refused.into_response(Style::REST_JSON));
        }
        if let Some(endpoint) = admin::endpoint(request.uri().path()) {
            let allowed = admin::allowed(client, self.options.admin_from_anywhere);
            let in_flight = self.in_flight.load(Ordering::SeqCst);
            let answer = admin::answer(endpoint, &request, allowed, &*self.mode, in_flight);
            return Admitted::Answered(answer);
        }
        let (parts, body) = request.into_parts();
        let kind = classify(&parts);
        Admitted::ForMode(Request {
            parts,
            body,
            kind,
            client,
            in_flight: InFlight::enter(&self.in_flight),
        })
    }
}

impl<M: Mode> Handler for FrontDoor<M> {
    /// The front door's work is done when it is called; what is left to poll is the
    /// mode's future, counted in flight while it lives.
    fn handle(
        self: Arc<Self>,
        request: http::Request<Incoming>,
        client: SocketAddr,
    ) -> impl Future<Output = Response<Body>> + Send + 'static {
        match self.admit(request, client) {
            Admitted::Answered(answer) => Either::Left(ready(answer)),
            Admitted::ForMode(request) => Either::Right(Arc::clone(&self.mode).answer(request)),
        }
    }
}
