//! `hookline replay --from-archive`: archived webhooks of a provider and time range, each
//! verified again with the secrets valid now, sent to the ingest queue again.
//!
//! Nothing is sent unless every event of the selection can be: an entry whose body does not
//! match its archived hash is refused; one that does not verify now (its secret rotated away,
//! or a route whose secret is never kept, such as Optty's path token) is sent only with
//! `--trust-archive`. Replayed events are deduplicated as any redelivery is; `--reprocess`
//! applies already processed events again (after a parser fix), publishing only what was not
//! published the first time.

use clap::Args;
use hookline::archive::{ArchiveEntry, ArchiveKey, ArchiveStore, Integrity, search};
use hookline::message::ReplayMark;
use hookline::providers::{Provider, Route};
use hookline::queue::{MemoryQueue, Queue};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::instrument::WithSubscriber;

use crate::operate::archive::{ArchiveFilter, ArchiveSource, ResolvedKey};
use crate::operate::published_secrets::Target;
use crate::provider_args::{LocalSecrets, Receivers};

#[derive(Args, Clone, Debug)]
pub struct FromArchive {
    /// Replay from the archive (`--provider`, `--since`, `--until`, `--type`) instead of files.
    #[arg(long)]
    pub from_archive: bool,
    #[command(flatten)]
    pub source: ArchiveSource,
    #[command(flatten)]
    pub filter: ArchiveFilter,
    /// List what would be replayed, with each event's verdict; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replay at most this many events (the oldest).
    #[arg(long)]
    pub max: Option<usize>,
    /// Also send events that cannot be verified now (secret rotated away, Optty's token).
    /// Events whose body was altered are never sent.
    #[arg(long)]
    pub trust_archive: bool,
    /// Also replay the changes hookline's poller found (they carry no provider signature; with
    /// --trust-archive).
    #[arg(long, requires = "trust_archive")]
    pub include_polled: bool,
    /// Apply events although they were processed (after a parser fix or a held type): their
    /// effects run again; only what was not published then is published.
    #[arg(long)]
    pub reprocess: bool,
}

/// What can be done with one archived event.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Verified,
    /// Not verifiable now (why); what its digest says of it decides whether it can be trusted.
    Unverifiable(String, Integrity),
    /// Its digest does not check: not the entry the processor wrote.
    Altered,
}

/// Whether an entry that cannot be verified now may be sent on the archive's word: only when
/// its keyed digest checks under a key that vouches for the target.
fn trust(
    integrity: Integrity,
    key: &Result<ResolvedKey, String>,
    target: Target,
) -> Result<(), String> {
    match (integrity, key) {
        (Integrity::Intact, Ok(key)) if key.published && target != Target::Local => Err(
            "its digest checks only under the published test key, which vouches for nothing in a real queue (give --stack or --archive-key)".into(),
        ),
        (Integrity::Intact, Ok(_)) => Ok(()),
        (Integrity::Unkeyed, _) => Err(
            "archived before entries were signed (v1): its unkeyed hash proves nothing".into(),
        ),
        (_, Err(why)) => Err(why.clone()),
        (Integrity::Unchecked | Integrity::Altered, Ok(_)) => {
            Err("its digest does not check under the archive key".into())
        }
    }
}

