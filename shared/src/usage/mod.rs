//! What hookline asks of AWS, counted: every AWS request by service and operation, Lambda
//! invocations with their billed durations, requests through the webhook ingress, and the bytes
//! of log lines and EMF lines written. [`crate::cost`] turns a [`Usage`] into dollars.
//!
//! The tallies are process-wide: the benchmark that reads them (`hookline bench-cost`) is a
//! process of its own. AWS requests are counted by the SDK's HTTP client ([`http`]), one per
//! attempt, as AWS bills them; only a configuration built with
//! [`crate::aws::for_emulator_counted`] counts them, so the Lambdas never pay for it.

pub mod http;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Requests of one AWS operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallTally {
    /// HTTP requests sent (every attempt, retries included).
    pub requests: u64,
    /// What the service bills them as: SQS counts each 64 KiB chunk of a request's payload as one
    /// request; everything else counts requests.
    pub billed: u64,
    /// Request bytes sent.
    pub bytes: u64,
}

/// Invocations of one function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InvocationTally {
    pub invocations: u64,
    /// Sum of the durations, each rounded up to the millisecond as Lambda bills.
    pub billed_ms: u64,
}

/// Where a written line goes in CloudWatch Logs: both are billed as log ingestion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogStream {
    /// Application log lines (`tracing`).
    Log,
    /// Embedded Metric Format lines.
    Emf,
}

/// A snapshot of the tallies.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// By (service, operation), e.g. ("SQS FIFO", "SendMessage").
    pub calls: BTreeMap<(String, String), CallTally>,
    /// By function name.
    pub invocations: BTreeMap<String, InvocationTally>,
    /// Requests through the webhook ingress (API Gateway or a function URL).
    pub ingress_requests: u64,
    pub log_bytes: u64,
    pub log_lines: u64,
    pub emf_bytes: u64,
    pub emf_lines: u64,
}

impl Usage {
    /// The tally of `service`'s `operation` (zero when never called).
    pub fn call(&self, service: &str, operation: &str) -> CallTally {
        self.calls
            .get(&(service.to_string(), operation.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// Billed requests of `service`, all operations.
    pub fn billed(&self, service: &str) -> u64 {
        self.calls
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|(_, t)| t.billed)
            .sum()
    }

    /// Billed requests of `service` whose operation is one of `operations`.
    pub fn billed_of(&self, service: &str, operations: &[&str]) -> u64 {
        operations
            .iter()
            .map(|op| self.call(service, op).billed)
            .sum()
    }

    pub fn invocations(&self, function: &str) -> InvocationTally {
        self.invocations.get(function).copied().unwrap_or_default()
    }
}

struct Tallies {
    calls: BTreeMap<(String, String), CallTally>,
    invocations: BTreeMap<String, InvocationTally>,
}

static TALLIES: Mutex<Tallies> = Mutex::new(Tallies {
    calls: BTreeMap::new(),
    invocations: BTreeMap::new(),
});
static INGRESS: AtomicU64 = AtomicU64::new(0);
static LOG_BYTES: AtomicU64 = AtomicU64::new(0);
static LOG_LINES: AtomicU64 = AtomicU64::new(0);
static EMF_BYTES: AtomicU64 = AtomicU64::new(0);
static EMF_LINES: AtomicU64 = AtomicU64::new(0);

fn tallies() -> std::sync::MutexGuard<'static, Tallies> {
    // A panic while counting leaves the counts as they were: still usable.
    TALLIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counts one AWS request.
pub fn record_call(service: &str, operation: &str, billed: u64, bytes: u64) {
    let mut tallies = tallies();
    let tally = tallies
        .calls
        .entry((service.to_string(), operation.to_string()))
        .or_default();
    tally.requests += 1;
    tally.billed += billed;
    tally.bytes += bytes;
}

/// Counts one invocation of `function` that ran for `duration`.
pub fn record_invocation(function: &str, duration: Duration) {
    let billed_ms = u64::try_from(duration.as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
    let mut tallies = tallies();
    let tally = tallies.invocations.entry(function.to_string()).or_default();
    tally.invocations += 1;
    tally.billed_ms += billed_ms.max(1);
}

/// Counts one request through the webhook ingress.
pub fn record_ingress_request() {
    INGRESS.fetch_add(1, Ordering::Relaxed);
}

/// Counts one line of `bytes` (its newline included) written to CloudWatch Logs.
pub fn record_log_line(stream: LogStream, bytes: usize) {
    let (total, lines) = match stream {
        LogStream::Log => (&LOG_BYTES, &LOG_LINES),
        LogStream::Emf => (&EMF_BYTES, &EMF_LINES),
    };
    total.fetch_add(bytes as u64, Ordering::Relaxed);
    lines.fetch_add(1, Ordering::Relaxed);
}

/// The tallies so far.
pub fn snapshot() -> Usage {
    let tallies = tallies();
    Usage {
        calls: tallies.calls.clone(),
        invocations: tallies.invocations.clone(),
        ingress_requests: INGRESS.load(Ordering::Relaxed),
        log_bytes: LOG_BYTES.load(Ordering::Relaxed),
        log_lines: LOG_LINES.load(Ordering::Relaxed),
        emf_bytes: EMF_BYTES.load(Ordering::Relaxed),
        emf_lines: EMF_LINES.load(Ordering::Relaxed),
    }
}

/// Starts the tallies again from zero (after a benchmark's set-up).
pub fn reset() {
    let mut tallies = tallies();
    tallies.calls.clear();
    tallies.invocations.clear();
    for counter in [&INGRESS, &LOG_BYTES, &LOG_LINES, &EMF_BYTES, &EMF_LINES] {
        counter.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_billed_by_the_millisecond_rounded_up() {
        // The only test that counts calls and invocations; log lines are written by others too.
        reset();
        record_invocation("f", Duration::from_micros(1));
        record_invocation("f", Duration::from_micros(1_001));
        record_invocation("f", Duration::from_millis(3));
        record_call("SQS", "SendMessage", 2, 70_000);
        record_call("SQS", "SendMessage", 1, 10);
        record_log_line(LogStream::Log, 100);
        record_log_line(LogStream::Emf, 50);
        record_ingress_request();
        let usage = snapshot();
        assert_eq!(
            usage.invocations("f"),
            InvocationTally {
                invocations: 3,
                billed_ms: 1 + 2 + 3
            }
        );
        assert_eq!(
            usage.call("SQS", "SendMessage"),
            CallTally {
                requests: 2,
                billed: 3,
                bytes: 70_010
            }
        );
        assert_eq!(usage.billed("SQS"), 3);
        // Other tests write log lines meanwhile: at least these.
        assert!(usage.log_bytes >= 100 && usage.emf_bytes >= 50);
        assert_eq!(usage.ingress_requests, 1);
        reset();
        assert!(snapshot().calls.is_empty());
    }
}
