//! The fake's certificates: a fresh test CA and a leaf signed by it.

use std::io::Write as _;
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use super::FakeTls;

pub(super) struct TlsFiles {
    pub(crate) ca_pem: tempfile::NamedTempFile,
    pub(crate) leaf_sha256: String,
    /// vCenter's `ssl_certificate_thumbprint` form: SHA-1, uppercase hex pairs joined by `:`.
    pub(crate) leaf_sha1: String,
}

pub(super) fn make_tls(kind: FakeTls) -> (TlsAcceptor, TlsFiles) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };

    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "dsvcr fake vCenter test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let names: Vec<String> = match kind {
        FakeTls::Valid | FakeTls::SelfSigned => {
            vec!["127.0.0.1".to_owned(), "localhost".to_owned()]
        }
        FakeTls::WrongHost => vec!["other.example".to_owned()],
    };
    let common_name = names[0].clone();
    let mut leaf_params = CertificateParams::new(names).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf = if kind == FakeTls::SelfSigned {
        // As `openssl req -x509` makes it: its own issuer, marked as a CA.
        leaf_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        leaf_params.self_signed(&leaf_key).unwrap()
    } else {
        leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap()
    };
    // With a self-signed leaf, the file holds that leaf: what the lab presents.
    let trusted = if kind == FakeTls::SelfSigned {
        &leaf
    } else {
        &ca
    };

    let mut ca_pem = tempfile::Builder::new()
        .prefix("fake-vcenter-ca-")
        .suffix(".pem")
        .tempfile()
        .unwrap();
    ca_pem.write_all(trusted.pem().as_bytes()).unwrap();
    ca_pem.flush().unwrap();

    let leaf_sha256 = hex(ring::digest::digest(&ring::digest::SHA256, leaf.der()).as_ref());
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, leaf.der());
    let leaf_sha1 = colon_hex(sha1.as_ref());

    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    )
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];

    (
        TlsAcceptor::from(Arc::new(config)),
        TlsFiles {
            ca_pem,
            leaf_sha256,
            leaf_sha1,
        },
    )
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn colon_hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}
