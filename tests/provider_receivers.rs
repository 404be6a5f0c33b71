//! The Coinme, OwlPay/Harbor, Optty and Standard Webhooks receivers end to end: every sample
//! API Gateway event in `events/` through the Lambda adapter into SQS on moto server, then
//! through the processor (DynamoDB on moto, the Optty API on a local HTTP server) into the
//! order-updates queue. Also: what each route refuses, and secrets rotated in Secrets Manager.

use std::path::Path;
use std::time::Duration;

use hookline::config::ProviderEnvironment;
use hookline::idempotency::DynamoEventStore;
use hookline::keyring::LoadedSecrets;
use hookline::message::QueueMessage;
use hookline::order_api::RetryPolicy;
use hookline::order_state::DynamoOrderStateStore;
use hookline::order_update::OrderUpdate;
use hookline::processor::{Processor, ProcessorConfig, RecordOutcome};
use hookline::providers::WebhookScheme;
use hookline::providers::coinme::TEST_SECRET as COINME_TEST_SECRET;
use hookline::providers::coinme::{CoinmeOptions, CoinmeScheme, Encoding};
use hookline::providers::optty::OpttyScheme;
use hookline::providers::optty::{
    API_TEST_CLIENT_SECRET as OPTTY_API_TEST_SECRET, TEST_TOKEN as OPTTY_TEST_TOKEN,
};
use hookline::providers::owlpay::OwlPayScheme;
use hookline::providers::owlpay::{
    HARBOR_TEST_SECRET as OWLPAY_HARBOR_TEST_SECRET, TEST_SECRET as OWLPAY_TEST_SECRET,
};
use hookline::providers::standard_webhooks::TEST_SECRET as STD_TEST_SECRET;
use hookline::providers::standard_webhooks::{StandardWebhooksScheme, parse_sources};
use hookline::providers::{EventNames, Provider, ProviderApis, TEST_SOURCE};
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use hookline::receiver::Receiver;
use hookline::receiver::lambda::{self, ReceiverFunction};
use hookline::secrets_manager::SecretRefresher;
use hookline::signature::SecretSet;
use hookline::watch::MemoryWatchStore;
use hookline_tests::{
    Sample, capture_logs, create_fifo_queue, create_queue, create_table, drain_queue, events_dir,
    moto, samples, table_items, unique_name,
};
use time::OffsetDateTime;
use tokio::time::Instant;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn set(list: &str) -> SecretSet {
    SecretSet::parse(list).unwrap()
}

fn coinme() -> CoinmeScheme {
    CoinmeScheme::new(set(COINME_TEST_SECRET), CoinmeOptions::default())
}

fn owlpay() -> OwlPayScheme {
    OwlPayScheme::new(
        set(OWLPAY_TEST_SECRET),
        Some(set(OWLPAY_HARBOR_TEST_SECRET)),
    )
}

fn optty() -> OpttyScheme {
    OpttyScheme::new(set(OPTTY_TEST_TOKEN))
}

fn std_webhooks() -> StandardWebhooksScheme {
    let sources = format!(r#"{{"acme": ["{STD_TEST_SECRET}"]}}"#);
    StandardWebhooksScheme::new(parse_sources(&sources).unwrap())
}

/// Invokes the Lambda adapter with an event file's request at the moment it was signed
/// (`requestContext.timeEpoch`) shifted by `skew` seconds.
async fn invoke_at<S: WebhookScheme, Q: Queue>(
    receiver: &Receiver<S, Q>,
    event: &str,
    skew: i64,
) -> (u16, serde_json::Value) {
    let json: serde_json::Value = serde_json::from_str(event).unwrap();
    let signed_at = json["requestContext"]["timeEpoch"].as_i64().unwrap() / 1000;
    let at = OffsetDateTime::from_unix_timestamp(signed_at + skew).unwrap();
    let request = lambda_http::request::from_str(event).expect("an API Gateway v2 event");
    let response = lambda::handle_at(receiver, request, at).await.unwrap();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap();
    (response.status().as_u16(), body)
}

/// Like [`invoke`], through the Lambda function (secret refreshers included).
async fn invoke_function<S: WebhookScheme, Q: Queue>(
    function: &ReceiverFunction<S, Q>,
    event: &str,
) -> (u16, serde_json::Value) {
    let json: serde_json::Value = serde_json::from_str(event).unwrap();
    let signed_at = json["requestContext"]["timeEpoch"].as_i64().unwrap() / 1000;
    let at = OffsetDateTime::from_unix_timestamp(signed_at).unwrap();
    let request = lambda_http::request::from_str(event).expect("an API Gateway v2 event");
    let response = function.handle_at(request, at).await.unwrap();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap();
    (response.status().as_u16(), body)
}

async fn invoke<S: WebhookScheme, Q: Queue>(
    receiver: &Receiver<S, Q>,
    event: &str,
) -> (u16, serde_json::Value) {
    invoke_at(receiver, event, 0).await
}

/// Answers Optty order requests from `events/provider-api/optty-orders/`.
struct OpttyOrders;

impl Respond for OpttyOrders {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let reference = request.url.path().trim_start_matches("/orders/");
        let file = events_dir()
            .join("provider-api/optty-orders")
            .join(format!("{reference}.json"));
        match std::fs::read(file) {
            Ok(body) => ResponseTemplate::new(200).set_body_raw(body, "application/json"),
            Err(_) => ResponseTemplate::new(404),
        }
    }
}

