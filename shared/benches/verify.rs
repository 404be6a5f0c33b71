//! Verify + parse of an Octopus webhook against bare HMAC-SHA256 of the same bytes, the
//! physical floor of this step. Goal: verify + parse ≤ 1.2 × bare HMAC at 4 KiB.
//!
//! `cargo bench -p hookline --bench verify`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hookline::providers::WebhookScheme;
use hookline::providers::octopus::{self, OctopusScheme};
use hookline::signature::{Secret, SecretSet};
use http::{HeaderMap, HeaderName, HeaderValue};

const SECRET: &str = "hookline-bench-secret";
const NOW: i64 = 1_795_341_600;

/// An `order.delivered` event padded to `size` bytes with a realistic data field.
fn event_of(size: usize) -> Vec<u8> {
    let head = r#"{"id":"evt_bench","type":"order.delivered","created_at":"2026-11-22T10:00:00Z","data":{"id":12345,"status":"DELIVERED","note":""#;
    let tail = r#""}}"#;
    let padding = size.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(padding)).into_bytes()
}

fn headers_for(body: &[u8]) -> HeaderMap {
    octopus::signed_headers(&Secret::new(SECRET), body, NOW)
        .expect("bench event is valid")
        .into_iter()
        .map(|(name, value)| {
            (
                HeaderName::from_static(name),
                HeaderValue::from_str(&value).expect("header value"),
            )
        })
        .collect()
}

fn verify(c: &mut Criterion) {
    let scheme = OctopusScheme::new(SecretSet::parse(SECRET).expect("secret"));
    let secret = Secret::new(SECRET);
    let mut group = c.benchmark_group("octopus");
    for size in [1024, 4096, 65536] {
        let body = event_of(size);
        let headers = headers_for(&body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("bare_hmac_sha256", size),
            &body,
            |b, body| b.iter(|| secret.sign(&[black_box(body)])),
        );
        group.bench_with_input(
            BenchmarkId::new("verify_and_parse", size),
            &body,
            |b, body| {
                b.iter(|| {
                    scheme
                        .verify(black_box(&headers), black_box(body), NOW)
                        .expect("verifies")
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
