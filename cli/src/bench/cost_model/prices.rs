//! The list prices the cost table uses: one dated place. us-east-1, arm64 Lambda, on-demand
//! DynamoDB, S3 Standard, free tiers ignored. Check the AWS pricing pages before relying on them.

/// List prices in US dollars.
#[derive(Clone, Copy, Debug)]
pub struct Prices {
    /// When these were last checked against the AWS pricing pages.
    pub as_of: &'static str,
    pub region: &'static str,
    pub architecture: &'static str,
    /// API Gateway HTTP API, per million requests (first 300 million a month; a request is
    /// metered in 512 KB increments).
    pub http_api_per_million: f64,
    /// Lambda, per million invocations.
    pub lambda_per_million: f64,
    /// Lambda arm64, per GB-second of billed duration.
    pub lambda_per_gb_second: f64,
    /// SQS standard queue, per million requests (64 KB chunks).
    pub sqs_per_million: f64,
    /// SQS FIFO queue, per million requests (64 KB chunks).
    pub sqs_fifo_per_million: f64,
    /// DynamoDB on demand, per million write request units (1 KB each).
    pub dynamodb_per_million_wru: f64,
    /// DynamoDB on demand, per million read request units (4 KB strongly consistent).
    pub dynamodb_per_million_rru: f64,
    /// S3 Standard, per thousand PUT/LIST requests.
    pub s3_put_per_thousand: f64,
    /// S3 Standard, per thousand GET requests.
    pub s3_get_per_thousand: f64,
    /// S3 Standard, per GB-month stored.
    pub s3_gb_month: f64,
    /// Secrets Manager, per ten thousand API calls.
    pub secrets_manager_per_10k: f64,
    /// CloudWatch Logs (Lambda vended logs, first tier), per GB ingested.
    pub logs_per_gb: f64,
}

pub const PRICES: Prices = Prices {
    as_of: "2026-11-26",
    region: "us-east-1",
    architecture: "arm64",
    http_api_per_million: 1.00,
    lambda_per_million: 0.20,
    lambda_per_gb_second: 0.000_013_333_4,
    sqs_per_million: 0.40,
    sqs_fifo_per_million: 0.50,
    dynamodb_per_million_wru: 0.625,
    dynamodb_per_million_rru: 0.125,
    s3_put_per_thousand: 0.005,
    s3_get_per_thousand: 0.0004,
    s3_gb_month: 0.023,
    secrets_manager_per_10k: 0.05,
    logs_per_gb: 0.50,
};

/// CloudWatch Logs bills each log event's bytes plus this much.
pub const LOG_EVENT_OVERHEAD_BYTES: u64 = 26;

/// Assumption (not measurable off AWS): the START, END and REPORT lines Lambda writes for each
/// invocation in its text log format, about 300 bytes in three events. `SystemLogLevel: WARN`
/// (JSON log format) leaves them out.
pub const PLATFORM_LINES_PER_INVOCATION: u64 = 3;
pub const PLATFORM_BYTES_PER_INVOCATION: u64 = 300;
