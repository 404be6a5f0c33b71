//! The archive and replay from history, run as an operator would, on moto (SQS, DynamoDB, S3)
//! and with the local folder backend: every accepted sample archived and none of the refused;
//! entries that re-verify byte for byte; time-range selection; secrets rotated away and
//! altered entries refused; a held type (a parser fix simulated) applied by a reprocess replay
//! giving the order updates of the fault-free run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hookline::archive::{ArchiveStore, FolderArchive, S3Archive, parse_object};
use hookline::idempotency::body_sha256;
use hookline::message::QueueMessage;
use hookline_tests::{
    create_queue, create_table, drain_queue, events_dir, moto, queue_depth, unique_name,
};

mod support;

use support::{HOOKLINE, Serve};
/// When every sample in `events/` was signed (`requestContext.timeEpoch`).
const SIGNED_AT: &str = "2026-11-22T10:00:00Z";
const LATER: &str = "2026-11-22T10:02:00Z";
const RECEIVER_DIRS: [&str; 5] = [
    "octopus-webhook",
    "coinme-webhook",
    "optty-webhook",
    "owlpay-webhook",
    "std-webhook",
];

#[derive(Clone)]
enum Backend {
    Bucket(String),
    Folder(PathBuf),
}

impl Backend {
    async fn new(s3: bool) -> Self {
        if s3 {
            Backend::Bucket(unique_name("archive").to_lowercase())
        } else {
            let dir = std::env::temp_dir().join(unique_name("hookline-archive"));
            Backend::Folder(dir)
        }
    }

    fn serve_args(&self) -> Vec<String> {
        match self {
            Backend::Bucket(bucket) => vec!["--archive-bucket".into(), bucket.clone()],
            Backend::Folder(dir) => vec!["--archive-dir".into(), dir.display().to_string()],
        }
    }

    fn cli_args(&self) -> Vec<String> {
        match self {
            Backend::Bucket(bucket) => vec!["--bucket".into(), bucket.clone()],
            Backend::Folder(dir) => vec!["--archive-dir".into(), dir.display().to_string()],
        }
    }

    async fn store(&self) -> ArchiveStore {
        match self {
            Backend::Bucket(bucket) => {
                ArchiveStore::S3(S3Archive::new(&moto().sdk_config().await, bucket))
            }
            Backend::Folder(dir) => ArchiveStore::Folder(FolderArchive::new(dir)),
        }
    }
}

/// Queues and table of one pipeline on moto.
struct Stack {
    ingest: String,
    updates: String,
    table: String,
}

async fn stack() -> Stack {
    let sqs = moto().sqs().await;
    Stack {
        ingest: create_queue(&sqs, "ingest").await,
        // Standard, not FIFO as in AWS: a FIFO queue would drop a repeated publish, which these
        // tests must see.
        updates: create_queue(&sqs, "updates").await,
        table: create_table(&moto().dynamodb().await).await,
    }
}

