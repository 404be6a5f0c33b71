//! hookline's shared library: everything the Lambda functions and the CLI are made of.
//!
//! Receiving:
//! - [`signature`]: HMAC-SHA256 secrets and constant-time verification; [`keyring`]: the
//!   active secrets, swappable at run time; [`secrets_manager`]: loading and refreshing them.
//! - [`providers`]: each provider's webhook scheme (signature, replay window, envelope).
//! - [`receiver`]: the receiver logic shared by every provider, and its Lambda adapter.
//! - [`message`]: the ingest queue message contract; [`queue`]: SQS and in-memory queues.
//!
//! Processing:
//! - [`processor`]: plan, claim, fetch, record, publish, complete; batches and the Lambda adapter.
//! - [`idempotency`]: claim records of events (DynamoDB and in-memory).
//! - [`order_api`]: follow-up fetches of full orders; [`order`]: order identity.
//! - [`order_state`]: order states that never go backwards, wallet movements.
//! - [`order_update`]: the order-updates queue message contract; [`redact`]: masking codes.
//!
//! Polling:
//! - [`watch`]: orders watched where webhooks do not reach, their cadence, the poller.
//!
//! Around both:
//! - [`metrics`], [`telemetry`]: CloudWatch EMF metrics and logging set-up.
//! - [`config`], [`aws`]: environment configuration and AWS SDK set-up; [`dynamo`]: what the
//!   DynamoDB adapters share; [`emulator`]: the
//!   queues and table on a local emulator.
//! - [`dev_defaults`]: the published test secret and local defaults.
//! - [`clock`]: the time source (manual in tests); [`faults`]: failure injection at every call
//!   of every port, for the crash-point tests and the storm.

pub mod aws;
pub mod clock;
pub mod config;
pub mod dev_defaults;
pub mod dynamo;
pub mod emulator;
#[cfg(any(test, feature = "faults"))]
pub mod faults;
pub mod idempotency;
pub mod keyring;
pub mod message;
pub mod metrics;
pub mod order;
pub mod order_api;
pub mod order_state;
pub mod order_update;
pub mod processor;
pub mod providers;
pub mod queue;
pub mod receiver;
pub mod redact;
pub mod secrets_manager;
pub mod signature;
pub mod telemetry;
pub mod watch;
