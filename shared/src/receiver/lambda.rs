//! Adapter from API Gateway (HTTP API, payload v2) through `lambda_http` to the [`Receiver`].

use std::convert::Infallible;

use lambda_http::service_fn;

use lambda_http::{Body, Request, RequestExt, Response};
use time::OffsetDateTime;

use super::Receiver;
use crate::config::ReceiverConfig;
use crate::keyring::{LoadedSecrets, SecretList, SetupError};
use crate::providers::Settings;
use crate::queue::{Queue, SqsQueue};
use crate::secrets_manager::{ReceiverSecrets, SecretRefresher};
use crate::webhook::{Route, WebhookScheme};

/// Runs a receiver function: loads the provider's secret `lists` (Secrets Manager in AWS),
/// builds its scheme with `scheme`, builds the SQS client once per container and opens its connection (`warm_up`), and serves API
/// Gateway requests, keeping the secrets current. A function's `main` is this one call with its
/// provider's `SECRETS` and `scheme` (the registry entry itself is not linked in: it would pull
/// every provider's processing rules into a receiver binary).
pub async fn run<S: WebhookScheme>(
    lists: &[SecretList],
    scheme: fn(&LoadedSecrets, Settings<'_>) -> Result<S, SetupError>,
) -> Result<(), lambda_http::Error> {
    crate::telemetry::init_json();
    let config = ReceiverConfig::from_env()?;
    // Secrets and clients are loaded once per container, not per request. The ingest queue's
    // connection is opened while the secrets load: in AWS they come from Secrets Manager, another
    // host with its own handshake, so init waits for the slower of the two, not for both.
    let sqs = aws_sdk_sqs::Client::new(&crate::aws::from_env().await);
    let warm_up = async {
        if config.warm_connections {
            crate::warm_up::sqs_queue(&sqs, &config.queue_url).await;
        }
    };
    let (secrets, ()) = tokio::join!(ReceiverSecrets::load_from_env(lists), warm_up);
    let secrets = secrets?;
    let scheme = scheme(&secrets.loaded, &|name| std::env::var(name).ok())?;
    let refreshers = secrets.refreshers();
    let function = ReceiverFunction {
        receiver: Receiver::new(scheme, SqsQueue::new(sqs, config.queue_url)).with_record_ttl(
            config
                .record_ttl_secs
                .unwrap_or(crate::idempotency::DEFAULT_RECORD_TTL_SECS),
        ),
        refreshers,
    };
    let function = &function;
    lambda_http::run(service_fn(move |request| function.handle(request))).await
}

/// A receiver as a Lambda function runs it: with the refreshers that keep its secrets current.
/// A refresh runs on the request path when it is due, because a container does no work between
/// requests; a failed one keeps the secrets in force.
#[derive(Debug)]
pub struct ReceiverFunction<S, Q> {
    pub receiver: Receiver<S, Q>,
    pub refreshers: Vec<SecretRefresher>,
}

impl<S: WebhookScheme, Q: Queue> ReceiverFunction<S, Q> {
    /// Handles one API Gateway request, refreshing the secrets first when due.
    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Infallible> {
        self.handle_at(request, OffsetDateTime::now_utc()).await
    }

    /// [`handle`](Self::handle) at a given time.
    pub async fn handle_at(
        &self,
        request: Request,
        now: OffsetDateTime,
    ) -> Result<Response<Body>, Infallible> {
        for refresher in &self.refreshers {
            refresher.refresh_if_due().await;
        }
        handle_at(&self.receiver, request, now).await
    }
}

/// Handles one API Gateway request. `lambda_http` has already base64-decoded the body when
/// `isBase64Encoded` was set, so the bytes verified are exactly the bytes the provider sent.
pub async fn handle<S: WebhookScheme, Q: Queue>(
    receiver: &Receiver<S, Q>,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    handle_at(receiver, request, OffsetDateTime::now_utc()).await
}

/// A function URL has no routes, so no path parameters: a route's parameter is then the segment
/// after the provider in `/webhooks/{provider}/{param}`, as the API route would have named it.
fn function_url_param(path: &str) -> Option<&str> {
    match path
        .strip_prefix("/webhooks/")?
        .split('/')
        .collect::<Vec<_>>()[..]
    {
        [_, param] if !param.is_empty() => Some(param),
        _ => None,
    }
}

/// [`handle`] at a given time: the sample events carry a fixed timestamp.
pub async fn handle_at<S: WebhookScheme, Q: Queue>(
    receiver: &Receiver<S, Q>,
    request: Request,
    now: OffsetDateTime,
) -> Result<Response<Body>, Infallible> {
    // Each route has at most one path parameter (the Optty token, the Standard Webhooks source).
    let params = request.path_parameters();
    let path = request.uri().path();
    let route = Route {
        path,
        param: params
            .iter()
            .next()
            .map(|(_, value)| value)
            .or_else(|| function_url_param(path)),
    };
    let reply = receiver
        .receive_routed(
            &route,
            request.method(),
            request.headers(),
            request.body().as_ref(),
            now,
        )
        .await;
    if let Some(line) = super::metrics::receiver_outcome(receiver.provider(), &reply.outcome, now) {
        crate::metrics::emit(&line);
    }
    Ok(reply.into_http().map(Body::Text))
}
