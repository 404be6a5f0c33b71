//! Amazon SQS adapter of the `Queue` port.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use std::collections::HashMap;

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use super::{OutgoingMessage, Queue, QueueError};

/// Sends to one SQS queue. Build it once at init and reuse it: the client keeps its connections.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

/// SQS takes at most ten messages per batch request, of at most 256 KiB together.
const MAX_BATCH_ENTRIES: usize = 10;
const MAX_BATCH_BYTES: usize = 256 * 1024;

fn attributes(
    message: &OutgoingMessage,
) -> Result<HashMap<String, MessageAttributeValue>, QueueError> {
    message
        .attributes
        .iter()
        .map(|(name, value)| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value.as_str())
                .build()
                .map(|attribute| (name.to_string(), attribute))
                .map_err(|e| QueueError::Unavailable(e.to_string()))
        })
        .collect()
}

/// `messages` cut into batches SQS accepts, by index.
fn chunks(messages: &[OutgoingMessage]) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, message) in messages.iter().enumerate() {
        let size = message.sqs_size();
        if index > start && (index - start == MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES) {
            chunks.push(start..index);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        chunks.push(start..messages.len());
    }
    chunks
}

impl SqsQueue {
    async fn send_chunk(&self, messages: &[OutgoingMessage]) -> Vec<Result<String, QueueError>> {
        let unavailable = |e: String| {
            (0..messages.len())
                .map(|_| Err(QueueError::Unavailable(e.clone())))
                .collect()
        };
        let mut entries = Vec::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            let entry = attributes(message).and_then(|attributes| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(&message.body)
                    .set_message_group_id(message.group_id.clone())
                    .set_message_deduplication_id(message.deduplication_id.clone())
                    .set_message_attributes(Some(attributes).filter(|a| !a.is_empty()))
                    .build()
                    .map_err(|e| QueueError::Unavailable(e.to_string()))
            });
            match entry {
                Ok(entry) => entries.push(entry),
                Err(error) => return unavailable(error.to_string()),
            }
        }
        let output = match self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) => return unavailable(DisplayErrorContext(&e).to_string()),
        };
        results_of(messages.len(), output)
    }
}

/// One result per entry of a batch request, from SQS's answer: each entry succeeded or failed
/// on its own; one the answer does not name counts as not sent.
fn results_of(
    entries: usize,
    output: aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput,
) -> Vec<Result<String, QueueError>> {
    let mut results: Vec<Result<String, QueueError>> = (0..entries)
        .map(|_| Err(QueueError::Unavailable("not in the batch answer".into())))
        .collect();
    for sent in output.successful {
        if let Some(result) = sent
            .id
            .parse::<usize>()
            .ok()
            .and_then(|i| results.get_mut(i))
        {
            *result = Ok(sent.message_id);
        }
    }
    for failed in output.failed {
        if let Some(result) = failed
            .id
            .parse::<usize>()
            .ok()
            .and_then(|i| results.get_mut(i))
        {
            *result = Err(QueueError::Unavailable(format!(
                "{} ({})",
                failed.code,
                failed.message.unwrap_or_default()
            )));
        }
    }
    results
}

impl Queue for SqsQueue {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, QueueError> {
        let output = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&message.body)
            .set_message_group_id(message.group_id.clone())
            .set_message_deduplication_id(message.deduplication_id.clone())
            .set_message_attributes(Some(attributes(message)?).filter(|a| !a.is_empty()))
            .send()
            .await
            .map_err(|e| QueueError::Unavailable(DisplayErrorContext(&e).to_string()))?;
        Ok(output.message_id.unwrap_or_default())
    }

    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Vec<Result<String, QueueError>> {
        let mut results = Vec::with_capacity(messages.len());
        for chunk in chunks(messages) {
            results.extend(self.send_chunk(&messages[chunk]).await);
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(bytes: usize) -> OutgoingMessage {
        OutgoingMessage {
            body: "x".repeat(bytes),
            attributes: Vec::new(),
            group_id: None,
            deduplication_id: None,
        }
    }

    #[test]
    fn batches_hold_at_most_ten_messages_and_256_kib() {
        let small: Vec<_> = (0..23).map(|_| message(10)).collect();
        assert_eq!(chunks(&small), vec![0..10, 10..20, 20..23]);
        let big: Vec<_> = (0..3).map(|_| message(100 * 1024)).collect();
        assert_eq!(chunks(&big), vec![0..2, 2..3]);
        assert_eq!(chunks(&[message(300 * 1024)]), vec![0..1]);
        assert!(chunks(&[]).is_empty());
    }

    #[test]
    fn each_entry_gets_its_own_result_from_the_answer() {
        use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
        use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
        let sent = |id: &str| {
            SendMessageBatchResultEntry::builder()
                .id(id)
                .message_id(format!("mid-{id}"))
                .md5_of_message_body("x")
                .build()
                .unwrap()
        };
        let output = SendMessageBatchOutput::builder()
            .successful(sent("0"))
            .successful(sent("2"))
            .failed(
                BatchResultErrorEntry::builder()
                    .id("1")
                    .code("InternalError")
                    .sender_fault(false)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let results = results_of(4, output);
        assert_eq!(results[0].as_deref().ok(), Some("mid-0"));
        assert!(
            results[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("InternalError")
        );
        assert_eq!(results[2].as_deref().ok(), Some("mid-2"));
        assert!(
            results[3].is_err(),
            "an entry the answer leaves out is not sent"
        );
    }
}
