//! `serve`'s inspector at `/_hookline/`: every webhook request as it arrives, with its verdict
//! and what the processor then did with it (claim, fetch, state, update published, duplicate,
//! conflict, retries, dead letter), live over server-sent events; replay and copy-as-curl per
//! request. Like ngrok's inspector, for the developer at this machine: the page has no external
//! asset, and it shows no body, header value or secret; order updates are masked as in the logs.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Response};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use hookline::receiver::{ReceiveOutcome, Reply};
use serde::Serialize;
use serde_json::{Value, json};

use crate::local::serve::json_response;
use tokio::sync::broadcast;

use crate::provider_args::LocalSecrets;

/// The page: one file, its script and style inline (works offline).
const PAGE: &str = include_str!("page.html");

/// What the page shows of one request. Never its body, header values or path token.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub n: u64,
    pub at: String,
    /// The route's name (`octopus`, `optty`): never the path, which holds Optty's token.
    pub route: String,
    pub status: u16,
    /// `accepted`, `refused`, or `not queued` (genuine, the queue did not take it).
    pub verdict: &'static str,
    pub reason: Option<String>,
    pub provider: Option<String>,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub order_id: Option<String>,
    /// What the processor did, in order.
    pub steps: Vec<String>,
    /// The order update it published, masked.
    pub update: Option<Value>,
    /// Whether "copy as curl" can be offered: not for a secret in the path or body.
    pub curl: bool,
    #[serde(skip)]
    message_id: Option<String>,
    #[serde(skip)]
    request: Recorded,
}

/// The request as received, kept in this process only, for replay and copy-as-curl.
#[derive(Clone, Debug, Default)]
struct Recorded {
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

/// A route as the inspector needs it: its name, its scheme, and its active secrets.
struct KnownRoute {
    name: &'static str,
    scheme: Option<Box<dyn hookline::webhook::WebhookScheme>>,
    secrets: Vec<String>,
}

struct Kept {
    next: u64,
    entries: VecDeque<Entry>,
}

/// The requests `serve` received (the last [`Inspector::KEPT`]), shared by the receivers, the
/// processor loop and the page.
#[derive(Clone)]
pub struct Inspector {
    kept: Arc<Mutex<Kept>>,
    live: broadcast::Sender<Entry>,
    /// Each route's scheme and secrets, built once: what copy-as-curl may show.
    routes: Arc<Vec<KnownRoute>>,
    /// Where `serve` listens, for replays (set once bound).
    base: Arc<Mutex<String>>,
}

impl Inspector {
    pub const KEPT: usize = 500;
    pub const PATH: &'static str = "/_hookline/";

    pub fn new(secrets: &LocalSecrets) -> Self {
        Self {
            kept: Arc::new(Mutex::new(Kept {
                next: 1,
                entries: VecDeque::new(),
            })),
            live: broadcast::channel(256).0,
            routes: Arc::new(
                hookline::providers::Provider::routes()
                    .map(|(provider, route)| KnownRoute {
                        name: route.name,
                        scheme: secrets.scheme(provider).ok(),
                        secrets: secrets.items(route.secrets.env_prefix),
                    })
                    .collect(),
            ),
            base: Arc::default(),
        }
    }

    /// Where `serve` listens, once bound (`http://127.0.0.1:3000`).
    pub fn set_base(&self, base: String) {
        *self.base.lock().unwrap_or_else(|e| e.into_inner()) = base;
    }

