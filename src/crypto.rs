//! The one choice of rustls crypto provider for the whole crate: `ring`.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
