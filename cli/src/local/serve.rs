//! `hookline serve`: the whole pipeline on this machine, through the same code the Lambdas run.
//!
//! By default (no AWS account, no Docker): every provider's webhook route on 127.0.0.1 (from the
//! registry), an in-memory ingest queue, the processor with in-memory event store and order
//! state, and stand-in provider APIs serving `events/provider-api/` for the follow-up fetches.
//! `--aws-endpoint` instead sends accepted webhooks to SQS on a local emulator such as moto
//! server: receivers only, or with `--with-processor` the processor too, on the emulator's
//! queues and table as in AWS (the order poller is not run there).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, RawPathParams, State};
use axum::http::{HeaderMap, Method, Response, Uri};
use axum::routing::any;
use clap::Args;
use hookline::archive::{Archive, ArchiveStore, FolderArchive, S3Archive};
use hookline::cursor::MemoryCursorStore;
use hookline::dev_defaults::{LISTEN_ADDR, LOCAL_EVENTS_TABLE, PROVIDER_STUB_ADDR};
use hookline::idempotency::DynamoEventStore;
use hookline::order_api::RetryPolicy;
use hookline::order_state::DynamoOrderStateStore;
use hookline::poller::transactions::{HttpTransactions, TransactionsPoller};
use hookline::poller::{Poller, PollerConfig};
use hookline::processor::{Processor, ProcessorConfig};
use hookline::providers::Provider;
use hookline::providers::Route;
use hookline::providers::octopus::transactions;
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use hookline::watch::{DynamoWatchStore, MemoryWatchStore};
use time::OffsetDateTime;

use crate::local::inspector::Inspector;
use crate::local::pipeline;
use crate::local::provider_stub::{self, ProviderStubArgs};
use crate::provider_args::{AnyReceiver, LocalApis, LocalSecrets, Receivers};

/// API Gateway's own payload limit; the receiver applies the queue's smaller one.
const HTTP_BODY_LIMIT: usize = 10 * 1024 * 1024;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = LISTEN_ADDR)]
    listen: SocketAddr,
    /// Active secrets per provider (`--{route}-secrets`, comma-separated or a JSON array), by
    /// default the published test secrets.
    #[command(flatten)]
    secrets: LocalSecrets,
    /// Use SQS at this endpoint (a local emulator, e.g. http://127.0.0.1:5000) instead of the
    /// in-memory queue.
    #[arg(long)]
    aws_endpoint: Option<String>,
    /// Ingest queue URL with --aws-endpoint; by default `hookline-ingest` is created there.
    #[arg(long, requires = "aws_endpoint")]
    queue_url: Option<String>,
    /// With --aws-endpoint: run the processor on the ingest queue as well, with the events
    /// table and order-updates queue below.
    #[arg(long, requires = "aws_endpoint")]
    with_processor: bool,
    /// With --with-processor: the events table; by default `hookline-events` is created.
    #[arg(long, requires = "with_processor")]
    events_table: Option<String>,
    /// With --with-processor: the order-updates FIFO queue; by default
    /// `hookline-order-updates.fifo` is created.
    #[arg(long, requires = "with_processor")]
    updates_queue_url: Option<String>,
    /// The provider APIs the processor fetches orders from (`--{provider}-api-base`) and the
    /// credentials it logs in with (`--octopus-api-key`, `--octopus-api-secret`,
    /// `--optty-client-id`, `--optty-client-secret`, `--optty-auth-url`); by default a stand-in
    /// serving events/provider-api/ and its logins is started on --provider-stub-listen.
    #[command(flatten)]
    apis: LocalApis,
    /// Where the stand-in provider APIs listen.
    #[arg(long, default_value = PROVIDER_STUB_ADDR)]
    provider_stub_listen: SocketAddr,
    /// Octopus wallets whose transactions are polled, comma-separated ids (empty: none). The
    /// stand-in serves wallet 1, where a top-up appears 10 s after the first poll.
    #[arg(long, default_value = "1")]
    octopus_wallets: String,
    /// Where the processor archives every accepted webhook (`hookline archive search
    /// --archive-dir`, `hookline replay --from-archive`).
    #[arg(long, default_value = LOCAL_ARCHIVE_DIR)]
    archive_dir: PathBuf,
    /// With --with-processor: archive to this bucket at the emulator instead (created if
    /// absent), as in AWS.
    #[arg(long, requires = "with_processor")]
    archive_bucket: Option<String>,
    /// Event types the processor archives and acknowledges without effect (comma-separated),
    /// as the stack's `HoldEventTypes`; apply them later with `replay --from-archive
    /// --reprocess`.
    #[arg(long, value_delimiter = ',', conflicts_with = "no_archive")]
    hold_event_types: Vec<String>,
    /// Keep no archive.
    #[arg(long, conflicts_with = "archive_bucket")]
    no_archive: bool,
    #[command(flatten)]
    archive_key: crate::operate::archive::ArchiveKeyArg,
    /// Serve the inspector page (`/_hookline/`) when listening beyond loopback too: anyone who
    /// reaches it sees every request's metadata and can replay it. Off by default.
    #[arg(long)]
    expose_inspector: bool,
    /// No inspector page.
    #[arg(long, conflicts_with = "expose_inspector")]
    no_inspector: bool,
}

