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

use crate::archive::{self, Archive, ArchiveEntry};
use crate::clock::Clock;
use crate::idempotency::{
    Claim, ClaimRequest, DEFAULT_RECORD_TTL_SECS, EventStore, body_sha256, event_key,
};
use crate::message::QueueMessage;
use crate::order_api::{FetchError, OrderApi};
use crate::order_state::{OrderStateStore, Publication, StateWrite};
use crate::order_update::{
    ORDER_UPDATE_VERSION, OrderUpdate, UpdateTooLarge, change_update_id, event_update_id,
};
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
    /// Preparing records (claim, fetch, state) stops this much earlier still, so what is ready
    /// can be published and completed before the deadline: a timeout never re-publishes a batch.
    pub finish_reserve: Duration,
    /// Sends of one order-update message within the invocation before the record fails
    /// ([`DEFAULT_PUBLISH_ATTEMPTS`]).
    pub publish_attempts: u32,
    /// Pause before the n-th send of a message: n times this (the simulations set zero: their
    /// time is a manual clock).
    pub publish_retry_pause: Duration,
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
            finish_reserve: Duration::from_secs(3),
            publish_attempts: DEFAULT_PUBLISH_ATTEMPTS,
            publish_retry_pause: Duration::from_millis(25),
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
    /// The invocation's deadline came before this step finished (or before it could start).
    #[error("the invocation's deadline came during the {0} step")]
    Deadline(&'static str),
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
    /// retention is the install window (docs/src/security.md), so the code outlives it nowhere.
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
                let published = self.publish(&ready, deadline).await;
                self.finish(ready, published, deadline).await
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

    /// When preparing must stop so that what is ready can still be published and completed
    /// before `deadline` ([`ProcessorConfig::finish_reserve`]).
    pub fn prepare_deadline(&self, deadline: Instant) -> Instant {
        deadline
            .checked_sub(self.config.deadline_margin + self.config.finish_reserve)
            .unwrap_or(deadline)
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
        let work_deadline = self.prepare_deadline(deadline);
        if Instant::now() >= work_deadline {
            // Not claimed: SQS delivers it again to an invocation with time for it.
            return Prepared::Finished(RecordOutcome::Failed(ProcessError::Deadline("claim")));
        }
        // A reprocess (`hookline replay --reprocess`) is claimed under a key of its own, which
        // names what this code makes of the event: it runs once per interpretation (again only
        // after a parser change), and what it records is owned by that interpretation, not by
        // the original processing.
        let reprocess = message
            .replay
            .as_ref()
            .filter(|mark| mark.reprocess)
            .map(|mark| Reprocess {
                interpretation: body_sha256(format!("{plan:?}").as_bytes())[..16].to_string(),
                known_at_first: mark.known_at_first,
            });
        let key = match &reprocess {
            Some(reprocess) => format!(
                "{}#reprocess#{}",
                event_key(&message.provider, &message.event_id),
                reprocess.interpretation
            ),
            None => event_key(&message.provider, &message.event_id),
        };
        let now = self.config.clock.now_unix();
        let request = ClaimRequest {
            key,
            body_sha256: body_sha256(message.body.as_bytes()),
            lease_token: lease_token(),
            now,
            lease_until: self.lease_until(deadline),
            expires_at: now + self.config.record_ttl_secs,
            subject_key: plan.subject_key(),
        };
        match within(work_deadline, "claim", self.events.claim(&request)).await {
            Ok(Claim::Acquired { attempts }) => {
                if attempts > 1 {
                    tracing::warn!(
                        attempts,
                        "took over an expired claim (an earlier attempt did not finish)"
                    );
                }
            }
            Ok(Claim::AlreadyCompleted) => {
                return Prepared::Finished(RecordOutcome::Duplicate);
            }
            Ok(Claim::InProgress { .. }) => {
                return Prepared::Finished(RecordOutcome::InProgressElsewhere);
            }
            Ok(Claim::Conflict) => return Prepared::Finished(RecordOutcome::Conflict),
            // Failed, or cut by the deadline (whether the claim was written is then unknown:
            // its lease frees it).
            Err(error) => return Prepared::Finished(RecordOutcome::Failed(error)),
        };

        match self
            .apply(message, &plan, reprocess.as_ref(), work_deadline)
            .await
        {
            Ok((state, fetch_latency, updates)) => Prepared::Ready(Ready {
                key: request.key,
                lease_token: request.lease_token,
                updates,
                state,
                fetch_latency,
                known_type: plan.known_type,
                secret_renewal: plan.secret_renewal(),
                provider: message.provider.clone(),
            }),
            Err(error) => {
                self.release(&request.key, &request.lease_token, deadline)
                    .await;
                Prepared::Finished(RecordOutcome::Failed(error))
            }
        }
    }

    /// The end of a claim's lease, in epoch seconds of the processor's clock: the invocation's
    /// deadline read on that same clock (now plus the time left), rounded up to the whole
    /// second, plus [`LEASE_SKEW_SECS`]. Another container whose clock runs up to that much
    /// ahead still sees the lease live while this invocation can act; a crash frees it that
    /// long after the deadline, far within the queue's visibility timeout.
    pub fn lease_until(&self, deadline: Instant) -> i64 {
        let now_ms = self.config.clock.now_millis();
        let left_ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis();
        let end_ms = now_ms.saturating_add(i64::try_from(left_ms).unwrap_or(i64::MAX / 2));
        end_ms.div_euclid(1000) + i64::from(end_ms.rem_euclid(1000) > 0) + LEASE_SKEW_SECS
    }

    /// The queue an update goes to: the credentials queue for one carrying an activation code.
    fn queue_for(&self, to_credentials: bool) -> &U {
        match &self.credentials {
            Some(credentials) if to_credentials => credentials,
            _ => &self.updates,
        }
    }

    /// Publishes a ready record's updates, each one's parts in order, one at a time: a FIFO
    /// group keeps them in this order.
    pub async fn publish(&self, ready: &Ready, deadline: Instant) -> Result<(), ProcessError> {
        self.publish_within(ready, self.config.publish_attempts, deadline)
            .await
    }

    /// [`Self::publish`] with `attempts` sends per message at most.
    pub(crate) async fn publish_within(
        &self,
        ready: &Ready,
        attempts: u32,
        deadline: Instant,
    ) -> Result<(), ProcessError> {
        for update in &ready.updates {
            let queue = self.queue_for(update.to_credentials);
            for part in &update.parts {
                self.send(queue, part, attempts, deadline).await?;
            }
        }
        Ok(())
    }

    /// Sends one message, trying again at once when the send fails (up to
    /// [`ProcessorConfig::publish_attempts`], within the deadline): a send whose answer was lost is repeated
    /// within the FIFO queue's five-minute window, which drops the copy, where a redelivery
    /// would come after the ingest queue's visibility timeout (360 s) and reach the consumer.
    async fn send(
        &self,
        queue: &U,
        message: &OutgoingMessage,
        attempts: u32,
        deadline: Instant,
    ) -> Result<(), ProcessError> {
        let mut attempt = 1;
        loop {
            match within(deadline, "publish", queue.send(message)).await {
                Ok(_) => return Ok(()),
                Err(error @ ProcessError::Deadline(_)) => return Err(error),
                Err(error) if attempt >= attempts => return Err(error),
                Err(error) => {
                    tracing::warn!(attempt, error = %error, "publishing failed; trying again at once");
                    attempt += 1;
                    tokio::time::sleep(self.config.publish_retry_pause * attempt).await;
                }
            }
        }
    }

    /// After the publish: marks the claim COMPLETED (published) or releases it (not).
    pub async fn finish(
        &self,
        ready: Ready,
        published: Result<(), ProcessError>,
        deadline: Instant,
    ) -> RecordOutcome {
        if let Err(error) = published {
            self.release(&ready.key, &ready.lease_token, deadline).await;
            return RecordOutcome::Failed(error);
        }
        let completed = within(
            deadline,
            "complete",
            self.events
                .complete(&ready.key, &ready.lease_token, self.config.clock.now_unix()),
        )
        .await;
        match completed {
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

    async fn release(&self, key: &str, lease_token: &str, deadline: Instant) {
        let released = within(deadline, "release", self.events.release(key, lease_token)).await;
        if let Err(error) = released {
            tracing::warn!(error = %error, "could not release the claim; it frees itself when the lease ends");
        }
    }

    /// The event's effects: fetch, state, watch. Returns the state write, how long the fetch
    /// took and the order updates to publish: the change's, after those of changes this event
    /// recorded on earlier attempts. Safe to run again for the same event: see the module docs.
    async fn apply(
        &self,
        message: &QueueMessage,
        plan: &Plan,
        reprocess: Option<&Reprocess>,
        deadline: Instant,
    ) -> Result<(Option<StateWrite>, Option<Duration>, Vec<UpdateParts>), ProcessError> {
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
        let mut order_state = confirmed_state(plan, fetched.as_ref())?;
        if let (Some(state), Some(reprocess)) = (&mut order_state, reprocess) {
            state.last_event_id = reprocess.owner(&message.event_id);
        }
        let draft = UpdateDraft {
            processor: &self.config,
            message,
            plan,
            fetched: fetched.as_ref(),
        };
        let mut updates = Vec::new();
        let state = match (&order_state, plan.wallet()) {
            (Some(state), _) => {
                let state_key = state.order.state_key();
                let change = draft.update(
                    change_update_id(&state_key, &state.change_key()),
                    Some(state.status.clone()),
                    false,
                );
                // Encoded before the write: an update that cannot be sent fails here, before
                // its change is owned by this event; the split and the queue are decided now
                // and kept with the change.
                let publication = match plan.known_type {
                    true => publication_of(&change)?,
                    false => Publication::SINGLE,
                };
                let write = within(
                    deadline,
                    "record_order",
                    self.states.record_order(state, publication),
                )
                .await?;
                for earlier in &write.earlier {
                    if earlier.record.status.is_empty() {
                        continue;
                    }
                    tracing::warn!(
                        "this event recorded another change on an earlier attempt (the API answered differently then): its update is sent again"
                    );
                    let update = draft.update(
                        change_update_id(&state_key, &earlier.change_key),
                        Some(earlier.record.status.clone()),
                        earlier.current,
                    );
                    updates.push(UpdateParts::encode(&update, earlier.record.publication)?);
                }
                if plan.known_type && write.write.publishes() {
                    let update = OrderUpdate {
                        current: write.write.is_current(),
                        ..change
                    };
                    updates.push(UpdateParts::encode(&update, write.publication)?);
                }
                Some(write.write)
            }
            (None, Some(movement)) => {
                let mut movement = movement.clone();
                movement.recorded_by = reprocess.map(|r| r.owner(&message.event_id));
                let write = within(
                    deadline,
                    "record_wallet",
                    self.states.record_wallet(&movement),
                )
                .await?;
                if plan.known_type && write.publishes() {
                    let update = draft.update(
                        change_update_id(&movement.key(), "movement"),
                        None,
                        write.is_current(),
                    );
                    updates.push(UpdateParts::encode(&update, None)?);
                }
                Some(write)
            }
            (None, None) => {
                // No state: passed on once per event; a reprocess publishes only what was
                // unknown the first time (nothing was published then), under its own identity.
                if plan.known_type && reprocess.is_none_or(|r| !r.known_at_first) {
                    let update = draft.update(
                        event_update_id(
                            &message.provider,
                            &message.event_id,
                            reprocess.map(|r| r.interpretation.as_str()),
                        ),
                        None,
                        true,
                    );
                    updates.push(UpdateParts::encode(&update, None)?);
                }
                None
            }
        };
        match state {
            Some(StateWrite::KnownChange) => {
                tracing::info!("this change was recorded by another event already; no order update")
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
            let registration = within(deadline, "watch", self.watches.register(&watch)).await?;
            tracing::info!(
                ?registration,
                "order watched until it settles (no webhook reports the rest)"
            );
        }
        Ok((state, fetch_latency, updates))
    }
}

/// How many times a refused publish is tried within one invocation.
pub const DEFAULT_PUBLISH_ATTEMPTS: u32 = 3;

/// How far past the deadline a lease reaches: the clock skew between containers it tolerates.
/// Lambda hosts keep time with the Amazon Time Sync Service (well under a millisecond apart);
/// two seconds is a wide margin, and costs a redelivery nothing (it comes after the visibility
/// timeout, minutes later).
pub const LEASE_SKEW_SECS: i64 = 2;

/// Runs one step, failing it once `deadline` passes: whether its effect happened is then
/// unknown, as after a lost answer, and every step is safe to run again.
async fn within<T, E: Into<ProcessError>>(
    deadline: Instant,
    step: &'static str,
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ProcessError> {
    match tokio::time::timeout_at(deadline, future).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(ProcessError::Deadline(step)),
    }
}

/// What [`Processor::apply`] needs to write an order update for the event being processed.
struct UpdateDraft<'a> {
    processor: &'a ProcessorConfig,
    message: &'a QueueMessage,
    plan: &'a Plan,
    fetched: Option<&'a serde_json::Value>,
}

impl UpdateDraft<'_> {
    fn update(&self, update_id: String, status: Option<String>, current: bool) -> OrderUpdate {
        let (message, plan) = (self.message, self.plan);
        OrderUpdate {
            v: ORDER_UPDATE_VERSION,
            update_id,
            provider: message.provider.clone(),
            event_id: message.event_id.clone(),
            event_type: message.event_type.clone(),
            occurred_at: rfc3339_millis(plan.occurred_at),
            order_kind: plan.order().map(|o| o.kind.to_string()),
            order_id: plan.order().map(|o| o.order_id.clone()),
            status,
            current,
            event_data: if self.processor.forward_all_event_fields {
                plan.event_data.clone()
            } else {
                forward::forwarded(&message.provider, &plan.event_data)
            },
            order: self.fetched.cloned(),
            part: None,
            environment: self.processor.environment.as_str().to_string(),
            is_test: plan.is_test,
        }
    }
}

/// How `update` is published: split as it must be (with `current: false`, the longer form, so
/// the other fits too), and to the credentials queue when it carries an activation code.
fn publication_of(update: &OrderUpdate) -> Result<Publication, UpdateTooLarge> {
    let parts = update.encode()?;
    Ok(Publication {
        parts: u32::try_from(parts.len()).unwrap_or(u32::MAX),
        to_credentials: update.carries_activation_code(),
    })
}

/// How far [`Processor::prepare`] took a record.
#[derive(Debug)]
pub enum Prepared {
    /// Nothing is left to do (a duplicate, a failure, ...).
    Finished(RecordOutcome),
    /// Its effects are recorded; its order updates (if any) are to be published, then its
    /// claim completed ([`Processor::finish`]).
    Ready(Ready),
}

/// A record whose effects are recorded, holding its claim and its encoded order updates.
#[derive(Debug)]
pub struct Ready {
    key: String,
    lease_token: String,
    updates: Vec<UpdateParts>,
    state: Option<StateWrite>,
    fetch_latency: Option<Duration>,
    known_type: bool,
    secret_renewal: bool,
    provider: String,
}

impl Ready {
    /// The record's one message when it has exactly one update of one part: such updates of a
    /// batch are sent together ([`Queue::send_batch`]); others part after part.
    pub fn single_part(&self) -> Option<(&OutgoingMessage, bool)> {
        match self.updates.as_slice() {
            [
                UpdateParts {
                    parts,
                    to_credentials,
                },
            ] if parts.len() == 1 => Some((&parts[0], *to_credentials)),
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

impl UpdateParts {
    /// `update` encoded as `decided` when its change was recorded; as it must be when nothing
    /// was decided (a change recorded before decisions were kept, a wallet movement, an event
    /// without state). An activation code never goes to the order-updates queue, whatever was
    /// decided when the order had none.
    fn encode(update: &OrderUpdate, decided: Option<Publication>) -> Result<Self, UpdateTooLarge> {
        let parts = match decided {
            Some(decided) => update.encode_in(decided.parts)?,
            None => update.encode()?,
        };
        Ok(Self {
            to_credentials: decided.is_some_and(|d| d.to_credentials)
                || update.carries_activation_code(),
            parts,
        })
    }
}

/// A reprocess (`hookline replay --reprocess`): what this code made of the event.
#[derive(Clone, Debug)]
struct Reprocess {
    /// A digest of the plan: a parser change makes another.
    interpretation: String,
    /// The event's type was known when it was first processed (so its update was published).
    known_at_first: bool,
}

impl Reprocess {
    /// Who owns what the reprocess records: not the original processing, so a change it
    /// corrects is its own (published under its own `update_id`), and a change the first
    /// processing recorded is a known change (published then, not again).
    fn owner(&self, event_id: &str) -> String {
        format!("{event_id}#reprocess#{}", self.interpretation)
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
        // The archive needs its key's secret: entries the processor does not sign prove nothing.
        let error = ProcessorEnv::from_lookup(crate::config::lookup(&archived)).unwrap_err();
        assert!(
            error.to_string().contains("ARCHIVE_KEY_SECRET_ID"),
            "{error}"
        );
        archived.push((crate::config::ARCHIVE_KEY_SECRET_ID, "arn:key"));
        let env = ProcessorEnv::from_lookup(crate::config::lookup(&archived)).unwrap();
        assert_eq!(env.hold_event_types, ["order.delivered", "esim.installed"]);
    }
}
