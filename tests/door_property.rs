//! Whatever a receiver accepts, the processor can take: a property test over every route of the
//! registry. Each case is a sample payload of the route (`events/payloads/{route}/`) with random
//! mutations (leaves replaced by odd strings, numbers, nulls, arrays nested past the parser's
//! depth; keys removed), signed with the route's test secret and sent to its receiver. When the
//! receiver answers 200, the message it queued must be one SQS carries (no U+FFFE/U+FFFF in the
//! body or the attributes), must read back as an ingest message, and must plan without error
//! by the processor's rules: otherwise it would be answered 200, retried and dead-lettered.
//!
//! The run is deterministic (a fixed seed): a failure prints the minimal case, and replays.

use std::path::Path;

use hookline::keyring::LoadedSecrets;
use hookline::message::QueueMessage;
use hookline::providers::{Provider, Route, SignRequest, TEST_SOURCE, WebhookRoute, WebhookScheme};
use hookline::queue::MemoryQueue;
use hookline::receiver::Receiver;
use hookline_tests::events_dir;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::Value;
use time::OffsetDateTime;

const NOW: i64 = 1_795_341_600;

/// Its receiver's scheme with the published test secrets, as `hookline serve` builds it.
fn scheme(provider: Provider) -> Box<dyn WebhookScheme> {
    let mut loaded = LoadedSecrets::default();
    for route in provider.spec().routes {
        loaded.insert(route.secrets, "test", route.secrets.test_value);
    }
    (provider.spec().scheme)(&loaded, &|_| None).expect("the test secrets load")
}

/// The route's sample payloads, with their times set to now (so that age checks pass and the
/// mutations decide).
fn samples(route: &WebhookRoute) -> Vec<Value> {
    let dir = events_dir().join("payloads").join(route.name);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let now = OffsetDateTime::from_unix_timestamp(NOW)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| read_json(path))
        .map(|mut body| {
            for field in ["created_at", "at"] {
                if body.get(field).is_some() {
                    body[field] = Value::from(now.clone());
                }
            }
            body
        })
        .collect()
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// One change to a payload: which node (by index in document order), and what becomes of it.
#[derive(Clone, Debug)]
enum Mutation {
    Text(usize, String),
    Number(usize, i64),
    Null(usize),
    Remove(usize),
    Nest(usize, usize),
}

fn odd_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\u{FFFE}".to_string()),
        Just("a\u{FFFF}b".to_string()),
        Just("tab\there".to_string()),
        Just("bell\u{7}".to_string()),
        Just("a#b".to_string()),
        Just("x".repeat(300)),
        Just("café 1".to_string()),
        "[a-zA-Z0-9_.#-]{1,40}",
        any::<String>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let node = any::<usize>();
    prop_oneof![
        (node, odd_text()).prop_map(|(n, t)| Mutation::Text(n, t)),
        (node, any::<i64>()).prop_map(|(n, v)| Mutation::Number(n, v)),
        node.prop_map(Mutation::Null),
        node.prop_map(Mutation::Remove),
        (node, 100usize..200).prop_map(|(n, d)| Mutation::Nest(n, d)),
    ]
}

/// Pointers to every node below the root, in document order.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                (
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    v,
                )
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{at}/{i}"), v))
            .collect(),
        _ => Vec::new(),
    };
    for (pointer, child) in children {
        out.push(pointer.clone());
        pointers(child, pointer, out);
    }
}

fn apply(body: &mut Value, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(body, String::new(), &mut all);
    let index = match mutation {
        Mutation::Text(n, _)
        | Mutation::Number(n, _)
        | Mutation::Null(n)
        | Mutation::Remove(n)
        | Mutation::Nest(n, _) => *n,
    };
    let Some(pointer) = all.get(index % all.len().max(1)).cloned() else {
        return;
    };
    if let Mutation::Remove(_) = mutation {
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", &pointer));
        let key = key.replace("~1", "/").replace("~0", "~");
        match body.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(&key);
            }
            Some(Value::Array(items)) => {
                if let Ok(i) = key.parse::<usize>()
                    && i < items.len()
                {
                    items.remove(i);
                }
            }
            _ => {}
        }
        return;
    }
    let Some(node) = body.pointer_mut(&pointer) else {
        return;
    };
    *node = match mutation {
        Mutation::Text(_, text) => Value::from(text.clone()),
        Mutation::Number(_, number) => Value::from(*number),
        Mutation::Nest(_, depth) => {
            let mut nested = Value::from(1);
            for _ in 0..*depth {
                nested = Value::Array(vec![nested]);
            }
            nested
        }
        _ => Value::Null,
    };
}

