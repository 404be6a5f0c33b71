//! Make what the tests and the templates use: signed requests, SQS batches, the provider
//! registry as JSON, the receivers' part of `template.yaml`.

pub mod apigw_event;
pub mod providers;
pub mod sign;
pub mod sqs_event;
pub mod template;