/// What one provider's samples must produce. Every provider of the registry but Octopus (whose
/// samples `octopus_receiver.rs` runs against its API) has one: a test holds the list to the
/// registry.
struct Expected {
    provider: Provider,
    /// Order updates published: known types only.
    updates: usize,
    /// State keys and the status each must end with.
    states: &'static [(&'static str, &'static str)],
}

const EXPECTED: &[Expected] = &[
    Expected {
        provider: Provider::Coinme,
        updates: 5,
        states: &[
            (
                "ORDER#coinme#order_template#1263543355914194944",
                "CONSUMED",
            ),
            ("ORDER#coinme#order_template#1266110955147890688", "EXPIRED"),
            ("ORDER#coinme#transaction#1263543643131744256", "COMPLETED"),
            ("ORDER#coinme#transaction#1263543643131744257", "FAILED"),
        ],
    },
    Expected {
        provider: Provider::OwlPay,
        // 8 of OwlPay's own form; Harbor's published shapes: a transfer's two statuses and a
        // customer's KYC update (passed on).
        updates: 11,
        states: &[
            (
                "ORDER#owlpay#order#ord_c0d3d7cda1e2175f",
                "PAYOUT_SUCCEEDED",
            ),
            (
                "ORDER#owlpay-harbor#transfer#transfer_hookline_sample_77",
                "COMPLETED",
            ),
            // OwlPay's published payload: its event named in `observation`.
            ("ORDER#owlpay#order#ord_observed_31", "RECEIVED"),
            ("ORDER#owlpay#payment_intent#pi_4f2a9c7e1b3d", "REFUNDED"),
            (
                "ORDER#owlpay-harbor#payment_intent#pi_harbor_77",
                "AUTHORIZED",
            ),
        ],
    },
    Expected {
        provider: Provider::Optty,
        updates: 4,
        states: &[
            // The notification says SUCCESSFUL; Optty's API says DECLINED.
            ("ORDER#optty#order#ord-1001", "DECLINED"),
            ("ORDER#optty#order#ord-1002", "DECLINED"),
            ("ORDER#optty#order#ord-1003", "CANCELED"),
            // A final update with the customer's card token (kept nowhere).
            ("ORDER#optty#order#ord-1004", "SUCCESSFUL"),
        ],
    },
    Expected {
        provider: Provider::StandardWebhooks,
        updates: 2,
        states: &[],
    },
];

impl Expected {
    /// Its receiver's sample folder under `events/`.
    fn dir(&self) -> String {
        format!("{}-webhook", self.provider.spec().name)
    }

    /// The payload folders its samples were signed from: one per route.
    fn payload_dirs(&self) -> Vec<&'static str> {
        self.provider.spec().routes.iter().map(|r| r.name).collect()
    }

    /// The provider names its messages carry (a per-source route's: the test source's).
    fn providers(&self) -> Vec<String> {
        self.provider
            .spec()
            .routes
            .iter()
            .map(|route| match route.events {
                EventNames::Exactly(name) => name.to_string(),
                EventNames::Prefixed(prefix) => format!("{prefix}{TEST_SOURCE}"),
            })
            .collect()
    }

    /// The samples of its receiver.
    fn samples(&self) -> Vec<Sample> {
        samples(&self.dir(), &self.payload_dirs())
    }
}

