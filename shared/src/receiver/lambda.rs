//! Adapter from API Gateway (HTTP API, payload v2) through `lambda_http` to the [`Receiver`].

use std::convert::Infallible;

use lambda_http::service_fn;

use lambda_http::{Body, Request, RequestExt, Response};
use time::OffsetDateTime;

use super::Receiver;
use crate::config::ReceiverConfig;
use crate::metrics;
use crate::providers::{Route, WebhookScheme};
use crate::queue::{Queue, SqsQueue};
use crate::secrets_manager::SecretRefresher;

/// Runs a receiver function: reads the queue URL, builds the SQS client once per container,
/// and serves API Gateway requests with `scheme`, whose secrets `refreshers` keep current.
/// A function's `main` loads its secrets, builds its scheme and calls this.
pub async fn run<S: WebhookScheme>(
    scheme: S,
    refreshers: Vec<SecretRefresher>,
) -> Result<(), lambda_http::Error> {
    let config = ReceiverConfig::from_env()?;
    let sqs = aws_sdk_sqs::Client::new(&crate::aws::from_env().await);
    let receiver =
        Receiver::new(scheme, SqsQueue::new(sqs, config.queue_url)).with_refreshers(refreshers);
    let receiver = &receiver;
    lambda_http::run(service_fn(move |request| handle(receiver, request))).await
}

/// Handles one API Gateway request. `lambda_http` has already base64-decoded the body when
/// `isBase64Encoded` was set, so the bytes verified are exactly the bytes the provider sent.
pub async fn handle<S: WebhookScheme, Q: Queue>(
    receiver: &Receiver<S, Q>,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    handle_at(receiver, request, OffsetDateTime::now_utc()).await
}

/// [`handle`] at a given time: the sample events carry a fixed timestamp.
pub async fn handle_at<S: WebhookScheme, Q: Queue>(
    receiver: &Receiver<S, Q>,
    request: Request,
    now: OffsetDateTime,
) -> Result<Response<Body>, Infallible> {
    // Each route has at most one path parameter (the Optty token, the Standard Webhooks source).
    let params = request.path_parameters();
    let route = Route {
        path: request.uri().path(),
        param: params.iter().next().map(|(_, value)| value),
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
    println!(
        "{}",
        metrics::receiver_outcome(receiver.provider(), &reply.outcome, now)
    );
    Ok(reply.into_http().map(Body::Text))
}
