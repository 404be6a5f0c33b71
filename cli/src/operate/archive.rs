//! `hookline archive search`: the archived webhooks of a provider, a time range, a type, an
//! event or an order, from the S3 bucket or `hookline serve`'s folder. Metadata only; bodies
//! with `--show-body`.

use std::path::PathBuf;

use clap::Args;
use hookline::archive::{
    ArchiveKey, ArchiveQuery, ArchiveStore, FolderArchive, Found, Integrity, S3Archive, search,
};
use hookline::dev_defaults::TEST_ARCHIVE_KEY;
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
    #[command(flatten)]
    pub key: ArchiveKeyArg,
}

/// The archive's digest keys, which tell an entry the processor wrote from one planted or
/// altered (docs/src/security.md).
#[derive(Args, Clone, Debug, Default)]
pub struct ArchiveKeyArg {
    /// The archive's digest keys: one key or a JSON array, each at least 32 bytes. Default:
    /// with --stack, the stack's (output `ArchiveKeySecretArn`); otherwise the published test
    /// key `hookline serve` signs with, which only a local target trusts.
    #[arg(
        long = "archive-key",
        env = "HOOKLINE_ARCHIVE_KEY",
        hide_env_values = true
    )]
    pub archive_key: Option<String>,
}

/// An archive key, and whether it is the published test key (it vouches for nothing for real).
#[derive(Clone, Debug)]
pub struct ResolvedKey {
    pub key: ArchiveKey,
    pub published: bool,
}

impl ArchiveKeyArg {
    /// The key given, or else the published test key.
    pub fn given_or_test(&self) -> Result<ResolvedKey, String> {
        let text = self.archive_key.as_deref().unwrap_or(TEST_ARCHIVE_KEY);
        let key =
            ArchiveKey::parse(text).map_err(|e| format!("--archive-key is not usable: {e}"))?;
        Ok(ResolvedKey {
            key,
            published: text.trim() == TEST_ARCHIVE_KEY,
        })
    }

    /// The key given; else the stack's, read from Secrets Manager; else, for a local archive
    /// (`local`: `serve`'s folder, or a bucket at a local emulator), the published one.
    pub async fn resolve(
        &self,
        config: &hookline::aws::SdkConfig,
        stack: Option<&Stack>,
        local: bool,
    ) -> Result<ResolvedKey, String> {
        match (&self.archive_key, stack) {
            (None, None) if !local => Err(
                "no archive key to check entries with: give --stack NAME or --archive-key (HOOKLINE_ARCHIVE_KEY)"
                    .into(),
            ),
            (None, Some(stack)) => {
                let secret = stack.output("ArchiveKeySecretArn")?;
                let client = aws_sdk_secretsmanager::Client::new(config);
                let text = hookline::secrets_manager::read_secret(&client, secret)
                    .await
                    .map_err(|e| e.to_string())?;
                let key = ArchiveKey::parse(&text)
                    .map_err(|e| format!("the stack's archive key is not usable: {e}"))?;
                Ok(ResolvedKey {
                    key,
                    published: false,
                })
            }
            _ => self.given_or_test(),
        }
    }
}

impl ArchiveSource {
    /// Whether the archive is a local one: `serve`'s folder, or a bucket at an emulator on
    /// loopback. Only a local archive is checked with the published test key by default.
    pub fn is_local(&self, config: &hookline::aws::SdkConfig) -> bool {
        self.stack.is_none()
            && (self.bucket.is_none()
                || config
                    .endpoint_url()
                    .is_some_and(crate::operate::published_secrets::is_loopback))
    }

    /// Whether reading this archive talks to AWS (or an emulator): a stack's or a named bucket.
    /// `serve`'s folder needs no credentials, no region, no instance metadata lookup.
    pub fn needs_aws(&self) -> bool {
        self.stack.is_some() || self.bucket.is_some()
    }

    /// The archive; a bucket (named, or the stack's) is reached through `config` (AWS, or an
    /// emulator). `described` is `--stack` when the caller has read it already.
    pub async fn store(
        &self,
        config: &hookline::aws::SdkConfig,
        described: Option<&Stack>,
    ) -> Result<ArchiveStore, crate::failure::Failure> {
        let read;
        let stack = match (described, &self.stack) {
            (Some(stack), _) => Some(stack),
            (None, Some(name)) => {
                read = Stack::describe(config, name).await?;
                Some(&read)
            }
            (None, None) => None,
        };
        let bucket = match stack {
            Some(stack) => Some(stack.output("ArchiveBucketName")?.to_string()),
            None => self.bucket.clone(),
        };
        Ok(match bucket {
            Some(bucket) => ArchiveStore::S3(S3Archive::new(config, &bucket)),
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

pub async fn run(args: ArchiveArgs) -> Result<(), crate::failure::Failure> {
    let (ArchiveCommand::Search(args) | ArchiveCommand::List(args)) = args.command;
    let config = args.aws.config_if(args.source.needs_aws()).await;
    let stack = match &args.source.stack {
        Some(name) => Some(Stack::describe(&config, name).await?),
        None => None,
    };
    let found = search(
        &args.source.store(&config, stack.as_ref()).await?,
        &args.filter.query(),
    )
    .await
    .map_err(|e| e.to_string())?;
    // Listing needs no key: without one (none given, the stack's unreadable) entries are
    // shown as unchecked.
    let local = args.source.is_local(&config);
    let key = match args
        .source
        .key
        .resolve(&config, stack.as_ref(), local)
        .await
    {
        Ok(key) => Some(key.key),
        Err(error) => {
            eprintln!("note: entries not checked against the archive key: {error}");
            None
        }
    };
    if !args.json {
        println!(
            "{:<20}  {:<14}  {:<28}  {:<36}  {:<12}  KNOWN",
            "RECEIVED", "PROVIDER", "TYPE", "EVENT ID", "ORDER"
        );
    }
    for Found { entry, key: object } in &found {
        let integrity = entry.integrity(key.as_ref());
        if args.json {
            let mut line = serde_json::json!({
                "received_at": entry.received_at, "provider": entry.provider,
                "event_type": entry.event_type, "event_id": entry.event_id,
                "order_id": entry.order_id, "known_type": entry.known_type,
                "polled": entry.polled,
                // `intact` kept for scripts: true only when the keyed digest checks.
                "intact": integrity == Integrity::Intact,
                "integrity": integrity.as_str(), "object": object,
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
