//! The processor: each ingest message takes effect exactly once, and its order update is
//! published at least once with a stable deduplication id, whatever fails or crashes on the way.
//!
//! Per record: plan the event (pure) → claim it in the event store → fetch the full order when
//! the event calls for it → record the order state → register a watch (a partial delivery) →
//! publish the order update → mark the claim COMPLETED.
//!
//! The state write is the commit point. It records which event reported each change, so a
//! redelivery of an event whose earlier attempt recorded its change and then failed or died
//! (publish refused, watch not registered, the Lambda killed at its deadline) finds the change
//! "recorded earlier" and runs every step after the write again, until all are done; a change
//! reported by another event first is neither recorded nor published twice. Any failure after
//! the claim releases it (a crash leaves it to its lease) and reports the record as failed, so
//! SQS redelivers it and, after `maxReceiveCount`, moves it to the dead-letter queue, where it
//! stays visible and can be redriven. A repeated publish carries the same deduplication id: SQS
//! drops it within five minutes, downstream after that.

mod batch;
pub mod forward;
pub mod lambda;
pub mod metrics;

use std::time::Duration;

use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

pub use crate::plan::{Plan, PlanError};
pub use crate::providers::{confirmed_state, plan};
pub use batch::{BatchRecord, RecordResult, process_archived_batch, process_batch};

use crate::archive::{self, ArchiveEntry, ArchiveStore};
use crate::clock::Clock;
use crate::idempotency::{
    Claim, ClaimRequest, DEFAULT_RECORD_TTL_SECS, EventStore, body_sha256, event_key,
};
use crate::message::QueueMessage;
use crate::order_api::{FetchError, OrderApi};
use crate::order_state::{OrderStateStore, StateWrite};
use crate::order_update::{ORDER_UPDATE_VERSION, OrderUpdate, UpdateTooLarge};
use crate::queue::{OutgoingMessage, Queue, QueueError};
use crate::store::StoreError;
use crate::watch::{Watch, WatchStore};

/// Settings of the processor.
#[derive(Clone, Debug)]
pub struct ProcessorConfig {
    /// Lifetime of claim records (DynamoDB TTL).
    pub record_ttl_secs: i64,
    /// Records of one batch processed at once.
    pub concurrency: usize,
    /// Work on a record stops this long before the invocation's deadline.
    pub deadline_margin: Duration,
    /// How long a watch registered by an event (a partial delivery) lasts at most.
    pub watch_give_up_secs: i64,
    /// Leases and record times are read from it (manual in tests).
    pub clock: Clock,
    /// Forward every field of an event's data, not only the provider's allow-list
    /// ([`forward`]).
    pub forward_all_event_fields: bool,
    /// The providers' environment, stated in every order update.
    pub environment: crate::config::ProviderEnvironment,
    /// Types processed as unknown until released ([`crate::config::HOLD_EVENT_TYPES`]).
    pub hold_event_types: Vec<String>,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        Self {
            record_ttl_secs: DEFAULT_RECORD_TTL_SECS,
            concurrency: 8,
            deadline_margin: Duration::from_secs(1),
            watch_give_up_secs: crate::watch::DEFAULT_GIVE_UP_SECS,
            clock: Clock::system(),
            forward_all_event_fields: false,
            environment: crate::config::ProviderEnvironment::default(),
            hold_event_types: Vec::new(),
        }
    }
}

impl ProcessorConfig {
    /// The configuration `env` asks for, the defaults where it is silent.
    pub fn from_env(env: &crate::config::ProcessorEnv) -> Self {
        let defaults = Self::default();
        Self {
            record_ttl_secs: env.record_ttl_secs.unwrap_or(defaults.record_ttl_secs),
            concurrency: env.concurrency.unwrap_or(defaults.concurrency),
            watch_give_up_secs: env
                .watch_give_up_secs
                .unwrap_or(defaults.watch_give_up_secs),
            forward_all_event_fields: env.forward_all_event_fields,
            environment: env.environment,
            hold_event_types: env.hold_event_types.clone(),
            ..defaults
        }
    }
}