pub async fn run<Q: Queue>(
    args: &FromArchive,
    store: &ArchiveStore,
    secrets: &LocalSecrets,
    key: Result<ResolvedKey, String>,
    target: Target,
    queue: Option<&Q>,
) -> Result<(), crate::failure::Failure> {
    if args.filter.provider.is_none() {
        return Err(crate::failure::Failure::Usage(
            "--from-archive needs --provider".into(),
        ));
    }
    let mut found = search(store, &args.filter.query())
        .await
        .map_err(|e| e.to_string())?;
    // Changes the poller found carry no provider signature: left out unless asked for.
    let polled = found.iter().filter(|f| f.entry.polled).count();
    if !args.include_polled {
        found.retain(|f| !f.entry.polled);
    }
    let total = found.len();
    if let Some(max) = args.max {
        found.truncate(max);
    }
    let receivers = Receivers::new(secrets, MemoryQueue::new())?;
    let mut refused = 0;
    let mut verdicts = Vec::new();
    for found in &found {
        let entry = &found.entry;
        // Checked through a receiver on a memory queue: its "webhook accepted" lines would say
        // something was sent, so it runs without a log.
        let verdict = verify(&receivers, entry, key.as_ref().ok().map(|k| &k.key))
            .with_subscriber(tracing::subscriber::NoSubscriber::default())
            .await;
        let (shown, sendable) = match &verdict {
            Verdict::Verified => ("verified".to_string(), true),
            Verdict::Unverifiable(why, integrity) if args.trust_archive => {
                match trust(*integrity, &key, target) {
                    Ok(()) => (format!("trusted ({why}; its keyed digest checks)"), true),
                    Err(distrust) => (
                        format!("REFUSED: {why}; cannot be trusted: {distrust}"),
                        false,
                    ),
                }
            }
            Verdict::Unverifiable(why, _) => (format!("REFUSED: {why}"), false),
            Verdict::Altered => (
                "REFUSED: altered or planted (its digest does not check under the archive key)"
                    .into(),
                false,
            ),
        };
        refused += usize::from(!sendable);
        println!(
            "{}  {}  {}  {}  {shown}",
            entry.received_at, entry.provider, entry.event_type, entry.event_id
        );
        verdicts.push(verdict);
    }
    if polled > 0 && !args.include_polled {
        println!(
            "{polled} change(s) found by polling left out (--include-polled sends them, as trusted)"
        );
    }
    if total > found.len() {
        println!(
            "{} more event(s) in range not selected (--max {})",
            total - found.len(),
            found.len()
        );
    }
    if refused > 0 {
        return Err(crate::failure::Failure::CheckFailed(format!(
            "{refused} of {} event(s) cannot be replayed; nothing sent (--trust-archive sends those that cannot be verified now; altered ones are never sent)",
            found.len()
        )));
    }
    // A verified entry is vouched for by its route's secret: never a published one, for real.
    target
        .check(
            secrets,
            found
                .iter()
                .zip(&verdicts)
                .filter(|(_, verdict)| matches!(verdict, Verdict::Verified))
                .filter_map(|(item, _)| {
                    Provider::routes()
                        .find(|(_, route)| route.events.names(&item.entry.provider))
                        .map(|(_, route)| route)
                }),
        )
        .map_err(crate::failure::Failure::Usage)?;
    let Some(queue) = queue.filter(|_| !args.dry_run) else {
        println!(
            "dry run: {} event(s) would be replayed; nothing was sent",
            found.len()
        );
        return Ok(());
    };
    let id = format!(
        "{}-{:08x}",
        OffsetDateTime::now_utc().unix_timestamp(),
        fastrand::u32(..)
    );
    for (n, item) in found.iter().enumerate() {
        let mut message = item.entry.to_message();
        message.replay = Some(ReplayMark {
            id: id.clone(),
            reprocess: args.reprocess,
            known_at_first: item.entry.known_type,
        });
        queue.send(&message.encode()).await.map_err(|e| {
            format!(
                "sent {n} of {}; then: {e}. Run the same command again: what was sent is deduplicated",
                found.len()
            )
        })?;
    }
    println!(
        "replayed {} event(s), replay id {id}{}",
        found.len(),
        if args.reprocess { " (reprocess)" } else { "" }
    );
    Ok(())
}

/// Verifies an archived request again, as its receiver did, at its receipt time.
async fn verify(
    receivers: &Receivers<MemoryQueue>,
    entry: &ArchiveEntry,
    key: Option<&ArchiveKey>,
) -> Verdict {
    let integrity = entry.integrity(key);
    if integrity == Integrity::Altered {
        return Verdict::Altered;
    }
    let unverifiable = |why: String| Verdict::Unverifiable(why, integrity);
    if entry.polled {
        return unverifiable("found by polling: no provider signature".into());
    }
    let Some((_, route)) =
        Provider::routes().find(|(_, route)| route.events.names(&entry.provider))
    else {
        return unverifiable(format!("no route serves provider {}", entry.provider));
    };
    if route.param_name().is_some() && entry.route_param.is_none() {
        return unverifiable(
            "its route's path parameter is a secret that is never kept: cannot be re-verified"
                .into(),
        );
    }
    let Ok(at) = OffsetDateTime::parse(&entry.received_at, &Rfc3339) else {
        return unverifiable("no valid receipt time".into());
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &entry.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    let path = route.path(entry.route_param.as_deref());
    let route = Route {
        path: &path,
        param: entry.route_param.as_deref(),
    };
    let reply = receivers
        .receive(&route, &Method::POST, &headers, entry.body.as_bytes(), at)
        .await;
    match reply {
        Some(reply) if reply.status == 200 => Verdict::Verified,
        Some(reply) if reply.status == 401 => unverifiable(
            "does not verify with the secrets valid now (its secret was rotated away, a credential in its body was kept out of the archive, or the entry was altered)".into(),
        ),
        Some(reply) => unverifiable(format!("the receiver refuses it now: {} {}", reply.status, reply.body)),
        None => unverifiable(format!("no receiver serves {path}")),
    }
}
