//! Smoke tests: the fake driven over real sockets, one test per area, and their helpers.

mod data;
mod jsonrpc;
mod lookups;
mod operations;
mod seed;

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::rest::REST_SESSION;
use super::{FakeVcenter, FAKE_PASSWORD, FAKE_USER};

type Reply = (StatusCode, HeaderMap, String);

fn plain_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

fn https_client(ca_pem: &Path) -> Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

async fn try_send<C>(
    client: &Client<C, Full<Bytes>>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Reply, hyper_util::client::legacy::Error>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = client.request(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok((status, headers, String::from_utf8(body.to_vec()).unwrap()))
}

async fn send<C>(
    client: &Client<C, Full<Bytes>>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply
where
    C: Connect + Clone + Send + Sync + 'static,
{
    try_send(client, method, url, headers, body)
        .await
        .expect("request sent")
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

fn basic_header() -> String {
    let credentials = format!("{FAKE_USER}:{FAKE_PASSWORD}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn rest_body(id: &str, progress: i64) -> String {
    format!(
        r#"{{"value":{{"client_progress":{progress},"expiration_time":"2026-11-29T10:05:00.000Z","id":"{id}","library_item_content_version":"2","library_item_id":"item-{id}","state":"ACTIVE"}}}}"#
    )
}

fn is_token(token: &str) -> bool {
    token.len() == 32
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// govmomi's login shape: no body, `Transfer-Encoding: chunked`, header authn.
async fn raw_chunked_login(fake: &FakeVcenter) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(fake.addr).await.unwrap();
    let request = format!(
        "POST {REST_SESSION} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         vmware-use-header-authn: true\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n0\r\n\r\n",
        fake.addr,
        basic_header()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

/// A header-authn `/rest` login; the token.
async fn rest_login<C>(client: &Client<C, Full<Bytes>>, url: &str) -> String
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let headers = [
        ("authorization", basic_header()),
        ("vmware-use-header-authn", "true".to_owned()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let login = format!("{url}{REST_SESSION}");
    let (status, _, body) = send(client, "POST", &login, &headers, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    json(&body)["value"].as_str().unwrap().to_owned()
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    super::tls::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}