    fn with<R>(&self, f: impl FnOnce(&mut Kept) -> R) -> R {
        f(&mut self.kept.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records a request the receiver of `route` answered with `reply`.
    pub fn request(
        &self,
        route: &str,
        path: &str,
        headers: &HeaderMap,
        body: &Bytes,
        reply: &Reply,
    ) {
        let (verdict, reason, event, message_id) = match &reply.outcome {
            ReceiveOutcome::Accepted { event, message_id } => {
                ("accepted", None, Some(event), Some(message_id.clone()))
            }
            ReceiveOutcome::Rejected(rejection) => (
                "refused",
                Some(rejection.error_code().to_string()),
                None,
                None,
            ),
            ReceiveOutcome::EnqueueFailed { event } => (
                "not queued",
                Some("queue_unavailable".into()),
                Some(event),
                None,
            ),
        };
        let request = Recorded {
            path: path.to_string(),
            headers: headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.to_string(), value.to_str().ok()?.to_string()))
                })
                .collect(),
            body: body.clone(),
        };
        let entry = Entry {
            n: 0,
            at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            route: route.to_string(),
            status: reply.status,
            verdict,
            reason,
            provider: event.map(|e| e.provider.clone()),
            event_id: event.map(|e| e.event_id.clone()),
            event_type: event.map(|e| e.event_type.clone()),
            order_id: None,
            steps: Vec::new(),
            update: None,
            curl: self.curl_safe(route, path, body),
            message_id,
            request,
        };
        let entry = self.with(|kept| {
            let mut entry = entry;
            entry.n = kept.next;
            kept.next += 1;
            if kept.entries.len() == Self::KEPT {
                kept.entries.pop_front();
            }
            kept.entries.push_back(entry.clone());
            entry
        });
        let _ = self.live.send(entry);
    }

    /// A copy-as-curl line would put a secret on the page when the path holds one of the route's
    /// secrets (Optty's token) or the scheme keeps the body without something (a card token, a
    /// renewed signing secret).
    fn curl_safe(&self, route: &str, path: &str, body: &Bytes) -> bool {
        let Some(known) = self.routes.iter().find(|r| r.name == route) else {
            return false;
        };
        if path
            .split('/')
            .any(|segment| known.secrets.iter().any(|secret| secret == segment))
        {
            return false;
        }
        match (&known.scheme, std::str::from_utf8(body)) {
            (Some(scheme), Ok(text)) => scheme.stored_body(text) == text,
            _ => false,
        }
    }

    /// Adds a processing step to the request whose queue message is `message_id`.
    pub fn step(&self, message_id: &str, step: String) {
        self.update_entry(
            |e| e.message_id.as_deref() == Some(message_id),
            |e| e.steps.push(step),
        );
    }

    /// Attaches the order update (masked) `event_id`'s processing published, to the latest
    /// request of that event that was processed.
    pub fn published(&self, event_id: &str, update: &Value) {
        let order = update["order_id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| update["order_id"].as_i64().map(|id| id.to_string()));
        self.update_entry(
            |e| {
                e.event_id.as_deref() == Some(event_id)
                    && e.steps.iter().any(|s| s.starts_with("processed"))
            },
            |e| {
                e.update = Some(update.clone());
                e.order_id = order.clone();
                e.steps.push("order update published".into());
            },
        );
    }

    fn update_entry(&self, matches: impl Fn(&Entry) -> bool, change: impl FnOnce(&mut Entry)) {
        let changed = self.with(|kept| {
            let entry = kept.entries.iter_mut().rev().find(|e| matches(e))?;
            change(entry);
            Some(entry.clone())
        });
        if let Some(entry) = changed {
            let _ = self.live.send(entry);
        }
    }

    fn entries(&self) -> Vec<Entry> {
        self.with(|kept| kept.entries.iter().cloned().collect())
    }

    fn recorded(&self, n: u64) -> Option<(Entry, Recorded)> {
        self.with(|kept| {
            kept.entries
                .iter()
                .find(|e| e.n == n)
                .map(|e| (e.clone(), e.request.clone()))
        })
    }

    /// The page and its data, under [`Self::PATH`].
    pub fn routes(&self) -> Router {
        Router::new()
            .route("/_hookline/", get(page))
            .route("/_hookline/requests", get(list))
            .route("/_hookline/stream", get(stream))
            .route("/_hookline/requests/{n}/replay", post(replay))
            .route("/_hookline/requests/{n}/curl", get(curl))
            .with_state(self.clone())
    }
}

async fn page() -> Response<Body> {
    let mut response = Response::new(Body::from(PAGE));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Nothing from elsewhere: scripts and styles inline only, requests to this origin only.
    response.headers_mut().insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        ),
    );
    response
}

async fn list(State(inspector): State<Inspector>) -> Response<Body> {
    json_response(200, json!(inspector.entries()))
}

