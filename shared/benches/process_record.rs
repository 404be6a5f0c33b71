//! The processor's per-record path (plan, claim, fetch, record, publish, complete) with
//! in-memory adapters and an order API that answers at once: hookline's own cost per event.
//!
//! `cargo bench -p hookline --bench process_record`

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hookline::idempotency::MemoryEventStore;
use hookline::message::QueueMessage;
use hookline::order::OrderRef;
use hookline::order_api::{FetchError, OrderApi};
use hookline::order_state::MemoryOrderStateStore;
use hookline::processor::{Processor, ProcessorConfig};
use hookline::queue::MemoryQueue;
use hookline::watch::MemoryWatchStore;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;

/// An order API with the answer in memory.
struct InstantApi(Value);

impl OrderApi for InstantApi {
    async fn fetch(&self, _: &OrderRef, _: Instant) -> Result<Value, FetchError> {
        Ok(self.0.clone())
    }
}

fn process_record(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let processor = Processor {
        events: MemoryEventStore::new(),
        states: MemoryOrderStateStore::new(),
        api: InstantApi(json!({"id": 12345, "status": "DELIVERED",
            "vouchers": [{"code": "BENCH-0001", "pin": "1234"}]})),
        updates: MemoryQueue::new(),
        credentials: None,
        watches: MemoryWatchStore::new(),
        config: ProcessorConfig::default(),
    };
    let next = AtomicU64::new(0);
    c.bench_function("process_record/order_delivered_with_fetch", |b| {
        b.iter(|| {
            // A new order each time: every record is a change to record and publish.
            let n = next.fetch_add(1, Ordering::Relaxed);
            let id = format!("evt_{n}");
            let order = 1_000_000 + n;
            let body = format!(
                r#"{{"id":"{id}","type":"order.delivered","created_at":"2026-11-22T10:00:00Z","data":{{"id":{order},"status":"DELIVERED","quantity":1,"delivered_quantity":1,"amount":50.00}}}}"#
            );
            let message =
                QueueMessage::new("octopus", &id, "order.delivered", OffsetDateTime::now_utc(), body);
            runtime.block_on(async {
                let deadline = Instant::now() + Duration::from_secs(30);
                let outcome = processor.process_message(&message, deadline).await;
                assert!(!outcome.is_failure());
            });
            // Keep the in-memory order-updates queue from growing without bound.
            processor.updates.take(usize::MAX);
        })
    });
}

criterion_group!(benches, process_record);
criterion_main!(benches);
