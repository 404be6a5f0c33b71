//! `hookline emulator-setup`: the ingest queue, the order-updates FIFO queue and the events table
//! on a local AWS emulator, so the Lambda binaries can run locally (`cargo lambda watch`,
//! `sam local invoke`) against it.

use clap::Args;
use hookline::dev_defaults::{LOCAL_EVENTS_TABLE, LOCAL_INGEST_QUEUE, LOCAL_ORDER_UPDATES_QUEUE};
use hookline::emulator;

#[derive(Args)]
pub struct EmulatorSetupArgs {
    /// The emulator, e.g. http://127.0.0.1:5000 (moto server).
    #[arg(long)]
    aws_endpoint: String,
}

pub async fn run(args: EmulatorSetupArgs) -> Result<(), String> {
    let config = hookline::aws::for_emulator(&args.aws_endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let ingest = emulator::create_queue(&sqs, LOCAL_INGEST_QUEUE).await?;
    let updates = emulator::create_fifo_queue(&sqs, LOCAL_ORDER_UPDATES_QUEUE).await?;
    emulator::create_events_table(&dynamodb, LOCAL_EVENTS_TABLE).await?;
    println!("INGEST_QUEUE_URL={ingest}");
    println!("ORDER_UPDATES_QUEUE_URL={updates}");
    println!("EVENTS_TABLE={LOCAL_EVENTS_TABLE}");
    Ok(())
}