async fn stream(
    State(inspector): State<Inspector>,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let receiver = inspector.live.subscribe();
    let events = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(entry) => Event::default()
                .event("request")
                .data(serde_json::to_string(&entry).unwrap_or_default()),
            // A slow page missed some: it reloads the list on `lagged`.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("lagged").data("")
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// Sends the recorded request to `serve` again, as the provider would retry it.
async fn replay(State(inspector): State<Inspector>, Path(n): Path<u64>) -> Response<Body> {
    let Some((_, request)) = inspector.recorded(n) else {
        return json_response(
            404,
            json!({"error": "unknown_request", "detail": format!("no request {n} is kept")}),
        );
    };
    let base = inspector
        .base
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let client = match hookline::tls::http_client() {
        Ok(client) => client,
        Err(error) => {
            return json_response(
                500,
                json!({"error": "replay_failed", "detail": error.to_string()}),
            );
        }
    };
    let mut post = client
        .post(format!("{base}{}", request.path))
        .body(request.body.clone());
    for (name, value) in &request.headers {
        if !matches!(name.as_str(), "host" | "content-length") {
            post = post.header(name, value);
        }
    }
    match post.send().await {
        Ok(answer) => json_response(
            200,
            json!({"replayed": n, "status": answer.status().as_u16()}),
        ),
        Err(error) => json_response(
            502,
            json!({"error": "replay_failed", "detail": error.to_string()}),
        ),
    }
}

/// The request as a curl line, its headers and body as received (signature included: it is the
/// provider's proof, not a secret); refused where that would show a secret.
async fn curl(State(inspector): State<Inspector>, Path(n): Path<u64>) -> Response<Body> {
    let Some((entry, request)) = inspector.recorded(n) else {
        return json_response(
            404,
            json!({"error": "unknown_request", "detail": format!("no request {n} is kept")}),
        );
    };
    if !entry.curl {
        return json_response(
            403,
            json!({"error": "holds_a_secret", "detail": "this request's path or body holds a secret; use replay"}),
        );
    }
    let base = inspector
        .base
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut line = format!(
        "curl -sS -X POST {}",
        quote(&format!("{base}{}", request.path))
    );
    for (name, value) in &request.headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "user-agent" | "accept"
        ) {
            line.push_str(&format!(" -H {}", quote(&format!("{name}: {value}"))));
        }
    }
    line.push_str(&format!(
        " --data-binary {}",
        quote(&String::from_utf8_lossy(&request.body))
    ));
    json_response(200, json!({"curl": line}))
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A step's words for the page, from what the processor reported.
pub fn describe(outcome: &hookline::processor::RecordOutcome) -> String {
    use hookline::processor::RecordOutcome;
    match outcome {
        RecordOutcome::Processed {
            fetch_latency,
            state,
            known_type,
            ..
        } => {
            let mut words = vec!["processed: claimed".to_string()];
            if let Some(latency) = fetch_latency {
                words.push(format!("order fetched in {} ms", latency.as_millis()));
            }
            match state {
                Some(state) => words.push(format!("state {}", state.name())),
                None if !known_type => words.push("type not known: acknowledged".into()),
                None => {}
            }
            words.join(", ")
        }
        RecordOutcome::Duplicate => "duplicate: took effect before, acknowledged".into(),
        RecordOutcome::InProgressElsewhere => "claimed elsewhere: retried".into(),
        RecordOutcome::Conflict => "conflict: same event id, another body".into(),
        RecordOutcome::Failed(error) => format!("failed: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_as_curl_is_refused_where_it_would_show_a_secret() {
        let inspector = Inspector::new(&LocalSecrets::default());
        let signed = Bytes::from_static(br#"{"id":"evt_1","type":"order.delivered"}"#);
        assert!(inspector.curl_safe("octopus", "/webhooks/octopus", &signed));
        // Optty's proof is the token in its path.
        let token = hookline::providers::Provider::routes()
            .find(|(_, r)| r.name == "optty")
            .map(|(_, r)| r.test_secret)
            .unwrap();
        assert!(!inspector.curl_safe("optty", &format!("/webhooks/optty/{token}"), &signed));
        // A Standard Webhooks source name in the path is no secret.
        assert!(inspector.curl_safe("std", "/webhooks/std/acme", &signed));
        // An OwlPay renewal carries the new signing secret in its body.
        let renewal = Bytes::from_static(
            br#"{"event":"webhook.renew.secret","data":{"secret":"whs_new"},"id":"x"}"#,
        );
        assert!(!inspector.curl_safe("owlpay", "/webhooks/owlpay", &renewal));
        assert!(!inspector.curl_safe("no-such-route", "/x", &signed));
    }

    #[test]
    fn the_page_data_holds_no_body_path_or_header_value() {
        let inspector = Inspector::new(&LocalSecrets::default());
        let mut headers = HeaderMap::new();
        headers.insert("x-signature", "SIGNATURE-VALUE".parse().unwrap());
        let reply = Reply {
            status: 401,
            body: r#"{"error":"invalid_signature"}"#.into(),
            outcome: ReceiveOutcome::Rejected(hookline::webhook::Rejection::InvalidSignature("x")),
        };
        inspector.request(
            "optty",
            "/webhooks/optty/PATH-TOKEN",
            &headers,
            &Bytes::from_static(b"BODY-TEXT"),
            &reply,
        );
        let shown = serde_json::to_string(&inspector.entries()).unwrap();
        for secret in ["PATH-TOKEN", "SIGNATURE-VALUE", "BODY-TEXT"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains(r#""reason":"invalid_signature""#), "{shown}");
    }
}
