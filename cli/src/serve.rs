//! `hookline serve`: the whole pipeline on this machine, through the same code the Lambdas run.
//!
//! By default (no AWS account, no Docker): every provider's webhook route on 127.0.0.1, an
//! in-memory ingest queue, the processor with in-memory event store and order state, and a
//! stand-in Octopus and Optty API serving `events/provider-api/` for the follow-up fetches.
//! `--aws-endpoint` instead sends accepted webhooks to SQS on a local emulator such as moto
//! server (receivers only).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, RawPathParams, State};
use axum::http::{HeaderMap, Method, Response, Uri};
use axum::routing::{MethodRouter, any};
use clap::Args;
use hookline::dev_defaults::{
    LISTEN_ADDR, LOCAL_INGEST_QUEUE, OCTOPUS_API_TEST_TOKEN, OPTTY_API_TEST_KEY, PROVIDER_STUB_ADDR,
};
use hookline::providers::{Route, WebhookScheme};
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use hookline::receiver::Receiver;

use crate::pipeline;
use crate::provider_stub::{self, ProviderStubArgs};
use crate::providers::{LocalSecrets, Receivers};
use hookline::order_api::{OctopusOrderClient, RetryPolicy};
use hookline::signature::Secret;
use hookline::watch::MemoryWatchStore;
use hookline::watch::poller::{Poller, PollerConfig};
use time::OffsetDateTime;

/// API Gateway's own payload limit; the receiver applies the queue's smaller one.
const HTTP_BODY_LIMIT: usize = 10 * 1024 * 1024;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = LISTEN_ADDR)]
    listen: SocketAddr,
    /// Active secrets per provider (comma-separated or a JSON array), by default the published
    /// test secrets: `--octopus-secrets`, `--coinme-secrets`, `--owlpay-secrets`,
    /// `--owlpay-harbor-secrets`, `--optty-secrets` (path tokens), `--std-secrets` (JSON object).
    #[command(flatten)]
    secrets: LocalSecrets,
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
    /// Optty API the processor confirms notifications with. Defaults to the stand-in.
    #[arg(long, env = "OPTTY_API_BASE_URL")]
    optty_api_base: Option<String>,
    /// Bearer token for the Optty API. Defaults to the stand-in's test key.
    #[arg(long, env = "OPTTY_API_KEY", default_value = OPTTY_API_TEST_KEY, hide_env_values = true, hide_default_value = true)]
    optty_api_key: String,
    /// Where the stand-in Octopus API listens.
    #[arg(long, default_value = PROVIDER_STUB_ADDR)]
    provider_stub_listen: SocketAddr,
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    match &args.aws_endpoint {
        None => {
            let stub = match (&args.octopus_api_base, &args.optty_api_base) {
                (Some(_), Some(_)) => None,
                _ => Some(start_provider_stub(&args).await?),
            };
            let octopus = args.octopus_api_base.clone().or_else(|| stub.clone());
            let optty = args.optty_api_base.clone().or_else(|| stub.clone());
            let apis = pipeline::LocalApis {
                octopus: (
                    octopus.clone().unwrap_or_default(),
                    args.octopus_api_token.clone(),
                ),
                optty: (
                    optty.clone().unwrap_or_default(),
                    args.optty_api_key.clone(),
                ),
            };
            let ingest = MemoryQueue::new();
            let processor = pipeline::local_processor(&apis)?;
            // The processor registers partial deliveries; the poller and /orders/watch share it.
            let watches = processor.watches.clone();
            let poller = Poller {
                watches: watches.clone(),
                api: OctopusOrderClient::new(
                    &apis.octopus.0,
                    &Secret::new(apis.octopus.1.as_bytes()),
                    RetryPolicy {
                        max_attempts: 1,
                        ..RetryPolicy::default()
                    },
                )?,
                ingest: ingest.clone(),
                config: PollerConfig::default(),
            };
            tracing::info!(octopus_api = ?octopus, optty_api = ?optty, "queue, event store, order state and watches: in memory");
            tokio::spawn(pipeline::run_in_memory(
                processor,
                ingest.clone(),
                pipeline::Counters::default(),
                true,
            ));
            tokio::spawn(pipeline::run_poller(poller));
            let receivers = Receivers::new(&args.secrets, ingest)?;
            serve(args.listen, router(receivers).merge(watch_routes(watches))).await
        }
        Some(endpoint) => {
            let sqs = aws_sdk_sqs::Client::new(&hookline::aws::for_emulator(endpoint).await);
            let queue_url = match &args.queue_url {
                Some(url) => url.clone(),
                None => hookline::emulator::create_queue(&sqs, LOCAL_INGEST_QUEUE).await?,
            };
            tracing::info!(%queue_url, "queue: SQS (receiver only; the processor runs in Lambda)");
            let queue = SqsQueue::new(sqs, queue_url);
            serve(args.listen, router(Receivers::new(&args.secrets, queue)?)).await
        }
    }
}

