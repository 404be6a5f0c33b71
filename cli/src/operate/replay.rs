//! `hookline replay`: sends archived webhooks (`--from-archive`, see [`crate::operate::archive_replay`])
//! or recorded webhook requests (API Gateway v2 events, as in `events/`
//! or as captured) through the receiver's verification into the ingest queue again. Every file is
//! verified before anything is sent; one that fails verification stops the replay.
//!
//! Each request goes to the receiver of its path, for every provider. The replay window is
//! measured at the moment API Gateway received the request (`requestContext.timeEpoch`), so an
//! old but genuine request replays; the signature must still match. Events processed before are
//! acknowledged as duplicates by the processor: replay never makes an event take effect twice.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use hookline::providers::{Provider, Route};
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use time::OffsetDateTime;
use tracing::instrument::WithSubscriber;

use crate::operate::archive_replay::{self, FromArchive};
use crate::operate::aws_target::AwsTarget;
use crate::operate::published_secrets::Target;
use crate::operate::stack::Stack;
use crate::provider_args::{LocalSecrets, Receivers};

#[derive(Args)]
pub struct ReplayArgs {
    /// Files holding an API Gateway v2 request event, or a JSON array of them.
    #[arg(
        required_unless_present = "from_archive",
        conflicts_with = "from_archive"
    )]
    files: Vec<PathBuf>,
    /// The ingest queue to send to (default with --stack: its `IngestQueueUrl`).
    #[arg(long, env = "INGEST_QUEUE_URL", value_parser = NonEmptyStringValueParser::new())]
    queue_url: Option<String>,
    #[command(flatten)]
    archive: FromArchive,
    /// Active secrets per provider, as for `hookline serve` (default: the published test secrets,
    /// which only a local emulator's queue accepts; with --stack, those its receivers hold).
    #[command(flatten)]
    secrets: LocalSecrets,
    #[command(flatten)]
    aws: AwsTarget,
}

/// One recorded request.
struct Recorded {
    origin: String,
    path: String,
    path_parameter: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
    signed_at: OffsetDateTime,
}

pub async fn run(args: ReplayArgs) -> Result<(), crate::failure::Failure> {
    // A dry run of `serve`'s archive folder touches no AWS: no credential or region lookup.
    let needs_aws =
        args.archive.source.needs_aws() || (args.queue_url.is_some() && !args.archive.dry_run);
    let config = args.aws.config_if(needs_aws).await;
    // With a stack: its ingest queue, and the secrets its receivers hold now.
    let stack = match &args.archive.source.stack {
        Some(name) => Some(Stack::describe(&config, name).await?),
        None => None,
    };
    let queue_url = match (&args.queue_url, &stack) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(stack)) => Some(stack.output("IngestQueueUrl")?.to_string()),
        (None, None) => None,
    };
    let queue = match (queue_url, args.archive.dry_run) {
        (Some(url), false) => {
            let sqs = aws_sdk_sqs::Client::new(&config);
            Some(SqsQueue::new(sqs, url))
        }
        _ => None,
    };
    let secrets = match &stack {
        Some(stack) => stack.webhook_secrets(&config, &args.secrets).await?,
        None => args.secrets.clone(),
    };
    if queue.is_none() && !args.archive.dry_run {
        return Err(crate::failure::Failure::Usage(
            "nowhere to send: give --queue-url (or --stack), or --dry-run".into(),
        ));
    }
    let target = Target::of(&config, args.archive.dry_run, stack.is_some());
    if args.archive.from_archive {
        let store = args.archive.source.store(&config, stack.as_ref()).await?;
        let local = args.archive.source.is_local(&config);
        // Needed only for entries sent on the archive's word (--trust-archive).
        let key = args
            .archive
            .source
            .key
            .resolve(&config, stack.as_ref(), local)
            .await;
        return archive_replay::run(&args.archive, &store, &secrets, key, target, queue.as_ref())
            .await;
    }
    let Some(queue) = queue else {
        return Err(crate::failure::Failure::Usage(
            "--dry-run is for --from-archive (files are always all verified first)".into(),
        ));
    };
    let mut requests = Vec::new();
    for file in &args.files {
        requests.extend(read(file)?);
    }
    // First pass: verify everything, send nothing.
    let dry = Receivers::new(&secrets, MemoryQueue::new())?;
    for request in &requests {
        // A memory queue's "webhook accepted" lines would say something was sent: no log.
        send(&dry, request)
            .with_subscriber(tracing::subscriber::NoSubscriber::default())
            .await
            .map_err(crate::failure::Failure::CheckFailed)?;
    }
    // What vouches for them is the secrets of their routes: never the published ones, for real.
    target
        .check(
            &secrets,
            Provider::routes()
                .map(|(_, route)| route)
                .filter(|route| requests.iter().any(|r| route.matches(&r.path).is_some())),
        )
        .map_err(crate::failure::Failure::Usage)?;
    let live = Receivers::new(&secrets, queue)?;
    for request in &requests {
        send(&live, request).await?;
        println!("replayed {}", request.origin);
    }
    Ok(())
}

async fn send<Q: Queue>(receivers: &Receivers<Q>, request: &Recorded) -> Result<(), String> {
    let route = Route {
        path: &request.path,
        param: request.path_parameter.as_deref(),
    };
    let reply = receivers
        .receive(
            &route,
            &Method::POST,
            &request.headers,
            &request.body,
            request.signed_at,
        )
        .await
        .ok_or_else(|| format!("{}: no receiver serves {}", request.origin, request.path))?;
    if reply.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "{}: refused, nothing replayed: {} {}",
            request.origin, reply.status, reply.body
        ))
    }
}

fn read(file: &PathBuf) -> Result<Vec<Recorded>, crate::failure::Failure> {
    let text =
        std::fs::read_to_string(file).map_err(|e| crate::failure::Failure::file(file, &e))?;
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
        .collect::<Result<_, String>>()
        .map_err(Into::into)
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
    let signed_at = event["requestContext"]["timeEpoch"]
        .as_i64()
        .and_then(|ms| OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok())
        .ok_or_else(|| fail("no requestContext.timeEpoch"))?;
    let path = event["rawPath"]
        .as_str()
        .ok_or_else(|| fail("no rawPath"))?
        .to_string();
    // Each route has at most one path parameter (the Optty token, the Standard Webhooks source).
    let path_parameter = event["pathParameters"]
        .as_object()
        .and_then(|params| params.values().next())
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Recorded {
        origin,
        path,
        path_parameter,
        headers,
        body,
        signed_at,
    })
}
