//! The processing protocol (claim, lease, fetch, state write, publish, complete), model-checked:
//! every interleaving of a few deliveries, every crash point, an API answer that moves on at
//! any moment, and the FIFO queue's deduplication window, explored exhaustively, breadth first.
//!
//! A small explicit-state explorer of our own rather than `stateright`: the model calls the
//! production decision itself ([`hookline::order_state::decide`]) and the production identities
//! ([`change_update_id`]), so it checks the code's rules rather than a transcription of them,
//! and what it needs (a visited set, parent links for the shortest counterexample, properties
//! checked at each step and at the end) is about a hundred lines; a dependency would add a
//! build for no extra power at this size.
//!
//! The world: one Optty payment. Deliveries: two of notification N1 (concurrent: a provider
//! retry, or SQS delivering twice) and one of N2 (the next notification). The API answers
//! AUTHORIZED until, at any moment, it answers CAPTURED for good. Any delivery may die at any
//! step (up to [`MAX_CRASHES`] in a run); its claim's lease then ends, and SQS delivers it
//! again after the visibility timeout (360 s): a send after a redelivery falls outside the FIFO
//! queue's five-minute window, a second send within the same stretch is dropped by it. Clock
//! skew is assumed within [`hookline::processor::LEASE_SKEW_SECS`]: a lease is taken over only
//! once its holder has ended (died or passed its deadline); the lease's arithmetic is tested in
//! `tests/exactly_once.rs`.
//!
//! Properties: every change that becomes state reaches a consumer that deduplicates as the
//! contract says (checked when every delivery is acknowledged); no identity ever carries two
//! different contents; the state never goes backwards; nothing is published by a delivery that
//! does not hold its event's claim (refused as a duplicate, or by a live lease elsewhere). A
//! conflicting body (the same id, another body) is refused at the claim before any step, as
//! `idempotency`'s tests show; it is not in the model.

use std::collections::{BTreeMap, HashMap, VecDeque};

use hookline::order::{OrderKind, OrderRef};
use hookline::order_state::{ChangeRecord, OrderState, Publication, StoredHead, decide};
use hookline::order_update::change_update_id;

/// Crashes in one run, over all deliveries.
const MAX_CRASHES: u8 = 3;

/// Which identity updates are published under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Design {
    /// Contract v1: deduplicated by the event (the consumer too), and a redelivery publishes
    /// only what its own write found.
    EventIdentity,
    /// Contract v2: `update_id` names the change; a redelivery re-sends the changes its earlier
    /// attempts recorded.
    ChangeIdentity,
}

