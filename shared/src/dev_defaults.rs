//! Embedded defaults for the local pipeline: addresses and local resource names. The published
//! test secrets and API tokens are each provider's (`TEST_SECRET`, `API_TEST_TOKEN` in its module
//! under [`providers`](crate::providers)); a deployed stack never uses them (its secrets are
//! template parameters with no default).

/// Where `hookline serve` listens by default.
pub const LISTEN_ADDR: &str = "127.0.0.1:3000";

/// Name of the ingest queue `hookline serve --aws-endpoint` creates on a local emulator.
pub const LOCAL_INGEST_QUEUE: &str = "hookline-ingest";

/// Where `hookline serve` starts the stand-in provider APIs by default.
pub const PROVIDER_STUB_ADDR: &str = "127.0.0.1:3001";

/// Names `hookline emulator-setup` gives the order-updates queue and the events table.
pub const LOCAL_ORDER_UPDATES_QUEUE: &str = "hookline-order-updates.fifo";
pub const LOCAL_EVENTS_TABLE: &str = "hookline-events";

/// Their dead-letter queues, with the redrive policies `template.yaml` gives them: a message
/// received this many times goes to its DLQ instead of being delivered forever.
pub const LOCAL_INGEST_DLQ: &str = "hookline-ingest-dlq";
pub const LOCAL_ORDER_UPDATES_DLQ: &str = "hookline-order-updates-dlq.fifo";
/// `IngestMaxReceiveCount`'s default.
pub const INGEST_MAX_RECEIVE_COUNT: u32 = 5;
/// The order-updates queue's `maxReceiveCount`.
pub const ORDER_UPDATES_MAX_RECEIVE_COUNT: u32 = 10;

/// The archive key `hookline serve` signs its archive entries with unless given one
/// (`--archive-key`): published, so it proves nothing outside a local stack.
pub const TEST_ARCHIVE_KEY: &str = "hookline-archive-test-key-0123456789abcdef";
