//! `hookline archive search`: the archived webhooks of a provider, a time range, a type, an
//! event or an order, from the S3 bucket or `hookline serve`'s folder. Metadata only; bodies
//! with `--show-body`.

use std::path::PathBuf;

use clap::Args;
use hookline::archive::{ArchiveQuery, ArchiveStore, FolderArchive, Found, S3Archive, search};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::operate::aws_target::AwsTarget;
use crate::operate::stack::Stack;

/// Where the archive is read from.
#[derive(Args, Clone, Debug)]
pub struct ArchiveSource {
    /// The deployed stack: its archive bucket (output `ArchiveBucketName`).
    #[arg(long, env = "HOOKLINE_STACK", conflicts_with_all = ["bucket", "archive_dir"])]
    pub stack: Option<String>,
    /// The archive bucket.
    #[arg(long, conflicts_with = "archive_dir")]
    bucket: Option<String>,
    /// `hookline serve`'s archive folder (default when neither a stack nor a bucket is given).
    #[arg(long)]
    archive_dir: Option<PathBuf>,
}

impl ArchiveSource {
    /// The archive; a bucket (named, or the stack's) is reached as `aws` says (AWS, or an
    /// emulator). `described` is `--stack` when the caller has read it already.
    pub async fn store(
        &self,
        aws: &AwsTarget,
        described: Option<&Stack>,
    ) -> Result<ArchiveStore, String> {
        let config = aws.sdk_config().await;
        let read;
        let stack = match (described, &self.stack) {
            (Some(stack), _) => Some(stack),
            (None, Some(name)) => {
                read = Stack::describe(&config, name).await?;
                Some(&read)
            }
            (None, None) => None,
        };
        let bucket = match stack {
            Some(stack) => Some(stack.output("ArchiveBucketName")?.to_string()),
            None => self.bucket.clone(),
        };
        Ok(match bucket {
            Some(bucket) => ArchiveStore::S3(S3Archive::new(&config, &bucket)),
            None => ArchiveStore::Folder(FolderArchive::new(
                self.archive_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(crate::local::serve::LOCAL_ARCHIVE_DIR)),
            )),
        })
    }
}

/// Which events: provider, receipt time range and filters.
#[derive(Args, Clone, Debug)]
pub struct ArchiveFilter {
    /// The provider as events name it (`octopus`, `std:acme`, `owlpay-harbor`).
    #[arg(long)]
    pub provider: Option<String>,
    /// Received at or after: RFC 3339, or an age such as `90m`, `24h`, `7d` (default 24h).
    #[arg(long, default_value = "24h", value_parser = parse_time)]
    pub since: OffsetDateTime,
    /// Received before: RFC 3339 or an age (default now).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<OffsetDateTime>,
    /// Only this event type.
    #[arg(long = "type")]
    pub event_type: Option<String>,
    /// Only this event id.
    #[arg(long)]
    pub event_id: Option<String>,
    /// Only events of this order.
    #[arg(long)]
    pub order_id: Option<String>,
    /// Only events of a type hookline did not know (or held) when it archived them.
    #[arg(long)]
    pub unknown: bool,
}

impl ArchiveFilter {
    pub fn query(&self) -> ArchiveQuery {
        ArchiveQuery {
            provider: self.provider.clone(),
            since: self.since,
            // Receipt times are whole seconds: "now" includes this second.
            until: self
                .until
                .unwrap_or_else(|| OffsetDateTime::now_utc() + Duration::seconds(1)),
            event_type: self.event_type.clone(),
            event_id: self.event_id.clone(),
            order_id: self.order_id.clone(),
            unknown_only: self.unknown,
        }
    }
}

/// An RFC 3339 time, or an age before now (`30s`, `90m`, `24h`, `7d`).
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let split = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| format!("not an RFC 3339 time or an age like 24h: {text}"))?;
    let age = match unit {
        "s" => Duration::seconds(number),
        "m" => Duration::minutes(number),
        "h" => Duration::hours(number),
        "d" => Duration::days(number),
        _ => return Err(format!("not an RFC 3339 time or an age like 24h: {text}")),
    };
    Ok(OffsetDateTime::now_utc() - age)
}

#[derive(Args)]
pub struct ArchiveArgs {
    #[command(subcommand)]
    command: ArchiveCommand,
}

#[derive(clap::Subcommand)]
enum ArchiveCommand {
    /// The archived webhooks matching the filters, oldest first.
    Search(SearchArgs),
    /// Same as `search`: every archived webhook of the range.
    List(SearchArgs),
}

#[derive(Args)]
struct SearchArgs {
    #[command(flatten)]
    source: ArchiveSource,
    #[command(flatten)]
    filter: ArchiveFilter,
    #[command(flatten)]
    aws: AwsTarget,
    /// Print each body too (it may hold personal data: mind where the output goes).
    #[arg(long)]
    show_body: bool,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: ArchiveArgs) -> Result<(), String> {
    let (ArchiveCommand::Search(args) | ArchiveCommand::List(args)) = args.command;
    let found = search(
        &args.source.store(&args.aws, None).await?,
        &args.filter.query(),
    )
    .await
    .map_err(|e| e.to_string())?;
    if !args.json {
        println!(
            "{:<20}  {:<14}  {:<28}  {:<36}  {:<12}  KNOWN",
            "RECEIVED", "PROVIDER", "TYPE", "EVENT ID", "ORDER"
        );
    }
    for Found { entry, key } in &found {
        if args.json {
            let mut line = serde_json::json!({
                "received_at": entry.received_at, "provider": entry.provider,
                "event_type": entry.event_type, "event_id": entry.event_id,
                "order_id": entry.order_id, "known_type": entry.known_type,
                "polled": entry.polled,
                "intact": entry.is_intact(), "object": key,
            });
            if args.show_body {
                line["body"] = entry.body.clone().into();
            }
            println!("{line}");
        } else {
            println!(
                "{:<20}  {:<14}  {:<28}  {:<36}  {:<12}  {}",
                entry.received_at,
                entry.provider,
                entry.event_type,
                entry.event_id,
                entry.order_id.as_deref().unwrap_or("-"),
                if entry.known_type { "yes" } else { "no" }
            );
            if args.show_body {
                println!("    {}", entry.body);
            }
        }
    }
    eprintln!("{} archived webhook(s)", found.len());
    Ok(())
}
