//! `hookline watch`: registers an order for the poller to watch, either in a running
//! `hookline serve` (`--serve`, the default) or directly in a stack's events table (`--table`,
//! with the caller's AWS credentials; client systems use the IAM-authorised `POST /orders/watch`).
//! Registering an eSIM again re-arms its install watch (the customer says they installed it).

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, ValueEnum};
use hookline::dev_defaults::LISTEN_ADDR;
use hookline::poller::registration;
use hookline::watch::DynamoWatchStore;
use serde_json::json;
use time::OffsetDateTime;

use crate::operate::aws_target::AwsTarget;

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Voucher,
    Esim,
    /// A gaming top-up or mobile recharge.
    Topup,
}

#[derive(Args)]
pub struct WatchArgs {
    #[arg(long, value_enum)]
    kind: Kind,
    /// The Octopus order id.
    #[arg(long)]
    order_id: u64,
    /// Your own reference for the order, kept on the watch.
    #[arg(long)]
    reference: Option<String>,
    /// A running `hookline serve` to register with.
    #[arg(long, default_value_t = format!("http://{LISTEN_ADDR}"), conflicts_with = "table")]
    serve: String,
    /// Register directly in this events table instead (the stack's `EventsTableName`).
    #[arg(long, env = "EVENTS_TABLE", value_parser = NonEmptyStringValueParser::new())]
    table: Option<String>,
    /// With --table: how long until the watch gives up, in seconds.
    #[arg(long, default_value_t = hookline::watch::DEFAULT_GIVE_UP_SECS)]
    give_up_after: i64,
    #[command(flatten)]
    aws: AwsTarget,
}

pub async fn run(args: WatchArgs) -> Result<(), crate::failure::Failure> {
    let kind = match args.kind {
        Kind::Voucher => "voucher",
        Kind::Esim => "esim",
        Kind::Topup => "topup",
    };
    let request =
        json!({"kind": kind, "order_id": args.order_id, "client_reference": args.reference})
            .to_string();
    let (status, body) = match &args.table {
        Some(table) => {
            let dynamodb = aws_sdk_dynamodb::Client::new(&args.aws.sdk_config().await);
            let store = DynamoWatchStore::new(dynamodb, table);
            let now = OffsetDateTime::now_utc().unix_timestamp();
            registration::register(&store, request.as_bytes(), now, args.give_up_after).await
        }
        None => {
            let url = format!("{}/orders/watch", args.serve.trim_end_matches('/'));
            let response = hookline::tls::http_client()
                .map_err(|e| format!("HTTP client: {e}"))?
                .post(&url)
                .header("content-type", "application/json")
                .body(request)
                .send()
                .await
                .map_err(|e| format!("cannot reach {url}: {e} (is `hookline serve` running?)"))?;
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    println!("{body}");
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(crate::failure::Failure::CheckFailed(format!(
            "not registered (HTTP {status})"
        )))
    }
}
