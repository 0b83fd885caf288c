//! HTTPS for dsvcr's own listener: a given certificate and key, or a leaf made at start
//! for 127.0.0.1 and localhost, signed by the CA kept in the `--tls-self-signed` folder
//! (`ca`). ALPN offers HTTP/2 and HTTP/1.1.

#[cfg(test)]
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod ca;

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::crypto::provider;

/// Why the HTTPS listener cannot be set up; names the flag and file at fault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ListenerTlsError {
    #[error("--tls-cert {}: {source}", path.display())]
    CertFile {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("--tls-cert {}: holds no PEM certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("--tls-key {}: no usable PEM private key: {source}", path.display())]
    KeyFile {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("--tls-cert/--tls-key: {0}")]
    Config(#[source] rustls::Error),
    #[error("--tls-self-signed {}: {source}", dir.display())]
    MakeCertificate {
        dir: PathBuf,
        #[source]
        source: rcgen::Error,
    },
    #[error("--tls-self-signed {}: {source}", dir.display())]
    WriteCa {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--tls-self-signed: the CA certificate {} and key {} do not go together: {reason}", cert.display(), key.display())]
    CaPair {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("--tls-self-signed {}: {source}", dir.display())]
    SelfSignedConfig {
        dir: PathBuf,
        #[source]
        source: rustls::Error,
    },
}

/// The file the self-signed CA is written to, inside the `--tls-self-signed` folder.
pub(crate) const SELF_SIGNED_CA_FILE: &str = "dsvcr-ca.pem";

/// An acceptor serving the certificate chain in `cert` with the private key in `key`,
/// and the chain's leaf.
pub(crate) fn from_files(
    cert: &Path,
    key: &Path,
) -> Result<(TlsAcceptor, CertificateDer<'static>), ListenerTlsError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| ListenerTlsError::CertFile {
            path: cert.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(ListenerTlsError::NoCertificate {
            path: cert.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| ListenerTlsError::KeyFile {
        path: key.to_owned(),
        source,
    })?;
    let leaf = chain[0].clone();
    let acceptor = acceptor(chain, key).map_err(ListenerTlsError::Config)?;
    Ok((acceptor, leaf))
}

/// A leaf for 127.0.0.1, ::1 and localhost, made fresh at each start and signed by the CA
/// kept in `dir` (`dsvcr-ca.pem` and its key, made there when missing); returns the
/// acceptor, the CA file clients trust and the leaf.
pub(crate) fn self_signed(
    dir: &Path,
) -> Result<(TlsAcceptor, PathBuf, CertificateDer<'static>), ListenerTlsError> {
    let certificate = |source| ListenerTlsError::MakeCertificate {
        dir: dir.to_owned(),
        source,
    };
    let ca = ca::kept_or_new(dir)?;
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(certificate)?;
    let leaf = leaf_params()
        .and_then(|params| params.signed_by(&leaf_key, &ca.signer, &ca.key))
        .map_err(certificate)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let chain = vec![leaf.der().clone(), ca.der];
    let acceptor = acceptor(chain, key).map_err(|source| ListenerTlsError::SelfSignedConfig {
        dir: dir.to_owned(),
        source,
    })?;
    Ok((acceptor, ca.path, leaf.der().clone()))
}

#[cfg(test)]
fn make_ca() -> Result<(rcgen::Certificate, KeyPair), rcgen::Error> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    Ok((ca::ca_params()?.self_signed(&key)?, key))
}

fn leaf_params() -> Result<CertificateParams, rcgen::Error> {
    let names = ["127.0.0.1", "::1", "localhost"]
        .map(str::to_owned)
        .to_vec();
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "dsvcr on localhost");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

fn acceptor(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key file that cannot be read is named with its flag, and the io error is kept.
    #[test]
    fn an_unreadable_key_file_keeps_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("missing-key.pem");
        let (ca, _) = make_ca().unwrap();
        fs::write(&cert, ca.pem()).unwrap();
        let err = from_files(&cert, &key).map(|_| ()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "--tls-key {}: no usable PEM private key: ",
                key.display()
            )),
            "{err}"
        );
        let source = std::error::Error::source(&err).expect("the cause is kept");
        assert!(
            matches!(source.downcast_ref(), Some(pem::Error::Io(io)) if io.kind() == std::io::ErrorKind::NotFound),
            "{source:?}"
        );
    }
}