/// What became of one request.
enum Verdict {
    Accepted,
    Refused,
    /// The sample signer itself would not sign it (its own parse refused the body).
    Unsigned,
}

fn send(
    runtime: &tokio::runtime::Runtime,
    provider: Provider,
    route: &WebhookRoute,
    body: &str,
) -> Result<Verdict, TestCaseError> {
    let Ok(signed) = (route.sign)(&SignRequest {
        secret: route.test_secret,
        source: TEST_SOURCE,
        body: body.as_bytes(),
        timestamp: NOW,
        settings: &|_| None,
    }) else {
        return Ok(Verdict::Unsigned);
    };
    let mut headers = http::HeaderMap::new();
    for (name, value) in &signed.headers {
        // A header value HTTP cannot carry (an id with a control character copied into
        // `webhook-id`): no provider could send that request.
        let Ok(value) = http::HeaderValue::from_str(value) else {
            return Ok(Verdict::Unsigned);
        };
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value,
        );
    }
    let path = route.path(signed.path_param.as_deref());
    let receiver = Receiver::new(scheme(provider), MemoryQueue::new());
    let reply = runtime.block_on(receiver.receive_routed(
        &Route {
            path: &path,
            param: signed.path_param.as_deref(),
        },
        &http::Method::POST,
        &headers,
        body.as_bytes(),
        OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
    ));
    if reply.status != 200 {
        prop_assert!(
            receiver.queue().is_empty(),
            "refused ({}) yet queued",
            reply.body
        );
        return Ok(Verdict::Refused);
    }
    let queued = receiver.queue().take(10);
    prop_assert_eq!(queued.len(), 1);
    let outgoing = &queued[0].message;
    let carried = |text: &str| !text.contains(['\u{FFFE}', '\u{FFFF}']);
    prop_assert!(carried(&outgoing.body), "SQS would refuse the body");
    for (name, value) in &outgoing.attributes {
        prop_assert!(
            carried(value) && !value.chars().any(char::is_control),
            "SQS would refuse attribute {}",
            name
        );
    }
    let message = QueueMessage::from_json(&outgoing.body)
        .map_err(|e| TestCaseError::fail(format!("not an ingest message: {e}")))?;
    prop_assert_eq!(
        &message.body,
        &route_stored_body(provider, body),
        "the queued body is the stored body"
    );
    hookline::processor::plan(&message).map_err(|e| {
        TestCaseError::fail(format!(
            "accepted with 200, but the processor fails on it: {e}"
        ))
    })?;
    Ok(Verdict::Accepted)
}

fn route_stored_body(provider: Provider, body: &str) -> String {
    scheme(provider).stored_body(body).into_owned()
}

#[test]
fn whatever_a_receiver_accepts_the_processor_can_take() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (provider, route) in Provider::routes() {
        let samples = samples(route);
        assert!(!samples.is_empty(), "{}: no sample payloads", route.name);
        // Unchanged, every sample is accepted (otherwise the property proves little).
        for sample in &samples {
            let verdict = send(&runtime, provider, route, &sample.to_string());
            assert!(
                matches!(verdict, Ok(Verdict::Accepted)),
                "{}: an unchanged sample was not accepted: {sample}",
                route.name
            );
        }
        let config = Config {
            cases: 200,
            failure_persistence: None,
            ..Config::default()
        };
        let seed = [7u8; 32];
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let counts = std::cell::Cell::new((0usize, 0usize));
        let strategy = (
            0..samples.len(),
            proptest::collection::vec(mutation(), 1..4),
        );
        runner
            .run(&strategy, |(sample, mutations)| {
                let mut body = samples[sample].clone();
                for mutation in &mutations {
                    apply(&mut body, mutation);
                }
                let (accepted, refused) = counts.get();
                match send(&runtime, provider, route, &body.to_string())? {
                    Verdict::Accepted => counts.set((accepted + 1, refused)),
                    Verdict::Refused => counts.set((accepted, refused + 1)),
                    Verdict::Unsigned => {}
                }
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{}: {failure}", route.name));
        let (accepted, refused) = counts.get();
        println!(
            "{}: {accepted} mutated payloads accepted (and planned), {refused} refused",
            route.name
        );
        assert!(
            accepted > 0 && refused > 0,
            "{}: the mutations should both pass and fail the door",
            route.name
        );
    }
}
