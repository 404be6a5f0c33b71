//! hookline's shared library: everything the Lambda functions and the CLI are made of.
//!
//! Layers, each importing only from its own and those below (`shared/tests/module_layers.rs` checks
//! the imports and prints them):
//!
//! 1. Services and their Lambda adapters: [`receiver`], [`processor`], [`poller`].
//! 2. The provider registry, [`providers`]: one module per provider owning its routes, secret
//!    lists, scheme, signer, processing rules, order API paths, watch rules and forwarded fields.
//! 3. Adapters with logic of their own: [`order_api`] (the HTTP client of provider APIs and its
//!    tokens), [`secrets_manager`] (receiver secrets and their refresh), [`archive`] (every
//!    accepted webhook, in S3 or a folder, and its search), [`emulator`].
//! 4. The domain: [`webhook`] (what a scheme is), [`keyring`] (secret lists), [`plan`] (what an
//!    event asks), [`order`], [`order_state`] (states that never go backwards), [`idempotency`]
//!    (claims), [`watch`] (watched orders and their cadence), [`cursor`] (how far a polled list
//!    was read), [`message`] and [`order_update`]
//!    (the two queue contracts), [`test_event`] (what `hookline smoke` sends), [`redact`]; each store with its DynamoDB and memory backends.
//! 5. Ground: [`queue`] (SQS, memory), [`dynamo`], [`store`] (what a store's failure is),
//!    [`signature`] (HMAC, constant time), [`config`], [`clock`], [`aws`], [`metrics`] (the EMF
//!    writer), [`telemetry`], [`dev_defaults`], [`usage`], [`warm_up`] (connections opened at init).
//!
//! Failure injection, the SQS-like harness and the storm live apart, in `simulation/`
//! (`hookline-simulation`), which no Lambda links.

pub mod api_auth;
pub mod api_budget;
pub mod archive;
pub mod aws;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod dev_defaults;
pub mod dynamo;
pub mod emulator;
pub mod idempotency;
pub mod keyring;
pub mod message;
pub mod metrics;
pub mod order;
pub mod order_api;
pub mod order_state;
pub mod order_update;
pub mod plan;
pub mod poller;
pub mod processor;
pub mod providers;
pub mod queue;
pub mod receiver;
pub mod redact;
pub mod retry_after;
pub mod secrets_manager;
pub mod signature;
pub mod store;
pub mod telemetry;
pub mod test_event;
pub mod tls;
pub mod usage;
pub mod warm_up;
pub mod watch;
pub mod webhook;
