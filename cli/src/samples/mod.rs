//! Make what the tests and the templates use: signed requests, SQS batches, the provider
//! registry as JSON, the receivers' part of `template.yaml`.

use std::path::PathBuf;

use clap::Args;
use hookline::providers::{DEFAULT_ROUTE, TEST_SOURCE};

use crate::provider_args::{RouteArg, parse_route};

pub mod apigw_event;
pub mod providers;
pub mod sign;
pub mod sqs_event;
pub mod template;

/// The payload files of one route and when they were sent: what `sign` and `sqs-event` share.
#[derive(Args)]
pub struct Payloads {
    /// Payload files, used byte for byte (`sqs-event`: one record each; repeat a file for a
    /// duplicate delivery).
    #[arg(required = true)]
    pub payloads: Vec<PathBuf>,
    /// Whose payloads: a webhook route's name (`hookline providers --list`); each payload is
    /// checked as that route's receiver would.
    #[arg(long, value_parser = parse_route, default_value = DEFAULT_ROUTE)]
    pub provider: RouteArg,
    /// Per-source routes (Standard Webhooks): the sender's source name (the route's `{source}`).
    #[arg(long, default_value = TEST_SOURCE)]
    pub source: String,
    /// When they were sent (signed, then accepted), unix seconds. Defaults to now.
    #[arg(long)]
    pub timestamp: Option<i64>,
}
