//! The baseline: a bare hyper 1 HTTP/1.1 server that answers every request whose path
//! starts with `--path-prefix` with fixed bytes from memory (status, content type and
//! body as dsvcr answers that workload), and anything else with an empty 404. It reads
//! the request body, as any server must, and nothing else.
//!
//! baseline --listen ADDR --path-prefix P --body FILE --content-type CT [--status N]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

struct Answer {
    prefix: String,
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listen: SocketAddr = arg(&args, "--listen")
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()
        .expect("--listen ADDR");
    let body = std::fs::read(arg(&args, "--body").expect("--body FILE")).expect("readable --body");
    let answer: &'static Answer = Box::leak(Box::new(Answer {
        prefix: arg(&args, "--path-prefix").expect("--path-prefix P"),
        status: StatusCode::from_u16(arg(&args, "--status").map_or(200, |s| s.parse().unwrap()))
            .unwrap(),
        content_type: HeaderValue::from_str(
            &arg(&args, "--content-type").unwrap_or_else(|| "application/json".into()),
        )
        .unwrap(),
        body: Bytes::from(body),
    }));
    // The same runtime dsvcr uses: tokio's multi-threaded default.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(serve(listen, answer));
}

async fn serve(listen: SocketAddr, answer: &'static Answer) {
    let listener = TcpListener::bind(listen).await.expect("bind");
    println!(
        "baseline listening on http://{}",
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
            let service = service_fn(move |request: Request<Incoming>| async move {
                let matches = request.uri().path().starts_with(&answer.prefix);
                let _ = request.into_body().collect().await;
                let mut response = if matches {
                    let mut response = Response::new(Full::new(answer.body.clone()));
                    *response.status_mut() = answer.status;
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, answer.content_type.clone());
                    response
                } else {
                    Response::new(Full::new(Bytes::new()))
                };
                if !matches {
                    *response.status_mut() = StatusCode::NOT_FOUND;
                }
                Ok::<_, Infallible>(response)
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
