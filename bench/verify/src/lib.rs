//! Signed requests of any size for every provider scheme, and the scheme that verifies each:
//! what the criterion benchmark (`benches/verify.rs`) and `verify-ratio` measure.

use hookline::providers::coinme::{self, CoinmeOptions, CoinmeScheme};
use hookline::providers::octopus::{self, OctopusScheme};
use hookline::providers::optty::OpttyScheme;
use hookline::providers::owlpay::{self, OwlPayScheme, Variant};
use hookline::providers::standard_webhooks::{self, StandardWebhooksScheme};
use hookline::providers::{Route, WebhookScheme};
use hookline::signature::{Secret, SecretSet, TAG_LEN};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The body sizes measured; 4 KiB carries the budget.
pub const SIZES: [usize; 3] = [1024, 4096, 65536];
/// The size whose ratio has a budget (verify + parse ≤ 1.2 × bare HMAC-SHA256, bench/report.py).
pub const BUDGET_SIZE: usize = 4096;

pub const SECRET: &str = "hookline-bench-secret";
const STD_SECRET: &str = "whsec_aG9va2xpbmUtYmVuY2gtc3RkLXNlY3JldA==";
const NOW: i64 = 1_795_341_600;

/// A JSON body padded to `size` bytes with a realistic data field.
fn padded(head: &str, size: usize) -> Vec<u8> {
    let tail = r#""}}"#;
    let padding = size.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(padding)).into_bytes()
}

fn header_map<N: AsRef<str>>(pairs: Vec<(N, String)>) -> HeaderMap {
    pairs
        .into_iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_ref().as_bytes()).expect("header name"),
                HeaderValue::from_str(&value).expect("header value"),
            )
        })
        .collect()
}

/// One provider's request of a given size, signed, and the scheme and route that verify it.
pub struct Case {
    pub provider: &'static str,
    pub scheme: Box<dyn WebhookScheme>,
    pub route: Route<'static>,
    pub make: fn(usize) -> (Vec<u8>, HeaderMap),
}

pub fn cases() -> Vec<Case> {
    let set = || SecretSet::parse(SECRET).expect("secret");
    vec![
        Case {
            provider: "octopus",
            scheme: Box::new(OctopusScheme::new(set())),
            route: Route::default(),
            make: |size| {
                let body = padded(
                    r#"{"id":"evt_bench","type":"order.delivered","created_at":"2026-11-22T10:00:00Z","data":{"id":12345,"status":"DELIVERED","note":""#,
                    size,
                );
                let headers =
                    octopus::signed_headers(&Secret::new(SECRET), &body, NOW).expect("valid");
                (body, header_map(headers))
            },
        },
        Case {
            provider: "coinme",
            scheme: Box::new(CoinmeScheme::new(set(), CoinmeOptions::default())),
            route: Route::default(),
            make: |size| {
                let body = padded(
                    r#"{"id":"5bca79f9-5718-4602-be41-8d45ca8cecfd","type":"CAAS","at":"2025-07-18T17:11:20Z","data":{"transactionId":"1263543643131744256","note":""#,
                    size,
                );
                let headers =
                    coinme::signed_headers(&Secret::new(SECRET), &body, &CoinmeOptions::default());
                (body, header_map(headers))
            },
        },
        Case {
            provider: "owlpay",
            scheme: Box::new(OwlPayScheme::new(set(), None::<SecretSet>)),
            route: Route {
                path: "/webhooks/owlpay",
                param: None,
            },
            make: |size| {
                let body = padded(
                    r#"{"uuid":"8f1c2a4e-6b3d-4e8f-9a7c-1d2e3f4a5b6c","event":"order.received","data":{"order":{"uuid":"ord_1"},"note":""#,
                    size,
                );
                let headers =
                    owlpay::signed_headers(Variant::OwlPay, &Secret::new(SECRET), &body, NOW);
                (body, header_map(headers))
            },
        },
        Case {
            provider: "std",
            scheme: Box::new(StandardWebhooksScheme::single(
                "acme",
                standard_webhooks::parse_secrets(STD_SECRET).expect("whsec"),
            )),
            route: Route {
                path: "/webhooks/std/acme",
                param: Some("acme"),
            },
            make: |size| {
                let body = padded(
                    r#"{"type":"invoice.paid","data":{"id":"inv_1","note":""#,
                    size,
                );
                let secrets = standard_webhooks::parse_secrets(STD_SECRET).expect("whsec");
                let headers = standard_webhooks::signed_headers(&secrets, "msg_1", NOW, &body);
                (body, header_map(headers))
            },
        },
        Case {
            provider: "optty",
            scheme: Box::new(OpttyScheme::new(set())),
            route: Route {
                path: "/webhooks/optty/hookline-bench-secret",
                param: Some(SECRET),
            },
            make: |size| {
                let body = padded(
                    r#"{"event":"ORDER_STATUS_UPDATE","status":"SUCCESSFUL","transactionId":"t-1","orderReference":"ord-1","metaData":{"note":""#,
                    size,
                );
                (body, HeaderMap::new())
            },
        },
    ]
}

impl Case {
    /// Verifies and parses one request: the step measured against bare HMAC.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        self.scheme
            .verify_routed(&self.route, headers, body, NOW)
            .is_ok()
    }
}

/// The body size of the signature-candidates rows: SQS's largest message.
pub const CANDIDATES_BODY: usize = 256 * 1024;

/// A request of `case` (OwlPay or Standard Webhooks) whose signature header carries `decoys`
/// wrong signatures before the right one: what an attacker pads a header with.
pub fn with_decoys(case: &Case, size: usize, decoys: usize) -> (Vec<u8>, HeaderMap) {
    let (body, mut headers) = (case.make)(size);
    let (name, padded) = match case.provider {
        "owlpay" => {
            let value = headers[owlpay::SIGNATURE_HEADER]
                .to_str()
                .expect("ascii")
                .to_string();
            let (t, v1) = value.split_once(',').expect("t=..,v1=..");
            let decoy = format!(",v1={}", "0".repeat(64));
            (
                owlpay::SIGNATURE_HEADER,
                format!("{t}{}{},{v1}", decoy.repeat(decoys), ""),
            )
        }
        "std" => {
            let name = standard_webhooks::SIGNATURE_HEADER;
            let value = headers[name].to_str().expect("ascii").to_string();
            let decoy = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ";
            (name, format!("{}{value}", decoy.repeat(decoys)))
        }
        other => panic!("{other} has no signature list"),
    };
    headers.insert(name, HeaderValue::from_str(&padded).expect("header value"));
    (body, headers)
}

/// The floor: HMAC-SHA256 of the same bytes, keyed for each call.
pub fn bare_hmac(secret: &Secret, body: &[u8]) -> [u8; TAG_LEN] {
    secret.sign(&[body])
}
