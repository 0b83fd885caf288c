//! Download endpoints through dsvcr: every `download_endpoint` in an answer is pointed at
//! `/__dsvcr/files/<session>/<file>` on dsvcr's own listener, so that clients fetch the
//! bytes through dsvcr. The path carries the session id and file name, which select the
//! recorded endpoint (record) or the recorded blob (replay).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::header::HOST;
use http::uri::Authority;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rustls::pki_types::CertificateDer;

use crate::vapi::{Answer, FileInfo, SessionId};

/// Where dsvcr serves files; under the admin prefix, which no vSphere path uses.
pub(crate) const FILES_PREFIX: &str = "/__dsvcr/files/";

/// Everything but unreserved characters is escaped, so ids and names stay one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// dsvcr's own listener, as rewritten endpoints describe it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Listener {
    /// `None` on plain HTTP.
    pub(crate) certificate: Option<ListenerCertificate>,
    /// The bound address, for a request that names no authority (HTTP/1.0).
    addr: Arc<OnceLock<SocketAddr>>,
}

/// The listener's leaf certificate as a transfer endpoint names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListenerCertificate {
    /// SHA-1 of the DER, uppercase hex pairs joined by `:`, as vCenter writes it.
    pub(crate) thumbprint: String,
    pub(crate) pem: String,
}

impl ListenerCertificate {
    pub(crate) fn of(leaf: &CertificateDer<'_>) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, leaf);
        let thumbprint = digest
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let base64 = STANDARD.encode(leaf.as_ref());
        let lines: Vec<&str> = base64
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
            .collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        ListenerCertificate { thumbprint, pem }
    }
}

impl Listener {
    pub(crate) fn new(certificate: Option<ListenerCertificate>) -> Self {
        Listener {
            certificate,
            addr: Arc::default(),
        }
    }

    /// Remembers the address the listener was bound to.
    pub(crate) fn bound(&self, addr: SocketAddr) {
        let _ = self.addr.set(addr);
    }

    /// The address the listener was bound to, once bound.
    pub(crate) fn bound_addr(&self) -> Option<SocketAddr> {
        self.addr.get().copied()
    }

    /// The base the client reached dsvcr at: the listener's scheme and the request's
    /// authority (`:authority` or `Host`).
    pub(crate) fn origin(&self, parts: &http::request::Parts) -> Origin<'_> {
        let from_request = parts.uri.authority().cloned().or_else(|| {
            let host = parts.headers.get(HOST)?.to_str().ok()?;
            host.parse::<Authority>().ok()
        });
        let authority = from_request.map_or_else(
            || {
                self.addr
                    .get()
                    .map_or_else(|| "localhost".to_owned(), ToString::to_string)
            },
            |authority| authority.as_str().to_owned(),
        );
        Origin {
            scheme: if self.certificate.is_some() {
                "https"
            } else {
                "http"
            },
            authority,
            certificate: self.certificate.as_ref(),
        }
    }
}

/// Where a client reached dsvcr, for one request.
#[derive(Clone, Debug)]
pub(crate) struct Origin<'a> {
    scheme: &'static str,
    authority: String,
    certificate: Option<&'a ListenerCertificate>,
}

impl Origin<'_> {
    /// The host and port clients reach dsvcr by.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }
}

/// The path of a file's endpoint on dsvcr.
pub(crate) fn path_of(session: &SessionId, file: &str) -> String {
    format!(
        "{FILES_PREFIX}{}/{}",
        utf8_percent_encode(session.as_str(), SEGMENT),
        utf8_percent_encode(file, SEGMENT)
    )
}

/// The session and file a request path names, if it is under [`FILES_PREFIX`]: `Some(Err)`
/// for a path there that names no file.
pub(crate) fn file_of(path: &str) -> Option<Result<(SessionId, String), String>> {
    let rest = path.strip_prefix(FILES_PREFIX)?;
    let parsed = || {
        let (session, file) = rest
            .split_once('/')
            .filter(|(_, file)| !file.contains('/') && !file.is_empty())
            .ok_or_else(|| format!("{path} is not {FILES_PREFIX}<session>/<file>"))?;
        let decode = |segment: &str| {
            percent_decode_str(segment)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| format!("{path} does not decode to UTF-8"))
        };
        let session = SessionId::parse(&decode(session)?).map_err(|err| err.to_string())?;
        Ok((session, decode(file)?))
    };
    Some(parsed())
}

/// Whether an answer names a download endpoint.
pub(crate) fn names_endpoint(answer: &Answer) -> bool {
    match answer {
        Answer::File(info) => info.download_endpoint.is_some(),
        Answer::Files(files) => files.iter().any(|info| info.download_endpoint.is_some()),
        _ => false,
    }
}

