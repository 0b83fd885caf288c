//! A fake vCenter for the record-mode benchmarks, as cheap as the baseline: a bare hyper
//! 1 server that answers a login and download-session gets from memory.
//!
//! - `POST /rest/com/vmware/cis/session` → 200 `{"value":"TOKEN"}`
//! - `GET /rest/com/vmware/content/library/item/download-session/id:S` → 200
//!   `{"value": MODEL}` for session S (the same model every time, so polling collapses)
//! - anything else → 404
//!
//! upstream --listen ADDR

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const GET_PREFIX: &str = "/rest/com/vmware/content/library/item/download-session/id:";
const LOGIN: &str = "/rest/com/vmware/cis/session";
const TOKEN: &str = r#"{"value":"bench-session-token-0000000000"}"#;

fn session(id: &str) -> String {
    format!(
        concat!(
            r#"{{"value":{{"client_progress":50,"expiration_time":"2026-11-02T10:05:00.000Z","#,
            r#""id":"{id}","library_item_content_version":"7","#,
            r#""library_item_id":"3d1e5f7a-9b2c-4d6e-8f0a-1b3c5d7e9f2a","state":"ACTIVE"}}}}"#
        ),
        id = id
    )
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let _ = body.collect().await;
    let path = parts.uri.path();
    let body = match (&parts.method, path) {
        (&Method::POST, LOGIN) => Some(Bytes::from_static(TOKEN.as_bytes())),
        (&Method::GET, _) if path.starts_with(GET_PREFIX) => {
            Some(Bytes::from(session(&path[GET_PREFIX.len()..])))
        }
        _ => None,
    };
    let mut response = Response::new(Full::new(body.clone().unwrap_or_default()));
    match body {
        Some(_) => {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        None => *response.status_mut() = StatusCode::NOT_FOUND,
    }
    Ok(response)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listen: SocketAddr = args
        .iter()
        .position(|a| a == "--listen")
        .and_then(|i| args.get(i + 1))
        .map_or("127.0.0.1:0", String::as_str)
        .parse()
        .expect("--listen ADDR");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let listener = TcpListener::bind(listen).await.expect("bind");
        println!(
            "upstream listening on http://{}",
            listener.local_addr().unwrap()
        );
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => continue },
                _ = terminate.recv() => return,
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            });
        }
    });
}
