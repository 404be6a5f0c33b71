//! Signed requests of any size for every provider of the registry, and the scheme that verifies
//! each: what the criterion benchmark (`benches/verify.rs`) and `verify-ratio` measure. Each
//! provider's request is its first route's smallest sample payload (`events/payloads/`), padded to
//! the size measured and signed with its test secret, so a new provider is measured unasked.

use hookline::keyring::LoadedSecrets;
use hookline::providers::{Provider, Route, SignRequest, TEST_SOURCE, WebhookRoute, WebhookScheme};
use hookline::signature::{Secret, TAG_LEN};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

/// The body sizes measured; 4 KiB carries the budget.
pub const SIZES: [usize; 3] = [1024, 4096, 65536];
/// The size whose ratio has a budget (verify + parse ≤ 1.2 × bare HMAC-SHA256, bench/report.py).
pub const BUDGET_SIZE: usize = 4096;

pub const SECRET: &str = "hookline-bench-secret";
const NOW: i64 = 1_795_341_600;

fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            )
        })
        .collect()
}

/// One provider's requests, and the scheme and route that verify them.
pub struct Case {
    pub provider: &'static str,
    pub scheme: Box<dyn WebhookScheme>,
    route: &'static WebhookRoute,
    path: String,
    param: Option<String>,
    sample: Map<String, Value>,
}

pub fn cases() -> Vec<Case> {
    let payloads = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/payloads");
    Provider::ALL
        .into_iter()
        .map(|provider| {
            let spec = provider.spec();
            let route = &spec.routes[0];
            let mut loaded = LoadedSecrets::default();
            for list in spec.secrets {
                loaded.insert(*list, list.list_var(), list.test_value);
            }
            let scheme = (spec.scheme)(&loaded, &|_| None).expect("the test secrets make a scheme");
            let dir = std::path::Path::new(payloads).join(route.name);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.expect("entry").path())
                .filter(|path| path.extension().is_some_and(|e| e == "json"))
                .collect();
            // The smallest sample: the envelope with the least besides the padding.
            files.sort_by_key(|path| {
                (
                    std::fs::metadata(path).map_or(u64::MAX, |m| m.len()),
                    path.clone(),
                )
            });
            let bytes = std::fs::read(&files[0]).expect("a sample payload");
            let sample: Map<String, Value> =
                serde_json::from_slice(&bytes).expect("a JSON object payload");
            let signed = sign(route, &bytes);
            Case {
                provider: spec.name,
                scheme,
                route,
                path: route.path(signed.path_param.as_deref()),
                param: signed.path_param,
                sample,
            }
        })
        .collect()
}

fn sign(route: &WebhookRoute, body: &[u8]) -> hookline::providers::Signed {
    (route.sign)(&SignRequest {
        secret: route.test_secret,
        source: TEST_SOURCE,
        body,
        timestamp: NOW,
        settings: &|_| None,
    })
    .expect("the test secret signs")
}

impl Case {
    /// A request of `size` bytes: the sample with a padding field, signed as the provider would.
    pub fn make(&self, size: usize) -> (Vec<u8>, HeaderMap) {
        // The bulk of a real payload is its data: the padding goes there when there is one.
        let pad = |sample: &mut Map<String, Value>, note: String| match sample.get_mut("data") {
            Some(Value::Object(data)) => {
                data.insert("note".into(), Value::from(note));
            }
            _ => {
                sample.insert("note".into(), Value::from(note));
            }
        };
        let mut sample = self.sample.clone();
        pad(&mut sample, String::new());
        let bare = serde_json::to_vec(&sample).expect("JSON").len();
        pad(&mut sample, "x".repeat(size.saturating_sub(bare)));
        let body = serde_json::to_vec(&sample).expect("JSON");
        let headers = header_map(&sign(self.route, &body).headers);
        (body, headers)
    }

    /// Verifies and parses one request: the step measured against bare HMAC.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let route = Route {
            path: &self.path,
            param: self.param.as_deref(),
        };
        self.scheme
            .verify_routed(&route, headers, body, NOW)
            .is_ok()
    }
}

/// The body size of the signature-candidates rows: SQS's largest message.
pub const CANDIDATES_BODY: usize = 256 * 1024;

/// A request of `case` whose signature header carries `decoys` wrong signatures before the
/// right one (what an attacker pads a header with), for the two list formats hookline reads:
/// `t=..,v1=..[,v1=..]` and Standard Webhooks' space-separated `v1,..`. `None` for a scheme
/// whose header holds one signature.
pub fn with_decoys(case: &Case, size: usize, decoys: usize) -> Option<(Vec<u8>, HeaderMap)> {
    let (body, mut headers) = case.make(size);
    let (name, padded) = headers.iter().find_map(|(name, value)| {
        let value = value.to_str().ok()?;
        if let (Some((t, v1)), true) = (value.split_once(','), value.starts_with("t=")) {
            let decoy = format!(",v1={}", "0".repeat(64));
            Some((name.clone(), format!("{t}{},{v1}", decoy.repeat(decoys))))
        } else if value.starts_with("v1,") {
            let decoy = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ";
            Some((name.clone(), format!("{}{value}", decoy.repeat(decoys))))
        } else {
            None
        }
    })?;
    headers.insert(name, HeaderValue::from_str(&padded).expect("header value"));
    Some((body, headers))
}

/// The floor: HMAC-SHA256 of the same bytes, keyed for each call.
pub fn bare_hmac(secret: &Secret, body: &[u8]) -> [u8; TAG_LEN] {
    secret.sign(&[body])
}
