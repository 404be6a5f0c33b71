//! `hookline sqs-event`: the SQS batch event the processor Lambda would receive once the
//! receiver had accepted these payloads, for `sam local invoke ProcessorFunction` and the tests.

use clap::Args;
use hookline::message::QueueMessage;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

#[derive(Args)]
pub struct SqsEventArgs {
    #[command(flatten)]
    sample: super::Payloads,
}

pub fn run(args: SqsEventArgs) -> Result<(), crate::failure::Failure> {
    let at = args
        .sample
        .timestamp
        .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
    let received = OffsetDateTime::from_unix_timestamp(at).map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    for (n, path) in args.sample.payloads.iter().enumerate() {
        let body =
            std::fs::read_to_string(path).map_err(|e| crate::failure::Failure::file(path, &e))?;
        let event = args
            .sample
            .provider
            .verify_sample(&args.sample.source, body.as_bytes(), at)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let message = QueueMessage::new(
            &event.provider,
            &event.event_id,
            &event.event_type,
            received,
            args.sample.provider.stored_sample_body(&body)?,
        )
        .encode();
        let attributes: Map<String, Value> = message
            .attributes
            .iter()
            .map(|(name, value)| {
                let attribute = json!({"stringValue": value, "dataType": "String",
                                       "stringListValues": [], "binaryListValues": []});
                (name.to_string(), attribute)
            })
            .collect();
        records.push(json!({
            "messageId": format!("00000000-0000-4000-8000-{:012}", n + 1),
            "receiptHandle": format!("sample-receipt-{}", n + 1),
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": (at * 1000).to_string(),
                "SenderId": "AROAEXAMPLE:webhook-receiver",
                "ApproximateFirstReceiveTimestamp": (at * 1000).to_string()
            },
            "messageAttributes": attributes,
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hookline-ingest",
            "awsRegion": "us-east-1"
        }));
    }
    let event = json!({ "Records": records });
    println!(
        "{}",
        serde_json::to_string_pretty(&event).map_err(|e| e.to_string())?
    );
    Ok(())
}
