//! The archive in an S3 bucket. Objects are encrypted at rest by the bucket's default (SSE);
//! the bucket blocks public access and expires objects after the retention (`template.yaml`).

use aws_sdk_s3::primitives::ByteStream;

use super::{ArchiveError, ArchiveKey};
use crate::aws::SdkConfig;

impl ArchiveKey {
    /// The key list from Secrets Manager (`ARCHIVE_KEY_SECRET_ID`), read once per container:
    /// the errors name the secret, never its value.
    pub async fn load(config: &SdkConfig, secret_id: &str) -> Result<Self, ArchiveError> {
        let client = aws_sdk_secretsmanager::Client::new(config);
        let text = crate::secrets_manager::read_secret(&client, secret_id)
            .await
            .map_err(|e| ArchiveError::Unavailable(e.to_string()))?;
        Self::parse(&text)
            .map_err(|e| ArchiveError::Unavailable(format!("archive key secret {secret_id}: {e}")))
    }
}

#[derive(Clone, Debug)]
pub struct S3Archive {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Archive {
    /// A client for `bucket`. With an endpoint override (a local emulator), keys go in the path:
    /// the emulator does not serve bucket host names.
    pub fn new(config: &SdkConfig, bucket: &str) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(s3),
            bucket: bucket.to_string(),
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/x-ndjson")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("PutObject", e))
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("ListObjectsV2", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        keys.sort();
        Ok(keys)
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, ArchiveError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| unavailable("GetObject", e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| ArchiveError::Unavailable(format!("GetObject {key}: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }
}

fn unavailable<E: std::error::Error + 'static>(call: &str, error: E) -> ArchiveError {
    ArchiveError::Unavailable(format!(
        "S3 {call}: {}",
        aws_sdk_s3::error::DisplayErrorContext(&error)
    ))
}