#[test]
fn every_provider_but_octopus_has_its_expected_results() {
    let listed: Vec<Provider> = EXPECTED.iter().map(|e| e.provider).collect();
    let wanted: Vec<Provider> = Provider::ALL
        .into_iter()
        .filter(|p| *p != Provider::Octopus)
        .collect();
    assert_eq!(
        listed, wanted,
        "EXPECTED lists what each provider's samples produce, in the registry's order"
    );
}

/// Its receiver's scheme as `hookline serve` builds it: the registry's constructor with the
/// published test secrets of every route.
fn scheme(provider: Provider) -> Box<dyn WebhookScheme> {
    let mut loaded = LoadedSecrets::default();
    for route in provider.spec().routes {
        loaded.insert(route.secrets, "test", route.secrets.test_value);
    }
    (provider.spec().scheme)(&loaded, &|_| None).expect("the test secrets load")
}

/// Sends every sample of `expected` through `receiver` into a fresh queue on moto and returns
/// the messages the queue received.
/// The card token of the Optty sample `order-successful-card-token.json`: Optty sends one on a
/// final status update; no store may keep it.
const OPTTY_SAMPLE_CARD_TOKEN: &str = "tok_card_hookline_sample_4111111111111111";

async fn receive_all<S: WebhookScheme>(
    sqs: &aws_sdk_sqs::Client,
    scheme: S,
    verifier: S,
    expected: &Expected,
) -> Vec<QueueMessage> {
    let queue_url = create_queue(sqs, "ingest").await;
    let receiver = Receiver::new(scheme, SqsQueue::new(sqs.clone(), &queue_url));
    let samples = expected.samples();
    for sample in &samples {
        let (status, body) = invoke(&receiver, &sample.event).await;
        assert_eq!(status, 200, "{}/{}: {body}", expected.dir(), sample.name);
    }
    let messages: Vec<QueueMessage> = drain_queue(sqs, &queue_url)
        .await
        .iter()
        .map(|body| QueueMessage::from_json(body).expect("a v1 ingest message"))
        .collect();
    assert_eq!(
        messages.len(),
        samples.len(),
        "{}: one message each",
        expected.dir()
    );
    for sample in &samples {
        // Byte for byte, but for what a scheme keeps from no store (Optty's card token).
        let stored = verifier.stored_body(&sample.payload);
        let message = messages
            .iter()
            .find(|m| m.body == stored)
            .unwrap_or_else(|| panic!("{}: body not byte-identical", sample.name));
        assert!(
            !message.body.contains(OPTTY_SAMPLE_CARD_TOKEN),
            "{}: a card token in the queue message",
            sample.name
        );
        // The renewal sample carries a new signing secret (`whs_…`): never in a message.
        assert!(
            !message.to_json().contains("whs_"),
            "{}: a renewed signing secret in the queue message",
            sample.name
        );
        assert!(
            expected.providers().contains(&message.provider),
            "{}: provider {}",
            sample.name,
            message.provider
        );
        assert_eq!(message.received_at, "2026-11-22T10:00:00Z");
        assert_verifies_again(&verifier, message);
    }
    messages
}

