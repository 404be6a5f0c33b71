//! `hookline serve`: the whole pipeline on this machine, through the same code the Lambdas run.
//!
//! By default (no AWS account, no Docker): the webhook routes on 127.0.0.1, an in-memory ingest
//! queue, the processor with in-memory event store and order state, and a stand-in Octopus API
//! serving `events/provider-api/` for the follow-up fetches. `--aws-endpoint` instead sends
//! accepted webhooks to SQS on a local emulator such as moto server (receiver only).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Response};
use axum::routing::any;
use clap::Args;
use hookline::dev_defaults::{
    LISTEN_ADDR, LOCAL_INGEST_QUEUE, OCTOPUS_API_TEST_TOKEN, OCTOPUS_TEST_SECRET,
    PROVIDER_STUB_ADDR,
};
use hookline::providers::octopus::OctopusScheme;
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use hookline::receiver::Receiver;
use hookline::signature::SecretSet;

use crate::pipeline;
use crate::provider_stub::{self, ProviderStubArgs};
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
    /// Octopus API the processor fetches orders from. By default a stand-in serving
    /// events/provider-api/ is started on --provider-stub-listen.
    #[arg(long, env = "OCTOPUS_API_BASE_URL")]
    octopus_api_base: Option<String>,
    /// Bearer token for the Octopus API. Defaults to the stand-in's test token.
    #[arg(long, env = "OCTOPUS_API_TOKEN", default_value = OCTOPUS_API_TEST_TOKEN, hide_env_values = true, hide_default_value = true)]
    octopus_api_token: String,
    /// Where the stand-in Octopus API listens.
    #[arg(long, default_value = PROVIDER_STUB_ADDR)]
    provider_stub_listen: SocketAddr,
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let secrets =
        SecretSet::parse(&args.octopus_secrets).map_err(|e| format!("--octopus-secrets: {e}"))?;
    let scheme = OctopusScheme::new(secrets);
    match &args.aws_endpoint {
        None => {
            let api_base = match &args.octopus_api_base {
                Some(base) => base.clone(),
                None => start_provider_stub(&args).await?,
            };
            let ingest = MemoryQueue::new();
            let processor = pipeline::local_processor(&api_base, &args.octopus_api_token)?;
            tracing::info!(octopus_api = %api_base, "queue, event store and order state: in memory");
            tokio::spawn(pipeline::run_in_memory(
                processor,
                ingest.clone(),
                pipeline::Counters::default(),
                true,
            ));
            serve(args.listen, Receiver::new(scheme, ingest)).await
        }
        Some(endpoint) => {
            let sqs = aws_sdk_sqs::Client::new(&hookline::aws::for_emulator(endpoint).await);
            let queue_url = match &args.queue_url {
                Some(url) => url.clone(),
                None => hookline::emulator::create_queue(&sqs, LOCAL_INGEST_QUEUE).await?,
            };
            tracing::info!(%queue_url, "queue: SQS (receiver only; the processor runs in Lambda)");
            serve(
                args.listen,
                Receiver::new(scheme, SqsQueue::new(sqs, queue_url)),
            )
            .await
        }
    }
}

/// Starts the stand-in Octopus API in this process; returns its base URL.
async fn start_provider_stub(args: &ServeArgs) -> Result<String, String> {
    start_stub_on(args.provider_stub_listen).await
}

/// Starts the stand-in Octopus API on `listen` with the sample orders and the test token.
pub async fn start_stub_on(listen: SocketAddr) -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        format!(
            "cannot start the stand-in Octopus API on {listen}: {e} (use --provider-stub-listen or --octopus-api-base)"
        )
    })?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let stub = ProviderStubArgs {
        listen,
        orders_dir: provider_stub::default_orders_dir(),
        token: OCTOPUS_API_TEST_TOKEN.to_string(),
    };
    tokio::spawn(async move {
        if let Err(e) = provider_stub::serve(listener, stub).await {
            tracing::error!("{e}");
        }
    });
    Ok(base)
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
pub fn router<Q: Queue + 'static>(receiver: Arc<Receiver<OctopusScheme, Q>>) -> Router {
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
