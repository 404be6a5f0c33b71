//! The quick check of the verify budget, for CI: verify + parse against bare HMAC-SHA256 at
//! 4 KiB for every scheme, as ratios measured side by side in one process. Ratios, not times,
//! because CI machines differ; criterion (`benches/verify.rs`) gives the full figures.
//!
//! `target/release/verify-ratio > ratios.json`

use std::hint::black_box;
use std::time::Instant;

use hookline::signature::{MAX_SIGNATURE_CANDIDATES, Secret};
use serde_json::json;
use verify_bench::{BUDGET_SIZE, CANDIDATES_BODY, SECRET, bare_hmac, cases, with_decoys};

/// Trials per scheme; each times a batch of bare HMACs and a batch of verifies back to back, so
/// the machine's speed at that moment cancels out of their ratio.
const TRIALS: usize = 41;
/// Roughly how long one batch runs.
const BATCH_NANOS: f64 = 2_000_000.0;

fn nanos_per_call(calls: u32, mut call: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        call();
    }
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Times `base` and `measured` in alternating batches of `calls` over [`TRIALS`] trials (which
/// goes first alternates, so neither always gets the warmer cache or clock): the median
/// nanoseconds per call of each, and the median of their per-trial ratio `measured / base`.
fn side_by_side(
    calls: u32,
    base: &mut impl FnMut(),
    measured: &mut impl FnMut(),
) -> (f64, f64, f64) {
    let (mut base_ns, mut measured_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for trial in 0..TRIALS {
        let (b, m) = if trial % 2 == 0 {
            let b = nanos_per_call(calls, &mut *base);
            (b, nanos_per_call(calls, &mut *measured))
        } else {
            let m = nanos_per_call(calls, &mut *measured);
            (nanos_per_call(calls, &mut *base), m)
        };
        base_ns.push(b);
        measured_ns.push(m);
        ratios.push(m / b);
    }
    (median(base_ns), median(measured_ns), median(ratios))
}

fn main() {
    let secret = Secret::new(SECRET);
    let mut rows = Vec::new();
    for case in cases() {
        let (body, headers) = case.make(BUDGET_SIZE);

        let mut bare = || {
            black_box(bare_hmac(&secret, black_box(&body)));
        };
        let mut verify = || assert!(case.verify(black_box(&headers), black_box(&body)));
        // Warm up, and size the batches from the bare HMAC's cost.
        let per_call = nanos_per_call(2_000, &mut bare);
        nanos_per_call(2_000, &mut verify);
        let calls = (BATCH_NANOS / per_call).clamp(100.0, 1_000_000.0) as u32;

        let (bare_ns, verify_ns, ratio) = side_by_side(calls, &mut bare, &mut verify);
        rows.push(json!({
            "provider": case.provider,
            "size": BUDGET_SIZE,
            "bare_hmac_ns": bare_ns,
            "verify_and_parse_ns": verify_ns,
            "ratio": ratio,
        }));
    }
    // The cost of a signature list: the most candidates a header may carry against one, over
    // the same 256 KiB body. One MAC per secret whatever the count: the ratio stays near 1.
    for case in cases() {
        let Some((body, one)) = with_decoys(&case, CANDIDATES_BODY, 0) else {
            continue;
        };
        let (_, most) = with_decoys(&case, CANDIDATES_BODY, MAX_SIGNATURE_CANDIDATES - 1)
            .expect("the same header format");
        let mut verify_one = || assert!(case.verify(black_box(&one), black_box(&body)));
        let mut verify_most = || assert!(case.verify(black_box(&most), black_box(&body)));
        let per_call = nanos_per_call(20, &mut verify_one);
        nanos_per_call(20, &mut verify_most);
        let calls = (BATCH_NANOS / per_call).clamp(5.0, 1_000.0) as u32;
        let (one_ns, most_ns, ratio) = side_by_side(calls, &mut verify_one, &mut verify_most);
        rows.push(json!({
            "provider": case.provider,
            "kind": "candidates",
            "size": CANDIDATES_BODY,
            "candidates": MAX_SIGNATURE_CANDIDATES,
            "one_candidate_ns": one_ns,
            "max_candidates_ns": most_ns,
            "ratio": ratio,
        }));
    }
    println!("{}", serde_json::Value::Array(rows));
}
