//! The webhook receiver: method and size checks, the provider's verification, the enqueue, and
//! the answer to the provider. Independent of Lambda and of any HTTP server; `lambda` adapts it
//! to API Gateway, and the `hookline serve` command to a local server.

pub mod lambda;

use http::{HeaderMap, Method};
use serde_json::json;
use time::OffsetDateTime;

use crate::message::{QueueMessage, SQS_MAX_MESSAGE_BYTES};
use crate::providers::{Rejection, VerifiedEvent, WebhookScheme};
use crate::queue::Queue;

/// What happened to one request, for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Accepted {
        event: VerifiedEvent,
        message_id: String,
    },
    Rejected(Rejection),
    /// Genuine, but the queue did not take it: the provider is told to retry.
    EnqueueFailed {
        event: VerifiedEvent,
    },
}

/// The answer to the provider, plus what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// JSON body.
    pub body: String,
    pub outcome: Outcome,
}

/// Receives one provider's webhooks into a queue. Built once at init, shared by all requests.
#[derive(Debug)]
pub struct Receiver<S, Q> {
    scheme: S,
    queue: Q,
    max_message_bytes: usize,
}

impl<S: WebhookScheme, Q: Queue> Receiver<S, Q> {
    pub fn new(scheme: S, queue: Q) -> Self {
        Self {
            scheme,
            queue,
            max_message_bytes: SQS_MAX_MESSAGE_BYTES,
        }
    }

    /// Overrides the largest queue message accepted (the default is SQS's limit).
    pub fn with_max_message_bytes(mut self, max: usize) -> Self {
        self.max_message_bytes = max;
        self
    }

    pub fn provider(&self) -> &'static str {
        self.scheme.provider()
    }

    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// Handles one request. Answers 2xx only once the queue has the message.
    pub async fn receive(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Reply {
        let provider = self.provider();
        let message = match self.check(method, headers, body, now) {
            Ok(message) => message,
            Err(rejection) => {
                tracing::warn!(
                    provider,
                    reason = rejection.metric_reason(),
                    detail = %rejection,
                    "webhook rejected"
                );
                return rejected(rejection);
            }
        };
        let (message, event) = message;
        match self.queue.send(&message).await {
            Ok(message_id) => {
                if !event.known_type {
                    tracing::warn!(
                        provider,
                        event_id = %event.event_id,
                        event_type = %event.event_type,
                        "event type unknown to hookline; accepted and enqueued without action"
                    );
                }
                tracing::info!(
                    provider,
                    event_id = %event.event_id,
                    event_type = %event.event_type,
                    message_id = %message_id,
                    "webhook accepted"
                );
                Reply {
                    status: 200,
                    body: json!({"received": true, "event_id": event.event_id}).to_string(),
                    outcome: Outcome::Accepted { event, message_id },
                }
            }
            Err(error) => {
                tracing::error!(
                    provider,
                    event_id = %event.event_id,
                    event_type = %event.event_type,
                    error = %error,
                    "enqueue failed; answering 503 so the provider retries"
                );
                Reply {
                    status: 503,
                    body: json!({"error": "enqueue_failed"}).to_string(),
                    outcome: Outcome::EnqueueFailed { event },
                }
            }
        }
    }

    /// Everything before the enqueue: pure, no I/O.
    fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<(QueueMessage, VerifiedEvent), Rejection> {
        if method != Method::POST {
            return Err(Rejection::MethodNotAllowed(method.to_string()));
        }
        // Cheap early refusal before any hashing: a body this large cannot fit in a message.
        if body.len() > self.max_message_bytes {
            return Err(too_large(body.len(), self.max_message_bytes));
        }
        let event = self.scheme.verify(headers, body, now.unix_timestamp())?;
        let text = std::str::from_utf8(body)
            .map_err(|_| Rejection::Malformed("body is not UTF-8".into()))?;
        let message = QueueMessage::new(
            self.provider(),
            &event.event_id,
            &event.event_type,
            now,
            text.to_string(),
        );
        let size = message.sqs_size(&message.to_json());
        if size > self.max_message_bytes {
            return Err(too_large(size, self.max_message_bytes));
        }
        Ok((message, event))
    }
}

fn too_large(size: usize, limit: usize) -> Rejection {
    Rejection::PayloadTooLarge { size, limit }
}

fn rejected(rejection: Rejection) -> Reply {
    Reply {
        status: rejection.status(),
        body: json!({"error": rejection.error_code(), "detail": rejection.to_string()}).to_string(),
        outcome: Outcome::Rejected(rejection),
    }
}