/// docs/src/receiving.md, the queue message: it keeps what verifying the request again needs (the headers
/// verification read, the source of a per-source route) and verifies again from that alone;
/// Optty's proof is its path token, which is never kept, so its messages do not; nor do OwlPay's
/// secret renewals, whose `data` (which may hold the new secret) is never kept.
fn assert_verifies_again(verifier: &impl WebhookScheme, message: &QueueMessage) {
    let (_, route) = Provider::routes()
        .find(|(_, r)| r.events.names(&message.provider))
        .expect("a route for the message's provider");
    let path = route.path(message.route_param.as_deref());
    let mut headers = lambda_http::http::HeaderMap::new();
    for (name, value) in &message.headers {
        headers.insert(
            lambda_http::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let again = verifier.verify_routed(
        &hookline::providers::Route {
            path: &path,
            param: message.route_param.as_deref(),
        },
        &headers,
        message.body.as_bytes(),
        1_795_341_600,
    );
    if route.name == "optty" {
        assert!(message.headers.is_empty() && message.route_param.is_none());
        assert!(
            !message.to_json().contains(OPTTY_TEST_TOKEN),
            "the path token is never kept"
        );
        assert!(
            again.is_err(),
            "Optty's token is not kept: no re-verification"
        );
    } else if message.event_type == "webhook.renew.secret" {
        assert!(message.body.contains(r#""data":{"redacted":true}"#));
        assert!(
            again.is_err(),
            "a renewal is kept without its data: no re-verification"
        );
    } else {
        let again = again.unwrap_or_else(|e| panic!("{}: {e}", message.event_id));
        assert_eq!(again.event_id, message.event_id);
        assert_eq!(again.provider, message.provider);
    }
}

#[tokio::test]
async fn every_sample_reaches_sqs_and_then_the_order_updates_queue() {
    let logs = capture_logs();
    let sqs = moto().sqs().await;
    let dynamodb = moto().dynamodb().await;
    let optty_api = MockServer::start().await;
    let logins = hookline_tests::mount_logins(&optty_api).await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/orders/[\w.:-]+$"))
        .respond_with(OpttyOrders)
        .mount(&optty_api)
        .await;

    for expected in EXPECTED {
        let scheme = || scheme(expected.provider);
        let mut messages = receive_all(&sqs, scheme(), scheme(), expected).await;

        let table = create_table(&dynamodb).await;
        let updates_url = create_fifo_queue(&sqs, "order-updates").await;
        let processor = Processor {
            events: DynamoEventStore::new(dynamodb.clone(), &table),
            states: DynamoOrderStateStore::new(dynamodb.clone(), &table),
            api: ProviderApis::default()
                .with(
                    Provider::Optty,
                    &optty_api.uri(),
                    hookline_tests::optty_token(&optty_api.uri()),
                    RetryPolicy::default(),
                )
                .unwrap(),
            updates: SqsQueue::new(sqs.clone(), &updates_url),
            credentials: None,
            watches: MemoryWatchStore::new(),
            config: ProcessorConfig {
                environment: ProviderEnvironment::Production,
                ..ProcessorConfig::default()
            },
        };
        // In the order the provider sent them: SQS does not keep order, and an event older than
        // the recorded state rightly publishes nothing.
        messages.sort_by_key(|m| {
            let body: serde_json::Value = serde_json::from_str(&m.body).unwrap_or_default();
            // Harbor's own shape dates its object inside `data`.
            body["created_at"]
                .as_str()
                .or(body["data"]["updated_at"].as_str())
                .unwrap_or_default()
                .to_string()
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        for message in &messages {
            let outcome = processor.process_message(message, deadline).await;
            assert!(
                matches!(outcome, RecordOutcome::Processed { .. }),
                "{}: {outcome:?}",
                message.event_id
            );
            // A second delivery of the same message takes no effect.
            let again = processor.process_message(message, deadline).await;
            assert!(matches!(again, RecordOutcome::Duplicate), "{again:?}");
        }
        let updates: Vec<OrderUpdate> = drain_queue(&sqs, &updates_url)
            .await
            .iter()
            .map(|body| serde_json::from_str(body).expect("an order update"))
            .collect();
        assert_eq!(updates.len(), expected.updates, "{}", expected.dir());
        // Every update says which environment it came from; only what the provider marked as a
        // test says so (OwlPay's `is_test`; its samples carry 1, true, or nothing).
        for update in &updates {
            assert_eq!(update.environment, "production", "{}", update.event_id);
            let body = messages
                .iter()
                .find(|m| m.event_id == update.event_id)
                .map(|m| m.body.clone())
                .unwrap_or_default();
            let marked = body.contains(r#""is_test":1"#) || body.contains(r#""is_test":true"#);
            assert_eq!(update.is_test, marked, "{}", update.event_id);
        }
        let items = table_items(&dynamodb, &table).await.join("\n");
        for (key, status) in expected.states {
            let state = items
                .lines()
                .find(|item| item.contains(&format!("\"pk\": S(\"{key}\")")))
                .unwrap_or_else(|| panic!("{}: no state {key}", expected.dir()));
            assert!(
                state.contains(&format!("\"status\": S(\"{status}\")")),
                "{key}: {state}"
            );
        }
        // The notification's card token field and OwlPay's renewal body never reach the table.
        assert!(!items.contains("whs_"), "{}", expected.dir());
        assert!(
            !items.contains(OPTTY_SAMPLE_CARD_TOKEN),
            "{}",
            expected.dir()
        );
    }
    let text = logs.text();
    for secret in [
        COINME_TEST_SECRET,
        OWLPAY_TEST_SECRET,
        OWLPAY_HARBOR_TEST_SECRET,
        OPTTY_TEST_TOKEN,
        STD_TEST_SECRET,
        OPTTY_API_TEST_SECRET,
        OPTTY_SAMPLE_CARD_TOKEN,
    ] {
        assert!(!text.contains(secret), "a secret reached the logs");
    }
    let issued = logins.optty.issued_tokens();
    assert!(!issued.is_empty(), "the processor logged in to Optty");
    for token in issued {
        assert!(!text.contains(&token), "an API token reached the logs");
    }
}

/// A copy of an API Gateway event with `edit` applied to its JSON.
fn edited(event: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json: serde_json::Value = serde_json::from_str(event).unwrap();
    edit(&mut json);
    json.to_string()
}

fn first(dir: &str, payload_dirs: &[&str], name: &str) -> String {
    samples(dir, payload_dirs)
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{dir}/{name}"))
        .event
}

#[tokio::test]
async fn optty_refuses_a_wrong_path_token_and_enqueues_nothing() {
    let receiver = Receiver::new(optty(), MemoryQueue::new());
    let event = first("optty-webhook", &["optty"], "order-successful.json");
    for token in ["wrong-token", "", "hookline-optty-test-path-toke"] {
        let wrong = edited(&event, |e| {
            e["pathParameters"]["token"] = token.into();
            e["rawPath"] = format!("/webhooks/optty/{token}").into();
        });
        let (status, body) = invoke(&receiver, &wrong).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_signature"))
        );
        assert!(!body.to_string().contains(OPTTY_TEST_TOKEN));
    }
    let missing = edited(&event, |e| {
        e.as_object_mut().unwrap().remove("pathParameters");
        e["rawPath"] = "/webhooks/optty".into();
    });
    assert_eq!(invoke(&receiver, &missing).await.0, 401);
    // Through a function URL (no path parameters) the token is the path's last segment.
    let wrong = edited(&function_url(&event), |e| {
        e["rawPath"] = "/webhooks/optty/wrong-token".into();
    });
    assert_eq!(invoke(&receiver, &wrong).await.0, 401);
    assert!(receiver.queue().is_empty());
}

/// `event` as a Lambda function URL delivers it: no route, so no path parameters.
fn function_url(event: &str) -> String {
    edited(event, |e| {
        e.as_object_mut().unwrap().remove("pathParameters");
        e["routeKey"] = "$default".into();
        e["requestContext"]["routeKey"] = "$default".into();
        e["requestContext"]["domainName"] = "abc123.lambda-url.us-east-1.on.aws".into();
        e["requestContext"]["domainPrefix"] = "abc123".into();
    })
}

#[tokio::test]
async fn every_sample_is_answered_and_enqueued_the_same_through_a_function_url() {
    async fn both(api: Box<dyn WebhookScheme>, url: Box<dyn WebhookScheme>, expected: &Expected) {
        let through_api = Receiver::new(api, MemoryQueue::new());
        let through_url = Receiver::new(url, MemoryQueue::new());
        for sample in expected.samples() {
            let via_api = invoke(&through_api, &sample.event).await;
            let via_url = invoke(&through_url, &function_url(&sample.event)).await;
            assert_eq!(via_api.0, via_url.0, "{}/{}", expected.dir(), sample.name);
            assert_eq!(
                via_api.1.get("error"),
                via_url.1.get("error"),
                "{}/{}",
                expected.dir(),
                sample.name
            );
        }
        let bodies = |queue: &MemoryQueue| -> Vec<String> {
            let mut bodies: Vec<String> = queue
                .take(usize::MAX)
                .into_iter()
                .map(|m| {
                    let mut message = QueueMessage::from_json(&m.message.body).unwrap();
                    message.received_at.clear();
                    serde_json::to_string(&message).unwrap()
                })
                .collect();
            bodies.sort();
            bodies
        };
        let enqueued = bodies(through_api.queue());
        assert!(!enqueued.is_empty(), "{}", expected.dir());
        assert_eq!(enqueued, bodies(through_url.queue()), "{}", expected.dir());
    }
    for expected in EXPECTED {
        both(
            scheme(expected.provider),
            scheme(expected.provider),
            expected,
        )
        .await;
    }
}

#[tokio::test]
async fn standard_webhooks_unknown_source_is_404_and_stale_is_401() {
    let receiver = Receiver::new(std_webhooks(), MemoryQueue::new());
    let event = first("std-webhook", &["std"], "invoice-paid.json");
    let other = edited(&event, |e| {
        e["pathParameters"]["source"] = "nobody".into();
    });
    let (status, body) = invoke(&receiver, &other).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_route"))
    );
    for skew in [301, -301] {
        let (status, body) = invoke_at(&receiver, &event, skew).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("stale_timestamp"))
        );
    }
    let forged = edited(&event, |e| {
        let signature = e["headers"]["webhook-signature"]
            .as_str()
            .unwrap()
            .to_string();
        e["headers"]["webhook-signature"] = signature.replacen("v1,", "v1,A", 1).into();
    });
    assert_eq!(invoke(&receiver, &forged).await.0, 401);
    assert!(receiver.queue().is_empty());
}

#[tokio::test]
async fn owlpay_harbor_signatures_only_verify_on_the_harbor_route() {
    let receiver = Receiver::new(owlpay(), MemoryQueue::new());
    let harbor = first(
        "owlpay-webhook",
        &["owlpay", "owlpay-harbor"],
        "payment-intent-authorized.json",
    );
    let misrouted = edited(&harbor, |e| {
        e["rawPath"] = "/webhooks/owlpay".into();
        e["requestContext"]["http"]["path"] = "/webhooks/owlpay".into();
    });
    assert_eq!(invoke(&receiver, &misrouted).await.0, 401);
    let event = first(
        "owlpay-webhook",
        &["owlpay", "owlpay-harbor"],
        "order-received.json",
    );
    let (status, body) = invoke_at(&receiver, &event, 301).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("stale_timestamp"))
    );
    let tampered = event.replace("1250.5", "9250.5");
    assert_ne!(tampered, event);
    assert_eq!(invoke(&receiver, &tampered).await.0, 401);
    assert!(receiver.queue().is_empty());
}

#[tokio::test]
async fn coinme_accepts_only_the_configured_encoding() {
    let event = first("coinme-webhook", &["coinme"], "caas-buy-completed.json");
    let base64 = Receiver::new(coinme(), MemoryQueue::new());
    assert_eq!(invoke(&base64, &event).await.0, 200);
    let hex = CoinmeScheme::new(
        set(COINME_TEST_SECRET),
        CoinmeOptions {
            encoding: Encoding::Hex,
            ..CoinmeOptions::default()
        },
    );
    let hex = Receiver::new(hex, MemoryQueue::new());
    let (status, body) = invoke(&hex, &event).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_signature"))
    );
    let empty = edited(&event, |e| e["body"] = "".into());
    assert_eq!(invoke(&base64, &empty).await.0, 401);
    assert!(hex.queue().is_empty());
}

