//! Harness for hookline's integration tests: a real moto server (the local AWS emulator from
//! PyPI, `moto[server]`) on a free 127.0.0.1 port, and SDK clients pointed at it.
//!
//! One server per test process, started on first use and stopped when the process exits. The
//! Python interpreter is `HOOKLINE_TEST_PYTHON` (the venv `.ci/run` builds) or `python3`.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use aws_config::SdkConfig;

pub mod provider_auth;
pub use provider_auth::{mount_logins, octopus_token, optty_token};

/// A running moto server.
pub struct Moto {
    pub endpoint: String,
    // Held only so the pipe stays open: run_moto.py exits when it closes.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The moto server of this test process.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(start_moto)
}

fn start_moto() -> Moto {
    let python = std::env::var("HOOKLINE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/run_moto.py");
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start moto with {python}: {e}; `pip install 'moto[server]'` or set HOOKLINE_TEST_PYTHON")
        });
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read moto's port");
    let port: u16 = line.trim().parse().unwrap_or_else(|_| {
        panic!(
            "moto did not start (is `moto[server]` installed for {python}?); it printed {line:?}"
        )
    });
    let stdin = child.stdin.take().expect("piped stdin");
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    }
}

impl Moto {
    /// SDK configuration for this server (static test credentials, us-east-1).
    pub async fn sdk_config(&self) -> SdkConfig {
        hookline::aws::for_emulator(&self.endpoint).await
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }
}

/// A name no other test in this run uses, for queues and tables.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a fresh SQS queue and returns its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> String {
    hookline::emulator::create_queue(sqs, &unique_name(prefix))
        .await
        .expect("create queue on moto")
}

/// An endpoint on 127.0.0.1 where nothing listens: a port just bound and released.
pub fn unreachable_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Path of a file in the repository's `events/` folder.
pub fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

impl Moto {
    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }
}

/// Creates a fresh events table as template.yaml declares it and returns its name.
pub async fn create_table(dynamodb: &aws_sdk_dynamodb::Client) -> String {
    let name = unique_name("events");
    hookline::emulator::create_events_table(dynamodb, &name)
        .await
        .expect("create table on moto");
    name
}

/// Creates a fresh FIFO queue (as the order-updates queue) and returns its URL.
pub async fn create_fifo_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> String {
    hookline::emulator::create_fifo_queue(sqs, &format!("{}.fifo", unique_name(prefix)))
        .await
        .expect("create FIFO queue on moto")
}

/// Receives every message now in a queue (deleting them), waiting up to a second for more.
pub async fn drain_queue(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from moto");
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        for m in messages {
            bodies.push(m.body.clone().unwrap_or_default());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .expect("delete from moto");
        }
    }
}

/// Every item of a table, as JSON-ish text per item, for scans of what was stored.
pub async fn table_items(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let output = dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan on moto");
    output
        .items
        .unwrap_or_default()
        .iter()
        .map(|item| format!("{item:?}"))
        .collect()
}

/// Log lines captured from this thread's `tracing` events.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The first captured line that contains `needle`.
    pub fn line_with(&self, needle: &str) -> Option<String> {
        self.text()
            .lines()
            .find(|l| l.contains(needle))
            .map(str::to_string)
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the logs of this test process as the Lambdas write them (JSON lines, with the
/// production filter that keeps wire-level SDK and HTTP logs out) at the most verbose level an
/// operator could set, from the first call on. The subscriber is the process's global one: a
/// thread-local one misses events when tests run in parallel, and scanning every test's logs
/// for secrets is the stronger check anyway.
pub fn capture_logs() -> CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::registry()
            .with(hookline::telemetry::secret_safe_targets())
            .with(hookline::telemetry::json_layer(move || writer.clone()));
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the tests");
        logs
    })
    .clone()
}

/// Records a reliability figure (matrix sizes, storm results): printed by the test and kept in
/// `target/tmp/reliability/{name}.txt`, which `scripts/test.sh` shows after the run (cargo
/// hides a passing test's output).
pub fn report_figure(name: &str, line: &str) {
    println!("{line}");
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/tmp/reliability"
    ));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join(format!("{name}.txt")), format!("{line}\n")));
    if let Err(error) = written {
        eprintln!("cannot keep the figure {name}: {error}");
    }
}

