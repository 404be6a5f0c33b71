//! `hookline serve` and `hookline sign` as a user runs them: the real binary on 127.0.0.1, the
//! curl line `sign` prints, executed by a shell.

use std::process::Command;

use hookline::message::QueueMessage;
use hookline_tests::{create_queue, events_dir, moto};

mod support;

use support::{HOOKLINE, Serve};

type Server = Serve;

fn serve(extra: &[&str]) -> Server {
    Serve::start(|command| {
        command.args(extra).env_remove("OCTOPUS_WEBHOOK_SECRETS");
    })
}

/// The curl line `hookline sign` prints for `payload`, posting to `server`.
fn signed_curl(server: &Server, payload: &std::path::Path) -> String {
    let output = Command::new(HOOKLINE)
        .args([
            "sign",
            "--url",
            &format!("http://{}/webhooks/octopus", server.addr),
        ])
        .arg(payload)
        .env_remove("HOOKLINE_SIGN_SECRET")
        .output()
        .expect("run hookline sign");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Runs a curl line and returns the HTTP status it got.
fn run_curl(line: &str) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("{line} -o /dev/null -w '%{{http_code}}'"))
        .output()
        .expect("run curl");
    String::from_utf8(output.stdout).unwrap()
}

fn payload(name: &str) -> std::path::PathBuf {
    events_dir().join("payloads/octopus").join(name)
}

#[test]
fn signed_event_is_accepted_and_tampered_one_is_401() {
    let server = serve(&[]);
    let curl = signed_curl(&server, &payload("order-delivered.json"));
    assert!(curl.starts_with("curl "), "{curl}");
    assert_eq!(run_curl(&curl), "200");

    let tampered =
        std::env::temp_dir().join(format!("hookline-tampered-{}.json", std::process::id()));
    let original = std::fs::read_to_string(payload("order-delivered.json")).unwrap();
    std::fs::write(
        &tampered,
        original.replace("\"quantity\":5", "\"quantity\":50"),
    )
    .unwrap();
    // The body is the file, or inline when its event time was moved to the signing time.
    let tampered_curl = curl
        .replace(
            &payload("order-delivered.json").display().to_string(),
            &tampered.display().to_string(),
        )
        .replace("\"quantity\":5", "\"quantity\":50");
    assert_ne!(tampered_curl, curl);
    assert_eq!(run_curl(&tampered_curl), "401");
    let _ = std::fs::remove_file(tampered);
}

#[test]
fn signed_order_goes_through_processor_fetch_and_order_update_with_codes_masked() {
    let server = serve(&[]);
    let curl = signed_curl(&server, &payload("order-delivered.json"));
    assert_eq!(run_curl(&curl), "200");
    server.wait_for("fetch_ms=");
    let update = server.wait_for("order update");
    assert!(update.contains("evt_abc123"), "{update}");
    assert!(update.contains("<redacted>"), "{update}");
    assert!(
        !update.contains("DEMO-STEAM"),
        "voucher code shown: {update}"
    );

    // The provider retries: the second delivery is accepted and skipped as a duplicate.
    assert_eq!(run_curl(&curl), "200");
    server.wait_for("duplicate delivery");
}

#[test]
fn get_is_405() {
    let server = serve(&[]);
    let status = run_curl(&format!("curl -sS http://{}/webhooks/octopus", server.addr));
    assert_eq!(status, "405");
}

#[tokio::test]
async fn with_aws_endpoint_events_land_in_sqs() {
    let sqs = moto().sqs().await;
    let queue_url = create_queue(&sqs, "serve-ingest").await;
    let server = serve(&[
        "--aws-endpoint",
        &moto().endpoint,
        "--queue-url",
        &queue_url,
    ]);
    let curl = signed_curl(&server, &payload("esim-delivered.json"));
    assert_eq!(run_curl(&curl), "200");

    let output = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let messages = output.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    let message = QueueMessage::from_json(messages[0].body().unwrap()).unwrap();
    assert_eq!(message.event_id, "evt_esim_abc123");
    assert_eq!(message.event_type, "esim.delivered");
}