/// Points every download endpoint in `answer` (about `session`) at dsvcr; returns each
/// file's name and the URI it named before.
pub(crate) fn rewrite(
    answer: &mut Answer,
    session: &SessionId,
    to: &Origin<'_>,
) -> Vec<(String, String)> {
    let files = match answer {
        Answer::File(info) => std::slice::from_mut(info),
        Answer::Files(files) => files.as_mut_slice(),
        _ => return Vec::new(),
    };
    files
        .iter_mut()
        .filter_map(|info| rewrite_file(info, session, to))
        .collect()
}

fn rewrite_file(
    info: &mut FileInfo,
    session: &SessionId,
    to: &Origin<'_>,
) -> Option<(String, String)> {
    let endpoint = info.download_endpoint.as_mut()?;
    let uri = format!(
        "{}://{}{}",
        to.scheme,
        to.authority,
        path_of(session, &info.name)
    );
    let original = std::mem::replace(&mut endpoint.uri, uri);
    endpoint.ssl_certificate_thumbprint = to.certificate.map(|cert| cert.thumbprint.clone());
    endpoint.ssl_certificate = match (&endpoint.ssl_certificate, to.certificate) {
        (Some(_), Some(cert)) => Some(cert.pem.clone()),
        _ => None,
    };
    Some((info.name.clone(), original))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vapi::model::{FileStatus, TransferEndpoint};

    fn prepared(name: &str, certificate: Option<&str>) -> FileInfo {
        FileInfo {
            bytes_transferred: Some(0),
            checksum_info: None,
            download_endpoint: Some(TransferEndpoint {
                ssl_certificate: certificate.map(str::to_owned),
                ssl_certificate_thumbprint: Some("AA:BB".to_owned()),
                uri: format!("https://vc.lab/cis-data/s%201/{name}"),
            }),
            error_message: None,
            name: name.to_owned(),
            size: None,
            status: FileStatus::Prepared,
        }
    }

    fn request(host: &str) -> http::request::Parts {
        http::Request::get("/x")
            .header(HOST, host)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn paths_round_trip_ids_and_names_that_need_escaping() {
        let session = SessionId::parse("urn:a.b_1-c").unwrap();
        let path = path_of(&session, "disk 1/ä.iso");
        assert_eq!(path, "/__dsvcr/files/urn%3Aa.b_1-c/disk%201%2F%C3%A4.iso");
        assert_eq!(
            file_of(&path).unwrap().unwrap(),
            (session, "disk 1/ä.iso".to_owned())
        );
        assert!(file_of("/__dsvcr/files/s1").unwrap().is_err());
        assert!(file_of("/__dsvcr/files/s1/a/b").unwrap().is_err());
        assert!(file_of("/__dsvcr/health").is_none());
    }

    #[test]
    fn plain_http_drops_the_thumbprint_and_certificate() {
        let listener = Listener::new(None);
        let parts = request("127.0.0.1:8080");
        let mut answer = Answer::Files(vec![prepared("a.iso", Some("PEM"))]);
        let session = SessionId::parse("s1").unwrap();
        let learned = rewrite(&mut answer, &session, &listener.origin(&parts));
        assert_eq!(
            learned,
            [(
                "a.iso".to_owned(),
                "https://vc.lab/cis-data/s%201/a.iso".to_owned()
            )]
        );
        let Answer::Files(files) = answer else {
            unreachable!()
        };
        let endpoint = files[0].download_endpoint.clone().unwrap();
        assert_eq!(
            endpoint,
            TransferEndpoint {
                ssl_certificate: None,
                ssl_certificate_thumbprint: None,
                uri: "http://127.0.0.1:8080/__dsvcr/files/s1/a.iso".to_owned(),
            }
        );
    }

    #[test]
    fn tls_names_the_listener_certificate_where_vcenter_sent_one() {
        let certificate = ListenerCertificate {
            thumbprint: "01:02".to_owned(),
            pem: "LEAF".to_owned(),
        };
        let listener = Listener::new(Some(certificate));
        let parts = request("localhost:9443");
        let session = SessionId::parse("s1").unwrap();
        for (sent, expected) in [(Some("PEM"), Some("LEAF")), (None, None)] {
            let mut answer = Answer::File(prepared("a.iso", sent));
            rewrite(&mut answer, &session, &listener.origin(&parts));
            let Answer::File(info) = answer else {
                unreachable!()
            };
            let endpoint = info.download_endpoint.unwrap();
            assert_eq!(
                endpoint.uri,
                "https://localhost:9443/__dsvcr/files/s1/a.iso"
            );
            assert_eq!(
                endpoint.ssl_certificate_thumbprint.as_deref(),
                Some("01:02")
            );
            assert_eq!(endpoint.ssl_certificate.as_deref(), expected);
        }
    }

    #[test]
    fn thumbprints_are_sha1_in_vcenter_spelling() {
        let certificate = ListenerCertificate::of(&CertificateDer::from(b"abc".to_vec()));
        assert_eq!(
            certificate.thumbprint,
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
        );
        assert_eq!(
            certificate.pem,
            "-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n"
        );
    }
}