/// Why a record failed. Texts never hold bodies, codes or tokens.
#[derive(Debug, Error)]
pub enum ProcessError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("follow-up fetch failed: {0}")]
    Fetch(#[from] FetchError),
    #[error("publishing the order update failed: {0}")]
    Publish(#[from] QueueError),
    #[error(transparent)]
    TooLarge(#[from] UpdateTooLarge),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
}

/// What became of one record.
#[derive(Debug)]
pub enum RecordOutcome {
    /// Took effect now.
    Processed {
        /// How long the follow-up fetch took, when there was one.
        fetch_latency: Option<Duration>,
        state: Option<StateWrite>,
        known_type: bool,
        /// The provider announced a new signing secret (OwlPay `webhook.renew.secret`).
        secret_renewal: bool,
    },
    /// Took effect before: acknowledged without doing anything.
    Duplicate,
    /// Another invocation holds a live claim: retried later by SQS.
    InProgressElsewhere,
    /// The event id was seen with a different body: not processed, retried, then dead-lettered.
    Conflict,
    Failed(ProcessError),
}

impl RecordOutcome {
    /// Whether SQS should deliver the record again.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::InProgressElsewhere | Self::Conflict | Self::Failed(_)
        )
    }
}

/// The processor with its adapters, built once at init.
pub struct Processor<E, S, A, U, W> {
    pub events: E,
    pub states: S,
    pub api: A,
    pub updates: U,
    /// Where order updates carrying an eSIM activation code go instead, when set: a queue whose
    /// retention is the install window (README, Security), so the code outlives it nowhere.
    pub credentials: Option<U>,
    /// Where orders to poll are registered (a partial delivery is watched to its end).
    pub watches: W,
    pub config: ProcessorConfig,
}