fn hookline(args: &[String]) -> (bool, String, String) {
    let output = Command::new(HOOKLINE)
        .args(args)
        .args(["--endpoint-url", &moto().endpoint])
        .env_remove("INGEST_QUEUE_URL")
        .output()
        .expect("run hookline");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// The receivers' sample requests of `dirs`.
fn samples(dirs: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(events_dir().join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Copies of `files` received two minutes after they were signed (within every scheme's
/// tolerance), so a time range can tell them apart.
fn received_later(files: &[PathBuf]) -> Vec<PathBuf> {
    let dir = std::env::temp_dir().join(unique_name("later"));
    std::fs::create_dir_all(&dir).unwrap();
    files
        .iter()
        .map(|file| {
            let mut event: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            let epoch = event["requestContext"]["timeEpoch"].as_i64().unwrap();
            event["requestContext"]["timeEpoch"] = (epoch + 120_000).into();
            let copy = dir.join(file.file_name().unwrap());
            std::fs::write(&copy, event.to_string()).unwrap();
            copy
        })
        .collect()
}

/// `hookline replay FILES` into `queue`: verified as the receivers do, enqueued.
fn replay_files(files: &[PathBuf], queue: &str) {
    let mut args = strings(&["replay", "--queue-url", queue]);
    args.extend(files.iter().map(|f| f.display().to_string()));
    let (ok, _, err) = hookline(&args);
    assert!(ok, "{err}");
}

/// What a replay of `files` enqueues (on a queue of its own).
async fn messages_of(files: &[PathBuf]) -> Vec<QueueMessage> {
    let sqs = moto().sqs().await;
    let capture = create_queue(&sqs, "capture").await;
    replay_files(files, &capture);
    drain_queue(&sqs, &capture)
        .await
        .iter()
        .map(|body| QueueMessage::from_json(body).unwrap())
        .collect()
}

/// A running `hookline serve --with-processor` on a stack.
struct Processor;

impl Processor {
    fn start(stack: &Stack, backend: &Backend, extra: &[&str]) -> Serve {
        Serve::start(|command| {
            command
                .args(["--aws-endpoint", &moto().endpoint, "--with-processor"])
                .args(["--queue-url", &stack.ingest, "--events-table", &stack.table])
                .args([
                    "--updates-queue-url",
                    &stack.updates,
                    "--octopus-wallets",
                    "",
                ])
                .args(backend.serve_args())
                .args(extra);
        })
    }
}

/// Waits until the ingest queue is empty (every message processed and deleted) twice in a row.
async fn wait_until_processed(stack: &Stack) {
    let sqs = moto().sqs().await;
    let mut empty_checks = 0;
    for _ in 0..120 {
        let left = queue_depth(&sqs, &stack.ingest).await;
        empty_checks = if left == 0 { empty_checks + 1 } else { 0 };
        if empty_checks == 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the ingest queue was not drained");
}

/// `hookline archive search --json` over everything.
fn search(backend: &Backend, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = strings(&[
        "archive",
        "search",
        "--since",
        "2020-01-01T00:00:00Z",
        "--json",
    ]);
    args.extend(backend.cli_args());
    args.extend(strings(extra));
    let (ok, out, err) = hookline(&args);
    assert!(ok, "{err}");
    out.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn identities<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeSet<(String, String)> {
    items
        .into_iter()
        .map(|(p, e)| (p.to_string(), e.to_string()))
        .collect()
}

/// `hookline replay --from-archive` (dry run unless `queue` is given).
fn replay_archive(
    backend: &Backend,
    provider: &str,
    extra: &[&str],
    queue: Option<&str>,
) -> (bool, String, String) {
    let mut args = strings(&["replay", "--from-archive", "--provider", provider]);
    // The hour of the samples, unless the caller names a bound.
    if !extra.contains(&"--since") {
        args.extend(strings(&["--since", SIGNED_AT]));
    }
    if !extra.contains(&"--until") {
        args.extend(strings(&["--until", "2026-11-22T11:00:00Z"]));
    }
    args.extend(backend.cli_args());
    args.extend(strings(extra));
    match queue {
        Some(queue) => args.extend(strings(&["--queue-url", queue])),
        None => args.push("--dry-run".into()),
    }
    hookline(&args)
}

/// A forged copy of a sample: its event id and body changed, its signature kept.
async fn post_forged(processor: &Serve, sample: &Path) -> u16 {
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
    let mut request = hookline::tls::http_client().unwrap().post(format!(
        "http://{}{}",
        processor.addr,
        event["rawPath"].as_str().unwrap()
    ));
    for (name, value) in event["headers"].as_object().unwrap() {
        request = request.header(name, value.as_str().unwrap());
    }
    let body = event["body"].as_str().unwrap().replace("evt_", "forged_");
    request.body(body).send().await.unwrap().status().as_u16()
}

async fn every_accepted_webhook_is_archived_and_re_verifies(s3: bool) {
    let backend = Backend::new(s3).await;
    let stack = stack().await;
    let files = samples(&RECEIVER_DIRS);
    let octopus = samples(&["octopus-webhook"]);
    let late = received_later(&octopus[octopus.len() / 2..]);
    let expected = messages_of(&files).await;
    let late_messages = messages_of(&late).await;
    replay_files(&files, &stack.ingest);
    replay_files(&late, &stack.ingest);

    let processor = Processor::start(&stack, &backend, &[]);
    // Refused requests are never archived: a forged body, and a genuine one now stale.
    for sample in [&octopus[0], &samples(&["std-webhook"])[0]] {
        assert_eq!(
            post_forged(&processor, sample).await,
            401,
            "{}",
            sample.display()
        );
    }
    wait_until_processed(&stack).await;
    drop(processor);

    // Every accepted webhook, exactly once (the later copies are the same events).
    let archived = search(&backend, &["--show-body"]);
    let archived_ids = identities(archived.iter().map(|e| {
        (
            e["provider"].as_str().unwrap(),
            e["event_id"].as_str().unwrap(),
        )
    }));
    let expected_ids = identities(
        expected
            .iter()
            .map(|m| (m.provider.as_str(), m.event_id.as_str())),
    );
    assert_eq!(archived_ids, expected_ids);
    assert!(
        archived
            .iter()
            .all(|e| !e["event_id"].as_str().unwrap().starts_with("forged_"))
    );
    // OwlPay's renewal sample carries a new signing secret: the archive never holds it.
    let objects = backend.store().await;
    let every_object: String = futures::future::join_all(
        objects
            .list("")
            .await
            .unwrap()
            .iter()
            .map(|key| objects.get(key)),
    )
    .await
    .into_iter()
    .map(|bytes| String::from_utf8(bytes.unwrap()).unwrap())
    .collect();
    assert!(every_object.contains("webhook.renew.secret"));
    assert!(!every_object.contains("whs_sample_renewed_secret"));
    // Byte for byte: the archived body is the body the receiver accepted.
    for message in &expected {
        let entry = archived
            .iter()
            .find(|e| {
                e["event_id"] == message.event_id.as_str()
                    && e["provider"] == message.provider.as_str()
            })
            .unwrap();
        assert_eq!(entry["body"], message.body.as_str(), "{}", message.event_id);
        assert_eq!(entry["intact"], true);
        assert_eq!(entry["integrity"], "intact");
    }
    // Metadata only unless asked.
    let listed = search(&backend, &[]);
    assert_eq!(listed.len(), archived.len());
    assert!(listed.iter().all(|e| e.get("body").is_none()));
    // Nothing that must not be kept: no secret header, no token, no activation code.
    let store = backend.store().await;
    for key in store.list("").await.unwrap() {
        let text = String::from_utf8(store.get(&key).await.unwrap()).unwrap();
        for secret in [
            hookline::providers::octopus::TEST_SECRET,
            hookline::providers::optty::TEST_TOKEN,
            "x-octopus-webhook-token",
            "activation_code",
            // Optty's card token (events/payloads/optty/order-successful-card-token.json).
            "tok_card_hookline_sample",
        ] {
            assert!(!text.contains(secret), "{key} holds {secret}");
        }
    }

    // Unknown types are kept and listed.
    let unknown = search(&backend, &["--unknown"]);
    let unknown_ids = identities(unknown.iter().map(|e| {
        (
            e["provider"].as_str().unwrap(),
            e["event_id"].as_str().unwrap(),
        )
    }));
    let expected_unknown = identities(
        expected
            .iter()
            .filter(|m| !hookline::providers::plan(m).is_ok_and(|p| p.known_type))
            .map(|m| (m.provider.as_str(), m.event_id.as_str())),
    );
    assert!(!expected_unknown.is_empty());
    assert_eq!(unknown_ids, expected_unknown);

    // Every provider's entries verify again with today's secrets, except Optty's (its token
    // is never kept): those need --trust-archive.
    for provider in expected
        .iter()
        .map(|m| m.provider.as_str())
        .collect::<BTreeSet<_>>()
    {
        let (ok, out, err) = replay_archive(&backend, provider, &[], None);
        if provider == "optty" {
            assert!(!ok && out.contains("never kept"), "{out}{err}");
            let (ok, out, err) = replay_archive(&backend, provider, &["--trust-archive"], None);
            assert!(ok && out.contains("trusted"), "{out}{err}");
        } else {
            // OwlPay's secret renewal is archived without its data (it may hold the new
            // secret): it no longer matches its signature, and replays only as trusted.
            let renewals = usize::from(provider == "owlpay");
            let (ok, out, err) = if renewals > 0 {
                assert!(!ok && out.contains("webhook.renew.secret"), "{out}{err}");
                assert!(out.contains("REFUSED"), "{out}");
                replay_archive(&backend, provider, &["--trust-archive"], None)
            } else {
                (ok, out, err)
            };
            assert!(ok, "{provider}: {out}{err}");
            // A dry run says it sent nothing, and logs no "accepted" line that says otherwise.
            assert!(out.contains("nothing was sent"), "{out}");
            assert!(!err.contains("webhook accepted"), "{err}");
            let listed = out.lines().filter(|l| l.contains("  verified")).count();
            let distinct = identities(
                expected
                    .iter()
                    .filter(|m| m.provider == provider)
                    .map(|m| (m.provider.as_str(), m.event_id.as_str())),
            );
            assert_eq!(listed + renewals, distinct.len(), "{out}");
        }
    }

    // A time range lists exactly the events received in it.
    let later_ids: BTreeSet<_> = late_messages.iter().map(|m| m.event_id.clone()).collect();
    let (ok, out, err) = replay_archive(
        &backend,
        "octopus",
        &["--since", "2026-11-22T10:01:00Z"],
        None,
    );
    assert!(ok, "{err}");
    let listed: BTreeSet<_> = out
        .lines()
        .filter(|l| l.contains("  verified"))
        .map(|l| l.split_whitespace().nth(3).unwrap().to_string())
        .collect();
    assert_eq!(listed, later_ids, "{out}");
    assert!(
        out.lines()
            .filter(|l| l.contains("verified"))
            .all(|l| l.starts_with(LATER))
    );
    // Every sample was received at 10:00 once (the later copies are redeliveries).
    let octopus_ids: BTreeSet<_> = expected
        .iter()
        .filter(|m| m.provider == "octopus")
        .map(|m| m.event_id.clone())
        .collect();
    let (ok, out, _) = replay_archive(
        &backend,
        "octopus",
        &["--until", "2026-11-22T10:01:00Z"],
        None,
    );
    assert!(ok);
    assert_eq!(
        out.lines().filter(|l| l.contains("  verified")).count(),
        octopus_ids.len(),
        "{out}"
    );

    // The Octopus secret rotated away: reported, nothing sent; sent only when trusted.
    let sqs = moto().sqs().await;
    let target = create_queue(&sqs, "replayed").await;
    let rotated = [
        "--octopus-secrets",
        "a-secret-after-the-rotation-0123456789abcdef",
    ];
    let (ok, out, err) = replay_archive(&backend, "octopus", &rotated, Some(&target));
    assert!(
        !ok && out.contains("rotated away") && err.contains("nothing sent"),
        "{out}{err}"
    );
    assert!(drain_queue(&sqs, &target).await.is_empty());
    let mut trusted = rotated.to_vec();
    trusted.push("--trust-archive");
    let (ok, out, err) = replay_archive(&backend, "octopus", &trusted, Some(&target));
    assert!(ok, "{out}{err}");
    let replayed = drain_queue(&sqs, &target).await;
    assert_eq!(replayed.len(), octopus_ids.len());

    // An altered entry is refused, even trusted; re-hashed, it no longer verifies.
    let key = store
        .list("events/provider=octopus/")
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let mut entries = parse_object(&key, &store.get(&key).await.unwrap()).unwrap();
    let original = entries.clone();
    entries[0].body = entries[0].body.replacen('1', "9", 1);
    assert_ne!(entries[0].body, original[0].body);
    let write = |entries: &Vec<hookline::archive::ArchiveEntry>| {
        entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect::<String>()
            .into_bytes()
    };
    store.put(&key, write(&entries)).await.unwrap();
    let (ok, out, err) = replay_archive(&backend, "octopus", &["--trust-archive"], Some(&target));
    assert!(!ok && out.contains("altered"), "{out}{err}");
    // Planted as a v1 entry with a recomputed unkeyed hash: it does not verify, and the hash
    // proves nothing, so even --trust-archive refuses it.
    entries[0].digest = None;
    entries[0].body_sha256 = Some(body_sha256(entries[0].body.as_bytes()));
    store.put(&key, write(&entries)).await.unwrap();
    let (ok, out, err) = replay_archive(&backend, "octopus", &[], Some(&target));
    assert!(!ok && out.contains("does not verify"), "{out}{err}");
    let (ok, out, err) = replay_archive(&backend, "octopus", &["--trust-archive"], Some(&target));
    assert!(
        !ok && out.contains("unkeyed hash proves nothing"),
        "{out}{err}"
    );
    // Planted with a digest under a key of the planter's own: altered or planted.
    let theirs =
        hookline::archive::ArchiveKey::parse("a-planters-own-key-of-32-bytes-at-least").unwrap();
    let mut message = entries[0].to_message();
    message.body = entries[0].body.clone();
    entries[0] = hookline::archive::ArchiveEntry::of(&message, true, None, &theirs);
    store.put(&key, write(&entries)).await.unwrap();
    let (ok, out, err) = replay_archive(&backend, "octopus", &["--trust-archive"], Some(&target));
    assert!(!ok && out.contains("altered or planted"), "{out}{err}");
    assert!(drain_queue(&sqs, &target).await.is_empty());
    store.put(&key, write(&original)).await.unwrap();

    // A change the poller found: archived, but left out of a replay unless asked for (it carries
    // no provider signature).
    let at = time::OffsetDateTime::from_unix_timestamp(1_795_341_600).unwrap();
    let polled =
        QueueMessage::new("octopus", "poll_x", "order.delivered", at, "{}".into()).polled();
    let test_key = hookline::archive::ArchiveKey::published_test_key();
    let entry = hookline::archive::ArchiveEntry::of(&polled, true, None, &test_key);
    assert!(
        hookline::archive::write(&store, vec![(0, entry)])
            .await
            .is_empty()
    );
    let (ok, out, err) = replay_archive(&backend, "octopus", &[], None);
    assert!(
        ok && out.contains("1 change(s) found by polling left out"),
        "{out}{err}"
    );
    assert!(!out.contains("poll_x"), "{out}");
    let with_polled = ["--trust-archive", "--include-polled"];
    let (ok, out, err) = replay_archive(&backend, "octopus", &with_polled, None);
    assert!(
        ok && out.contains("poll_x") && out.contains("trusted (found by polling"),
        "{out}{err}"
    );
}

#[tokio::test]
async fn s3_archive_keeps_every_accepted_webhook_and_it_re_verifies() {
    every_accepted_webhook_is_archived_and_re_verifies(true).await;
}

#[tokio::test]
async fn folder_archive_keeps_every_accepted_webhook_and_it_re_verifies() {
    every_accepted_webhook_is_archived_and_re_verifies(false).await;
}

/// Every order update published on a stack, sorted, as JSON without `current` (which depends
/// on the order in which one order's events happened to be processed).
async fn updates(stack: &Stack) -> Vec<String> {
    let mut updates: Vec<String> = drain_queue(&moto().sqs().await, &stack.updates)
        .await
        .iter()
        .map(|body| {
            let mut update: serde_json::Value = serde_json::from_str(body).unwrap();
            update.as_object_mut().unwrap().remove("current");
            update.to_string()
        })
        .collect();
    updates.sort();
    updates
}

async fn a_held_type_replayed_with_reprocess_gives_the_fault_free_updates(s3: bool) {
    let files = samples(&["octopus-webhook"]);
    let held = "order.delivered";

    // The fault-free run.
    let fault_free = stack().await;
    replay_files(&files, &fault_free.ingest);
    let processor = Processor::start(&fault_free, &Backend::new(s3).await, &[]);
    wait_until_processed(&fault_free).await;
    drop(processor);
    let expected = updates(&fault_free).await;
    assert!(
        expected
            .iter()
            .any(|u| u.contains(&format!(r#""event_type":"{held}""#)))
    );

    // The type unknown at first (held), known after (released), applied from the archive.
    let backend = Backend::new(s3).await;
    let stack = stack().await;
    replay_files(&files, &stack.ingest);
    let processor = Processor::start(&stack, &backend, &["--hold-event-types", held]);
    wait_until_processed(&stack).await;
    drop(processor);
    let mut got = updates(&stack).await;
    assert!(
        !got.iter()
            .any(|u| u.contains(&format!(r#""event_type":"{held}""#)))
    );
    let (ok, out, err) = replay_archive(&backend, "octopus", &["--type", held], None);
    assert!(ok && out.contains("verified"), "{out}{err}");

    let processor = Processor::start(&stack, &backend, &[]);
    for _ in 0..2 {
        // Twice: the second does nothing.
        let (ok, out, err) = replay_archive(
            &backend,
            "octopus",
            &["--type", held, "--reprocess"],
            Some(&stack.ingest),
        );
        assert!(ok, "{out}{err}");
        wait_until_processed(&stack).await;
    }
    // A reprocess of every event publishes nothing that was published the first time.
    let (ok, out, err) = replay_archive(&backend, "octopus", &["--reprocess"], Some(&stack.ingest));
    assert!(ok, "{out}{err}");
    wait_until_processed(&stack).await;
    drop(processor);
    got.extend(updates(&stack).await);
    got.sort();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn s3_reprocess_after_a_parser_fix_gives_the_fault_free_updates() {
    a_held_type_replayed_with_reprocess_gives_the_fault_free_updates(true).await;
}

#[tokio::test]
async fn folder_reprocess_after_a_parser_fix_gives_the_fault_free_updates() {
    a_held_type_replayed_with_reprocess_gives_the_fault_free_updates(false).await;
}
