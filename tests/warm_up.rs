//! The connections a function opens during init (`hookline::warm_up`), against moto: each is one
//! read that its policy allows and that writes nothing; a warm-up that cannot reach AWS logs a
//! warning and lets init go on (the first request opens the connection then).

use std::time::{Duration, Instant};

use hookline::{usage, warm_up};
use hookline_tests::{
    capture_logs, create_queue, create_table, moto, table_items, unreachable_endpoint,
};

/// `hookline::usage` counts for the whole process: the tests that read it take turns.
static COUNTED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn each_warm_up_is_one_read_and_writes_nothing() {
    let _turn = COUNTED.lock().await;
    let moto = moto();
    let queue = create_queue(&moto.sqs().await, "warm-up").await;
    let admin = moto.dynamodb().await;
    let table = create_table(&admin).await;
    let counted = hookline::aws::for_emulator_counted(&moto.endpoint).await;
    usage::reset();
    warm_up::sqs_queue(&aws_sdk_sqs::Client::new(&counted), &queue).await;
    warm_up::dynamodb_table(&aws_sdk_dynamodb::Client::new(&counted), &table).await;
    let usage = usage::snapshot();
    assert_eq!(usage.call("SQS", "GetQueueAttributes").requests, 1);
    assert_eq!(usage.call("DynamoDB", "GetItem").requests, 1);
    for (service, operations) in [
        ("SQS", &["SendMessage", "SendMessageBatch"][..]),
        ("DynamoDB", &["PutItem", "UpdateItem", "DeleteItem"][..]),
    ] {
        assert_eq!(usage.billed_of(service, operations), 0, "{service} written");
    }
    assert!(table_items(&admin, &table).await.is_empty());
}

#[tokio::test]
async fn a_warm_up_that_cannot_connect_warns_and_returns() {
    let logs = capture_logs();
    let config = hookline::aws::for_emulator(&unreachable_endpoint()).await;
    let started = Instant::now();
    warm_up::sqs_queue(
        &aws_sdk_sqs::Client::new(&config),
        "http://127.0.0.1:9/000000000000/nowhere",
    )
    .await;
    warm_up::dynamodb_table(&aws_sdk_dynamodb::Client::new(&config), "nowhere").await;
    // Bounded by the SDK's operation timeout (8 s each, `hookline::aws`).
    assert!(started.elapsed() < Duration::from_secs(17));
    for service in ["sqs", "dynamodb"] {
        let line = logs
            .text()
            .lines()
            .find(|l| {
                l.contains("could not open the connection during init") && l.contains(service)
            })
            .map(str::to_string);
        let line = line.unwrap_or_else(|| panic!("no warning for {service}: {}", logs.text()));
        assert!(line.contains("\"level\":\"WARN\""), "{line}");
    }
}

/// The processor opens DynamoDB's connection and, when it knows the ingest queue, SQS's (its
/// order updates go there) with that queue's ARN: reads its role has. Off: nothing.
#[tokio::test]
async fn the_processor_opens_both_of_its_connections_when_it_knows_the_queue() {
    let _turn = COUNTED.lock().await;
    let moto = moto();
    let queue = create_queue(&moto.sqs().await, "warm-up-processor").await;
    let table = create_table(&moto.dynamodb().await).await;
    let counted = hookline::aws::for_emulator_counted(&moto.endpoint).await;
    let (dynamodb, sqs) = (
        aws_sdk_dynamodb::Client::new(&counted),
        aws_sdk_sqs::Client::new(&counted),
    );
    let env = |vars: &[(&str, &str)]| {
        let mut all = vec![
            ("EVENTS_TABLE", table.as_str()),
            (
                "ORDER_UPDATES_QUEUE_URL",
                "http://127.0.0.1:9/000000000000/updates.fifo",
            ),
        ];
        all.extend_from_slice(vars);
        hookline::config::ProcessorEnv::from_lookup(|name| {
            all.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
        .unwrap()
    };
    for (vars, sqs_reads, dynamodb_reads) in [
        (vec![("INGEST_QUEUE_URL", queue.as_str())], 1, 1),
        (vec![], 0, 1),
        (
            vec![
                ("INGEST_QUEUE_URL", queue.as_str()),
                ("WARM_CONNECTIONS_AT_INIT", "false"),
            ],
            0,
            0,
        ),
    ] {
        usage::reset();
        warm_up::processor_connections(&dynamodb, &sqs, &env(&vars)).await;
        let usage = usage::snapshot();
        assert_eq!(
            usage.call("SQS", "GetQueueAttributes").requests,
            sqs_reads,
            "{vars:?}"
        );
        assert_eq!(
            usage.call("DynamoDB", "GetItem").requests,
            dynamodb_reads,
            "{vars:?}"
        );
    }
}