#[test]
fn bench_local_audit_finds_nothing_lost_or_doubled_under_concurrent_duplicates() {
    let output = Command::new(HOOKLINE)
        .args([
            "bench-local",
            "--count",
            "300",
            "--duplicates",
            "0.3",
            "--concurrency",
            "16",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hookline bench-local");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        table.contains("| processed / duplicates skipped / order updates | 210 / 90 / 210 |"),
        "{table}"
    );
    assert!(
        table.contains("| audit: lost / processed twice | 0 / 0 |"),
        "{table}"
    );
}

#[test]
fn every_provider_signed_by_hookline_sign_is_accepted_by_serve() {
    let server = serve(&[]);
    for (provider, file) in [
        ("coinme", "coinme/caas-buy-completed.json"),
        ("owlpay", "owlpay/order-received.json"),
        (
            "owlpay-harbor",
            "owlpay-harbor/payment-intent-authorized.json",
        ),
        ("optty", "optty/order-successful.json"),
        ("std", "std/invoice-paid.json"),
    ] {
        let output = Command::new(HOOKLINE)
            .args(["sign", "--provider", provider])
            .arg(events_dir().join("payloads").join(file))
            .env_remove("HOOKLINE_SIGN_SECRET")
            .output()
            .expect("run hookline sign");
        assert!(output.status.success(), "{provider}");
        // The line posts to the default address; point it at this server.
        let curl = String::from_utf8(output.stdout)
            .unwrap()
            .trim()
            .replace("127.0.0.1:3000", &server.addr);
        assert_eq!(run_curl(&curl), "200", "{provider}: {curl}");
    }
    // Optty's notification said SUCCESSFUL; the stand-in API says DECLINED, and that is recorded.
    let update = server.wait_for("ord-1001");
    assert!(update.contains("DECLINED"), "{update}");
}

/// `hookline watch --kind {kind} --order-id {id}` against `server`, as a client would; its reply.
fn register_watch(server: &Server, kind: &str, id: &str) -> serde_json::Value {
    let output = Command::new(HOOKLINE)
        .args(["watch", "--kind", kind, "--order-id", id, "--serve"])
        .arg(format!("http://{}", server.addr))
        .env_remove("EVENTS_TABLE")
        .output()
        .expect("run hookline watch");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON reply")
}

#[test]
fn a_watched_esim_order_reaches_the_order_updates_without_a_webhook() {
    let server = serve(&[]);
    for created in [true, false] {
        let reply = register_watch(&server, "esim", "9302490");
        assert_eq!(reply["created"], created, "{reply}");
    }
    // The stand-in delivers the order 12 s after the first poll (events/provider-api).
    let update = server.wait_for_within("\"event_type\":\"esim.delivered\"", 60);
    assert!(update.contains("order update event_id=poll_"), "{update}");
    assert!(
        !update.contains("DEMO-ACTIVATION"),
        "activation code shown: {update}"
    );
}

/// docs/src/polling.md: a client registers each voucher order it places; one that fails is reported
/// by polling alone (Octopus sends no webhook for it).
#[test]
fn a_registered_voucher_order_that_fails_is_reported_without_a_webhook() {
    let server = serve(&[]);
    register_watch(&server, "voucher", "5501999");
    // The stand-in fails the order 15 s after the first poll; vouchers are polled every 30 s.
    let update = server.wait_for_within("\"event_type\":\"order.failed\"", 75);
    assert!(update.contains("order update event_id=poll_"), "{update}");
    assert!(update.contains("\"status\":\"FAILED\""), "{update}");
}

/// docs/src/polling.md: a top-up order placed by a client is registered and its delivery reaches
/// the order updates by polling (the stand-in delivers it 8 s after the first poll).
#[test]
fn a_registered_topup_order_is_reported_delivered_without_a_webhook() {
    let server = serve(&[]);
    register_watch(&server, "topup", "9123456");
    let update = server.wait_for_within("\"event_type\":\"topup.delivered\"", 40);
    assert!(update.contains("order update event_id=poll_"), "{update}");
    assert!(
        !update.contains("5123456789"),
        "the player id is not passed on: {update}"
    );
}

/// docs/src/polling.md: wallet movements come by polling the Transactions API too; the stand-in's
/// wallet 1 receives a top-up 10 s after the first poll, and it reaches the order updates once.
#[test]
fn a_wallet_top_up_found_by_polling_reaches_the_order_updates() {
    let server = serve(&[]);
    let update = server.wait_for_within("\"event_type\":\"wallet.credited\"", 40);
    assert!(update.contains("order update event_id=poll_"), "{update}");
    assert!(update.contains("\"transaction_id\":5001"), "{update}");
}

#[test]
fn health_answers_and_an_unknown_path_is_a_json_404() {
    let server = serve(&[]);
    let get = |path: &str| {
        let output = Command::new("curl")
            .args(["-sS", "-w", "\n%{http_code}"])
            .arg(format!("http://{}{path}", server.addr))
            .output()
            .expect("run curl");
        let text = String::from_utf8(output.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (
            status.to_string(),
            serde_json::from_str::<serde_json::Value>(body).unwrap(),
        )
    };
    let (status, health) = get("/health");
    assert_eq!(status, "200");
    assert_eq!(health["status"], "ok");
    let routes = health["routes"].to_string();
    assert!(routes.contains("POST /webhooks/octopus") && routes.contains("POST /orders/watch"));
    let (status, missing) = get("/webhooks/nobody");
    assert_eq!(status, "404");
    assert_eq!(missing["error"], "unknown_route");
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .contains("GET /webhooks/nobody")
    );
}

#[test]
fn listening_beyond_loopback_with_the_published_secrets_is_warned_about() {
    let server = Serve::start_on("0.0.0.0:0", |command| {
        command.env_remove("OCTOPUS_WEBHOOK_SECRETS");
    });
    let line = server.wait_for("beyond this machine");
    assert!(
        line.contains("published test secrets of") && line.contains("octopus"),
        "{line}"
    );
}

#[test]
fn ctrl_c_says_whether_accepted_events_were_left_unprocessed() {
    let server = serve(&[]);
    let curl = signed_curl(&server, &payload("order-delivered.json"));
    assert_eq!(run_curl(&curl), "200");
    server.wait_for("order update");
    server.interrupt();
    server.wait_for("stopped; every accepted event was processed");
}

#[test]
fn updates_shows_what_serve_published_with_codes_masked() {
    let server = serve(&[]);
    let curl = signed_curl(&server, &payload("order-delivered.json"));
    assert_eq!(run_curl(&curl), "200");
    server.wait_for("order update");
    let output = Command::new(HOOKLINE)
        .args(["updates", "--serve", &format!("http://{}", server.addr)])
        .output()
        .expect("run hookline updates");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let updates: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(updates.len(), 1, "{stdout}");
    assert_eq!(updates[0]["event_id"], "evt_abc123");
    assert!(stdout.contains("<redacted>"), "codes are masked: {stdout}");
    // Asked twice, the same: nothing was taken.
    let again = Command::new(HOOKLINE)
        .args(["updates", "--serve", &format!("http://{}", server.addr)])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&again.stdout), stdout);
}

