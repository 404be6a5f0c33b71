//! TLS for every outbound connection: the AWS SDK's clients and the provider API calls
//! (`reqwest`). One choice, made here: rustls with **ring** as its crypto provider, the trust
//! roots of the system (`SSL_CERT_FILE`, `SSL_CERT_DIR`, or the platform's bundle; on Lambda,
//! Amazon Linux's one bundle file), read once per process.
//!
//! Why ring rather than aws-lc-rs (the SDK's default): measured on this project's cold-start
//! harness, aws-lc-rs's one-time set-up in each process (its first random fill or key share)
//! took 28-45 ms of the first TLS connection, ring's under 0.1 ms; the zips are smaller too
//! (docs/src/performance.md, "First request"). What is given up: aws-lc-rs negotiates the
//! post-quantum hybrid key exchange X25519MLKEM768 first; with ring the exchange is X25519 (or
//! P-256/P-384), which AWS's endpoints and the providers' APIs accept.

use std::sync::{Arc, LazyLock};

use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;

/// The crypto provider of every TLS connection hookline opens.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    static PROVIDER: LazyLock<Arc<CryptoProvider>> =
        LazyLock::new(|| Arc::new(rustls::crypto::ring::default_provider()));
    PROVIDER.clone()
}

/// The HTTPS client of every AWS SDK configuration (`hookline::aws`): the SDK's own hyper
/// client, its TLS on ring. The SDK reads the system's roots itself, once per process.
pub fn sdk_http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The system's trust roots, read once per process. A file that cannot be read or a
/// certificate that cannot be parsed is logged and skipped, as the SDK does: the connection
/// then fails on its certificate, with that reason.
fn native_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: LazyLock<Vec<CertificateDer<'static>>> = LazyLock::new(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "a trust root could not be read");
        }
        found.certs
    });
    &ROOTS
}

/// The TLS configuration of a `reqwest` client: ring, the system's roots, TLS 1.2 and 1.3.
pub fn client_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let (_, unparsable) = roots.add_parsable_certificates(native_roots().iter().cloned());
    if unparsable > 0 {
        tracing::warn!(unparsable, "some trust roots could not be parsed");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls's default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // reqwest speaks HTTP/1.1 only here (its `http2` feature is off): offer that alone.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// A `reqwest` client builder whose TLS is [`client_config`]. Every reqwest client is built
/// from it: reqwest is built without a crypto provider of its own (`rustls-no-provider`), and
/// one built otherwise panics at `build()`.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(client_config())
}

/// A `reqwest` client with reqwest's defaults and [`client_config`]'s TLS.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    http_client_builder().build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reqwest_client_builds_on_ring() {
        let client = http_client_builder().build();
        assert!(client.is_ok(), "{:?}", client.err());
        assert_eq!(
            crypto_provider().kx_groups.first().map(|g| g.name()),
            Some(rustls::NamedGroup::X25519),
            "ring's preferred key exchange"
        );
    }
}
