//! `hookline serve`: the webhook routes on a local HTTP server, through the same receiver code
//! the Lambdas run. In-memory queue by default (no AWS account, no Docker); `--aws-endpoint`
//! switches to the real SQS adapter against a local emulator such as moto server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Response};
use axum::routing::any;
use clap::Args;
use hookline::dev_defaults::{LISTEN_ADDR, LOCAL_INGEST_QUEUE, OCTOPUS_TEST_SECRET};
use hookline::providers::octopus::OctopusScheme;
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use hookline::receiver::Receiver;
use hookline::signature::SecretSet;
use time::OffsetDateTime;

/// API Gateway's own payload limit; the receiver applies the queue's smaller one.
const HTTP_BODY_LIMIT: usize = 10 * 1024 * 1024;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = LISTEN_ADDR)]
    listen: SocketAddr,
    /// Active Octopus secrets (comma-separated or a JSON array). Defaults to the test secret.
    #[arg(long, env = "OCTOPUS_WEBHOOK_SECRETS", default_value = OCTOPUS_TEST_SECRET, hide_env_values = true)]
    octopus_secrets: String,
    /// Use SQS at this endpoint (a local emulator, e.g. http://127.0.0.1:5000) instead of the
    /// in-memory queue.
    #[arg(long)]
    aws_endpoint: Option<String>,
    /// Ingest queue URL with --aws-endpoint; by default `hookline-ingest` is created there.
    #[arg(long, requires = "aws_endpoint")]
    queue_url: Option<String>,
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let secrets =
        SecretSet::parse(&args.octopus_secrets).map_err(|e| format!("--octopus-secrets: {e}"))?;
    let scheme = OctopusScheme::new(secrets);
    match &args.aws_endpoint {
        None => {
            tracing::info!("queue: in memory");
            serve(args.listen, Receiver::new(scheme, MemoryQueue::new())).await
        }
        Some(endpoint) => {
            let sqs = aws_sdk_sqs::Client::new(&hookline::aws::for_emulator(endpoint).await);
            let queue_url = match &args.queue_url {
                Some(url) => url.clone(),
                None => create_queue(&sqs, LOCAL_INGEST_QUEUE).await?,
            };
            tracing::info!(%queue_url, "queue: SQS");
            serve(
                args.listen,
                Receiver::new(scheme, SqsQueue::new(sqs, queue_url)),
            )
            .await
        }
    }
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, String> {
    let output = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot create queue {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )
        })?;
    output
        .queue_url
        .ok_or_else(|| format!("creating queue {name} returned no URL"))
}

async fn serve<Q: Queue + 'static>(
    listen: SocketAddr,
    receiver: Receiver<OctopusScheme, Q>,
) -> Result<(), String> {
    let app = router(Arc::new(receiver));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    tracing::info!("listening on http://{bound} (POST /webhooks/octopus)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// The local routes. Every method reaches the receiver, which answers 405 to all but POST, as
/// the Lambda behind API Gateway's `ANY` route does.
fn router<Q: Queue + 'static>(receiver: Arc<Receiver<OctopusScheme, Q>>) -> Router {
    Router::new()
        .route("/webhooks/octopus", any(octopus))
        .layer(DefaultBodyLimit::max(HTTP_BODY_LIMIT))
        .with_state(receiver)
}

async fn octopus<Q: Queue + 'static>(
    State(receiver): State<Arc<Receiver<OctopusScheme, Q>>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let reply = receiver
        .receive(&method, &headers, &body, OffsetDateTime::now_utc())
        .await;
    reply.into_http().map(Body::from)
}
