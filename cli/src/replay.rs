//! `hookline replay`: sends recorded webhook requests (API Gateway v2 events, as in `events/`
//! or as captured) through the receiver's verification into the ingest queue again. Every file is
//! verified before anything is sent; one that fails verification stops the replay.
//!
//! The replay window is measured at the request's own `X-Timestamp`, so an old but genuine
//! request replays; the signature must still match. Events processed before are acknowledged as
//! duplicates by the processor: replay never makes an event take effect twice.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use hookline::dev_defaults::OCTOPUS_TEST_SECRET;
use hookline::providers::octopus::{OctopusScheme, TIMESTAMP_HEADER};
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use hookline::receiver::Receiver;
use hookline::signature::SecretSet;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use time::OffsetDateTime;

use crate::aws_target::AwsTarget;

#[derive(Args)]
pub struct ReplayArgs {
    /// Files holding an API Gateway v2 request event, or a JSON array of them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The ingest queue to send to.
    #[arg(long, env = "INGEST_QUEUE_URL")]
    queue_url: String,
    /// Active Octopus secrets (comma-separated or a JSON array). Defaults to the test secret.
    #[arg(long, env = "OCTOPUS_WEBHOOK_SECRETS", default_value = OCTOPUS_TEST_SECRET, hide_env_values = true, hide_default_value = true)]
    octopus_secrets: String,
    #[command(flatten)]
    aws: AwsTarget,
}

/// One recorded request.
struct Recorded {
    origin: String,
    headers: HeaderMap,
    body: Vec<u8>,
    signed_at: OffsetDateTime,
}

pub async fn run(args: ReplayArgs) -> Result<(), String> {
    let secrets =
        SecretSet::parse(&args.octopus_secrets).map_err(|e| format!("--octopus-secrets: {e}"))?;
    let mut requests = Vec::new();
    for file in &args.files {
        requests.extend(read(file)?);
    }
    // First pass: verify everything, send nothing.
    let dry = Receiver::new(OctopusScheme::new(secrets.clone()), MemoryQueue::new());
    for request in &requests {
        send(&dry, request).await?;
    }
    let sqs = aws_sdk_sqs::Client::new(&args.aws.sdk_config().await);
    let live = Receiver::new(
        OctopusScheme::new(secrets),
        SqsQueue::new(sqs, &args.queue_url),
    );
    for request in &requests {
        send(&live, request).await?;
        println!("replayed {}", request.origin);
    }
    Ok(())
}

async fn send<Q: Queue>(
    receiver: &Receiver<OctopusScheme, Q>,
    request: &Recorded,
) -> Result<(), String> {
    let reply = receiver
        .receive(
            &Method::POST,
            &request.headers,
            &request.body,
            request.signed_at,
        )
        .await;
    if reply.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "{}: refused, nothing replayed: {} {}",
            request.origin, reply.status, reply.body
        ))
    }
}

fn read(file: &PathBuf) -> Result<Vec<Recorded>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
    let events = match json {
        Value::Array(events) => events,
        single => vec![single],
    };
    events
        .iter()
        .enumerate()
        .map(|(n, event)| recorded(event, format!("{}#{n}", file.display())))
        .collect()
}

fn recorded(event: &Value, origin: String) -> Result<Recorded, String> {
    let fail = |what: &str| format!("{origin}: {what}");
    let mut headers = HeaderMap::new();
    for (name, value) in event["headers"]
        .as_object()
        .ok_or_else(|| fail("no headers"))?
    {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| fail("bad header name"))?;
        let value = HeaderValue::from_str(value.as_str().unwrap_or_default())
            .map_err(|_| fail("bad header value"))?;
        headers.insert(name, value);
    }
    let text = event["body"].as_str().ok_or_else(|| fail("no body"))?;
    let body = if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        STANDARD
            .decode(text)
            .map_err(|_| fail("body is not base64"))?
    } else {
        text.as_bytes().to_vec()
    };
    let signed_at = headers
        .get(TIMESTAMP_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .ok_or_else(|| fail("no X-Timestamp header"))?;
    Ok(Recorded {
        origin,
        headers,
        body,
        signed_at,
    })
}
