//! The floor a receiver's cold start is measured against (`bench/coldstart.py`): what a Lambda
//! must do at the least to put one event on SQS over TLS, with no SDK. At init it opens one TLS
//! connection (rustls on ring, the roots of `SSL_CERT_FILE`) to `AWS_ENDPOINT_URL`; each event's
//! JSON is then sent as one `SendMessage` to `INGEST_QUEUE_URL`, a request built and SigV4-signed
//! by hand (the AWS JSON protocol the SDK uses for SQS), on that connection.
//!
//! It does less than a receiver on purpose: no configuration chain, no verification, no
//! retries. A receiver's start → first response divided by this program's, in the same run, is
//! the cold-start ratio `scripts/bench.sh` budgets. Signing is done in full (it is part of the
//! cost), though moto, the bench's emulator, does not check signatures.

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

struct Floor {
    host: String,
    port: u16,
    queue_url: String,
    region: String,
    access_key: String,
    secret_key: String,
    tls: TlsConnector,
    connection: Mutex<Option<TlsStream<TcpStream>>>,
}

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

impl Floor {
    fn from_env() -> Result<Self, Error> {
        let endpoint = var("AWS_ENDPOINT_URL")?;
        let authority = endpoint
            .strip_prefix("https://")
            .ok_or("AWS_ENDPOINT_URL must be https://host:port")?
            .trim_end_matches('/');
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or("AWS_ENDPOINT_URL must name its port")?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::pem::PemObject::pem_file_iter(var("SSL_CERT_FILE")?)? {
            roots.add(cert?)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            host: host.to_string(),
            port: port.parse()?,
            queue_url: var("INGEST_QUEUE_URL")?,
            region: var("AWS_REGION")?,
            access_key: var("AWS_ACCESS_KEY_ID")?,
            secret_key: var("AWS_SECRET_ACCESS_KEY")?,
            tls: TlsConnector::from(Arc::new(config)),
            connection: Mutex::new(None),
        })
    }

    async fn connect(&self) -> Result<TlsStream<TcpStream>, Error> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port)).await?;
        tcp.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::try_from(self.host.clone())?;
        Ok(self.tls.connect(name, tcp).await?)
    }

    /// One `SendMessage` of `body`; the connection opened at init, or a new one if it closed.
    async fn send(&self, body: &str) -> Result<String, Error> {
        let request = self.signed_request(body)?;
        let mut connection = self.connection.lock().await;
        // The kept connection; if it had closed (or answered an error), once more on a new one.
        if let Some(stream) = connection.take()
            && let Ok((stream, answer)) = exchange(stream, &request).await
        {
            *connection = Some(stream);
            return Ok(answer);
        }
        let (stream, answer) = exchange(self.connect().await?, &request).await?;
        *connection = Some(stream);
        Ok(answer)
    }

    /// The request's bytes, signed with SigV4 (header form).
    fn signed_request(&self, body: &str) -> Result<Vec<u8>, Error> {
        let payload = json!({"QueueUrl": self.queue_url, "MessageBody": body}).to_string();
        let now = time::OffsetDateTime::now_utc();
        let amz_date = now.format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))?;
        let date = &amz_date[..8];
        let host = format!("{}:{}", self.host, self.port);
        let target = "AmazonSQS.SendMessage";
        let content_type = "application/x-amz-json-1.0";
        let payload_hash = hex::encode(Sha256::digest(payload.as_bytes()));
        let signed_headers = "content-type;host;x-amz-date;x-amz-target";
        let canonical = format!(
            "POST\n/\n\ncontent-type:{content_type}\nhost:{host}\nx-amz-date:{amz_date}\n\
             x-amz-target:{target}\n\n{signed_headers}\n{payload_hash}"
        );
        let scope = format!("{date}/{}/sqs/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut key = hmac(format!("AWS4{}", self.secret_key).as_bytes(), date)?;
        for part in [self.region.as_str(), "sqs", "aws4_request"] {
            key = hmac(&key, part)?;
        }
        let signature = hex::encode(hmac(&key, &to_sign)?);
        Ok(format!(
            "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\n\
             x-amz-date: {amz_date}\r\nx-amz-target: {target}\r\n\
             authorization: AWS4-HMAC-SHA256 Credential={}/{scope}, \
             SignedHeaders={signed_headers}, Signature={signature}\r\n\
             content-length: {}\r\n\r\n{payload}",
            self.access_key,
            payload.len()
        )
        .into_bytes())
    }
}

fn hmac(key: &[u8], data: &str) -> Result<Vec<u8>, Error> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)?;
    mac.update(data.as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}

/// Writes the request and reads one HTTP/1.1 answer (`content-length` framed, as SQS's are).
async fn exchange(
    mut stream: TlsStream<TcpStream>,
    request: &[u8],
) -> Result<(TlsStream<TcpStream>, String), Error> {
    stream.write_all(request).await?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err("the connection closed before the answer".into());
        }
        received.extend_from_slice(&chunk[..read]);
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map(|value| value.trim().parse())
            .transpose()?
            .unwrap_or(0);
        if received.len() < end + 4 + length {
            continue;
        }
        let body = String::from_utf8_lossy(&received[end + 4..end + 4 + length]).into_owned();
        if !head.starts_with("http/1.1 200") {
            return Err(format!(
                "SendMessage answered {}: {body}",
                head.lines().next().unwrap_or("")
            )
            .into());
        }
        return Ok((stream, body));
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let floor = Arc::new(Floor::from_env()?);
    *floor.connection.lock().await = Some(floor.connect().await?);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let floor = floor.clone();
        async move {
            let answer = floor.send(&event.payload.to_string()).await?;
            let sent: Value = serde_json::from_str(&answer)?;
            Ok::<_, Error>(json!({"statusCode": 200, "body": sent["MessageId"]}))
        }
    }))
    .await
}