impl<E: EventStore, S: OrderStateStore, A: OrderApi, U: Queue, W: WatchStore>
    Processor<E, S, A, U, W>
{
    /// What `message` asks for; a held type ([`ProcessorConfig::hold_event_types`]) is
    /// treated as unknown, with no effect.
    pub fn plan(&self, message: &QueueMessage) -> Result<Plan, PlanError> {
        let mut plan = plan(message)?;
        if self.config.hold_event_types.contains(&message.event_type) {
            plan.action = crate::plan::Action::PassOn;
            plan.known_type = false;
        }
        Ok(plan)
    }

    /// Processes one ingest message body. `deadline` is when the invocation ends.
    pub async fn process(
        &self,
        body: &str,
        deadline: Instant,
    ) -> (Option<QueueMessage>, RecordOutcome) {
        match parse_message(body) {
            Ok(message) => {
                let outcome = self.process_message(&message, deadline).await;
                (Some(message), outcome)
            }
            Err(error) => (None, RecordOutcome::Failed(error.into())),
        }
    }

    /// Processes one parsed ingest message.
    pub async fn process_message(
        &self,
        message: &QueueMessage,
        deadline: Instant,
    ) -> RecordOutcome {
        match self.prepare(message, deadline).await {
            Prepared::Finished(outcome) => outcome,
            Prepared::Ready(ready) => {
                let published = self.publish(&ready).await;
                self.finish(ready, published).await
            }
        }
    }

    /// Claims the event and takes its effects up to the order update, which is returned ready
    /// to publish ([`Prepared::Ready`]); or what became of it when it goes no further. A batch
    /// publishes the ready updates of all its records together ([`process_batch`]).
    pub async fn prepare(&self, message: &QueueMessage, deadline: Instant) -> Prepared {
        self.prepare_planned(message, self.plan(message), deadline)
            .await
    }

    /// [`Self::prepare`] with the message's plan already made: a batch plans each record once,
    /// for its archive entry and its processing.
    pub async fn prepare_planned(
        &self,
        message: &QueueMessage,
        plan: Result<Plan, PlanError>,
        deadline: Instant,
    ) -> Prepared {
        let plan = match plan {
            Ok(plan) => plan,
            Err(error) => return Prepared::Finished(RecordOutcome::Failed(error.into())),
        };
        // A reprocess (`hookline replay --reprocess`) is claimed under a key of its own, which
        // names what this code makes of the event: it never counts as the first processing, and
        // it runs once per interpretation (again only after a parser change).
        let reprocess = message.replay.as_ref().filter(|mark| mark.reprocess);
        let key = match reprocess {
            Some(_) => format!(
                "{}#reprocess#{}",
                event_key(&message.provider, &message.event_id),
                &body_sha256(format!("{plan:?}").as_bytes())[..16]
            ),
            None => event_key(&message.provider, &message.event_id),
        };
        let work_deadline = deadline
            .checked_sub(self.config.deadline_margin)
            .unwrap_or(deadline);
        let now = self.config.clock.now_unix();
        let seconds_left = work_deadline
            .saturating_duration_since(Instant::now())
            .as_secs();
        let request = ClaimRequest {
            key,
            body_sha256: body_sha256(message.body.as_bytes()),
            lease_token: lease_token(),
            now,
            // The lease ends when this invocation must have ended: a crash frees it then.
            lease_until: now + i64::try_from(seconds_left).unwrap_or(0) + 1,
            expires_at: now + self.config.record_ttl_secs,
            subject_key: plan.subject_key(),
        };
        let first_attempt = match self.events.claim(&request).await {
            Ok(Claim::Acquired { attempts }) => {
                if attempts > 1 {
                    tracing::warn!(
                        attempts,
                        "took over an expired claim (an earlier attempt did not finish)"
                    );
                }
                attempts <= 1
            }
            Ok(Claim::AlreadyCompleted) => return Prepared::Finished(RecordOutcome::Duplicate),
            Ok(Claim::InProgress { .. }) => {
                return Prepared::Finished(RecordOutcome::InProgressElsewhere);
            }
            Ok(Claim::Conflict) => return Prepared::Finished(RecordOutcome::Conflict),
            Err(error) => return Prepared::Finished(RecordOutcome::Failed(error.into())),
        };
        let republish = reprocess.map(|mark| Republish {
            first_attempt,
            known_at_first: mark.known_at_first,
        });

        match self.apply(message, &plan, republish, work_deadline).await {
            Ok((state, fetch_latency, update)) => Prepared::Ready(Ready {
                key: request.key,
                lease_token: request.lease_token,
                update,
                state,
                fetch_latency,
                known_type: plan.known_type,
                secret_renewal: plan.secret_renewal(),
                provider: message.provider.clone(),
            }),
            Err(error) => {
                self.release(&request.key, &request.lease_token).await;
                Prepared::Finished(RecordOutcome::Failed(error))
            }
        }
    }

    /// The queue an update goes to: the credentials queue for one carrying an activation code.
    fn queue_for(&self, to_credentials: bool) -> &U {
        match &self.credentials {
            Some(credentials) if to_credentials => credentials,
            _ => &self.updates,
        }
    }

    /// Publishes a ready update, its parts in order, one at a time: a FIFO group keeps them
    /// in this order.
    pub async fn publish(&self, ready: &Ready) -> Result<(), QueueError> {
        if let Some(update) = &ready.update {
            let queue = self.queue_for(update.to_credentials);
            for part in &update.parts {
                queue.send(part).await?;
            }
        }
        Ok(())
    }

    /// After the publish: marks the claim COMPLETED (published) or releases it (not).
    pub async fn finish(&self, ready: Ready, published: Result<(), QueueError>) -> RecordOutcome {
        if let Err(error) = published {
            self.release(&ready.key, &ready.lease_token).await;
            return RecordOutcome::Failed(error.into());
        }
        match self
            .events
            .complete(&ready.key, &ready.lease_token, self.config.clock.now_unix())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("claim was taken over before completion; its effects are done")
            }
            // The effects are done and published: acknowledging is right. The claim stays
            // IN_PROGRESS until its lease ends.
            Err(error) => {
                tracing::error!(error = %error, "could not mark the event COMPLETED; its effects are done")
            }
        }
        if ready.secret_renewal {
            tracing::warn!(
                provider = %ready.provider,
                "the provider announced a new signing secret: add it to the receiver's active secrets before the old one is retired"
            );
        }
        RecordOutcome::Processed {
            fetch_latency: ready.fetch_latency,
            state: ready.state,
            known_type: ready.known_type,
            secret_renewal: ready.secret_renewal,
        }
    }

    async fn release(&self, key: &str, lease_token: &str) {
        if let Err(release) = self.events.release(key, lease_token).await {
            tracing::warn!(error = %release, "could not release the claim; it frees itself when the lease ends");
        }
    }

    /// The event's effects: fetch, state, watch. Returns the state write, how long the fetch
    /// took and the order update to publish, if any. Safe to run again for the same event: see
    /// the module docs.
    async fn apply(
        &self,
        message: &QueueMessage,
        plan: &Plan,
        reprocess: Option<Republish>,
        deadline: Instant,
    ) -> Result<(Option<StateWrite>, Option<Duration>, Option<UpdateParts>), ProcessError> {
        let (fetched, fetch_latency) = match plan.order().filter(|_| plan.fetches()) {
            Some(order) => {
                let started = Instant::now();
                let order = self.api.fetch(order, deadline).await?;
                // Reported on the record's one "event processed" line (`fetch_ms`).
                (Some(order), Some(started.elapsed()))
            }
            _ => (None, None),
        };
        // For events that are only hints, the fetched order decides the state.
        let order_state = confirmed_state(plan, fetched.as_ref())?;
        let state = match (&order_state, plan.wallet()) {
            (Some(state), _) => Some(self.states.record_order(state).await?),
            (None, Some(movement)) => Some(self.states.record_wallet(movement).await?),
            (None, None) => None,
        };
        match state {
            Some(StateWrite::KnownChange) => {
                tracing::info!(
                    "this change was recorded by another event already; no order update"
                );
                return Ok((state, fetch_latency, None));
            }
            Some(StateWrite::RecordedEarlier { .. }) => tracing::warn!(
                "an earlier attempt recorded this change and did not finish; its remaining steps run again"
            ),
            _ => {}
        }
        // Only a partial delivery that is the order's state now is watched: a late one finds its
        // order settled or watched already. Registering is idempotent, so a retry may repeat it.
        if let (true, Some(order), true) = (
            plan.watches(),
            plan.order(),
            state.is_some_and(StateWrite::is_current),
        ) {
            let now = self.config.clock.now_unix();
            let watch = Watch::new(order.clone(), None, now, self.config.watch_give_up_secs);
            let registration = self.watches.register(&watch).await?;
            tracing::info!(
                ?registration,
                "order watched until it settles (no webhook reports the rest)"
            );
        }
        let publishes = reprocess.is_none_or(|r| r.publishes(state));
        if !publishes {
            tracing::info!("reprocessed; its order update was published the first time");
        }
        if plan.known_type && publishes {
            let update = OrderUpdate {
                v: ORDER_UPDATE_VERSION,
                provider: message.provider.clone(),
                event_id: message.event_id.clone(),
                event_type: message.event_type.clone(),
                occurred_at: rfc3339_millis(plan.occurred_at),
                order_kind: plan.order().map(|o| o.kind.to_string()),
                order_id: plan.order().map(|o| o.order_id.clone()),
                status: order_state.as_ref().map(|s| s.status.clone()),
                current: state.is_none_or(StateWrite::is_current),
                event_data: if self.config.forward_all_event_fields {
                    plan.event_data.clone()
                } else {
                    forward::forwarded(&message.provider, &plan.event_data)
                },
                order: fetched,
                part: None,
                environment: self.config.environment.as_str().to_string(),
                is_test: plan.is_test,
            };
            return Ok((
                state,
                fetch_latency,
                Some(UpdateParts {
                    to_credentials: update.carries_activation_code(),
                    parts: update.encode()?,
                }),
            ));
        }
        Ok((state, fetch_latency, None))
    }
}

