//! The bytes of prepared files: download endpoints rewritten to dsvcr, bytes recorded
//! into blobs from the fake vCenter, then served offline from those blobs.

use std::path::Path;
use std::process::ExitCode;

use bytes::Bytes;
use clap::Parser as _;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use crate::fake_vcenter::{
    default_libraries, ByteFault, FakeFile, FakeOptions, FakeVcenter, ITEM_ID, NOTES_NAME,
    NOTES_TEXT,
};
use crate::process::run_to_exit;
use crate::support::*;

const REST_FILES: &str = "/rest/com/vmware/content/library/item/downloadsession/file";
const BIG: &str = "big image.iso";
/// A little over 6 MiB, so the body spans many pieces and several blob buffer flushes.
const BIG_LEN: usize = 6 * 1024 * 1024 + 12_345;

fn big_bytes() -> Bytes {
    (0..BIG_LEN)
        .map(|i| ((i * 31 + i / 7919) % 256) as u8)
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

async fn fake(fault: ByteFault) -> FakeVcenter {
    let mut libraries = default_libraries();
    libraries[0].items[0]
        .files
        .push(FakeFile::new(BIG, big_bytes()));
    FakeVcenter::start(FakeOptions {
        libraries,
        byte_fault: fault,
        ..FakeOptions::default()
    })
    .await
}

/// A client of one dsvcr, plain or HTTPS, logged in on `/rest`.
struct Client {
    base: String,
    token: String,
    http: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
}

impl Client {
    async fn login(base: &str, ca: Option<&Path>) -> Client {
        let http = match ca {
            Some(ca) => https_client(ca),
            None => {
                let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_or_http()
                    .enable_http1()
                    .build();
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(connector)
            }
        };
        let mut client = Client {
            base: base.to_owned(),
            token: String::new(),
            http,
        };
        let (status, _, body) = client
            .send(
                "POST",
                "/rest/com/vmware/cis/session",
                &[("authorization", &basic())],
                "",
            )
            .await
            .unwrap();
        assert_eq!(status, 200);
        let value: Value = serde_json::from_slice(&body).unwrap();
        client.token = value["value"].as_str().unwrap().to_owned();
        client
    }

    /// Sends a request with the session token; the body, or the error that broke it.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<(u16, http::HeaderMap, Bytes), String> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("vmware-api-session-id", &self.token)
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, headers, body))
    }

    async fn json(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, _, bytes) = self
            .send(method, path, &[], &body.to_string())
            .await
            .unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        serde_json::from_slice::<Value>(&bytes).unwrap()["value"].clone()
    }

    async fn create(&self) -> String {
        let spec = json!({"create_spec": {"library_item_id": ITEM_ID}});
        let id = self.json("POST", REST, spec).await;
        id.as_str().unwrap().to_owned()
    }

    /// file.prepare's answer for `file`.
    async fn prepare(&self, id: &str, file: &str) -> Value {
        let path = format!("{REST_FILES}/id:{id}?~action=prepare");
        self.json("POST", &path, json!({ "file_name": file })).await
    }

    /// The path of a download endpoint URI on this dsvcr.
    fn path_of(&self, uri: &str) -> String {
        uri.strip_prefix(&self.base)
            .unwrap_or_else(|| panic!("{uri} is not on {}", self.base))
            .to_owned()
    }

    /// GETs the bytes behind a prepared file's endpoint.
    async fn download(
        &self,
        info: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, Bytes) {
        let uri = info["download_endpoint"]["uri"].as_str().unwrap();
        self.send("GET", &self.path_of(uri), headers, "")
            .await
            .unwrap()
    }
}

fn endpoint_path(id: &str, file: &str) -> String {
    let escaped = file.replace(' ', "%20");
    format!("/__dsvcr/files/{id}/{escaped}")
}

