//! `hookline emulator-setup`: the ingest queue, the order-updates FIFO queue (each with its
//! dead-letter queue and redrive policy, as the template has them) and the events table on a
//! local AWS emulator, so the Lambda binaries can run locally (`cargo lambda watch`,
//! `sam local invoke`) against it.

use clap::Args;
use hookline::dev_defaults::LOCAL_EVENTS_TABLE;
use hookline::emulator;

#[derive(Args)]
pub struct EmulatorSetupArgs {
    /// The emulator, e.g. http://127.0.0.1:5000 (moto server).
    #[arg(long)]
    aws_endpoint: String,
}

pub async fn run(args: EmulatorSetupArgs) -> Result<(), crate::failure::Failure> {
    let config = hookline::aws::for_emulator(&args.aws_endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let (ingest, ingest_dlq) = emulator::create_ingest_queue(&sqs).await?;
    let (updates, updates_dlq) = emulator::create_order_updates_queue(&sqs).await?;
    emulator::create_events_table(&dynamodb, LOCAL_EVENTS_TABLE).await?;
    println!("INGEST_QUEUE_URL={ingest}");
    println!("INGEST_DLQ_URL={ingest_dlq}");
    println!("ORDER_UPDATES_QUEUE_URL={updates}");
    println!("ORDER_UPDATES_DLQ_URL={updates_dlq}");
    println!("EVENTS_TABLE={LOCAL_EVENTS_TABLE}");
    Ok(())
}
