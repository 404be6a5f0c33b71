//! Verify + parse of each provider's webhook against bare HMAC-SHA256 of the same body, the
//! physical floor of this step. Goal: verify + parse ≤ 1.2 × bare HMAC at 4 KiB.
//!
//! `cargo bench -p verify-bench --bench verify`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hookline::signature::Secret;
use verify_bench::{SECRET, SIZES, bare_hmac, cases};

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

criterion_group!(benches, verify);
criterion_main!(benches);
