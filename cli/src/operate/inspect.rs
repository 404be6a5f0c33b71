//! `hookline inspect EVENT_ID`: what hookline knows of one event, from the events table: its
//! claim record (status, attempts, lease, expiry) and the state it changed (order or wallet).
//! The table holds no codes, so everything shown is safe to share.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use hookline::idempotency::event_key;

use crate::operate::aws_target::AwsTarget;

#[derive(Args)]
pub struct InspectArgs {
    /// The provider's event id.
    event_id: String,
    /// The provider as events name it (`octopus`, `owlpay-harbor`, `std:acme`). Default: every
    /// provider with a fixed name is looked up (a Standard Webhooks source must be named).
    #[arg(long)]
    provider: Option<String>,
    /// The events table (the stack's `EventsTableName` output).
    #[arg(long, env = "EVENTS_TABLE", value_parser = NonEmptyStringValueParser::new())]
    table: String,
    #[command(flatten)]
    aws: AwsTarget,
}

type Item = HashMap<String, AttributeValue>;

pub async fn run(args: InspectArgs) -> Result<(), crate::failure::Failure> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&args.aws.sdk_config().await);
    let providers: Vec<String> = match &args.provider {
        Some(provider) => vec![provider.clone()],
        None => hookline::providers::Provider::routes()
            .filter_map(|(_, route)| match route.events {
                hookline::providers::EventNames::Exactly(name) => Some(name.to_string()),
                hookline::providers::EventNames::Prefixed(_) => None,
            })
            .collect(),
    };
    let mut found = None;
    for provider in &providers {
        let key = event_key(provider, &args.event_id);
        if let Some(claim) = get(&dynamodb, &args.table, &key).await? {
            found = Some((key, claim));
            break;
        }
    }
    let Some((key, claim)) = found else {
        return Err(crate::failure::Failure::NotFound(format!(
            "no record of event {} for {} (never received, or expired after its TTL; a Standard Webhooks source needs --provider std:<source>)",
            args.event_id,
            providers.join(", ")
        )));
    };
    print_item(&key, &claim);
    let subject = claim.get("subject_key").and_then(|v| v.as_s().ok());
    if let Some(subject) = subject {
        match get(&dynamodb, &args.table, subject).await? {
            Some(state) => print_item(subject, &state),
            None => println!("\n{subject}: no record"),
        }
    }
    Ok(())
}

/// The events table's record under `key` (a consistent read).
pub async fn get(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
) -> Result<Option<Item>, crate::failure::Failure> {
    dynamodb
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(key.to_string()))
        .consistent_read(true)
        .send()
        .await
        .map(|output| output.item)
        .map_err(|e| crate::failure::Failure::aws(format!("cannot read {table}"), &e))
}

fn print_item(key: &str, item: &Item) {
    println!("{key}");
    let mut names: Vec<&String> = item.keys().filter(|name| *name != "pk").collect();
    names.sort();
    for name in names {
        let value = match &item[name] {
            AttributeValue::S(text) | AttributeValue::N(text) => text.clone(),
            AttributeValue::Bool(b) => b.to_string(),
            other => format!("{other:?}"),
        };
        let shown = match name.as_str() {
            "lease_until" | "expires_at" | "completed_at" => with_date(&value),
            _ => value,
        };
        println!("  {name}: {shown}");
    }
}

/// Epoch seconds with their date, for people.
fn with_date(epoch: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    epoch
        .parse::<i64>()
        .ok()
        .filter(|secs| *secs > 0)
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|at| at.format(&Rfc3339).ok())
        .map(|date| format!("{epoch} ({date})"))
        .unwrap_or_else(|| epoch.to_string())
}
