//! The `--tls-self-signed` CA: kept in its folder (certificate and key) so that clients
//! trust it once, made only when the folder holds none.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::RootCertStore;
use tracing::{info, warn};

use super::{ListenerTlsError, SELF_SIGNED_CA_FILE};
use crate::cassette::write_atomically;
use crate::crypto::provider;

/// The CA's private key, next to its certificate in the `--tls-self-signed` folder.
pub(crate) const SELF_SIGNED_CA_KEY_FILE: &str = "dsvcr-ca-key.pem";

/// A CA that signs this run's leaf: its certificate as clients trust it (the file's), its
/// key, and an rcgen certificate with the same name and key to sign with.
pub(crate) struct Ca {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) signer: rcgen::Certificate,
    pub(crate) key: KeyPair,
    pub(crate) path: PathBuf,
}

/// The CA kept in `dir`, or a new one written there (with `dir`) when it holds none.
pub(crate) fn kept_or_new(dir: &Path) -> Result<Ca, ListenerTlsError> {
    let cert_path = dir.join(SELF_SIGNED_CA_FILE);
    let key_path = dir.join(SELF_SIGNED_CA_KEY_FILE);
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => kept(&cert_path, &key_path),
        (false, true) => Err(mismatch(
            &cert_path,
            &key_path,
            "the key is there but the certificate is not; remove the key to make a new CA"
                .to_owned(),
        )),
        (cert, false) => {
            if cert {
                warn!(ca = %cert_path.display(), "the CA certificate has no key next to it (an older dsvcr did not keep it): making a new CA; clients must trust the new file");
            }
            new(dir, &cert_path, &key_path)
        }
    }
}

fn kept(cert_path: &Path, key_path: &Path) -> Result<Ca, ListenerTlsError> {
    let bad = |reason: String| mismatch(cert_path, key_path, reason);
    let der = CertificateDer::from_pem_file(cert_path).map_err(|err| {
        bad(format!(
            "{} holds no usable PEM certificate: {err}",
            cert_path.display()
        ))
    })?;
    let key_text = fs::read_to_string(key_path)
        .map_err(|err| bad(format!("{} cannot be read: {err}", key_path.display())))?;
    let key = KeyPair::from_pem(&key_text).map_err(|err| {
        bad(format!(
            "{} holds no usable PEM private key: {err}",
            key_path.display()
        ))
    })?;
    let signer = ca_params()
        .and_then(|params| params.self_signed(&key))
        .map_err(|err| bad(err.to_string()))?;
    verify_pair(&der, &signer, &key).map_err(bad)?;
    info!(ca = %cert_path.display(), "reusing the self-signed CA");
    Ok(Ca {
        der,
        signer,
        key,
        path: cert_path.to_owned(),
    })
}

/// Signs a throwaway leaf with `key` and verifies it against the certificate from the
/// file: it fails unless the key is the certificate's (and the certificate still valid).
fn verify_pair(
    der: &CertificateDer<'static>,
    signer: &rcgen::Certificate,
    key: &KeyPair,
) -> Result<(), String> {
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|err| err.to_string())?;
    let leaf = super::leaf_params()
        .and_then(|params| params.signed_by(&leaf_key, signer, key))
        .map_err(|err| err.to_string())?;
    let mut roots = RootCertStore::empty();
    roots
        .add(der.clone())
        .map_err(|err| format!("the certificate is not a usable CA: {err}"))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|err| err.to_string())?;
    let name = ServerName::try_from("localhost").expect("a valid name");
    verifier
        .verify_server_cert(leaf.der(), &[], &name, &[], UnixTime::now())
        .map(drop)
        .map_err(|err| format!("the key does not match the certificate ({err}); remove both files to make a new CA"))
}

fn new(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<Ca, ListenerTlsError> {
    let make = |source| ListenerTlsError::MakeCertificate {
        dir: dir.to_owned(),
        source,
    };
    let write = |source| ListenerTlsError::WriteCa {
        dir: dir.to_owned(),
        source,
    };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(make)?;
    let signer = ca_params()
        .and_then(|params| params.self_signed(&key))
        .map_err(make)?;
    fs::create_dir_all(dir).map_err(write)?;
    // The key first: a certificate on disk always has its key next to it.
    write_private(key_path, key.serialize_pem().as_bytes()).map_err(write)?;
    write_atomically(cert_path, signer.pem().as_bytes()).map_err(write)?;
    Ok(Ca {
        der: signer.der().clone(),
        signer,
        key,
        path: cert_path.to_owned(),
    })
}

/// Writes a file only its owner may read (on Unix), whole or not at all.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = path.with_extension("pem.tmp");
    let _ = fs::remove_file(&temp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    written
        .and_then(|()| fs::rename(&temp, path))
        .inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })
}

pub(super) fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "dsvcr local CA");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    Ok(params)
}

fn mismatch(cert: &Path, key: &Path, reason: String) -> ListenerTlsError {
    ListenerTlsError::CaPair {
        cert: cert.to_owned(),
        key: key.to_owned(),
        reason,
    }
}
