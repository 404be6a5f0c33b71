//! Embedded defaults for the local pipeline and the sample events in `events/`. They are
//! published in the README; a deployed stack never uses them (its secrets are template
//! parameters with no default).

/// Signs every Octopus sample in `events/` and is what `hookline serve` verifies with unless told
/// otherwise.
pub const OCTOPUS_TEST_SECRET: &str = "hookline-octopus-test-secret";

/// Where `hookline serve` listens by default.
pub const LISTEN_ADDR: &str = "127.0.0.1:3000";

/// Name of the ingest queue `hookline serve --aws-endpoint` creates on a local emulator.
pub const LOCAL_INGEST_QUEUE: &str = "hookline-ingest";

/// The bearer token the local stand-in Octopus API expects, and `hookline serve` sends.
pub const OCTOPUS_API_TEST_TOKEN: &str = "hookline-octopus-api-test-token";

/// Where `hookline serve` starts the stand-in Octopus API by default.
pub const PROVIDER_STUB_ADDR: &str = "127.0.0.1:3001";

/// Names `hookline emulator-setup` gives the order-updates queue and the events table.
pub const LOCAL_ORDER_UPDATES_QUEUE: &str = "hookline-order-updates.fifo";
pub const LOCAL_EVENTS_TABLE: &str = "hookline-events";

/// Sign the samples of the other providers in `events/`; `hookline serve` verifies with them.
pub const COINME_TEST_SECRET: &str = "hookline-coinme-test-secret";
pub const OWLPAY_TEST_SECRET: &str = "hookline-owlpay-test-secret";
pub const OWLPAY_HARBOR_TEST_SECRET: &str = "hookline-harbor-test-secret";
/// The Optty route's path token: `/webhooks/optty/hookline-optty-test-path-token`.
pub const OPTTY_TEST_TOKEN: &str = "hookline-optty-test-path-token";
/// The Standard Webhooks test source and its secret (`whsec_` + base64 of
/// `hookline-std-test-secret`).
pub const STD_TEST_SOURCE: &str = "acme";
pub const STD_TEST_SECRET: &str = "whsec_aG9va2xpbmUtc3RkLXRlc3Qtc2VjcmV0";
/// The bearer token the stand-in Optty API expects.
pub const OPTTY_API_TEST_KEY: &str = "hookline-optty-api-test-key";