/// How far [`Processor::prepare`] took a record.
#[derive(Debug)]
pub enum Prepared {
    /// Nothing is left to do (a duplicate, a failure, ...).
    Finished(RecordOutcome),
    /// Its effects are recorded; its order update (if any) is to be published, then its claim
    /// completed ([`Processor::finish`]).
    Ready(Ready),
}

/// A record whose effects are recorded, holding its claim and its encoded order update.
#[derive(Debug)]
pub struct Ready {
    key: String,
    lease_token: String,
    update: Option<UpdateParts>,
    state: Option<StateWrite>,
    fetch_latency: Option<Duration>,
    known_type: bool,
    secret_renewal: bool,
    provider: String,
}

impl Ready {
    /// The update's one message when it has exactly one part: such updates of a batch are sent
    /// together ([`Queue::send_batch`]); longer ones part after part.
    pub fn single_part(&self) -> Option<(&OutgoingMessage, bool)> {
        match &self.update {
            Some(UpdateParts {
                parts,
                to_credentials,
            }) if parts.len() == 1 => Some((&parts[0], *to_credentials)),
            _ => None,
        }
    }
}

/// An order update, encoded, and whether it goes to the credentials queue.
#[derive(Debug)]
struct UpdateParts {
    to_credentials: bool,
    parts: Vec<OutgoingMessage>,
}

