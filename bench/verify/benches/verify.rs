//! Verify + parse of each provider's webhook against bare HMAC-SHA256 of the same body, the
//! physical floor of this step. Goal: verify + parse ≤ 1.2 × bare HMAC at 4 KiB.
//!
//! Beside it, the JSON check alone (`json_validator`): today's, serde_json reading the id and
//! type and skipping the rest unbuilt (`hookline::webhook`), against sonic-rs (SIMD) reading the
//! same struct, on each provider's 4 KiB body; the faster is the one to keep
//! (docs/src/performance.md).
//!
//! `cargo bench -p verify-bench --bench verify`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hookline::signature::Secret;
use verify_bench::{BUDGET_SIZE, SECRET, SIZES, bare_hmac, cases};

fn verify(c: &mut Criterion) {
    let secret = Secret::new(SECRET);
    for case in cases() {
        let mut group = c.benchmark_group(case.provider);
        for size in SIZES {
            let (body, headers) = case.make(size);
            group.throughput(Throughput::Bytes(body.len() as u64));
            group.bench_with_input(
                BenchmarkId::new("bare_hmac_sha256", size),
                &body,
                |b, body| b.iter(|| bare_hmac(&secret, black_box(body))),
            );
            group.bench_with_input(
                BenchmarkId::new("verify_and_parse", size),
                &body,
                |b, body| b.iter(|| assert!(case.verify(black_box(&headers), black_box(body)))),
            );
        }
        group.finish();
    }
}

/// The envelope the Octopus and Coinme schemes read (`hookline::webhook`); the other fields of
/// every provider's body are skipped, which still checks that they are well-formed.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    event_type: Option<std::borrow::Cow<'a, str>>,
}

fn json_validator(c: &mut Criterion) {
    let mut group = c.benchmark_group("json_validator");
    for case in cases() {
        let (body, _) = case.make(BUDGET_SIZE);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("serde_json", case.provider),
            &body,
            |b, body| {
                b.iter(|| {
                    let envelope: Envelope = serde_json::from_slice(black_box(body)).expect("JSON");
                    black_box((envelope.id, envelope.event_type))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("sonic_rs", case.provider),
            &body,
            |b, body| {
                b.iter(|| {
                    let envelope: Envelope = sonic_rs::from_slice(black_box(body)).expect("JSON");
                    black_box((envelope.id, envelope.event_type))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, verify, json_validator);
criterion_main!(benches);
