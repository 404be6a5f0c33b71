//! A timed trace of a receiver's first SQS call, one part after another in one fresh process,
//! each part timed on its own; prints one JSON object of milliseconds. `bench/coldstart.py`
//! runs it against the same TLS front as the functions, with the same variables, and reports
//! the medians (docs/src/performance.md, "First request").
//!
//! The parts, in order:
//! 1. `crypto_first_use`: the TLS crypto provider's first random fill and key share, which
//!    every process pays once (`hookline::tls::crypto_provider`);
//! 2. `trust_roots`: reading the system's roots (`SSL_CERT_FILE`), as the SDK does once;
//! 3. `config_load`: `hookline::aws::from_env`, the receivers' configuration (credentials and
//!    region from the environment, the HTTP client);
//!    Before it, `config_by_hand`: the same credentials and region put in a configuration
//!    directly from the variables, without the SDK's chains (the candidate, not used);
//! 4. `client_build`: the SQS client;
//! 5. `handshake`: a TCP connection and TLS handshake to `AWS_ENDPOINT_URL`, alone;
//! 6. `first_call`: the SDK's first call, `GetQueueAttributes` as the warm-up makes it: its own
//!    read of the roots, the identity and endpoint resolution, a new connection and handshake,
//!    the request;
//! 7. `second_call`: the same call again, on the connection the first one opened;
//! 8. `first_call_setup`: what the first call spends besides roots, handshake and request
//!    (6 - 2 - 5 - 7), derived, not timed.

use std::time::Instant;

use serde_json::json;
use tokio::net::TcpStream;

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let queue_url = std::env::var("INGEST_QUEUE_URL")?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL")?;
    let authority = endpoint
        .strip_prefix("https://")
        .ok_or("AWS_ENDPOINT_URL must be https://host:port")?
        .trim_end_matches('/')
        .to_string();
    let host = authority
        .rsplit_once(':')
        .map_or(authority.as_str(), |(host, _)| host)
        .to_string();

    let started = Instant::now();
    let provider = hookline::tls::crypto_provider();
    let mut random = [0u8; 32];
    provider
        .secure_random
        .fill(&mut random)
        .map_err(|_| "no random bytes")?;
    let group = provider.kx_groups.first().ok_or("no key exchange group")?;
    group.start()?;
    let crypto_first_use = ms(started);

    let started = Instant::now();
    let roots = rustls_native_certs::load_native_certs();
    let trust_roots = ms(started);
    if roots.certs.is_empty() {
        return Err("no trust roots: set SSL_CERT_FILE".into());
    }

    // The candidate the chains are measured against: a configuration of the same credentials
    // and region, built from the variables directly (not used for a call).
    let started = Instant::now();
    let variable = |name: &str| std::env::var(name).unwrap_or_default();
    let hand_built = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(variable("AWS_REGION")))
        .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
            aws_sdk_sqs::config::Credentials::new(
                variable("AWS_ACCESS_KEY_ID"),
                variable("AWS_SECRET_ACCESS_KEY"),
                std::env::var("AWS_SESSION_TOKEN").ok(),
                None,
                "environment",
            ),
        ))
        .endpoint_url(&endpoint)
        .http_client(hookline::tls::sdk_http_client())
        .build();
    let config_by_hand = ms(started);
    drop(hand_built);

    let started = Instant::now();
    let config = hookline::aws::from_env().await;
    let config_load = ms(started);

    let started = Instant::now();
    let client = aws_sdk_sqs::Client::new(&config);
    let client_build = ms(started);

    let started = Instant::now();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(hookline::tls::client_config()));
    let tcp = TcpStream::connect(&authority).await?;
    tcp.set_nodelay(true)?;
    let stream = tls
        .connect(rustls::pki_types::ServerName::try_from(host)?, tcp)
        .await?;
    let handshake = ms(started);
    drop(stream);

    let call = || {
        client
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
    };
    let started = Instant::now();
    call().await?;
    let first_call = ms(started);
    let started = Instant::now();
    call().await?;
    let second_call = ms(started);

    println!(
        "{}",
        json!({
            "crypto_first_use": crypto_first_use,
            "trust_roots": trust_roots,
            "config_by_hand": config_by_hand,
            "config_load": config_load,
            "client_build": client_build,
            "handshake": handshake,
            "first_call": first_call,
            "second_call": second_call,
            "first_call_setup": first_call - trust_roots - handshake - second_call,
        })
    );
    Ok(())
}