/// What a reprocess publishes: what the first processing did not.
#[derive(Clone, Copy, Debug)]
struct Republish {
    /// No earlier attempt of this reprocess recorded anything.
    first_attempt: bool,
    known_at_first: bool,
}

impl Republish {
    fn publishes(self, state: Option<StateWrite>) -> bool {
        if !self.known_at_first {
            // Unknown the first time: no order update was published then.
            return true;
        }
        match state {
            Some(StateWrite::Recorded { .. }) => true,
            // Recorded by the first processing (published then), or by an earlier attempt of
            // this reprocess that did not finish (publish again, same deduplication id).
            Some(StateWrite::RecordedEarlier { .. }) => !self.first_attempt,
            Some(StateWrite::KnownChange) | None => false,
        }
    }
}

/// Reads an ingest message of a version this processor knows.
pub fn parse_message(body: &str) -> Result<QueueMessage, PlanError> {
    match QueueMessage::from_json(body) {
        Ok(message) if crate::message::READ_VERSIONS.contains(&message.v) => Ok(message),
        _ => Err(PlanError::NotAMessage),
    }
}

fn lease_token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

fn rfc3339_millis(epoch_millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EVENTS_TABLE, ORDER_UPDATES_QUEUE_URL, ProcessorEnv};

    #[test]
    fn processor_env_with_defaults() {
        let base = [(EVENTS_TABLE, "t"), (ORDER_UPDATES_QUEUE_URL, "http://q")];
        let env = ProcessorEnv::from_lookup(crate::config::lookup(&base)).unwrap();
        let config = ProcessorConfig::from_env(&env);
        assert_eq!(config.record_ttl_secs, 7 * 24 * 3600);
        assert_eq!(config.concurrency, 8);
        assert!(config.hold_event_types.is_empty() && env.archive_bucket.is_none());
    }

    #[test]
    fn held_types_need_the_archive_and_are_planned_as_unknown() {
        use crate::config::{ARCHIVE_BUCKET, HOLD_EVENT_TYPES};
        let held = [
            (EVENTS_TABLE, "t"),
            (ORDER_UPDATES_QUEUE_URL, "http://q"),
            (HOLD_EVENT_TYPES, " order.delivered , esim.installed,"),
        ];
        let error = ProcessorEnv::from_lookup(crate::config::lookup(&held)).unwrap_err();
        assert!(error.to_string().contains(ARCHIVE_BUCKET), "{error}");
        let mut archived = held.to_vec();
        archived.push((ARCHIVE_BUCKET, "b"));
        let env = ProcessorEnv::from_lookup(crate::config::lookup(&archived)).unwrap();
        assert_eq!(env.hold_event_types, ["order.delivered", "esim.installed"]);
    }
}
