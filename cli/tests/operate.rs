//! The operator commands against SQS and DynamoDB on moto server, run as an operator would.

use std::process::Command;

use hookline::message::QueueMessage;
use hookline_tests::{create_queue, drain_queue, moto, queue_depth};
use time::OffsetDateTime;

const HOOKLINE: &str = env!("CARGO_BIN_EXE_hookline");
const CODE: &str = "SECRET-VOUCHER-CODE-42";

fn hookline(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(HOOKLINE)
        .args(args)
        .args(["--endpoint-url", &moto().endpoint])
        .output()
        .expect("run hookline");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn dead_letter(event_id: &str) -> String {
    let body = format!(
        r#"{{"id":"{event_id}","type":"order.delivered","data":{{"id":1,"code":"{CODE}"}}}}"#
    );
    QueueMessage::new(
        "octopus",
        event_id,
        "order.delivered",
        OffsetDateTime::now_utc(),
        body,
    )
    .to_json()
}

#[tokio::test]
async fn redrive_lists_on_dry_run_then_moves_exactly_the_listed_messages() {
    let sqs = moto().sqs().await;
    let source = create_queue(&sqs, "redrive-source").await;
    let dlq = create_queue(&sqs, "redrive-dlq").await;
    for id in ["evt_d1", "evt_d2", "evt_d3"] {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(dead_letter(id))
            .send()
            .await
            .unwrap();
    }

    let (ok, listing, stderr) =
        hookline(&["redrive", "--from", &dlq, "--to", &source, "--dry-run"]);
    assert!(ok, "{stderr}");
    for id in ["evt_d1", "evt_d2", "evt_d3"] {
        assert!(
            listing.contains(&format!("\toctopus\t{id}\torder.delivered\t")),
            "{listing}"
        );
    }
    assert!(
        !listing.contains(CODE) && !stderr.contains(CODE),
        "a body was printed"
    );
    assert_eq!(queue_depth(&sqs, &dlq).await, 3, "dry run moves nothing");
    assert_eq!(queue_depth(&sqs, &source).await, 0);

    let (ok, moved, stderr) = hookline(&["redrive", "--from", &dlq, "--to", &source, "--max", "2"]);
    assert!(ok, "{stderr}");
    assert_eq!(moved.lines().count(), 3, "header and two messages: {moved}");
    assert_eq!(queue_depth(&sqs, &source).await, 2);
    assert_eq!(queue_depth(&sqs, &dlq).await, 1);

    let (ok, _, stderr) = hookline(&["redrive", "--from", &dlq, "--to", &source]);
    assert!(ok, "{stderr}");
    let mut ids: Vec<String> = drain_queue(&sqs, &source)
        .await
        .iter()
        .map(|b| QueueMessage::from_json(b).unwrap().event_id)
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["evt_d1", "evt_d2", "evt_d3"],
        "every message moved once, none lost"
    );
    assert_eq!(queue_depth(&sqs, &dlq).await, 0);
}

#[tokio::test]
async fn redrive_to_an_unreachable_queue_keeps_the_messages() {
    let sqs = moto().sqs().await;
    let dlq = create_queue(&sqs, "redrive-dlq-kept").await;
    sqs.send_message()
        .queue_url(&dlq)
        .message_body(dead_letter("evt_kept"))
        .send()
        .await
        .unwrap();
    let missing = format!("{}/123456789012/no-such-queue", moto().endpoint);
    let (ok, _, stderr) = hookline(&["redrive", "--from", &dlq, "--to", &missing]);
    assert!(!ok);
    assert!(stderr.contains("stays in the DLQ"), "{stderr}");
    assert_eq!(queue_depth(&sqs, &dlq).await, 1);
}