#[tokio::test]
async fn oversized_bodies_are_refused_by_every_receiver() {
    let huge = format!(r#"{{"id":"x","pad":"{}"}}"#, "x".repeat(300 * 1024));
    for provider in Provider::ALL {
        let expected = Expected {
            provider,
            updates: 0,
            states: &[],
        };
        // The sample of the first route's first payload (Octopus' folder holds other scenarios).
        let route = provider.spec().routes[0].name;
        let mut payloads: Vec<_> = std::fs::read_dir(events_dir().join("payloads").join(route))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        payloads.sort();
        let sample =
            std::fs::read_to_string(events_dir().join(expected.dir()).join(&payloads[0])).unwrap();
        let event = edited(&sample, |e| e["body"] = huge.clone().into());
        let receiver = Receiver::new(scheme(provider), MemoryQueue::new());
        assert_eq!(invoke(&receiver, &event).await.0, 413, "{}", expected.dir());
    }
}

/// Creates a secret on moto holding `value`; returns its name.
async fn put_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let name = unique_name("hookline/coinme");
    client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("create secret on moto");
    name
}

async fn set_secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .expect("update secret on moto");
}

#[tokio::test]
async fn rotated_secrets_take_effect_after_refresh_and_a_failed_read_keeps_the_current_ones() {
    let client = aws_sdk_secretsmanager::Client::new(&moto().sdk_config().await);
    let event = first("coinme-webhook", &["coinme"], "refund.json");
    let name = put_secret(&client, r#"["an-older-signing-secret"]"#).await;
    // Interval zero: every request re-reads, so each step below sees the last write.
    let (keyring, refresher) =
        SecretRefresher::start(client.clone(), &name, Duration::ZERO, SecretSet::parse)
            .await
            .unwrap();
    // Refreshing is the Lambda adapter's: the function holds the receiver and its refreshers.
    let function = ReceiverFunction {
        receiver: Receiver::new(
            CoinmeScheme::new(keyring, CoinmeOptions::default()),
            MemoryQueue::new(),
        ),
        refreshers: vec![refresher],
    };
    assert_eq!(
        invoke_function(&function, &event).await.0,
        401,
        "not active yet"
    );

    set_secret(
        &client,
        &name,
        &format!(r#"["an-older-signing-secret", "{COINME_TEST_SECRET}"]"#),
    )
    .await;
    assert_eq!(
        invoke_function(&function, &event).await.0,
        200,
        "two active secrets"
    );

    set_secret(&client, &name, r#"["a-newer-signing-secret"]"#).await;
    assert_eq!(
        invoke_function(&function, &event).await.0,
        401,
        "removed after refresh"
    );

    // A placeholder left in the secret is no key: refused, the secrets in force stay.
    set_secret(&client, &name, &format!(r#"["{COINME_TEST_SECRET}"]"#)).await;
    assert_eq!(invoke_function(&function, &event).await.0, 200);
    set_secret(&client, &name, r#"["changeme"]"#).await;
    let logs = hookline_tests::capture_logs();
    assert_eq!(
        invoke_function(&function, &event).await.0,
        200,
        "a too-short secret is not put in force"
    );
    let text = logs.text();
    assert!(
        text.contains("not refreshed") && text.contains("shorter than the 16"),
        "{text}"
    );
    assert!(!text.contains("changeme"), "the value is never logged");
    set_secret(&client, &name, &format!(r#"["{COINME_TEST_SECRET}"]"#)).await;

    // Secrets Manager refuses the read: the secrets in force stay in force.
    client
        .delete_secret()
        .secret_id(&name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        invoke_function(&function, &event).await.0,
        200,
        "kept after a failed refresh"
    );

    // A too-short secret at init stops the function, naming the secret, never the value.
    let short = put_secret(&client, r#"["whsec_"]"#).await;
    let err = SecretRefresher::start(client.clone(), &short, Duration::ZERO, SecretSet::parse)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&short) && err.to_string().contains("secret #1"),
        "{err}"
    );

    // A missing secret at init stops the function from starting, with the secret's name.
    let err = SecretRefresher::start(client, &name, Duration::ZERO, SecretSet::parse)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&name), "{err}");
    assert!(!err.to_string().contains(COINME_TEST_SECRET));
}

#[test]
fn the_samples_cover_every_documented_status() {
    let texts: Vec<String> = ["coinme", "owlpay", "owlpay-harbor", "optty", "std"]
        .iter()
        .flat_map(|d| std::fs::read_dir(events_dir().join("payloads").join(d)).unwrap())
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let all = texts.join("\n");
    for needle in [
        "CONSUMED",
        "EXPIRED",
        "\"orderStatus\":\"COMPLETED\"",
        "errorData\":{",
        "order.received",
        "order.payout.succeed",
        "payment_intent.captured",
        "payment_intent.refunded",
        "webhook.renew.secret",
        "\"SUCCESSFUL\"",
        "\"DECLINED\"",
        "\"CANCELED\",\"cancelledBy\"",
    ] {
        assert!(all.contains(needle), "no sample with {needle}");
    }
    assert!(Path::new(&events_dir().join("provider-api/optty-orders/ord-1001.json")).exists());
}