/// Starts the stand-in provider APIs in this process; returns their base URL.
async fn start_provider_stub(args: &ServeArgs) -> Result<String, String> {
    start_stub_on(args.provider_stub_listen, None).await
}

/// Starts the stand-in Octopus and Optty APIs on `listen` with the sample orders and the test
/// tokens.
pub async fn start_stub_on(
    listen: SocketAddr,
    any_voucher_as: Option<u64>,
) -> Result<String, String> {
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
        optty_key: OPTTY_API_TEST_KEY.to_string(),
        any_voucher_as,
    };
    tokio::spawn(async move {
        if let Err(e) = provider_stub::serve(listener, stub).await {
            tracing::error!("{e}");
        }
    });
    Ok(base)
}

async fn serve(listen: SocketAddr, app: Router) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    tracing::info!(
        "listening on http://{bound} (POST /webhooks/octopus, /webhooks/coinme, /webhooks/owlpay, \
         /webhooks/owlpay-harbor, /webhooks/optty/{{token}}, /webhooks/std/{{source}}; /orders/watch)"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// `POST /orders/watch` on the local watches (unauthenticated here; IAM in AWS).
pub fn watch_routes(watches: MemoryWatchStore) -> Router {
    Router::new().route(
        "/orders/watch",
        axum::routing::post(register_watch).with_state(watches),
    )
}

async fn register_watch(State(watches): State<MemoryWatchStore>, body: Bytes) -> Response<Body> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let give_up = hookline::watch::api::DEFAULT_GIVE_UP_SECS;
    let (status, body) = hookline::watch::api::register(&watches, &body, now, give_up).await;
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The local routes, as the template declares them. Every method reaches the receiver, which
/// answers 405 to all but POST.
pub fn router<Q: Queue + 'static>(receivers: Receivers<Q>) -> Router {
    Router::new()
        .route("/webhooks/octopus", route(receivers.octopus))
        .route("/webhooks/coinme", route(receivers.coinme))
        .route("/webhooks/owlpay", route(receivers.owlpay.clone()))
        .route("/webhooks/owlpay-harbor", route(receivers.owlpay))
        .route("/webhooks/optty/{token}", route(receivers.optty))
        .route("/webhooks/std/{source}", route(receivers.std))
        .layer(DefaultBodyLimit::max(HTTP_BODY_LIMIT))
}

fn route<S: WebhookScheme + 'static, Q: Queue + 'static>(
    receiver: Arc<Receiver<S, Q>>,
) -> MethodRouter {
    any(receive::<S, Q>).with_state(receiver)
}

async fn receive<S: WebhookScheme + 'static, Q: Queue + 'static>(
    State(receiver): State<Arc<Receiver<S, Q>>>,
    params: RawPathParams,
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let route = Route {
        path: uri.path(),
        param: params.iter().next().map(|(_, value)| value),
    };
    let reply = receiver
        .receive_routed(&route, &method, &headers, &body, OffsetDateTime::now_utc())
        .await;
    reply.into_http().map(Body::from)
}