#[tokio::test]
async fn inspect_shows_the_claim_and_the_order_state_it_changed() {
    use hookline::idempotency::{ClaimRequest, DynamoEventStore, EventStore, event_key};
    use hookline::order::{OrderKind, OrderRef};
    use hookline::order_state::{DynamoOrderStateStore, OrderState, OrderStateStore};
    let dynamodb = moto().dynamodb().await;
    let table = hookline_tests::create_table(&dynamodb).await;
    let order = OrderRef {
        provider: "octopus".into(),
        kind: OrderKind::Voucher,
        order_id: "12345".into(),
    };
    let events = DynamoEventStore::new(dynamodb.clone(), &table);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    events
        .claim(&ClaimRequest {
            key: event_key("octopus", "evt_seen"),
            body_sha256: "ab".repeat(32),
            lease_token: "t".into(),
            now,
            lease_until: now + 30,
            expires_at: now + 3600,
            subject_key: Some(order.state_key()),
        })
        .await
        .unwrap();
    assert!(
        events
            .complete(&event_key("octopus", "evt_seen"), "t", now)
            .await
            .unwrap()
    );
    DynamoOrderStateStore::new(dynamodb.clone(), &table)
        .record_order(
            &OrderState {
                order,
                status: "DELIVERED".into(),
                status_rank: 2,
                quantity: Some(5),
                delivered_quantity: Some(5),
                amount: Some("250.0".into()),
                currency: None,
                product_name: Some("Steam Wallet Card".into()),
                reference: Some("MY_ORDER_001".into()),
                progress: None,
                detail: None,
                last_event_at: now * 1000,
                last_event_id: "evt_seen".into(),
            },
            hookline::order_state::Publication::SINGLE,
        )
        .await
        .unwrap();

    let (ok, shown, stderr) = hookline(&["inspect", "evt_seen", "--table", &table]);
    assert!(ok, "{stderr}");
    assert!(shown.contains("EVENT#octopus#evt_seen\n"), "{shown}");
    assert!(shown.contains("  status: COMPLETED\n"), "{shown}");
    assert!(shown.contains("  attempts: 1\n"), "{shown}");
    assert!(shown.contains("ORDER#octopus#voucher#12345\n"), "{shown}");
    assert!(shown.contains("  status: DELIVERED\n"), "{shown}");

    let (ok, _, stderr) = hookline(&["inspect", "evt_never", "--table", &table]);
    assert!(!ok);
    assert!(stderr.contains("no record"), "{stderr}");

    // Not only Octopus: without --provider every provider with a fixed name is looked up.
    events
        .claim(&ClaimRequest {
            key: event_key("owlpay-harbor", "evt_harbor"),
            body_sha256: "cd".repeat(32),
            lease_token: "t".into(),
            now,
            lease_until: now + 30,
            expires_at: now + 3600,
            subject_key: None,
        })
        .await
        .unwrap();
    let (ok, shown, stderr) = hookline(&["inspect", "evt_harbor", "--table", &table]);
    assert!(ok, "{stderr}");
    assert!(
        shown.contains("EVENT#owlpay-harbor#evt_harbor\n"),
        "{shown}"
    );
    let wrong = [
        "inspect",
        "evt_harbor",
        "--provider",
        "coinme",
        "--table",
        &table,
    ];
    let (ok, _, stderr) = hookline(&wrong);
    assert!(!ok && stderr.contains("for coinme"), "{stderr}");
}

