//! Trusting a lab as users do it: the certificate it presents given to `--ca-cert`, and
//! the SHA-1 thumbprint `govc about.cert -thumbprint` prints.

use crate::fake_vcenter::{FakeOptions, FakeTls, FakeVcenter};
use crate::support::*;

async fn self_signed_lab() -> FakeVcenter {
    FakeVcenter::start(FakeOptions {
        tls: Some(FakeTls::SelfSigned),
        ..FakeOptions::default()
    })
    .await
}

#[tokio::test]
async fn ca_cert_accepts_the_self_signed_certificate_the_lab_presents() {
    let fake = self_signed_lab().await;
    let presented = fake.ca_pem_path().unwrap().to_owned();
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url())
        .trust(Trust::CaFile(presented))
        .start(folder.path())
        .await;
    let answer = recorder.get(&format!("{API}/obj-1")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());

    // Any other self-signed certificate in the file is still refused, naming the flags.
    let other = self_signed_lab().await;
    let folder = tempfile::tempdir().unwrap();
    let mismatched = RecordSetup::to(&fake.url())
        .trust(Trust::CaFile(other.ca_pem_path().unwrap().to_owned()))
        .start(folder.path())
        .await;
    let refused = mismatched.get(&format!("{API}/obj-1")).await;
    assert_eq!(refused.status, 502);
    let message = refused.vapi_message();
    assert!(
        message.contains("invalid peer certificate")
            && message.contains("give --ca-cert a PEM file holding the certificate it presents")
            && message.contains("--upstream-thumbprint (SHA-1 or SHA-256"),
        "{message}"
    );
}

#[tokio::test]
async fn a_sha1_thumbprint_as_govc_prints_it_is_accepted() {
    let fake = self_signed_lab().await;
    let sha1 = fake.leaf_thumbprint().unwrap();
    assert_eq!(sha1.len(), 59, "AA:BB:… 20 pairs: {sha1}");
    for pin in [sha1.clone(), sha1.replace(':', "").to_lowercase()] {
        let folder = tempfile::tempdir().unwrap();
        let recorder = RecordSetup::to(&fake.url())
            .trust(Trust::Thumbprint(pin.clone()))
            .start(folder.path())
            .await;
        assert_eq!(
            recorder.get(&format!("{API}/obj-1")).await.status,
            200,
            "{pin}"
        );
    }
    let folder = tempfile::tempdir().unwrap();
    let wrong = RecordSetup::to(&fake.url())
        .trust(Trust::Thumbprint("00".repeat(20)))
        .start(folder.path())
        .await;
    let refused = wrong.get(&format!("{API}/obj-1")).await;
    assert_eq!(refused.status, 502);
    assert!(
        refused.vapi_message().contains(&format!(
            "certificate thumbprint {sha1} does not match --upstream-thumbprint {}",
            vec!["00"; 20].join(":")
        )),
        "{}",
        refused.vapi_message()
    );
}
