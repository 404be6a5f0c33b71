//! Properties over arbitrary input: no verifier, parser or planner panics on any bytes, headers
//! or route; and a correctly signed body is never refused for its signature, only (at most) for
//! its shape.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

use hookline::message::QueueMessage;
use hookline::processor::{parse_message, plan};
use hookline::providers::coinme::{self, CoinmeOptions, CoinmeScheme, Encoding};
use hookline::providers::octopus::{self, OctopusScheme};
use hookline::providers::optty::{self, OpttyScheme};
use hookline::providers::owlpay::{self, OwlPayScheme, Variant};
use hookline::providers::standard_webhooks::{self, StandardWebhooksScheme};
use hookline::providers::{Rejection, Route, WebhookScheme};
use hookline::signature::{Secret, SecretSet};

const SECRET: &str = "property-test-secret";
const STD_SECRET: &str = "whsec_cHJvcGVydHktc3RkLXNlY3JldC0yNC1i";

/// Header names the schemes read, and a few they do not.
const NAMES: &[&str] = &[
    "x-signature",
    "x-timestamp",
    "x-event-id",
    "x-event-type",
    "x-coinme-signature",
    "owlpay-signature",
    "harbor-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
];

fn headers() -> impl Strategy<Value = HeaderMap> {
    // Values from printable ASCII and the shapes signatures take, so the parsers get past
    // their first checks often.
    let value = prop_oneof![
        "[ -~]{0,80}",
        "t=[0-9]{0,12},v1=[0-9a-f]{0,70}(,v1=[0-9a-f]{64})?",
        "(v1|v2),[A-Za-z0-9+/=]{0,48}( v1,[A-Za-z0-9+/=]{44})?",
        "[0-9]{0,20}",
    ];
    proptest::collection::vec((proptest::sample::select(NAMES), value), 0..8).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(&value) {
                map.append(HeaderName::from_static(name), value);
            }
        }
        map
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        // JSON-ish text reaches the envelope parsers.
        r#"\{("(id|type|uuid|event|at|data|status|orderReference|transactionId)":("[ -~]{0,20}"|[0-9]{1,14}|null|\{\}),?){0,6}\}"#
            .prop_map(String::into_bytes),
    ]
}

fn schemes() -> Vec<Box<dyn WebhookScheme>> {
    let set = || SecretSet::parse(SECRET).unwrap();
    vec![
        Box::new(OctopusScheme::new(set())),
        Box::new(CoinmeScheme::new(set(), CoinmeOptions::default())),
        Box::new(CoinmeScheme::new(
            set(),
            CoinmeOptions {
                encoding: Encoding::Hex,
                ..CoinmeOptions::default()
            },
        )),
        Box::new(OwlPayScheme::new(set(), Some(set()))),
        Box::new(OpttyScheme::new(set())),
        Box::new(StandardWebhooksScheme::single(
            "acme",
            standard_webhooks::parse_secrets(STD_SECRET).unwrap(),
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_scheme_panics_on_arbitrary_requests(
        headers in headers(),
        body in body(),
        now in any::<i64>(),
        path in "(/webhooks/[a-z-]{0,16}){0,2}",
        param in proptest::option::of("[ -~]{0,40}"),
    ) {
        let route = Route { path: &path, param: param.as_deref() };
        for scheme in schemes() {
            let _ = scheme.verify_routed(&route, &headers, &body, now);
        }
    }

    #[test]
    fn no_parser_panics_on_arbitrary_bytes(body in body(), text in "[ -~]{0,200}") {
        let _ = octopus::parse_envelope(&body);
        let _ = coinme::parse_envelope(&body);
        let _ = owlpay::parse_envelope(&body);
        let _ = optty::parse_notification(&body);
        let _ = optty::order_reference(&body);
        let _ = SecretSet::parse(&text);
        let _ = standard_webhooks::parse_secrets(&text);
        let _ = standard_webhooks::parse_sources(&text);
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) {
            let _ = coinme::at_millis(&value);
        }
    }

    #[test]
    fn no_planner_panics_on_arbitrary_messages(
        provider in proptest::sample::select(vec![
            "octopus", "coinme", "owlpay", "owlpay-harbor", "optty", "std:acme", "other",
        ]),
        event_type in "[a-zA-Z_.]{0,24}",
        body in body(),
        envelope in "[ -~]{0,200}",
    ) {
        let message = QueueMessage {
            v: 1,
            provider: provider.to_string(),
            event_id: "e".into(),
            event_type,
            received_at: "2026-11-22T10:00:00Z".into(),
            body: String::from_utf8_lossy(&body).into_owned(),
            ..QueueMessage::default()
        };
        let _ = plan(&message);
        let _ = parse_message(&envelope);
    }

    #[test]
    fn a_correctly_signed_body_is_only_ever_refused_for_its_shape(
        body in body(),
        timestamp in 1_000_000_000i64..4_000_000_000,
    ) {
        let secret = Secret::new(SECRET);
        let set = || SecretSet::parse(SECRET).unwrap();
        let not_signature = |result: Result<_, Rejection>| match result {
            Ok(_) | Err(Rejection::Malformed(_)) => Ok(()),
            Err(other) => Err(other),
        };
        let to_map = |pairs: Vec<(String, String)>| -> HeaderMap {
            pairs.into_iter().map(|(n, v)| {
                (HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(&v).unwrap())
            }).collect()
        };
        let route = Route { path: "/webhooks/owlpay", param: None };

        let coinme = CoinmeScheme::new(set(), CoinmeOptions::default());
        let headers = to_map(coinme::signed_headers(&secret, &body, &CoinmeOptions::default()));
        prop_assert!(not_signature(coinme.verify_routed(&route, &headers, &body, timestamp)).is_ok());

        let owlpay = OwlPayScheme::new(set(), None::<SecretSet>);
        let pairs = owlpay::signed_headers(Variant::OwlPay, &secret, &body, timestamp);
        let headers = to_map(pairs.into_iter().map(|(n, v)| (n.to_string(), v)).collect());
        prop_assert!(not_signature(owlpay.verify_routed(&route, &headers, &body, timestamp)).is_ok());

        let std_secrets = standard_webhooks::parse_secrets(STD_SECRET).unwrap();
        let std = StandardWebhooksScheme::single("acme", std_secrets.clone());
        let pairs = standard_webhooks::signed_headers(&std_secrets, "msg_1", timestamp, &body);
        let headers = to_map(pairs.into_iter().map(|(n, v)| (n.to_string(), v)).collect());
        let at_acme = Route { path: "/webhooks/std/acme", param: Some("acme") };
        prop_assert!(not_signature(std.verify_routed(&at_acme, &headers, &body, timestamp)).is_ok());
    }
}