const EVENTS: [&str; 2] = ["N1", "N2"];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ClaimRecord {
    None,
    /// Held by delivery `holder` in incarnation `incarnation`; `alive` until it dies.
    InProgress {
        holder: usize,
        incarnation: u8,
        alive: bool,
    },
    Completed,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Pc {
    /// Waiting for SQS to deliver it (again).
    Idle,
    Claimed,
    /// The API answered: 0 AUTHORIZED, 1 CAPTURED.
    Fetched(u8),
    /// Sending `pending[i..]`.
    Publishing(usize),
    Done,
}

/// A message sent: its deduplication id, what it says (change key, owner event), and the
/// stretch of time (between two redeliveries) it was sent in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Sent {
    id: String,
    change: String,
    owner: String,
    stretch: u8,
    dropped: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Delivery {
    event: usize,
    pc: Pc,
    incarnation: u8,
    /// Messages to send, in order: (deduplication id, change key, owner).
    pending: Vec<(String, String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct World {
    /// 0: AUTHORIZED, 1: CAPTURED.
    api: u8,
    claims: Vec<ClaimRecord>,
    /// change key → (owner, parts); the head: (rank, progress, time, change key).
    changes: BTreeMap<String, String>,
    head: Option<(u8, Option<i64>, i64, String)>,
    deliveries: Vec<Delivery>,
    sent: Vec<Sent>,
    crashes: u8,
    /// Advanced by each redelivery: the visibility timeout (360 s) is longer than the FIFO
    /// window (300 s), so a send in a later stretch is never dropped as a repeat.
    stretch: u8,
}

fn order() -> OrderRef {
    OrderRef {
        provider: "optty".into(),
        kind: OrderKind::Order,
        order_id: "ord-1".into(),
    }
}

fn capture(answer: u8) -> &'static str {
    if answer == 0 {
        "AUTHORIZED"
    } else {
        "CAPTURED"
    }
}

/// The state Optty's plan makes of an answer, reported by `event` (as `providers::optty`).
fn state_of(answer: u8, event: usize) -> OrderState {
    OrderState {
        order: order(),
        status: "SUCCESSFUL".into(),
        status_rank: 2,
        quantity: None,
        delivered_quantity: None,
        amount: Some("10".into()),
        currency: Some("AUD".into()),
        product_name: None,
        reference: Some("ord-1".into()),
        progress: Some(i64::from(answer)),
        detail: Some(capture(answer).into()),
        last_event_at: 1_000 * (event as i64 + 1),
        last_event_id: EVENTS[event].into(),
    }
}

impl World {
    fn start() -> Self {
        Self {
            api: 0,
            claims: vec![ClaimRecord::None; EVENTS.len()],
            changes: BTreeMap::new(),
            head: None,
            // Two deliveries of N1, one of N2.
            deliveries: [0, 0, 1]
                .into_iter()
                .map(|event| Delivery {
                    event,
                    pc: Pc::Idle,
                    incarnation: 0,
                    pending: Vec::new(),
                })
                .collect(),
            sent: Vec::new(),
            crashes: 0,
            stretch: 0,
        }
    }

    fn stored_head(&self) -> Option<StoredHead> {
        let (rank, progress, at, key) = self.head.clone()?;
        Some(StoredHead {
            status_rank: rank,
            progress,
            last_event_at: at,
            change_key: key,
            changes: self
                .changes
                .iter()
                .map(|(k, owner)| {
                    (
                        k.clone(),
                        ChangeRecord {
                            owner: owner.clone(),
                            status: "SUCCESSFUL".into(),
                            publication: Some(Publication::SINGLE),
                        },
                    )
                })
                .collect(),
        })
    }

    /// Every next world, with what happened, or a property broken on the way.
    fn next(&self, design: Design) -> Result<Vec<(String, World)>, String> {
        let mut next = Vec::new();
        if self.api == 0 {
            let mut w = self.clone();
            w.api = 1;
            next.push(("the API now answers CAPTURED".into(), w));
        }
        for (d, delivery) in self.deliveries.iter().enumerate() {
            let name = format!("{}#{d}", EVENTS[delivery.event]);
            if !matches!(delivery.pc, Pc::Idle | Pc::Done) && self.crashes < MAX_CRASHES {
                let mut w = self.clone();
                w.crashes += 1;
                let died = &mut w.deliveries[d];
                died.pc = Pc::Idle;
                died.incarnation += 1;
                died.pending.clear();
                if let ClaimRecord::InProgress { holder, alive, .. } = &mut w.claims[delivery.event]
                    && *holder == d
                {
                    *alive = false;
                }
                next.push((format!("{name} dies at {:?}", delivery.pc), w));
            }
            if let Some(step) = self.step(d, design)? {
                next.push((format!("{name}: {}", step.0), step.1));
            }
        }
        Ok(next)
    }

    /// The one step delivery `d` can take, if any.
    fn step(&self, d: usize, design: Design) -> Result<Option<(String, World)>, String> {
        let mut w = self.clone();
        let delivery = &self.deliveries[d];
        let event = delivery.event;
        match &delivery.pc {
            Pc::Done => Ok(None),
            Pc::Idle => match &self.claims[event] {
                ClaimRecord::Completed => {
                    w.deliveries[d].pc = Pc::Done;
                    Ok(Some(("duplicate, acknowledged".into(), w)))
                }
                // A live lease elsewhere: SQS delivers it again later.
                ClaimRecord::InProgress { alive: true, .. } => Ok(None),
                ClaimRecord::InProgress { alive: false, .. } | ClaimRecord::None => {
                    if matches!(self.claims[event], ClaimRecord::InProgress { .. }) {
                        // Taken over after the visibility timeout: a new stretch of time.
                        w.stretch += 1;
                    }
                    w.claims[event] = ClaimRecord::InProgress {
                        holder: d,
                        incarnation: delivery.incarnation,
                        alive: true,
                    };
                    w.deliveries[d].pc = Pc::Claimed;
                    Ok(Some(("claims".into(), w)))
                }
            },
            Pc::Claimed => {
                w.deliveries[d].pc = Pc::Fetched(self.api);
                Ok(Some((format!("fetches: {}", capture(self.api)), w)))
            }
            Pc::Fetched(answer) => {
                let state = state_of(*answer, event);
                let key = state.change_key();
                let stored = self.stored_head();
                let decision = decide(stored.as_ref(), &state, Publication::SINGLE);
                if decision.record_change {
                    w.changes.insert(key.clone(), EVENTS[event].to_string());
                }
                if decision.replace_state {
                    if let Some((rank, progress, _, _)) = &self.head
                        && (state.status_rank, state.progress) < (*rank, *progress)
                    {
                        return Err(format!("the state went backwards to {key}"));
                    }
                    w.head = Some((
                        state.status_rank,
                        state.progress,
                        state.last_event_at,
                        key.clone(),
                    ));
                }
                let state_key = order().state_key();
                let mut pending = Vec::new();
                match design {
                    Design::EventIdentity => {
                        if decision.write.publishes() {
                            pending.push((
                                EVENTS[event].to_string(),
                                key.clone(),
                                EVENTS[event].into(),
                            ));
                        }
                    }
                    Design::ChangeIdentity => {
                        for earlier in &decision.earlier {
                            pending.push((
                                change_update_id(&state_key, &earlier.change_key),
                                earlier.change_key.clone(),
                                earlier.record.owner.clone(),
                            ));
                        }
                        if decision.write.publishes() {
                            pending.push((
                                change_update_id(&state_key, &key),
                                key.clone(),
                                EVENTS[event].into(),
                            ));
                        }
                    }
                }
                w.deliveries[d].pending = pending;
                w.deliveries[d].pc = Pc::Publishing(0);
                Ok(Some((format!("writes {key}: {:?}", decision.write), w)))
            }
            Pc::Publishing(i) if *i < delivery.pending.len() => {
                let holds = matches!(
                    &self.claims[event],
                    ClaimRecord::InProgress { holder, incarnation, alive: true }
                        if *holder == d && *incarnation == delivery.incarnation
                );
                if !holds {
                    return Err(format!(
                        "{} publishes without holding its claim",
                        EVENTS[event]
                    ));
                }
                let (id, change, owner) = delivery.pending[*i].clone();
                if let Some(other) = self.sent.iter().find(|s| s.id == id)
                    && (other.change != change || other.owner != owner)
                {
                    return Err(format!(
                        "identity {} carries two contents: {} by {} and {change} by {owner}",
                        &id[..id.len().min(8)],
                        other.change,
                        other.owner
                    ));
                }
                let dropped = self
                    .sent
                    .iter()
                    .any(|s| s.id == id && s.stretch == self.stretch && !s.dropped);
                w.sent.push(Sent {
                    id: id.clone(),
                    change: change.clone(),
                    owner,
                    stretch: self.stretch,
                    dropped,
                });
                w.deliveries[d].pc = Pc::Publishing(i + 1);
                let fate = if dropped {
                    ", dropped in the FIFO window"
                } else {
                    ""
                };
                Ok(Some((format!("publishes {change}{fate}"), w)))
            }
            Pc::Publishing(_) => {
                if let ClaimRecord::InProgress {
                    holder,
                    incarnation,
                    ..
                } = &self.claims[event]
                    && *holder == d
                    && *incarnation == delivery.incarnation
                {
                    w.claims[event] = ClaimRecord::Completed;
                }
                w.deliveries[d].pc = Pc::Done;
                Ok(Some(("completes".into(), w)))
            }
        }
    }

    /// At the end (every delivery acknowledged): every recorded change reached the consumer.
    fn check_end(&self, design: Design) -> Result<(), String> {
        // The consumer keeps the first copy of each identity (the FIFO queue dropped some).
        let mut kept: BTreeMap<&str, &Sent> = BTreeMap::new();
        for sent in self.sent.iter().filter(|s| !s.dropped) {
            kept.entry(sent.id.as_str()).or_insert(sent);
        }
        for change in self.changes.keys() {
            if !kept.values().any(|s| s.change == *change) {
                return Err(format!(
                    "{change} became state but no consumer ever received it ({design:?})"
                ));
            }
        }
        Ok(())
    }
}

/// What an exploration found.
struct Exploration {
    states: usize,
    ends: usize,
    /// The shortest run that breaks a property, step by step, and the property.
    counterexample: Option<(Vec<String>, String)>,
}

fn explore(design: Design) -> Exploration {
    let start = World::start();
    let mut parents: HashMap<World, Option<(World, String)>> = HashMap::new();
    parents.insert(start.clone(), None);
    let mut queue = VecDeque::from([start]);
    let mut ends = 0;
    let trace = |parents: &HashMap<World, Option<(World, String)>>, world: &World| {
        let mut steps = Vec::new();
        let mut at = world.clone();
        while let Some(Some((parent, step))) = parents.get(&at) {
            steps.push(step.clone());
            at = parent.clone();
        }
        steps.reverse();
        steps
    };
    while let Some(world) = queue.pop_front() {
        let next = match world.next(design) {
            Ok(next) => next,
            Err(broken) => {
                return Exploration {
                    states: parents.len(),
                    ends,
                    counterexample: Some((trace(&parents, &world), broken)),
                };
            }
        };
        let settled = world.deliveries.iter().all(|d| d.pc == Pc::Done);
        if settled {
            ends += 1;
            if let Err(broken) = world.check_end(design) {
                return Exploration {
                    states: parents.len(),
                    ends,
                    counterexample: Some((trace(&parents, &world), broken)),
                };
            }
        }
        for (step, successor) in next {
            if !parents.contains_key(&successor) {
                parents.insert(successor.clone(), Some((world.clone(), step)));
                queue.push_back(successor);
            }
        }
    }
    Exploration {
        states: parents.len(),
        ends,
        counterexample: None,
    }
}

#[test]
fn the_protocol_keeps_its_promises_in_every_interleaving() {
    let found = explore(Design::ChangeIdentity);
    let line = format!(
        "model check (contract v2): {} states, {} settled ends, every interleaving of 2 deliveries of N1 and 1 of N2, up to {MAX_CRASHES} crashes at any step, the API moving from AUTHORIZED to CAPTURED at any moment, the FIFO window: {}",
        found.states,
        found.ends,
        match &found.counterexample {
            None => "0 counterexamples".to_string(),
            Some((_, broken)) => format!("broken: {broken}"),
        }
    );
    hookline_tests::report_figure("model-check", &line);
    if let Some((trace, broken)) = found.counterexample {
        panic!("{broken}\ntrace:\n  {}", trace.join("\n  "));
    }
    assert!(found.ends > 0);
}

/// The checker finds defect 1 on contract v1: a change first seen on a redelivery, published
/// under the event's identity, never reaches a consumer.
#[test]
fn the_model_finds_the_lost_change_of_contract_v1() {
    let found = explore(Design::EventIdentity);
    let (trace, broken) = found
        .counterexample
        .expect("contract v1 loses a change; the model must find it");
    println!(
        "contract v1 counterexample ({broken}):\n  {}",
        trace.join("\n  ")
    );
    assert!(
        broken.contains("two contents") || broken.contains("no consumer ever received"),
        "{broken}"
    );
    assert!(trace.iter().any(|step| step.contains("dies")), "{trace:?}");
}