fn downloads_of(folder: &Path) -> Vec<Value> {
    cassette_files(folder)
        .into_iter()
        .flat_map(|(_, cassette)| {
            cassette["downloads"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn blob_names(folder: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder.join("blobs/sha256")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Records one session downloading `BIG` and `notes.txt`; returns the session id.
async fn record_session(fake: &FakeVcenter, folder: &Path) -> String {
    let record = RecordSetup::to(&fake.url()).start(folder).await;
    let client = Client::login(&record.base, None).await;
    let id = client.create().await;
    for (file, bytes) in [(BIG, big_bytes()), (NOTES_NAME, Bytes::from(NOTES_TEXT))] {
        let info = client.prepare(&id, file).await;
        let endpoint = &info["download_endpoint"];
        assert_eq!(
            endpoint,
            &json!({"uri": format!("{}{}", record.base, endpoint_path(&id, file))}),
            "plain HTTP names dsvcr and drops the thumbprint"
        );
        let (status, headers, body) = client.download(&info, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-length"], bytes.len().to_string().as_str());
        assert_eq!(body, bytes, "{file}");
    }
    assert_eq!(record.shut_down().await, ExitCode::SUCCESS);
    id
}

#[tokio::test]
async fn a_multi_mib_file_is_recorded_into_a_blob_and_replayed_offline() {
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let id = record_session(&fake, folder.path()).await;
    // The fake saw the bytes requested on its own endpoint, uncompressed.
    let seen = fake.requests();
    let fetch = seen
        .iter()
        .find(|seen| {
            seen.path().starts_with("/cis-data/") && seen.path().ends_with("big%20image.iso")
        })
        .expect("the bytes were fetched from the fake's endpoint");
    assert_eq!(fetch.headers["accept-encoding"], "identity");
    fake.stop().await;

    let big_sha = sha256_hex(&big_bytes());
    let notes_sha = sha256_hex(NOTES_TEXT.as_bytes());
    let (_, cassette) = cassette_files(folder.path()).remove(0);
    assert_eq!(
        cassette["downloads"],
        json!([
            {"file_name": BIG, "status": 200, "size": BIG_LEN, "sha256": big_sha, "content_type": "application/octet-stream"},
            {"file_name": NOTES_NAME, "status": 200, "size": NOTES_TEXT.len(), "sha256": notes_sha, "content_type": "application/octet-stream"},
        ])
    );
    let prepared = timeline(&cassette, "downloadsession.file.prepare", Some(BIG)).unwrap();
    let kept = prepared["responses"][0]["file"]["download_endpoint"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        kept.ends_with(&format!("/cis-data/{id}/big%20image.iso")) && !kept.contains("__dsvcr"),
        "the cassette keeps vCenter's endpoint: {kept}"
    );
    let mut expected_blobs = vec![big_sha.clone(), notes_sha];
    expected_blobs.sort();
    assert_eq!(blob_names(folder.path()), expected_blobs);
    let blob = std::fs::read(folder.path().join("blobs/sha256").join(&big_sha)).unwrap();
    assert_eq!(blob, big_bytes());
    let (code, stdout, _) = run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!((code, stdout.as_str()), (0, ""));

    let replay = TestServer::replay_with(folder.path(), &["--require-session"]).await;
    let anonymous = replay.get(&endpoint_path(&id, BIG)).await;
    assert_eq!(anonymous.status, 401, "--require-session applies to bytes");
    let client = Client::login(&replay.base, None).await;
    assert_eq!(client.create().await, id);
    let info = client.prepare(&id, BIG).await;
    assert_eq!(
        info["download_endpoint"]["uri"],
        format!("{}{}", replay.base, endpoint_path(&id, BIG))
    );
    let (status, headers, body) = client.download(&info, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-length"], BIG_LEN.to_string().as_str());
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(body, big_bytes());

    let big = big_bytes();
    let total = BIG_LEN;
    let ranges = [
        ("bytes=0-99", 0, 99),
        ("bytes=3000000-3999999", 3_000_000, 3_999_999),
        ("bytes=-500", total - 500, total - 1),
        ("bytes=6000000-", 6_000_000, total - 1),
    ];
    for (range, first, last) in ranges {
        let (status, headers, body) = client.download(&info, &[("range", range)]).await;
        assert_eq!(status, 206, "{range}");
        assert_eq!(
            headers["content-range"],
            format!("bytes {first}-{last}/{total}").as_str(),
            "{range}"
        );
        assert_eq!(
            headers["content-length"],
            (last - first + 1).to_string().as_str()
        );
        assert_eq!(body, big.slice(first..=last), "{range}");
    }
    let (status, headers, body) = client
        .download(&info, &[("range", &format!("bytes={total}-"))])
        .await;
    assert_eq!(status, 416);
    assert_eq!(
        headers["content-range"],
        format!("bytes */{total}").as_str()
    );
    assert!(body.is_empty());
    let (status, headers, body) = client
        .download(&info, &[("range", "bytes=0-0,10-20")])
        .await;
    assert_eq!(
        (status, body.len()),
        (200, total),
        "several ranges get the whole body"
    );
    assert!(headers.get("content-range").is_none());

    let (status, headers, body) = client
        .send("HEAD", &endpoint_path(&id, BIG), &[], "")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(headers["content-length"], BIG_LEN.to_string().as_str());
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(body.is_empty());

    let (status, _, body) = client
        .send("GET", &endpoint_path(&id, "other.iso"), &[], "")
        .await
        .unwrap();
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    replay.shut_down().await;
}

#[tokio::test]
async fn the_same_bytes_downloaded_in_two_sessions_are_stored_once() {
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let first = record_session(&fake, folder.path()).await;
    let second = record_session(&fake, folder.path()).await;
    assert_ne!(first, second);
    let downloads = downloads_of(folder.path());
    assert_eq!(downloads.len(), 4, "two files in each of two cassettes");
    let mut expected = vec![sha256_hex(&big_bytes()), sha256_hex(NOTES_TEXT.as_bytes())];
    expected.sort();
    assert_eq!(blob_names(folder.path()), expected);
}

#[tokio::test]
async fn a_body_cut_short_reaches_the_client_broken_and_is_not_recorded() {
    let fake = fake(ByteFault::CutShort).await;
    let folder = tempfile::tempdir().unwrap();
    let record = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let client = Client::login(&record.base, None).await;
    let id = client.create().await;
    let info = client.prepare(&id, BIG).await;
    let uri = info["download_endpoint"]["uri"].as_str().unwrap();
    let broken = client.send("GET", &client.path_of(uri), &[], "").await;
    assert!(broken.is_err(), "the client sees the break: {broken:?}");
    assert_eq!(
        record.shut_down().await,
        ExitCode::from(dsvcr::EXIT_NOT_RECORDED)
    );
    assert_eq!(downloads_of(folder.path()), Vec::<Value>::new());
    assert_eq!(
        blob_names(folder.path()),
        Vec::<String>::new(),
        "no blob, no temp file"
    );
}

#[tokio::test]
async fn record_fetches_only_endpoints_answers_named() {
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let record = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let client = Client::login(&record.base, None).await;
    let id = client.create().await;
    // Not prepared yet: no answer in this run named its endpoint.
    let (status, _, body) = client
        .send("GET", &endpoint_path(&id, BIG), &[], "")
        .await
        .unwrap();
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        fake.count("GET", &format!("/cis-data/{id}/big%20image.iso")),
        0
    );
    assert_eq!(record.shut_down().await, ExitCode::SUCCESS);
}

/// SHA-1 of the leaf certificate a TLS server at `addr` presents, as vCenter writes it.
#[tokio::test]
async fn over_https_the_endpoint_names_dsvcr_and_its_own_thumbprint() {
    let fake = FakeVcenter::https().await;
    let folder = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let ca = fake.ca_pem_path().unwrap().to_owned();
    let record = RecordSetup::to(&fake.url())
        .trust(Trust::CaFile(ca))
        .flag("--tls-self-signed", certs.path().to_str().unwrap())
        .start(folder.path())
        .await;
    let dsvcr_ca = certs.path().join("dsvcr-ca.pem");
    let base = record.base.replace("127.0.0.1", "localhost");
    let client = Client::login(&base, Some(&dsvcr_ca)).await;
    let id = client.create().await;
    let info = client.prepare(&id, NOTES_NAME).await;
    let thumbprint = served_thumbprint(base.trim_start_matches("https://"), &dsvcr_ca).await;
    assert_ne!(Some(thumbprint.clone()), fake.leaf_thumbprint());
    assert_eq!(
        info["download_endpoint"],
        json!({
            "uri": format!("{base}{}", endpoint_path(&id, NOTES_NAME)),
            "ssl_certificate_thumbprint": thumbprint,
        }),
        "the client's own authority (localhost), dsvcr's scheme and certificate"
    );
    let (status, _, body) = client.download(&info, &[]).await;
    assert_eq!((status, &body[..]), (200, NOTES_TEXT.as_bytes()));
    assert_eq!(record.shut_down().await, ExitCode::SUCCESS);
    let (_, cassette) = cassette_files(folder.path()).remove(0);
    let prepared = timeline(&cassette, "downloadsession.file.prepare", Some(NOTES_NAME)).unwrap();
    assert_eq!(
        prepared["responses"][0]["file"]["download_endpoint"]["ssl_certificate_thumbprint"],
        json!(fake.leaf_thumbprint().unwrap()),
        "the cassette keeps vCenter's thumbprint"
    );
}

#[tokio::test]
async fn a_missing_blob_stops_replay_and_check_reports_blob_problems() {
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    record_session(&fake, folder.path()).await;
    let blobs = folder.path().join("blobs/sha256");
    let notes = blobs.join(sha256_hex(NOTES_TEXT.as_bytes()));
    // Same size, other bytes: start-up checks sizes, check hashes.
    let mut corrupt = NOTES_TEXT.as_bytes().to_vec();
    corrupt[0] ^= 1;
    std::fs::write(&notes, &corrupt).unwrap();
    let orphan = "Authorization: Basic bGFiOnNlY3JldA==\n";
    let orphan_name = sha256_hex(orphan.as_bytes());
    std::fs::write(blobs.join(&orphan_name), orphan).unwrap();
    let (code, stdout, _) = run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort();
    let mut expected = [
        format!(
            "{}: its bytes hash to {}, not to its name",
            notes.display(),
            sha256_hex(&corrupt)
        ),
        format!(
            "{}: no cassette references this blob",
            blobs.join(&orphan_name).display()
        ),
    ];
    expected.sort();
    assert_eq!(lines, expected, "blob contents are not scanned for secrets");

    std::fs::remove_file(&notes).unwrap();
    let cli = dsvcr::Cli::try_parse_from([
        "dsvcr",
        "replay",
        "--cassettes",
        folder.path().to_str().unwrap(),
    ])
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = dsvcr::run_with(cli, Some(listener), |_| {}, std::future::pending())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "download of \"{NOTES_NAME}\" needs blob {}",
            notes.display()
        )),
        "{message}"
    );
}

/// A polled answer's endpoint is rewritten once per authority and kept: each Host a
/// client names gets its own endpoint back, in JSON and over /api alike.
#[tokio::test]
async fn a_polled_endpoint_names_the_authority_each_client_used() {
    let hosts = [
        "--allow-host",
        "a.test",
        "--allow-host",
        "b.test",
        "--allow-host",
        "c.test",
    ];
    let server = TestServer::replay_with(&shipped_cassettes(), &hosts).await;
    let poll = |host: &'static str| {
        server
            .request("POST", &format!("{REST_FILES}/id:obj-106?~action=get"))
            .header("host", host)
            .header("content-type", "application/json")
            .body(r#"{"file_name":"photon-5.0.iso"}"#)
            .send()
    };
    let endpoint = |response: &TestResponse| {
        response.json()["value"]["download_endpoint"]["uri"]
            .as_str()
            .map(str::to_owned)
    };
    let statuses: Vec<_> = [poll("a.test:1").await, poll("a.test:1").await]
        .iter()
        .map(|response| response.json()["value"]["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("PREPARING"), json!("PREPARING")]);
    let path = "/__dsvcr/files/obj-106/photon-5.0.iso";
    for host in ["a.test:1", "b.test:2", "a.test:1", "b.test:2"] {
        let response = poll(host).await;
        assert_eq!(response.status, 200);
        assert_eq!(endpoint(&response), Some(format!("http://{host}{path}")));
    }
    let api = server
        .request(
            "GET",
            &format!("{API}/obj-106/file?file_name=photon-5.0.iso"),
        )
        .header("host", "c.test:3")
        .send()
        .await;
    assert_eq!(
        api.json()["download_endpoint"]["uri"],
        json!(format!("http://c.test:3{path}"))
    );
}

/// The client's credentials go only to the upstream's own scheme, host and port: recording
/// through `http://localhost:PORT` while vCenter names its endpoints `http://127.0.0.1:PORT`
/// (another origin), the bytes are fetched without them.
#[tokio::test]
async fn credentials_go_only_to_the_upstreams_own_origin() {
    let fake = fake(ByteFault::None).await;
    let credentials = |seen: &[crate::fake_vcenter::SeenRequest]| {
        let fetch = seen
            .iter()
            .rev()
            .find(|seen| seen.path().starts_with("/cis-data/"))
            .expect("the bytes were fetched");
        ["authorization", "vmware-api-session-id", "cookie"]
            .iter()
            .filter(|name| fetch.headers.contains_key(**name))
            .count()
    };
    // The fake's endpoint wants a session, as vCenter's does: without one it answers 401.
    for (upstream, expected, status) in [
        (fake.url(), 2, 200),
        (fake.url().replace("127.0.0.1", "localhost"), 0, 401),
    ] {
        let folder = tempfile::tempdir().unwrap();
        let record = RecordSetup::to(&upstream).start(folder.path()).await;
        let client = Client::login(&record.base, None).await;
        let id = client.create().await;
        let info = client.prepare(&id, NOTES_NAME).await;
        let (got, _, _) = client
            .download(&info, &[("cookie", "vmware-api-session-id=x; other=y")])
            .await;
        assert_eq!(got, status, "{upstream}");
        assert_eq!(credentials(&fake.requests()), expected, "{upstream}");
        assert_eq!(record.shut_down().await, ExitCode::SUCCESS);
    }
}

/// Replay's start-up error for `folder`, as text; a replay that starts instead is stopped
/// at once and fails the test.
async fn replay_refusal(folder: &Path) -> String {
    let cli =
        dsvcr::Cli::try_parse_from(["dsvcr", "replay", "--cassettes", folder.to_str().unwrap()])
            .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (started, stop) = tokio::sync::oneshot::channel::<()>();
    let ready = move |_: &str| {
        let _ = started.send(());
    };
    let stopped = async {
        let _ = stop.await;
    };
    dsvcr::run_with(cli, Some(listener), ready, stopped)
        .await
        .expect_err("replay must refuse to start")
        .to_string()
}

/// `dsvcr check FOLDER`'s output, killed (and failed) if it does not end in 60 s: the
/// limit catches a check that never ends, it measures nothing.
fn check_ending(folder: &Path) -> (i32, String) {
    let mut child = crate::process::dsvcr(&["check", folder.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("check did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// A blob that is a link (to a file outside the folder, to a device) or a linked blob
/// folder is refused at start-up and reported by `check`, which never reads a device.
#[cfg(unix)]
#[tokio::test]
async fn blobs_that_leave_the_folder_are_refused_and_checked_without_reading_them() {
    use std::os::unix::fs::symlink;
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    record_session(&fake, folder.path()).await;
    let blobs = folder.path().join("blobs/sha256");
    let notes = blobs.join(sha256_hex(NOTES_TEXT.as_bytes()));
    // Outside, with the recorded size, so only the link gives it away.
    let outside = tempfile::tempdir().unwrap();
    let credentials = outside.path().join("credentials");
    std::fs::write(&credentials, "s".repeat(NOTES_TEXT.len())).unwrap();
    std::fs::remove_file(&notes).unwrap();
    symlink(&credentials, &notes).unwrap();
    let message = replay_refusal(folder.path()).await;
    assert!(
        message.ends_with(&format!(
            "needs blob {}: it is a symbolic link; blobs must be regular files inside the cassette folder",
            notes.display()
        )),
        "{message}"
    );
    std::fs::remove_file(&notes).unwrap();
    symlink("/dev/zero", &notes).unwrap();
    let (code, stdout) = check_ending(folder.path());
    assert_eq!(code, 1);
    assert!(
        stdout.contains(&format!(
            "blob {} cannot be read: {} is a symbolic link; blobs must be regular files inside the cassette folder",
            notes.display(),
            notes.display()
        )),
        "{stdout}"
    );

    std::fs::remove_file(&notes).unwrap();
    std::fs::write(&notes, NOTES_TEXT).unwrap();
    let moved = outside.path().join("sha256");
    std::fs::rename(&blobs, &moved).unwrap();
    symlink(&moved, &blobs).unwrap();
    let message = replay_refusal(folder.path()).await;
    assert!(
        message.ends_with(&format!(
            "the blob folder {} is a symbolic link; blobs must stay inside the cassette folder",
            blobs.display()
        )),
        "{message}"
    );
    let (code, stdout) = check_ending(folder.path());
    assert_eq!(code, 1);
    assert!(
        stdout.contains(&format!(
            "{}: is a symbolic link; blobs must stay inside the cassette folder",
            blobs.display()
        )),
        "{stdout}"
    );
}

/// A FIFO put in place of a blob after start-up is refused when opened (500), without
/// blocking the download or the shutdown.
#[cfg(unix)]
#[tokio::test]
async fn a_fifo_in_place_of_a_blob_is_refused_without_blocking() {
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let id = record_session(&fake, folder.path()).await;
    let replay = TestServer::replay(folder.path()).await;
    let notes = folder
        .path()
        .join("blobs/sha256")
        .join(sha256_hex(NOTES_TEXT.as_bytes()));
    std::fs::remove_file(&notes).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&notes)
        .status()
        .unwrap();
    assert!(made.success());
    let answer = replay.get(&endpoint_path(&id, NOTES_NAME)).await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.header("x-dsvcr-synthetic"), Some("blob-unreadable"));
    assert!(
        answer
            .vapi_message()
            .ends_with("is not a regular file (a FIFO)"),
        "{}",
        answer.vapi_message()
    );
    assert_eq!(replay.shut_down().await, ExitCode::SUCCESS);
}

/// A HEAD or GET on a raw connection to `addr`; the whole response as text.
fn raw_request(addr: &str, method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A blob deleted or cut after start-up: every request for its bytes, HEAD included,
/// gets 500 with `x-dsvcr-synthetic: blob-unreadable` and a message naming the blob,
/// and the failure is logged as an error.
#[tokio::test]
async fn a_blob_gone_after_start_is_logged_and_answered_500_naming_it() {
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let id = record_session(&fake, folder.path()).await;
    let blobs = folder.path().join("blobs/sha256");
    let notes = blobs.join(sha256_hex(NOTES_TEXT.as_bytes()));
    let big = blobs.join(sha256_hex(&big_bytes()));
    let running = crate::process::Running::start(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        folder.path().to_str().unwrap(),
    ]);
    let addr = running.addr();
    std::fs::remove_file(&notes).unwrap();
    std::fs::write(&big, b"cut").unwrap();
    let cases = [
        (
            NOTES_NAME,
            "GET",
            notes.clone(),
            "No such file or directory (os error 2)".to_owned(),
        ),
        (
            NOTES_NAME,
            "HEAD",
            notes.clone(),
            "No such file or directory (os error 2)".to_owned(),
        ),
        (
            BIG,
            "GET",
            big.clone(),
            format!("it holds 3 bytes, the cassette recorded {BIG_LEN}"),
        ),
    ];
    let answers = tokio::task::spawn_blocking({
        let addr = addr.clone();
        let id = id.clone();
        move || {
            cases.map(|(file, method, blob, why)| {
                let answer = raw_request(&addr, method, &endpoint_path(&id, file));
                (method, blob, why, answer)
            })
        }
    })
    .await
    .unwrap();
    for (method, blob, why, answer) in &answers {
        let message = format!(
            "cannot serve the recorded bytes from blob {}: {why}",
            blob.display()
        );
        assert!(
            answer.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{method}: {answer}"
        );
        assert!(
            answer.contains("\r\nx-dsvcr-synthetic: blob-unreadable\r\n"),
            "{answer}"
        );
        if *method == "GET" {
            assert!(answer.contains(&message), "{answer}");
        }
    }
    let (code, stderr) = running.stop();
    assert_eq!(code, 0, "{stderr}");
    for blob in [&notes, &big] {
        let logged = stderr.lines().any(|line| {
            line.contains("ERROR")
                && line.contains(&format!(
                    "cannot serve the recorded bytes from blob {}",
                    blob.display()
                ))
        });
        assert!(logged, "not logged as an error: {stderr}");
    }
}

/// `--replace` starts a re-recorded session afresh; the blobs only its old cassette named
/// are removed with it, so the folder still passes `check` (they were left behind, and
/// `check` failed them as unreferenced).
#[tokio::test]
async fn replace_removes_the_blobs_only_the_replaced_cassette_named() {
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let id = record_session(&fake, folder.path()).await;
    assert_eq!(blob_names(folder.path()).len(), 2);
    let mut setup = RecordSetup::to(&fake.url());
    setup.rerecord = Rerecord::Replace;
    let again = setup.start(folder.path()).await;
    let client = Client::login(&again.base, None).await;
    let session = client
        .json("GET", &format!("{REST}/id:{id}"), json!({}))
        .await;
    assert_eq!(session["id"], id.as_str());
    assert_eq!(again.shut_down().await, ExitCode::SUCCESS);
    assert_eq!(downloads_of(folder.path()), Vec::<Value>::new());
    assert_eq!(blob_names(folder.path()), Vec::<String>::new());
    let (code, stdout, stderr) = run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
}

/// Found by a hostile review: downloads had no process-wide bound. Beyond
/// `--max-downloads` (or `--max-open-blobs`) a download gets 503 with `Retry-After` at
/// once, API calls are still answered, and the place comes back with the last bytes.
#[tokio::test]
async fn downloads_beyond_the_budget_get_503_and_api_calls_still_succeed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let id = record_session(&fake, folder.path()).await;
    let replay = TestServer::replay_with(
        folder.path(),
        &["--max-downloads", "1", "--max-open-blobs", "2"],
    )
    .await;
    let addr = replay.base.trim_start_matches("http://").to_owned();
    let mut held = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let big = endpoint_path(&id, BIG);
    held.write_all(
        format!("GET {big} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = held.read(&mut buffer).await.unwrap();
        assert!(read > 0, "closed before the head");
        head.extend_from_slice(&buffer[..read]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"));

    let refused = replay.get(&endpoint_path(&id, NOTES_NAME)).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(
        refused.header("x-dsvcr-synthetic"),
        Some("download-budget-exhausted")
    );
    assert_eq!(
        refused.vapi_message(),
        "dsvcr is already serving 1 downloads, its limit (--max-downloads); try again"
    );
    let prepare = format!("{REST_FILES}/id:{id}?~action=prepare");
    let api = replay
        .post(&prepare, &json!({ "file_name": NOTES_NAME }).to_string())
        .await;
    assert_eq!(api.status, 200, "{}", api.text());
    // A HEAD takes a blob file, not a download place: the second of two files is free.
    let head_request = replay
        .request("HEAD", &endpoint_path(&id, NOTES_NAME))
        .send()
        .await;
    assert_eq!(head_request.status, 200);

    let mut rest = Vec::new();
    held.read_to_end(&mut rest).await.unwrap();
    let body_start = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(head.len() - body_start + rest.len(), BIG_LEN);
    let again = replay.get(&endpoint_path(&id, NOTES_NAME)).await;
    assert_eq!((again.status.as_u16(), again.text()), (200, NOTES_TEXT));
}

/// An upstream whose every answer is a prepared file named `f.iso` whose endpoint is the
/// URI in `endpoint` at the time of the request.
async fn upstream_naming(endpoint: std::sync::Arc<std::sync::Mutex<String>>) -> String {
    scripted_upstream(move |_, _| {
        let uri = endpoint.lock().unwrap().clone();
        let info = json!({"name": "f.iso", "status": "PREPARED", "bytes_transferred": 0,
            "size": 3, "download_endpoint": {"uri": uri}});
        http_answer("200 OK", &info.to_string())
    })
    .await
}

/// Found by a hostile review: a download link naming dsvcr itself made record connect to
/// itself until every connection slot was taken. It is refused at once: 502 naming the
/// reason, counted among the upstream failures (so record exits 4), nothing fetched.
#[tokio::test]
async fn record_refuses_a_download_link_that_names_its_own_listener() {
    let endpoint = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let upstream = upstream_naming(endpoint.clone()).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream).start(folder.path()).await;
    let addr = recorder.base.trim_start_matches("http://").to_owned();
    let port = addr.rsplit(':').next().unwrap().to_owned();
    for named in [format!("http://{addr}"), format!("http://localhost:{port}")] {
        *endpoint.lock().unwrap() = format!("{named}/cis-data/s-1/f.iso");
        let prepare = recorder
            .post(
                &format!("{REST_FILES}/id:s-1?~action=prepare"),
                r#"{"file_name": "f.iso"}"#,
            )
            .await;
        assert_eq!(prepare.status, 200, "{}", prepare.text());
        let rewritten = prepare.json()["value"]["download_endpoint"]["uri"].clone();
        assert_eq!(
            rewritten,
            json!(format!(
                "{}{}",
                recorder.base,
                endpoint_path("s-1", "f.iso")
            ))
        );
        let fetched = recorder.get(&endpoint_path("s-1", "f.iso")).await;
        assert_eq!(fetched.status, 502, "{named}: {}", fetched.text());
        assert_eq!(
            fetched.header("x-dsvcr-synthetic"),
            Some("download-self-loop")
        );
        assert!(
            fetched.vapi_message().starts_with(&format!(
                "the download endpoint {named}/cis-data/s-1/f.iso names dsvcr itself ({addr})"
            )),
            "{}",
            fetched.vapi_message()
        );
    }
    let health = recorder.get("/__dsvcr/health").await.json();
    assert_eq!(
        health["upstream_connections"], 2,
        "only the prepares: {health}"
    );
    assert_eq!(
        health["upstream_failures"]["by_reason"],
        json!({"self_loop": 2})
    );
    assert_eq!(
        recorder.shut_down().await,
        ExitCode::from(dsvcr::EXIT_NOT_RECORDED)
    );
}

/// Found by a hostile review: `record` ignored SIGTERM while a slow client read a
/// download. The connection is cut after the grace period, the process exits, and the
/// cut download leaves no blob (nor temp file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_record_while_a_slow_client_reads_a_download_and_leaves_no_blob() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let running = crate::process::Running::start(&[
        "record",
        "--upstream",
        &fake.url(),
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        folder.path().to_str().unwrap(),
    ]);
    let client = Client::login(&running.url(), None).await;
    let id = client.create().await;
    let info = client.prepare(&id, BIG).await;
    let path = client.path_of(info["download_endpoint"]["uri"].as_str().unwrap());
    let addr = running.addr();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nvmware-api-session-id: {}\r\n\r\n",
        client.token
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    let mut first = [0u8; 64];
    let read = slow.read(&mut first).await.unwrap();
    assert!(first[..read].starts_with(b"HTTP/1.1 200 OK"));
    // The client reads no more: 6 MiB do not fit in the socket buffers.
    running.signal("TERM");
    let (code, stderr) = tokio::task::spawn_blocking(move || running.wait())
        .await
        .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("cutting their connections"), "{stderr}");
    assert_eq!(blob_names(folder.path()), Vec::<String>::new());
    assert_eq!(downloads_of(folder.path()), Vec::<Value>::new());
    drop(slow);
}

/// Found by a hostile review: a download request carrying a body got 504 blaming the
/// upstream (its Content-Length was forwarded without the body). The body and its
/// headers are not forwarded: the download is served and recorded.
#[tokio::test]
async fn a_download_request_with_a_body_is_served_without_forwarding_it() {
    let fake = fake(ByteFault::None).await;
    let folder = tempfile::tempdir().unwrap();
    let record = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let client = Client::login(&record.base, None).await;
    let id = client.create().await;
    let info = client.prepare(&id, NOTES_NAME).await;
    let path = client.path_of(info["download_endpoint"]["uri"].as_str().unwrap());
    let (status, _, body) = client.send("GET", &path, &[], "hello").await.unwrap();
    assert_eq!((status, &body[..]), (200, NOTES_TEXT.as_bytes()));
    let fetch = fake
        .requests()
        .into_iter()
        .find(|seen| seen.path().starts_with("/cis-data/"))
        .expect("the bytes were fetched");
    for name in ["content-length", "content-type", "transfer-encoding"] {
        assert_eq!(fetch.headers.get(name), None, "{name} was forwarded");
    }
    assert_eq!(record.shut_down().await, ExitCode::SUCCESS);
    assert_eq!(downloads_of(folder.path()).len(), 1);
}

/// An upstream whose file info for `f.iso` gives `size` (if any), and whose endpoint sends
/// `bytes` with no `Content-Length` and no chunked framing, then closes.
async fn close_delimited_upstream(size: Option<u64>, bytes: &'static str) -> String {
    scripted_upstream(move |head, url| {
        if head.starts_with(b"GET /cis-data/") {
            return format!("HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n{bytes}");
        }
        let endpoint = format!("{url}/cis-data/s-1/f.iso");
        let mut info = json!({"name": "f.iso", "status": "PREPARED",
            "bytes_transferred": 0, "download_endpoint": {"uri": endpoint}});
        if let Some(size) = size {
            info["size"] = json!(size);
        }
        http_answer("200 OK", &info.to_string())
    })
    .await
}

/// Found by a hostile review: a download delimited only by its connection's close and
/// cut short was recorded as complete. It is checked against the size this session's file
/// info gave, and not recorded when there was none.
#[tokio::test]
async fn a_download_delimited_by_close_is_recorded_only_when_its_size_is_known_and_met() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cases = [
        (Some(3), "abc", true, None),
        (
            Some(3),
            "ab",
            false,
            Some("the body held 2 bytes, this session's file info said 3"),
        ),
        (
            None,
            "abc",
            false,
            Some("the body ends only where its connection closes and no file info in this run gave its size"),
        ),
    ];
    for (size, bytes, kept, reason) in cases {
        let upstream = close_delimited_upstream(size, bytes).await;
        let folder = tempfile::tempdir().unwrap();
        let summary = folder.path().join("summary.json");
        let recorder = RecordSetup::to(&upstream)
            .flag("--summary", summary.to_str().unwrap())
            .start(&folder.path().join("cassettes"))
            .await;
        let prepare = recorder
            .post(
                &format!("{REST_FILES}/id:s-1?~action=prepare"),
                r#"{"file_name": "f.iso"}"#,
            )
            .await;
        assert_eq!(prepare.status, 200, "{}", prepare.text());
        let addr = recorder.base.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let path = endpoint_path("s-1", "f.iso");
        let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        assert!(
            answer.starts_with(b"HTTP/1.1 200 OK"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        let code = recorder.shut_down().await;
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        let folder = folder.path().join("cassettes");
        let recorded = downloads_of(&folder);
        if kept {
            assert_eq!(code, ExitCode::SUCCESS, "{bytes}");
            assert_eq!(recorded.len(), 1, "{bytes}");
            assert_eq!(recorded[0]["size"], 3);
        } else {
            assert_eq!(code, ExitCode::from(dsvcr::EXIT_NOT_RECORDED), "{bytes}");
            assert_eq!(recorded, Vec::<Value>::new(), "{size:?} {bytes}");
            assert_eq!(blob_names(&folder), Vec::<String>::new());
            let why = written["not_recorded"][0]["reason"].as_str().unwrap();
            assert!(why.starts_with(reason.unwrap()), "{why}");
        }
    }
}