/// Where `hookline serve` (in memory) shows the last order updates it published, codes masked
/// (`hookline updates --serve`).
pub const UPDATES_PATH: &str = "/_hookline/updates";

/// `hookline serve`'s archive folder.
pub const LOCAL_ARCHIVE_DIR: &str = ".hookline/archive";

impl ServeArgs {
    /// The inspector page, on loopback only unless `--expose-inspector`.
    fn inspector(&self) -> Option<Inspector> {
        if self.no_inspector {
            return None;
        }
        if !self.listen.ip().is_loopback() && !self.expose_inspector {
            tracing::info!(
                "inspector off: serve listens beyond loopback (--expose-inspector serves it there)"
            );
            return None;
        }
        Some(Inspector::new(&self.secrets))
    }

    /// The archive the processor writes, as the arguments say, signed with `--archive-key`
    /// (default: the published test key).
    async fn archive(
        &self,
        config: Option<&hookline::aws::SdkConfig>,
    ) -> Result<Option<Archive>, String> {
        if self.no_archive {
            return Ok(None);
        }
        let key = self.archive_key.given_or_test()?.key;
        let store = match (&self.archive_bucket, config) {
            (Some(bucket), Some(config)) => {
                hookline::emulator::create_bucket(config, bucket).await?;
                tracing::info!(%bucket, "archive: S3 at the emulator");
                ArchiveStore::S3(S3Archive::new(config, bucket))
            }
            _ => {
                tracing::info!(dir = %self.archive_dir.display(), "archive: a local folder");
                ArchiveStore::Folder(FolderArchive::new(&self.archive_dir))
            }
        };
        Ok(Some(Archive { store, key }))
    }
}

