//! `hookline redrive`: moves messages from a dead-letter queue back to its source queue, once
//! the cause is fixed. `--dry-run` lists them instead (provider, event id, type, receive count,
//! first failure) and leaves them where they are. Bodies are never printed: they may hold codes.
//!
//! A message is deleted from the dead-letter queue only after the source queue accepted its copy,
//! so an interrupted redrive loses nothing (at worst a message is in both, and the processor's
//! dedupe makes the second a duplicate).
//!
//! A FIFO copy keeps its group but gets a deduplication id of its own: SQS silently drops a
//! message whose deduplication id it saw in the last five minutes, so reusing the original's would
//! let the copy vanish while the DLQ's was deleted. The new id is derived from the original's and
//! the dead letter's message id, so retrying an interrupted redrive of the same dead letter is
//! still deduplicated. Consumers deduplicate on the body's identity (`event_id`, and `part` of a
//! split order update), never on the SQS id.

use std::collections::HashSet;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use clap::Args;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::operate::aws_target::AwsTarget;

#[derive(Args)]
pub struct RedriveArgs {
    /// URL of the dead-letter queue to take messages from.
    #[arg(long)]
    from: String,
    /// URL of the queue to put them back on (the DLQ's source queue).
    #[arg(long)]
    to: String,
    /// List what would move; move nothing.
    #[arg(long)]
    dry_run: bool,
    /// Stop after this many messages.
    #[arg(long, default_value_t = 1000)]
    max: usize,
    #[command(flatten)]
    aws: AwsTarget,
}

/// How long a listed message stays hidden from other consumers while we hold it.
const HOLD_SECS: i32 = 60;

pub async fn run(args: RedriveArgs) -> Result<(), crate::failure::Failure> {
    let sqs = Client::new(&args.aws.sdk_config().await);
    let mut seen = HashSet::new();
    let mut held = Vec::new();
    println!("message_id\tprovider\tevent_id\tevent_type\treceive_count\tfirst_failure");
    while seen.len() < args.max {
        let wanted = (args.max - seen.len()).min(10) as i32;
        let messages = sqs
            .receive_message()
            .queue_url(&args.from)
            .max_number_of_messages(wanted)
            .visibility_timeout(HOLD_SECS)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| crate::failure::Failure::aws(format!("cannot read {}", args.from), &e))?
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let id = message.message_id.clone().unwrap_or_default();
            if !seen.insert(id.clone()) {
                continue;
            }
            println!("{}", summary(&message));
            if args.dry_run {
                held.push(message.receipt_handle.unwrap_or_default());
            } else {
                move_message(&sqs, &args, &message).await?;
            }
        }
    }
    // Dry run: make what was listed visible again at once.
    for receipt in held {
        let _ = sqs
            .change_message_visibility()
            .queue_url(&args.from)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await;
    }
    let verb = if args.dry_run { "would move" } else { "moved" };
    eprintln!(
        "{verb} {} message(s) from {} to {}",
        seen.len(),
        args.from,
        args.to
    );
    Ok(())
}

async fn move_message(sqs: &Client, args: &RedriveArgs, message: &Message) -> Result<(), String> {
    let system = message.attributes.clone().unwrap_or_default();
    let send = sqs
        .send_message()
        .queue_url(&args.to)
        .message_body(message.body.clone().unwrap_or_default())
        .set_message_attributes(message.message_attributes.clone())
        // FIFO queues (order updates) keep their group; see the module docs for the id.
        .set_message_group_id(
            system
                .get(&MessageSystemAttributeName::MessageGroupId)
                .cloned(),
        )
        .set_message_deduplication_id(
            system
                .get(&MessageSystemAttributeName::MessageDeduplicationId)
                .map(|original| redrive_deduplication_id(original, message)),
        );
    send.send().await.map_err(|e| {
        format!(
            "cannot send to {}: {}; the message stays in the DLQ",
            args.to,
            hookline::aws::explain(&e)
        )
    })?;
    sqs.delete_message()
        .queue_url(&args.from)
        .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
        .send()
        .await
        .map_err(|e| {
            format!(
                "sent a copy to {} but cannot delete it from {}: {}; it will be a duplicate",
                args.to,
                args.from,
                hookline::aws::explain(&e)
            )
        })?;
    Ok(())
}

/// A deduplication id for the redriven copy: new to SQS, the same for the same dead letter.
fn redrive_deduplication_id(original: &str, message: &Message) -> String {
    let dead_letter = message.message_id.as_deref().unwrap_or_default();
    hookline::idempotency::body_sha256(format!("{original}#redrive#{dead_letter}").as_bytes())
}

/// One line about a message: identity and history, never its body.
fn summary(message: &Message) -> String {
    let body: serde_json::Value = message
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    let field = |name: &str| body[name].as_str().unwrap_or("?").to_string();
    let system = message.attributes.clone().unwrap_or_default();
    let receives = system
        .get(&MessageSystemAttributeName::ApproximateReceiveCount)
        .cloned()
        .unwrap_or_else(|| "?".into());
    let first = system
        .get(&MessageSystemAttributeName::ApproximateFirstReceiveTimestamp)
        .and_then(|ms| ms.parse::<i128>().ok())
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "?".into());
    format!(
        "{}\t{}\t{}\t{}\t{receives}\t{first}",
        message.message_id.as_deref().unwrap_or("?"),
        field("provider"),
        field("event_id"),
        field("event_type"),
    )
}