/// The provider API as `events/provider-api/` describes it.
pub fn sample_api() -> hookline::order_api::MemoryOrderApi {
    let api = hookline::order_api::MemoryOrderApi::new();
    let dir = events_dir().join("provider-api");
    for (folder, provider, kind) in [
        ("orders", "octopus", hookline::order::OrderKind::Voucher),
        ("esim-orders", "octopus", hookline::order::OrderKind::Esim),
        ("optty-orders", "optty", hookline::order::OrderKind::Order),
    ] {
        for entry in std::fs::read_dir(dir.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json").filter(|id| !id.contains('.')) else {
                continue;
            };
            let order = hookline::order_api::unwrap_order(&std::fs::read(&path).unwrap()).unwrap();
            let order_ref = hookline::order::OrderRef {
                provider: provider.into(),
                kind,
                order_id: id.into(),
            };
            api.set(&order_ref, order);
        }
    }
    api
}

/// Messages in a queue, visible or in flight.
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .expect("queue attributes from moto")
        .attributes
        .unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|a| {
        attributes
            .get(a)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    })
    .sum()
}

/// Every Octopus sample payload (`events/payloads/octopus/`) as the receiver would enqueue it,
/// received when the samples were signed.
pub fn octopus_messages() -> Vec<String> {
    let dir = events_dir().join("payloads").join("octopus");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("events/payloads/octopus")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let body = std::fs::read_to_string(path).expect("a payload");
            let envelope: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            hookline::message::QueueMessage::new(
                "octopus",
                envelope["id"].as_str().unwrap_or_default(),
                envelope["type"].as_str().unwrap_or_default(),
                time::OffsetDateTime::from_unix_timestamp(hookline_simulation::harness::START)
                    .expect("a valid time"),
                body,
            )
            .to_json()
        })
        .collect()
}

/// A TCP front of `upstream` (`http://127.0.0.1:port`) whose first `lose` connections lose their
/// answer: the request reaches the server, which acts on it and begins to answer, and the
/// connection is then closed before a byte of the answer reaches the client (a timeout after
/// the effect). Later connections pass both ways. Returns the front's endpoint and how many
/// answers it has dropped so far.
pub async fn answer_losing_front(
    upstream: &str,
    lose: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the front");
    let endpoint = format!("http://{}", listener.local_addr().expect("front address"));
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    tokio::spawn(async move {
        let mut accepted = 0;
        while let Ok((mut client, _)) = listener.accept().await {
            accepted += 1;
            let losing = accepted <= lose;
            let upstream = upstream.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                if !losing {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                let (mut from_client, _to_client) = client.split();
                let (mut from_server, mut to_server) = server.split();
                let request = tokio::io::copy(&mut from_client, &mut to_server);
                let mut first = [0u8; 1];
                tokio::select! {
                    _ = request => {}
                    read = from_server.read(&mut first) => {
                        if matches!(read, Ok(n) if n > 0) {
                            counter.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                // Both sockets close here: the answer is lost.
            });
        }
    });
    (endpoint, dropped)
}

/// A sample API Gateway event of `events/` and the payload file it was signed from.
pub struct Sample {
    pub name: String,
    pub event: String,
    pub payload: String,
}

/// The samples of `events/{dir}`, sorted by name, each matched with its payload in one of
/// `payload_dirs` (folders of `events/payloads/`).
pub fn samples(dir: &str, payload_dirs: &[&str]) -> Vec<Sample> {
    let mut samples: Vec<Sample> = std::fs::read_dir(events_dir().join(dir))
        .unwrap_or_else(|e| panic!("events/{dir}: {e}"))
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let payload = payload_dirs
                .iter()
                .map(|d| events_dir().join("payloads").join(d).join(&name))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("no payload for {dir}/{name}"));
            Sample {
                event: std::fs::read_to_string(&path).unwrap(),
                payload: std::fs::read_to_string(payload).unwrap(),
                name,
            }
        })
        .collect();
    samples.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!samples.is_empty(), "events/{dir} has no samples");
    samples
}