pub async fn run(args: ServeArgs) -> Result<(), crate::failure::Failure> {
    match &args.aws_endpoint {
        None => {
            let stub = match args.apis.all_given() {
                true => None,
                false => Some(start_stub_on(args.provider_stub_listen, None, &args.apis).await?),
            };
            let apis = args.apis.resolved(stub.as_deref());
            let ingest = MemoryQueue::new();
            let mut processor = pipeline::local_processor(&apis)?;
            processor.config.hold_event_types = args.hold_event_types.clone();
            // The processor registers partial deliveries; the poller and /orders/watch share it.
            let watches = processor.watches.clone();
            let poller = Poller {
                watches: watches.clone(),
                api: pipeline::poll_apis(
                    &apis,
                    RetryPolicy {
                        max_attempts: 1,
                        ..RetryPolicy::default()
                    },
                )?,
                ingest: ingest.clone(),
                config: PollerConfig::default(),
            };
            for api in &apis {
                tracing::info!(provider = api.provider.spec().name, base = %api.base, auth = %api.auth_url, "order API");
            }
            tracing::info!("queue, event store, order state and watches: in memory");
            let recent = pipeline::RecentUpdates::default();
            let inspector = args.inspector();
            tokio::spawn(pipeline::run_in_memory(
                processor,
                ingest.clone(),
                args.archive(None).await?,
                pipeline::Counters::default(),
                Some(pipeline::Shown {
                    recent: recent.clone(),
                    inspector: inspector.clone(),
                }),
            ));
            let wallets = transactions::wallet_ids(&args.octopus_wallets)?;
            if !wallets.is_empty() {
                let client = pipeline::poll_apis(&apis, RetryPolicy::default())?
                    .client(Provider::Octopus)
                    .cloned()
                    .ok_or("the Octopus API is not configured")?;
                tokio::spawn(pipeline::run_transactions(TransactionsPoller {
                    cursors: MemoryCursorStore::new(),
                    api: HttpTransactions {
                        client,
                        path: transactions::DEFAULT_TRANSACTIONS_PATH.into(),
                        limit: 200,
                    },
                    ingest: ingest.clone(),
                    wallets,
                    max_pages: 10,
                    clock: hookline::clock::Clock::system(),
                }));
            }
            tokio::spawn(pipeline::run_poller(poller));
            let receivers = Receivers::new(&args.secrets, ingest.clone())?;
            let app = router(receivers, inspector.clone())
                .merge(watch_routes(watches))
                .route(
                    UPDATES_PATH,
                    axum::routing::get(move || async move {
                        json_response(200, serde_json::Value::from(recent.snapshot()))
                    }),
                );
            serve(args.listen, app, true, &args.secrets, inspector).await?;
            // Ctrl-C: what was accepted and is still only in this process's memory is lost.
            let pending = ingest.len();
            if pending > 0 {
                tracing::warn!(
                    "stopped with {pending} accepted event(s) not yet processed; they were held in memory and are lost (--aws-endpoint keeps them in a queue)"
                );
            } else {
                tracing::info!("stopped; every accepted event was processed");
            }
            Ok(())
        }
        Some(endpoint) => {
            let config = hookline::aws::for_emulator(endpoint).await;
            let sqs = aws_sdk_sqs::Client::new(&config);
            let inspector = args.inspector();
            let queue_url = match &args.queue_url {
                Some(url) => url.clone(),
                // With its DLQ, as in AWS: a poison message stops after its receives.
                None => hookline::emulator::create_ingest_queue(&sqs).await?.0,
            };
            if args.with_processor {
                let mut processor = emulator_processor(&args, &config).await?;
                processor.config.hold_event_types = args.hold_event_types.clone();
                tracing::info!(%queue_url, "queue: SQS, with the processor on it");
                tokio::spawn(pipeline::run_on_sqs(
                    processor,
                    sqs.clone(),
                    queue_url.clone(),
                    args.archive(Some(&config)).await?,
                    inspector.clone(),
                ));
            } else {
                tracing::info!(%queue_url, "queue: SQS (receiver only; the processor runs in Lambda)");
            }
            let queue = SqsQueue::new(sqs, queue_url);
            let app = router(Receivers::new(&args.secrets, queue)?, inspector.clone());
            Ok(serve(args.listen, app, false, &args.secrets, inspector).await?)
        }
    }
}

/// The processor as the Lambda builds it, on the emulator's table and order-updates queue (each
/// created unless named), with the provider APIs of `args` (the stand-in by default).
async fn emulator_processor(
    args: &ServeArgs,
    config: &hookline::aws::SdkConfig,
) -> Result<pipeline::EmulatorProcessor, String> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let table = match &args.events_table {
        Some(table) => table.clone(),
        None => {
            hookline::emulator::create_events_table(&dynamodb, LOCAL_EVENTS_TABLE).await?;
            LOCAL_EVENTS_TABLE.to_string()
        }
    };
    let updates_url = match &args.updates_queue_url {
        Some(url) => url.clone(),
        None => {
            hookline::emulator::create_order_updates_queue(&sqs)
                .await?
                .0
        }
    };
    let stub = match args.apis.all_given() {
        true => None,
        false => Some(start_stub_on(args.provider_stub_listen, None, &args.apis).await?),
    };
    let apis = args.apis.resolved(stub.as_deref());
    tracing::info!(%table, %updates_url, "events table and order-updates queue");
    Ok(Processor {
        events: DynamoEventStore::new(dynamodb.clone(), &table),
        states: DynamoOrderStateStore::new(dynamodb.clone(), &table),
        api: pipeline::provider_apis(&apis, RetryPolicy::default())?,
        updates: SqsQueue::new(sqs, updates_url),
        credentials: None,
        watches: DynamoWatchStore::new(dynamodb, &table),
        config: ProcessorConfig::default(),
    })
}