#[tokio::test]
async fn replay_sends_genuine_requests_and_refuses_a_tampered_one() {
    let sqs = moto().sqs().await;
    let ingest = create_queue(&sqs, "replay-ingest").await;
    let events = hookline_tests::events_dir().join("octopus-webhook");
    let genuine = events.join("order-delivered.json");
    let base64 = events.join("order-delivered-base64.json");
    let others = hookline_tests::events_dir();
    let optty = others.join("optty-webhook/order-successful.json");
    let harbor = others.join("owlpay-webhook/payment-intent-authorized.json");

    let (ok, out, stderr) = hookline(&[
        "replay",
        "--queue-url",
        &ingest,
        genuine.to_str().unwrap(),
        base64.to_str().unwrap(),
        optty.to_str().unwrap(),
        harbor.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(out.lines().count(), 4, "{out}");
    let replayed: Vec<QueueMessage> = drain_queue(&sqs, &ingest)
        .await
        .iter()
        .map(|b| QueueMessage::from_json(b).unwrap())
        .collect();
    assert_eq!(replayed.len(), 4);
    let from = |provider: &str| replayed.iter().filter(|m| m.provider == provider).count();
    assert_eq!(
        (from("octopus"), from("optty"), from("owlpay-harbor")),
        (2, 1, 1),
        "each request went to its own provider's receiver"
    );

    let tampered =
        std::env::temp_dir().join(format!("hookline-replay-{}.json", std::process::id()));
    let text = std::fs::read_to_string(&genuine).unwrap();
    std::fs::write(
        &tampered,
        text.replace("\\\"quantity\\\":5", "\\\"quantity\\\":9"),
    )
    .unwrap();
    let (ok, _, stderr) = hookline(&[
        "replay",
        "--queue-url",
        &ingest,
        genuine.to_str().unwrap(),
        tampered.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&tampered);
    assert!(!ok);
    assert!(stderr.contains("invalid_signature"), "{stderr}");
    assert!(
        drain_queue(&sqs, &ingest).await.is_empty(),
        "nothing sent when one file fails"
    );
}

#[tokio::test]
async fn redrive_of_a_fifo_message_within_five_minutes_of_its_original_is_not_dropped() {
    // Regression: the copy kept the original deduplication id, SQS silently dropped it as a
    // duplicate of the original sent minutes before, and the DLQ copy was then deleted.
    let sqs = moto().sqs().await;
    let source = hookline_tests::create_fifo_queue(&sqs, "redrive-fifo-source").await;
    let dlq = hookline_tests::create_fifo_queue(&sqs, "redrive-fifo-dlq").await;
    let body = dead_letter("evt_fifo");
    for queue in [&source, &dlq] {
        sqs.send_message()
            .queue_url(queue)
            .message_body(&body)
            .message_group_id("octopus#voucher#1")
            .message_deduplication_id("original-dedup-id")
            .send()
            .await
            .unwrap();
    }
    // (moto applies deduplication only against messages still in the queue, real SQS for five
    // minutes after the send: the original is left in place so moto shows the real behaviour.)
    let (ok, _, stderr) = hookline(&["redrive", "--from", &dlq, "--to", &source]);
    assert!(ok, "{stderr}");
    let moved = drain_queue(&sqs, &source).await;
    assert_eq!(
        moved,
        vec![body.clone(), body],
        "the copy is really in the source queue, beside the original"
    );
    assert_eq!(queue_depth(&sqs, &dlq).await, 0);
}

#[test]
fn replay_into_a_real_queue_refuses_the_published_test_secrets() {
    // A "captured webhook" signed with the published Octopus test secret, replayed by an
    // operator whose shell points at a real ingest queue: refused before anything is sent.
    let genuine = hookline_tests::events_dir().join("octopus-webhook/order-delivered.json");
    let run = |extra: &[&str]| {
        let output = Command::new(HOOKLINE)
            .args(["replay", "--queue-url"])
            .arg("https://sqs.us-east-1.amazonaws.com/123456789012/hookline-ingest")
            .args(extra)
            .arg(&genuine)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("OCTOPUS_WEBHOOK_SECRETS")
            .output()
            .expect("run hookline");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, stderr) = run(&[]);
    assert!(!ok);
    assert!(
        stderr.contains("published test secret of octopus") && stderr.contains("--stack"),
        "{stderr}"
    );
    // The published secret given explicitly is the same public value: refused too.
    let (ok, stderr) = run(&[
        "--octopus-secrets",
        hookline::providers::octopus::TEST_SECRET,
    ]);
    assert!(!ok && stderr.contains("published test secret"), "{stderr}");
    // With the route's own secret, the file must verify under it (it does not: it was signed
    // with the published one).
    let (ok, stderr) = run(&["--octopus-secrets", "a-secret-of-our-own-0123456789"]);
    assert!(!ok && stderr.contains("invalid_signature"), "{stderr}");
}

#[tokio::test]
async fn emulator_setup_gives_each_queue_its_dead_letter_queue_as_the_template_does() {
    let output = Command::new(HOOKLINE)
        .args(["emulator-setup", "--aws-endpoint", &moto().endpoint])
        .output()
        .expect("run hookline");
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let url = |name: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .to_string()
    };
    let (ingest, dlq) = (url("INGEST_QUEUE_URL"), url("INGEST_DLQ_URL"));
    assert!(url("ORDER_UPDATES_DLQ_URL").ends_with(".fifo"));
    // A poison message is received IngestMaxReceiveCount (5) times, then dead-lettered: it is
    // not delivered forever.
    let sqs = moto().sqs().await;
    sqs.send_message()
        .queue_url(&ingest)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    let mut receives = 0;
    for _ in 0..8 {
        let got = sqs
            .receive_message()
            .queue_url(&ingest)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        receives += got.messages().len();
    }
    assert_eq!(receives, 5);
    assert_eq!(drain_queue(&sqs, &dlq).await, vec!["poison".to_string()]);
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_not_a_crash() {
    // `hookline … | head`: enough output that the command is still writing when head exits.
    let payloads = hookline_tests::events_dir().join("payloads/octopus/order-delivered.json");
    let many = vec![payloads.display().to_string(); 400].join(" ");
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{HOOKLINE} sqs-event {many} | head -c 10 > /dev/null"
        ))
        .output()
        .expect("run sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

#[test]
fn without_aws_credentials_a_command_says_what_to_do_in_one_line() {
    let home = std::env::temp_dir().join(format!("hookline-no-aws-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut command = Command::new(HOOKLINE);
    command
        .args(["inspect", "evt_1", "--table", "hookline-events"])
        .env("HOME", &home)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        command.env_remove(var);
    }
    let output = command.output().expect("run hookline");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("no AWS credentials were found"), "{stderr}");
    assert!(
        stderr.contains("aws configure") && stderr.contains("--endpoint-url"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.len() < 400, "{stderr}");
    assert_eq!(output.status.code(), Some(4), "AWS unreachable: {stderr}");
}

#[tokio::test]
async fn updates_reads_an_order_updates_queue_without_taking_from_it() {
    let sqs = moto().sqs().await;
    let queue = hookline_tests::create_fifo_queue(&sqs, "updates-peek").await;
    let body = format!(r#"{{"event_id":"evt_peek","vouchers":[{{"code":"{CODE}"}}]}}"#);
    sqs.send_message()
        .queue_url(&queue)
        .message_body(&body)
        .message_group_id("octopus#order#1")
        .message_deduplication_id("peek-1")
        .send()
        .await
        .unwrap();
    let (ok, out, err) = hookline(&["updates", "--queue-url", &queue]);
    assert!(ok, "{err}");
    assert!(out.contains("evt_peek"), "{out}");
    assert!(!out.contains(CODE), "codes are masked: {out}");
    assert_eq!(
        drain_queue(&sqs, &queue).await,
        vec![body],
        "still there for its consumer"
    );
}

/// The exit status and first line of `hookline args…` run with `env`, no AWS settings inherited.
fn status_of(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = Command::new(HOOKLINE);
    command.args(args);
    for var in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "EVENTS_TABLE",
        "INGEST_QUEUE_URL",
    ] {
        command.env_remove(var);
    }
    let output = command
        .envs(env.iter().copied())
        .output()
        .expect("run hookline");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}

#[test]
fn each_kind_of_failure_has_its_own_exit_status() {
    let dir = std::env::temp_dir().join(format!("hookline-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let home = [
        ("HOME", dir.to_str().unwrap()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let sample = hookline_tests::events_dir().join("octopus-webhook/order-delivered.json");
    let sample = sample.to_str().unwrap();

    // 2: usage, from clap and from the command's own checks alike.
    assert_eq!(status_of(&["sign", "--no-such-flag"], &home).0, 2);
    let (code, err) = status_of(&["replay", sample], &home);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nowhere to send"), "{err}");

    // 3: what was asked about does not exist.
    let (code, err) = status_of(
        &["sign", "--provider", "octopus", "/no/such/payload.json"],
        &home,
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("/no/such/payload.json"), "{err}");

    // 4: AWS (here an emulator's address where nothing listens) cannot be reached.
    let (code, err) = status_of(
        &[
            "inspect",
            "evt_1",
            "--table",
            "hookline-events",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &home,
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("could not be reached"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // 5: the command ran and its check failed.
    let stale = dir.join("template.yaml");
    // The real template with one generated line taken out.
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let marker = "# >>> generated: receiver resources";
    let at = template.find(marker).unwrap();
    let at = at + template[at..].find('\n').unwrap() + 1;
    let next_line = at + template[at..].find('\n').unwrap() + 1;
    std::fs::write(
        &stale,
        format!("{}{}", &template[..at], &template[next_line..]),
    )
    .unwrap();
    let (code, err) = status_of(
        &["template", "--check", "--file", stale.to_str().unwrap()],
        &home,
    );
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("hookline template --write"), "{err}");
}

#[tokio::test]
async fn an_event_that_is_not_in_the_table_exits_not_found() {
    let dynamodb = moto().dynamodb().await;
    let table = hookline_tests::create_table(&dynamodb).await;
    let (code, err) = status_of(
        &[
            "inspect",
            "evt_never_sent",
            "--table",
            &table,
            "--endpoint-url",
            &moto().endpoint,
        ],
        &[],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no record of event evt_never_sent"), "{err}");
}

/// An instance metadata service (IMDS) stand-in on loopback that answers 404 and counts the
/// connections made to it.
fn imds_counter() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = [0_u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    });
    (endpoint, count)
}

#[test]
fn commands_on_local_files_look_up_no_aws_settings() {
    let (imds, connections) = imds_counter();
    let dir = std::env::temp_dir().join(format!("hookline-no-imds-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("archive")).unwrap();
    let env = [
        ("HOME", dir.to_str().unwrap()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str()),
    ];
    let archive = dir.join("archive");
    let archive = archive.to_str().unwrap();
    for args in [
        vec!["archive", "search", "--archive-dir", archive],
        vec![
            "replay",
            "--from-archive",
            "--provider",
            "octopus",
            "--dry-run",
            "--archive-dir",
            archive,
        ],
    ] {
        let (code, err) = status_of(&args, &env);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(!err.contains("IMDS") && !err.contains("imds"), "{err}");
    }
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a command on local files asked the instance metadata service"
    );
    // The counter does see a command that needs AWS look its region up there.
    let _ = status_of(&["inspect", "evt_1", "--table", "hookline-events"], &env);
    assert!(connections.load(std::sync::atomic::Ordering::SeqCst) > 0);
}
