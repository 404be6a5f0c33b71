//! `hookline updates`: the order updates a local stack published, codes masked as in the logs,
//! without taking them from whoever consumes them.
//! - From `hookline serve` (in memory): its last updates (`GET /_hookline/updates`).
//! - From an order-updates queue on an emulator (`serve --aws-endpoint --with-processor`): the
//!   first messages received with a visibility timeout of zero, so they stay in the queue for
//!   the real consumer. A FIFO queue shows each group's first messages only (the rest of a
//!   group waits behind them).

use clap::Args;
use hookline::dev_defaults::LISTEN_ADDR;
use hookline::redact::redact;

use crate::operate::aws_target::AwsTarget;

#[derive(Args)]
pub struct UpdatesArgs {
    /// A running `hookline serve` (in memory) to ask.
    #[arg(long, default_value_t = format!("http://{LISTEN_ADDR}"), conflicts_with = "queue_url")]
    serve: String,
    /// Read this order-updates queue instead (with --endpoint-url for an emulator's).
    #[arg(long)]
    queue_url: Option<String>,
    /// At most this many updates (from a queue).
    #[arg(long, default_value_t = 10)]
    max: usize,
    #[command(flatten)]
    aws: AwsTarget,
}

pub async fn run(args: UpdatesArgs) -> Result<(), crate::failure::Failure> {
    let updates = match &args.queue_url {
        Some(url) => from_queue(&args, url).await?,
        None => from_serve(&args.serve).await?,
    };
    for update in &updates {
        println!("{update}");
    }
    eprintln!("{} order update(s)", updates.len());
    Ok(())
}

async fn from_serve(serve: &str) -> Result<Vec<serde_json::Value>, String> {
    let url = format!(
        "{}{}",
        serve.trim_end_matches('/'),
        crate::local::serve::UPDATES_PATH
    );
    let client = hookline::tls::http_client().map_err(|e| format!("HTTP client: {e}"))?;
    let response = client.get(&url).send().await.map_err(|e| {
        format!(
            "cannot reach hookline serve at {serve}: {e} (start it, or give --serve or --queue-url)"
        )
    })?;
    if !response.status().is_success() {
        return Err(format!(
            "{url} answered {}: a `hookline serve` in memory keeps the updates (with --aws-endpoint, give --queue-url)",
            response.status()
        ));
    }
    let text = response
        .text()
        .await
        .map_err(|e| format!("cannot read {url}'s answer: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{url} did not answer a JSON list: {e}"))
}

async fn from_queue(
    args: &UpdatesArgs,
    url: &str,
) -> Result<Vec<serde_json::Value>, crate::failure::Failure> {
    let sqs = aws_sdk_sqs::Client::new(&args.aws.sdk_config().await);
    let mut seen = std::collections::HashSet::new();
    let mut updates = Vec::new();
    // Each receive may return what an earlier one did (visibility zero): deduplicated by id.
    for _ in 0..args.max.div_ceil(10) + 2 {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| crate::failure::Failure::aws(format!("cannot read {url}"), &e))?;
        let mut new = 0;
        for message in received.messages() {
            let id = message.message_id().unwrap_or_default().to_string();
            if updates.len() < args.max && seen.insert(id) {
                let body: serde_json::Value = serde_json::from_str(message.body().unwrap_or(""))
                    .unwrap_or_else(|_| serde_json::json!({"unreadable": true}));
                updates.push(redact(&body));
                new += 1;
            }
        }
        if new == 0 {
            break;
        }
    }
    Ok(updates)
}