/// `bench/tls_proxy.py` in front of `upstream`: a keep-alive TLS front on 127.0.0.1 whose
/// certificate a throwaway CA of its own signed; `bundle` is the system's roots and that CA.
/// Stopped on drop.
struct TlsFront {
    child: std::process::Child,
    endpoint: String,
    bundle: std::path::PathBuf,
}

impl TlsFront {
    fn start(upstream: &str) -> Self {
        use std::io::BufRead;
        let python = std::env::var("HOOKLINE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let dir = std::env::temp_dir().join(hookline_tests::unique_name("hookline-tls-front"));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/tls_proxy.py");
        let mut child = Command::new(python)
            .args([script, "--upstream", upstream, "--dir"])
            .arg(&dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start bench/tls_proxy.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the front's address");
        assert!(
            line.starts_with("https://"),
            "tls_proxy.py printed {line:?}"
        );
        Self {
            child,
            endpoint: line.trim().to_string(),
            bundle: dir.join("bundle.pem"),
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hookline args…` trusting exactly the roots of `bundle` (as on Lambda: one bundle file).
fn hookline_trusting(bundle: &std::path::Path, args: &[&str]) -> std::process::Output {
    let empty = std::env::temp_dir().join(hookline_tests::unique_name("hookline-no-certs"));
    std::fs::create_dir_all(&empty).unwrap();
    Command::new(HOOKLINE)
        .args(args)
        .env("SSL_CERT_FILE", bundle)
        .env("SSL_CERT_DIR", &empty)
        .output()
        .expect("run hookline")
}

/// `hookline::tls` over real handshakes: the SDK's clients and reqwest's, both rustls on ring
/// with the system's roots, reach a TLS server whose CA `SSL_CERT_FILE` holds, and refuse the
/// same server when that file holds other roots.
#[tokio::test]
async fn sdk_and_http_clients_verify_the_server_with_the_system_roots() {
    let sqs = moto().sqs().await;
    let queue = hookline_tests::create_fifo_queue(&sqs, "tls-updates").await;
    sqs.send_message()
        .queue_url(&queue)
        .message_body(r#"{"event_id":"evt_over_tls"}"#)
        .message_group_id("octopus#order#1")
        .message_deduplication_id("tls-1")
        .send()
        .await
        .unwrap();
    let aws = TlsFront::start(&moto().endpoint);
    let server = serve(&[]);
    let local = TlsFront::start(&format!("http://{}", server.addr));

    // The SDK (SQS ReceiveMessage through the front).
    let sdk = [
        "updates",
        "--queue-url",
        &queue,
        "--endpoint-url",
        &aws.endpoint,
    ];
    let trusted = hookline_trusting(&aws.bundle, &sdk);
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        trusted.status.success() && stdout.contains("evt_over_tls"),
        "{stdout} {}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    // reqwest (`GET /_hookline/updates` of serve, through the other front).
    let http = ["updates", "--serve", &local.endpoint];
    let trusted = hookline_trusting(&local.bundle, &http);
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );

    // Each front's CA is its own (tls_certs.py makes a new one per directory): the other
    // front's bundle does not vouch for it.
    for (args, bundle) in [(&sdk[..], &local.bundle), (&http[..], &aws.bundle)] {
        let refused = hookline_trusting(bundle, args);
        assert!(!refused.status.success(), "{args:?} trusted another CA");
    }
}