/// Starts the stand-in provider APIs on `listen` with the sample orders and the tokens of
/// `apis`; returns their base URL.
pub async fn start_stub_on(
    listen: SocketAddr,
    any_voucher_as: Option<u64>,
    apis: &LocalApis,
) -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        format!(
            "cannot start the stand-in provider APIs on {listen}: {e} (use --provider-stub-listen or the --*-api-base flags)"
        )
    })?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let stub = ProviderStubArgs {
        listen,
        orders_dir: provider_stub::default_orders_dir(),
        apis: apis.clone(),
        any_voucher_as,
        token_lifetime_secs: None,
        production_limits: false,
    };
    tokio::spawn(async move {
        if let Err(e) = provider_stub::serve(listener, stub).await {
            tracing::error!("{e}");
        }
    });
    Ok(base)
}

/// Serves `app` with `GET /health` and a JSON 404 for every other path. `whole_stack`: the
/// in-memory stack, which also serves `/orders/watch` and the last order updates (not the
/// receiver-only mode).
async fn serve(
    listen: SocketAddr,
    app: Router,
    whole_stack: bool,
    secrets: &LocalSecrets,
    inspector: Option<Inspector>,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let mut routes: Vec<String> = Provider::routes()
        .map(|(_, route)| format!("POST {}", route.path_template()))
        .collect();
    if whole_stack {
        routes.push("POST /orders/watch".into());
        routes.push(format!("GET {UPDATES_PATH}"));
    }
    routes.push("GET /health".into());
    let mut app = app;
    let inspected = inspector.is_some();
    if let Some(inspector) = inspector {
        inspector.set_base(format!("http://{bound}"));
        routes.push(format!("GET {}", Inspector::PATH));
        app = app.merge(inspector.routes());
    }
    tracing::info!("listening on http://{bound} ({})", routes.join(", "));
    if inspected {
        tracing::info!(
            "inspector: http://{bound}{} (every request, its verdict and processing, live)",
            Inspector::PATH
        );
    }
    let published = secrets.published_in_use(Provider::routes().map(|(_, route)| route));
    if !bound.ip().is_loopback() && !published.is_empty() {
        tracing::warn!(
            "listening on {bound}, beyond this machine, with the published test secrets of {}: anyone who can reach it can send signed events (give --<route>-secrets)",
            published.join(", ")
        );
    }
    let app = app
        .route(
            "/health",
            axum::routing::get({
                let routes = routes.clone();
                move || async move {
                    json_response(200, serde_json::json!({"status": "ok", "routes": routes}))
                }
            }),
        )
        .fallback(move |method: Method, uri: Uri| async move {
            json_response(
                404,
                serde_json::json!({
                    "error": "unknown_route",
                    "detail": format!("no route serves {method} {}", uri.path()),
                    "routes": routes,
                }),
            )
        });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// A response with a JSON body (`body` is JSON text, or a value).
pub fn json_response(status: u16, body: impl ToString) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
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
    let give_up = hookline::watch::DEFAULT_GIVE_UP_SECS;
    let (status, body) =
        hookline::poller::registration::register(&watches, &body, now, give_up).await;
    json_response(status, body)
}

/// The local routes, as the registry (and the template) declares them. Every method reaches the
/// receiver, which answers 405 to all but POST.
/// With `inspector`, each request and its answer is shown on the inspector page.
pub fn router<Q: Queue + 'static>(receivers: Receivers<Q>, inspector: Option<Inspector>) -> Router {
    receivers
        .routes
        .into_iter()
        .fold(Router::new(), |router, (route, receiver)| {
            router.route(
                route.path_template(),
                any(receive::<Q>).with_state((receiver, inspector.clone(), route.name)),
            )
        })
        .layer(DefaultBodyLimit::max(HTTP_BODY_LIMIT))
}

type Receiving<Q> = (Arc<AnyReceiver<Q>>, Option<Inspector>, &'static str);

async fn receive<Q: Queue + 'static>(
    State((receiver, inspector, name)): State<Receiving<Q>>,
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
    if let Some(inspector) = inspector {
        inspector.request(name, uri.path(), &headers, &body, &reply);
    }
    reply.into_http().map(Body::from)
}
