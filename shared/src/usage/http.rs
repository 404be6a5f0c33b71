//! The SDK's HTTP client, counting: each request is named (service and operation) from what is
//! on the wire, then sent by the SDK's default client unchanged.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// SQS bills each 64 KiB chunk of a request's payload as one request.
const SQS_CHUNK: u64 = 64 * 1024;

/// Wraps `inner`, counting each request in [`super::record_call`].
#[derive(Debug)]
pub struct CountingHttpClient {
    inner: SharedHttpClient,
}

impl CountingHttpClient {
    pub fn wrap(inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(Self { inner })
    }
}

impl HttpClient for CountingHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request.body().bytes().unwrap_or_default();
        let bytes = request
            .headers()
            .get("content-length")
            .and_then(|n| n.parse().ok())
            .unwrap_or(body.len() as u64);
        let call = classify(
            request.headers().get("x-amz-target"),
            request.method(),
            request.uri(),
            body,
        );
        let billed = match call.service {
            "SQS" | "SQS FIFO" => bytes.div_ceil(SQS_CHUNK).max(1),
            _ => 1,
        };
        super::record_call(call.service, &call.operation, billed, bytes);
        self.inner.call(request)
    }
}

/// A request, named as AWS bills it.
#[derive(Debug, PartialEq, Eq)]
pub struct Call {
    pub service: &'static str,
    pub operation: String,
}

/// Names a request: the JSON protocols (SQS, DynamoDB, Secrets Manager) say it in
/// `X-Amz-Target`; S3 says it with the method and the query. A request to a FIFO queue is its
/// own service (`SQS FIFO`): it has its own price.
pub fn classify(target: Option<&str>, method: &str, uri: &str, body: &[u8]) -> Call {
    if let Some((prefix, operation)) = target.and_then(|t| t.split_once('.')) {
        let service = match prefix {
            "AmazonSQS" if queue_url(body).is_some_and(|url| url.ends_with(b".fifo")) => "SQS FIFO",
            "AmazonSQS" => "SQS",
            p if p.starts_with("DynamoDB") => "DynamoDB",
            "secretsmanager" => "Secrets Manager",
            "CloudFormation" => "CloudFormation",
            _ => "other",
        };
        return Call {
            service,
            operation: operation.to_string(),
        };
    }
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    let operation = match method {
        "PUT" => "PutObject",
        "GET" if query.contains("list-type=2") => "ListObjectsV2",
        "GET" => "GetObject",
        "HEAD" => "HeadObject",
        "DELETE" => "DeleteObject",
        other => other,
    };
    Call {
        service: "S3",
        operation: operation.to_string(),
    }
}

/// The `QueueUrl` of an SQS JSON request body (a URL holds no quote or escape).
fn queue_url(body: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"\"QueueUrl\":\"";
    let start = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &body[start..];
    Some(&rest[..rest.iter().position(|&b| b == b'"')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_from_the_wire() {
        let fifo = br#"{"QueueUrl":"http://q/000/hookline-order-updates.fifo","MessageBody":"x"}"#;
        let standard = br#"{"QueueUrl":"http://q/000/hookline-ingest","MessageBody":"x.fifo"}"#;
        let cases = [
            (
                Some("AmazonSQS.SendMessage"),
                "POST",
                "/",
                &fifo[..],
                "SQS FIFO",
                "SendMessage",
            ),
            (
                Some("AmazonSQS.SendMessage"),
                "POST",
                "/",
                &standard[..],
                "SQS",
                "SendMessage",
            ),
            (
                Some("DynamoDB_20120810.UpdateItem"),
                "POST",
                "/",
                b"{}",
                "DynamoDB",
                "UpdateItem",
            ),
            (
                Some("secretsmanager.GetSecretValue"),
                "POST",
                "/",
                b"{}",
                "Secrets Manager",
                "GetSecretValue",
            ),
            (
                None,
                "PUT",
                "/bucket/events/x.jsonl",
                b"",
                "S3",
                "PutObject",
            ),
            (
                None,
                "GET",
                "/bucket?list-type=2&prefix=events",
                b"",
                "S3",
                "ListObjectsV2",
            ),
        ];
        for (target, method, uri, body, service, operation) in cases {
            assert_eq!(
                classify(target, method, uri, body),
                Call {
                    service,
                    operation: operation.to_string()
                },
                "{target:?} {method} {uri}"
            );
        }
    }
}
