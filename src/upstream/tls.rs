//! Trust for the upstream connection: the system and webpki roots, a lab CA file, a
//! pinned certificate thumbprint, or (loudly) nothing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tracing::warn;

use crate::crypto::provider;

/// How the upstream's certificate is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Trust {
    /// The operating system's roots plus the webpki (Mozilla) roots.
    DefaultRoots,
    /// Only the CA certificates in this PEM file.
    CaFile(PathBuf),
    /// Only a leaf certificate with this SHA-1 or SHA-256 thumbprint (chain and name
    /// unchecked).
    Thumbprint(Thumbprint),
    /// Nothing: any certificate is accepted.
    Insecure,
}

/// A certificate thumbprint: SHA-256 (64 hex digits) or SHA-1 (40 hex digits, as
/// `govc about.cert -thumbprint` and vCenter's `ssl_certificate_thumbprint` write it),
/// with or without `:` separators, in any case.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thumbprint {
    bytes: [u8; 32],
    /// 20 for SHA-1, 32 for SHA-256.
    len: usize,
}

impl Thumbprint {
    /// `certificate`'s thumbprint by the same digest as `self`.
    fn of_like(&self, certificate: &[u8]) -> Self {
        let algorithm = if self.len == 20 {
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY
        } else {
            &ring::digest::SHA256
        };
        let digest = ring::digest::digest(algorithm, certificate);
        let mut bytes = [0; 32];
        bytes[..self.len].copy_from_slice(digest.as_ref());
        Thumbprint {
            bytes,
            len: self.len,
        }
    }
}

impl FromStr for Thumbprint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let hex: String = text.chars().filter(|c| *c != ':').collect();
        let digits_ok = hex.chars().all(|c| c.is_ascii_hexdigit());
        if !digits_ok || (hex.len() != 64 && hex.len() != 40) {
            return Err(format!(
                "{text:?} is not a certificate thumbprint: expected 64 hex digits (SHA-256) or 40 (SHA-1, as `govc about.cert -thumbprint` prints it), optionally separated by ':'"
            ));
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).expect("hex digits are ASCII");
            *byte = u8::from_str_radix(pair, 16).expect("checked hex digits");
        }
        Ok(Thumbprint {
            bytes,
            len: hex.len() / 2,
        })
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.bytes[..self.len]
            .iter()
            .map(|byte| format!("{byte:02X}"))
            .collect();
        f.write_str(&parts.join(":"))
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({self})")
    }
}

/// Why trust could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TrustError {
    #[error("--ca-cert {}: {source}", path.display())]
    CaFileUnreadable {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("--ca-cert {}: holds no PEM certificate", path.display())]
    CaFileEmpty { path: PathBuf },
    #[error("--ca-cert {}: not a usable CA certificate: {source}", path.display())]
    CaUnusable {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// The client configuration for `trust`.
pub(crate) fn client_config(trust: &Trust) -> Result<ClientConfig, TrustError> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let config = match trust {
        Trust::DefaultRoots => builder
            .with_root_certificates(default_roots())
            .with_no_client_auth(),
        Trust::CaFile(path) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnchoredVerifier::from_file(path)?))
            .with_no_client_auth(),
        Trust::Thumbprint(thumbprint) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(Some(*thumbprint))))
            .with_no_client_auth(),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(None)))
            .with_no_client_auth(),
    };
    Ok(config)
}

fn default_roots() -> RootCertStore {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        warn!("reading the system's CA certificates: {error}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "system CA certificates");
    roots
}

/// `--ca-cert`: a certificate byte for byte equal to one in the file is trusted as it is
/// (the lab's own self-signed certificate, which webpki refuses as a CA used as an end
/// entity); any other is verified by webpki against the file's certificates as roots.
#[derive(Debug)]
struct AnchoredVerifier {
    pinned: Vec<CertificateDer<'static>>,
    webpki: Arc<WebPkiServerVerifier>,
}

impl AnchoredVerifier {
    fn from_file(path: &Path) -> Result<Self, TrustError> {
        let (roots, pinned) = roots_from_file(path)?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|err| TrustError::Tls(rustls::Error::General(err.to_string())))?;
        Ok(AnchoredVerifier { pinned, webpki })
    }
}

impl ServerCertVerifier for AnchoredVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|pinned| pinned.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The file's certificates as roots, and as they were written (to pin).
fn roots_from_file(
    path: &Path,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), TrustError> {
    let unreadable = |source| TrustError::CaFileUnreadable {
        path: path.to_owned(),
        source,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(unreadable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    if certificates.is_empty() {
        return Err(TrustError::CaFileEmpty {
            path: path.to_owned(),
        });
    }
    let mut roots = RootCertStore::empty();
    for certificate in &certificates {
        roots
            .add(certificate.clone())
            .map_err(|source| TrustError::CaUnusable {
                path: path.to_owned(),
                source,
            })?;
    }
    Ok((roots, certificates))
}

/// Accepts exactly the leaf certificate with the pinned thumbprint, or with no pin any
/// certificate; handshake signatures are always verified.
#[derive(Debug)]
struct PinnedVerifier {
    pin: Option<Thumbprint>,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    fn new(pin: Option<Thumbprint>) -> Self {
        PinnedVerifier {
            pin,
            provider: provider(),
        }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(pin) = self.pin else {
            return Ok(ServerCertVerified::assertion());
        };
        let actual = pin.of_like(end_entity);
        if actual == pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "certificate thumbprint {actual} does not match --upstream-thumbprint {pin}"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_parse_with_or_without_colons() {
        let plain = "AB".repeat(32);
        let colons: Vec<&str> = std::iter::repeat_n("ab", 32).collect();
        let a: Thumbprint = plain.parse().unwrap();
        let b: Thumbprint = colons.join(":").parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), vec!["AB"; 32].join(":"));
        assert!("abc".parse::<Thumbprint>().is_err());
        let sha1 = vec!["0F"; 20].join(":");
        let parsed: Thumbprint = sha1.to_lowercase().parse().unwrap();
        assert_eq!(parsed.to_string(), sha1, "govc's SHA-1 form");
        assert_eq!(parsed, "0f".repeat(20).parse().unwrap());
        assert!(
            "ab".repeat(24).parse::<Thumbprint>().is_err(),
            "neither length"
        );
        assert!("zz".repeat(32).parse::<Thumbprint>().is_err());
    }

    #[test]
    fn a_ca_file_without_certificates_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(&Trust::CaFile(empty.clone())).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("--ca-cert {}: holds no PEM certificate", empty.display())
        );
        let missing = dir.path().join("missing.pem");
        let err = client_config(&Trust::CaFile(missing.clone())).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("--ca-cert {}: ", missing.display())),
            "{err}"
        );
        let source = std::error::Error::source(&err).expect("the cause is kept");
        assert!(
            matches!(source.downcast_ref(), Some(pem::Error::Io(io)) if io.kind() == std::io::ErrorKind::NotFound),
            "{source:?}"
        );
    }
}
