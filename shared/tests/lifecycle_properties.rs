//! Property tests of the lifecycle and the out-of-order rules (README › Lifecycle presets, Out-of-order facts):
//!
//! - no sequence of commands and facts, from anyone, reaches a state by an
//!   illegal move or leaves a terminal state, and the stored head is always
//!   exactly the projection of the log, a hash chain that any one event
//!   changed, dropped or moved breaks;
//! - every arrival order of a set of facts that fit one path gives the same
//!   final status and the same timeline, even when facts share a timestamp
//!   or carry a whole-second one from before the (sub-second) placement;
//!   the timeline always opens with the placement and never goes back in
//!   time;
//! - what a customer's answer to substitutions does is the lifecycle's to
//!   say, through the roles its states play; the tracking page offers a
//!   customer to cancel exactly when the customer's cancellation would be
//!   accepted.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_core::lifecycle::{Actor, Catalog, FulfilmentType, Lifecycle, StateRole};
use order_core::order::decide::{self, Decision, Origin, StatusClaim};
use order_core::order::{
    chain, projection, Contact, Disposition, Event, EventBody, Head, LineItem, OrderPlaced,
    OrderPolicy, TrackingInput,
};
use order_core::views::{timeline, TrackingView};
use proptest::prelude::*;
use proptest::sample::Index;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn lifecycle(f: FulfilmentType) -> Arc<Lifecycle> {
    Catalog::presets().get(f.preset()).unwrap()
}

/// An order placed at `t0`, plus its log so far and its parked facts.
struct Order {
    head: Head,
    log: Vec<Event>,
    parked: Vec<Event>,
}

impl Order {
    fn place(lifecycle: &Lifecycle, f: FulfilmentType, allow_tracking_pending: bool) -> Self {
        Self::place_at(lifecycle, f, allow_tracking_pending, t0())
    }

    fn place_at(
        lifecycle: &Lifecycle,
        f: FulfilmentType,
        allow_tracking_pending: bool,
        at: DateTime<Utc>,
    ) -> Self {
        let placed = OrderPlaced {
            store: "main".into(),
            lifecycle: lifecycle.name().to_string(),
            fulfilment: f,
            status: lifecycle.initial().to_string(),
            customer_id: "cus_1".into(),
            currency: "CAD".into(),
            items: vec![LineItem {
                sku: "A".into(),
                name: "Lamp".into(),
                unit_price: 100,
                quantity: 1,
            }],
            total: 100,
            shipping: None,
            contact: Contact::default(),
            policy: OrderPolicy {
                allow_tracking_pending,
                ..OrderPolicy::default()
            },
        };
        let origin = origin("staff", Actor::Staff, None);
        let ids = ("ord_1".to_string(), "trk_1".to_string());
        let d = decide::place_order(ids, "acme", placed, &origin, lifecycle, at);
        Order {
            head: d.head,
            log: d.events,
            parked: Vec::new(),
        }
    }

    fn accept(&mut self, d: Decision) {
        assert_eq!(d.expected_version, self.head.version);
        assert_eq!(
            d.head.version,
            self.head.version + 1,
            "one version per command"
        );
        self.parked
            .retain(|p| !d.unpark.iter().any(|u| u.event_id == p.event_id));
        self.parked.extend(d.park);
        self.log.extend(d.events);
        self.head = d.head;
    }

    fn fact(&mut self, lifecycle: &Lifecycle, fact: &Fact, now: DateTime<Utc>) -> Disposition {
        let origin = origin(&fact.source, fact.actor, None);
        let claim = StatusClaim {
            to: fact.to.clone(),
            occurred_at: fact.at,
            reason: None,
            tracking: fact.tracking.clone(),
        };
        let d = decide::record_fact(&self.head, &self.parked, lifecycle, &origin, claim, now);
        let disposition = d.disposition;
        self.accept(d);
        disposition
    }

    /// (status, occurred_at) of the timeline, which is what a customer sees.
    fn timeline(&self, lifecycle: &Lifecycle) -> Vec<(String, DateTime<Utc>)> {
        timeline(&self.log, lifecycle)
            .into_iter()
            .map(|e| (e.status, e.occurred_at))
            .collect()
    }
}

fn origin(source: &str, actor: Actor, external_id: Option<String>) -> Origin {
    Origin {
        source: source.to_string(),
        actor_kind: actor,
        actor: None,
        external_id,
    }
}

#[derive(Clone, Debug)]
struct Fact {
    source: String,
    actor: Actor,
    to: String,
    at: DateTime<Utc>,
    tracking: Option<TrackingInput>,
}

fn tracking() -> TrackingInput {
    TrackingInput {
        carrier: "UPS".into(),
        code: "1Z999".into(),
        url: None,
    }
}

const ACTORS: [Actor; 8] = [
    Actor::Customer,
    Actor::Staff,
    Actor::Manager,
    Actor::Owner,
    Actor::Payment,
    Actor::Carrier,
    Actor::Delivery,
    Actor::System,
];

fn fulfilment() -> impl Strategy<Value = FulfilmentType> {
    prop::sample::select(FulfilmentType::ALL.to_vec())
}

/// One random command: a staff move or an outside fact, from anyone, to
/// anything (states, aliases and junk).
#[derive(Clone, Debug)]
struct Command {
    staff_move: bool,
    actor: Index,
    target: Index,
    minutes: i64,
    reason: bool,
    with_tracking: bool,
    stale_version: bool,
}

fn command() -> impl Strategy<Value = Command> {
    (
        any::<bool>(),
        any::<Index>(),
        any::<Index>(),
        -30i64..90,
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(staff_move, actor, target, minutes, reason, with_tracking, stale_version)| Command {
                staff_move,
                actor,
                target,
                minutes,
                reason,
                with_tracking,
                stale_version,
            },
        )
}

fn vocabulary(lifecycle: &Lifecycle) -> Vec<String> {
    let def = lifecycle.definition();
    def.states
        .iter()
        .map(|s| s.name.clone())
        .chain(def.aliases.keys().map(|a| a.to_uppercase()))
        .chain(["teleported".to_string(), String::new()])
        .collect()
}

/// Every status change in `events` is a legal move (or an owner's reasoned
/// override along the path) and none leaves a terminal state.
fn assert_moves_are_legal(
    lifecycle: &Lifecycle,
    events: &[Event],
    mut status: String,
) -> Result<(), TestCaseError> {
    for event in events {
        let Some(fact) = event.status_fact() else {
            continue;
        };
        if fact.disposition != Disposition::Applied {
            continue;
        }
        prop_assert!(
            !lifecycle.is_terminal(&status),
            "left terminal {status} for {}",
            fact.target
        );
        prop_assert_eq!(fact.from.as_deref(), Some(status.as_str()));
        if fact.overridden {
            prop_assert!(event.source == "staff" && fact.reason.is_some());
            prop_assert!(
                lifecycle.reachable(&status, &fact.target),
                "override backwards {status} -> {}",
                fact.target
            );
        } else {
            prop_assert!(
                lifecycle.step(&status, &fact.target).is_some(),
                "illegal {status} -> {}",
                fact.target
            );
        }
        status = fact.target.clone();
    }
    Ok(())
}

fn replay(lifecycle: &Lifecycle, log: &[Event]) -> Head {
    let mut head = projection::start(&log[0], lifecycle);
    for e in &log[1..] {
        projection::apply(&mut head, e, lifecycle);
    }
    head
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_command_sequence_reaches_an_illegal_state(
        f in fulfilment(),
        allow_pending in any::<bool>(),
        commands in prop::collection::vec(command(), 1..40),
        tampered in any::<Index>(),
        how in 0u8..4,
    ) {
        let lifecycle = lifecycle(f);
        let words = vocabulary(&lifecycle);
        let mut order = Order::place(&lifecycle, f, allow_pending);
        for (i, c) in commands.iter().enumerate() {
            let now = t0() + Duration::minutes(i as i64 + 1);
            let actor = ACTORS[c.actor.index(ACTORS.len())];
            let to = words[c.target.index(words.len())].clone();
            let before = order.head.status.clone();
            let claim = StatusClaim {
                to,
                occurred_at: now + Duration::minutes(c.minutes),
                reason: c.reason.then(|| "customer called".to_string()),
                tracking: c.with_tracking.then(tracking),
            };
            let decided = if c.staff_move {
                let origin = origin("staff", actor, None);
                let expected = c.stale_version.then_some(order.head.version + 1);
                decide::transition(&order.head, &order.parked, &lifecycle, &origin, claim, expected, now).ok()
            } else {
                let source = format!("{}:test", actor.as_str());
                let origin = origin(&source, actor, None);
                Some(decide::record_fact(&order.head, &order.parked, &lifecycle, &origin, claim, now))
            };
            let Some(decision) = decided else {
                continue;
            };
            assert_moves_are_legal(&lifecycle, &decision.events, before.clone())?;
            if lifecycle.is_terminal(&before) {
                prop_assert_eq!(&decision.head.status, &before);
            }
            order.accept(decision);
            prop_assert_eq!(&replay(&lifecycle, &order.log), &order.head, "head is the projection of the log");
            prop_assert_eq!(order.head.parked.len(), order.parked.len());
            // The tracking page offers the customer a cancellation exactly
            // when the customer's cancellation would be accepted.
            let offered = decide::customer_cancellation(&order.head, &lifecycle);
            let cancelled = lifecycle.role(StateRole::Cancelled).unwrap_or_default();
            let claim = StatusClaim { to: cancelled.to_string(), occurred_at: now, reason: None, tracking: None };
            let customer = origin("customer", Actor::Customer, None);
            let accepted = decide::transition(&order.head, &order.parked, &lifecycle, &customer, claim, None, now)
                .is_ok_and(|d| d.head.status == cancelled);
            prop_assert_eq!(offered.is_some(), accepted, "at {}", order.head.status);
        }
        // The log is a hash chain: whole, it verifies; with any one event
        // changed, dropped or moved, it does not.
        let whole = chain::verify(&order.head, &order.log, &lifecycle);
        prop_assert!(whole.intact, "{:?}", whole);
        let at = tampered.index(order.log.len());
        let mut log = order.log.clone();
        match how {
            0 => log[at].occurred_at += Duration::seconds(1),
            1 => log[at].source = "forged".into(),
            2 => {
                log.remove(at);
            }
            _ if at + 1 < log.len() => log.swap(at, at + 1),
            _ => log[at].actor = Some("forged".into()),
        }
        let broken = chain::verify(&order.head, &log, &lifecycle);
        prop_assert!(!broken.intact, "tampering {} at {} went unseen", how, at);
    }

    #[test]
    fn any_arrival_order_gives_the_same_status_and_timeline(
        f in fulfilment(),
        choices in prop::collection::vec(any::<Index>(), 12),
        order_seed in any::<u64>(),
        gaps in prop::collection::vec(prop_oneof![Just(0i64), 1i64..120], 12),
        placed_ms in 0i64..1000,
    ) {
        let lifecycle = lifecycle(f);
        let facts = path_facts(&lifecycle, &choices, &gaps);
        prop_assume!(!facts.is_empty());
        let now = facts.last().unwrap().at + Duration::minutes(1);
        // Providers stamp whole seconds; a placement carries milliseconds.
        let placed = t0() + Duration::milliseconds(placed_ms);

        let mut in_order = Order::place_at(&lifecycle, f, false, placed);
        for fact in &facts {
            prop_assert_eq!(in_order.fact(&lifecycle, fact, now), Disposition::Applied);
        }

        let mut shuffled_facts = facts.clone();
        shuffle(&mut shuffled_facts, order_seed);
        let mut shuffled = Order::place_at(&lifecycle, f, false, placed);
        for fact in &shuffled_facts {
            let d = shuffled.fact(&lifecycle, fact, now);
            prop_assert_ne!(d, Disposition::Conflict, "a fact on the path is never a conflict");
        }
        prop_assert_eq!(&shuffled.head.status, &in_order.head.status);
        let timeline = shuffled.timeline(&lifecycle);
        prop_assert_eq!(&timeline, &in_order.timeline(&lifecycle));
        prop_assert_eq!(&timeline[0], &(lifecycle.initial().to_string(), placed), "placement first");
        prop_assert!(timeline.windows(2).all(|w| w[0].1 <= w[1].1), "{:?}", timeline);
        prop_assert!(shuffled.parked.is_empty(), "every parked fact was released");
        prop_assert_eq!(&shuffled.head.timestamps, &in_order.head.timestamps);
        prop_assert!(shuffled.head.timestamps.values().all(|t| *t >= placed), "{:?}", shuffled.head.timestamps);
    }
}

/// A random forward path from the initial state, one fact per step, each from
/// a source allowed to make that step, at strictly increasing times.
fn path_facts(lifecycle: &Lifecycle, choices: &[Index], gaps: &[i64]) -> Vec<Fact> {
    let mut facts = Vec::new();
    let mut status = lifecycle.initial().to_string();
    let mut at = t0();
    for (choice, gap) in choices.iter().zip(gaps) {
        let steps: Vec<_> = lifecycle
            .steps_from(&status)
            .into_iter()
            .filter(|s| lifecycle.is_before(&status, &s.target))
            .collect();
        if steps.is_empty() {
            break;
        }
        let step = &steps[choice.index(steps.len())];
        let actor = step.actors[choice.index(step.actors.len())];
        at += Duration::minutes(*gap);
        facts.push(Fact {
            source: format!("{}:test", actor.as_str()),
            actor,
            to: step.target.clone(),
            at,
            tracking: (!step.guards.is_empty()).then(tracking),
        });
        status = step.target.clone();
    }
    facts
}

/// A deterministic Fisher–Yates shuffle driven by the generated seed, so a
/// failing case shrinks and replays.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

#[test]
fn a_fact_from_the_future_is_clamped_and_noted() {
    let lifecycle = lifecycle(FulfilmentType::Shipping);
    let mut order = Order::place(&lifecycle, FulfilmentType::Shipping, false);
    let now = t0() + Duration::minutes(5);
    let fact = Fact {
        source: "payment:stripe".into(),
        actor: Actor::Payment,
        to: "paid".into(),
        at: now + Duration::days(3),
        tracking: None,
    };
    assert_eq!(order.fact(&lifecycle, &fact, now), Disposition::Applied);
    let last = order.log.last().unwrap();
    assert_eq!(last.occurred_at, now);
    assert_eq!(
        last.status_fact().unwrap().clamped_from,
        Some(now + Duration::days(3))
    );
}

#[test]
fn a_conflicting_fact_is_kept_and_flags_the_order() {
    let lifecycle = lifecycle(FulfilmentType::Shipping);
    let mut order = Order::place(&lifecycle, FulfilmentType::Shipping, false);
    let cancel = Fact {
        source: "customer".into(),
        actor: Actor::Customer,
        to: "cancelled".into(),
        at: t0() + Duration::minutes(1),
        tracking: None,
    };
    order.fact(&lifecycle, &cancel, t0() + Duration::minutes(2));
    let scan = Fact {
        source: "carrier:ups".into(),
        actor: Actor::Carrier,
        to: "in_transit".into(),
        at: t0() + Duration::minutes(3),
        tracking: None,
    };
    assert_eq!(
        order.fact(&lifecycle, &scan, t0() + Duration::minutes(4)),
        Disposition::Conflict
    );
    assert_eq!(order.head.status, "cancelled");
    assert!(order
        .head
        .has_flag(order_core::order::FlagKind::NeedsReview));
    assert!(matches!(
        order.log.last().unwrap().body,
        EventBody::StatusFact(_)
    ));
}

#[test]
fn a_parked_fact_past_its_window_makes_the_order_due() {
    let lifecycle = lifecycle(FulfilmentType::Shipping);
    let mut order = Order::place(&lifecycle, FulfilmentType::Shipping, false);
    let now = t0() + Duration::minutes(1);
    let delivered = Fact {
        source: "carrier:ups".into(),
        actor: Actor::Carrier,
        to: "delivered".into(),
        at: now,
        tracking: None,
    };
    assert_eq!(order.fact(&lifecycle, &delivered, now), Disposition::Parked);
    let sla = order.head.sla_due_at.unwrap();
    assert_eq!(
        order.head.due_at,
        Some(
            sla.min(
                now + Duration::minutes(i64::from(order_core::order::deadlines::PARKED_MINUTES))
            )
        )
    );
    assert_eq!(order.parked.len(), 1);
}

#[test]
fn a_carrier_scan_stamped_before_the_move_it_follows_reads_after_it() {
    let lifecycle = lifecycle(FulfilmentType::Shipping);
    let mut order = Order::place(&lifecycle, FulfilmentType::Shipping, false);
    let shipped_at = t0() + Duration::minutes(3) + Duration::milliseconds(700);
    let step = |source: &str, actor, to: &str, at, tracking| Fact {
        source: source.into(),
        actor,
        to: to.into(),
        at,
        tracking,
    };
    let facts = [
        step(
            "payment:stripe",
            Actor::Payment,
            "paid",
            t0() + Duration::minutes(1),
            None,
        ),
        step(
            "staff",
            Actor::Staff,
            "packing",
            t0() + Duration::minutes(2),
            None,
        ),
        step(
            "staff",
            Actor::Staff,
            "shipped",
            shipped_at,
            Some(tracking()),
        ),
        // The carrier's whole-second clock puts its first scan before the
        // click that shipped the parcel.
        step(
            "carrier:ups",
            Actor::Carrier,
            "in_transit",
            t0() + Duration::minutes(3),
            None,
        ),
    ];
    for fact in &facts {
        let now = t0() + Duration::minutes(10);
        assert_eq!(order.fact(&lifecycle, fact, now), Disposition::Applied);
    }
    let timeline = order.timeline(&lifecycle);
    assert_eq!(
        timeline[3..],
        [
            ("shipped".to_string(), shipped_at),
            ("in_transit".to_string(), shipped_at)
        ]
    );
    assert_eq!(
        order.log.last().unwrap().occurred_at,
        t0() + Duration::minutes(3),
        "the event keeps the carrier's own time"
    );
}

fn rename_needed(state: &mut String) {
    if state == "substitutions_needed" {
        *state = "items_unavailable".into();
    }
}

#[test]
fn substitutions_are_answered_from_the_states_playing_their_roles() {
    // A tenant's local delivery calls the waiting state `items_unavailable`.
    let mut def = lifecycle(FulfilmentType::LocalDelivery)
        .definition()
        .clone();
    def.name = "grocer".into();
    def.states
        .iter_mut()
        .for_each(|s| rename_needed(&mut s.name));
    for t in &mut def.transitions {
        t.from.iter_mut().for_each(rename_needed);
        rename_needed(&mut t.to);
    }
    def.roles.values_mut().for_each(rename_needed);
    let grocer = Lifecycle::from_definition(def).unwrap();

    let mut order = Order::place(&grocer, FulfilmentType::LocalDelivery, false);
    let staff = origin("staff", Actor::Staff, None);
    let moves = [
        ("store_notified", None),
        ("store_acknowledged", None),
        ("picking_in_progress", None),
        ("items_unavailable", Some("oat milk instead of soy milk")),
    ];
    for (minute, (to, reason)) in (1..).zip(moves) {
        let at = t0() + Duration::minutes(minute);
        let claim = StatusClaim {
            to: to.into(),
            occurred_at: at,
            reason: reason.map(str::to_string),
            tracking: None,
        };
        let d = decide::transition(&order.head, &[], &grocer, &staff, claim, None, at).unwrap();
        order.accept(d);
    }
    let view = TrackingView::new(&order.head, &order.log, &grocer);
    assert_eq!(
        view.proposal.as_deref(),
        Some("oat milk instead of soy milk")
    );
    assert_eq!(
        decide::substitution_answer(&order.head, &grocer, true),
        Some("substitutions_approved")
    );
    assert_eq!(
        decide::substitution_answer(&order.head, &grocer, false),
        Some("picking_in_progress")
    );

    // Without a state to approve into, there is no answer to give.
    let mut no_approval = grocer.definition().clone();
    no_approval.roles.remove(&StateRole::SubstitutionsApproved);
    let no_approval = Lifecycle::from_definition(no_approval).unwrap();
    assert_eq!(
        decide::substitution_answer(&order.head, &no_approval, true),
        None
    );
    // Nor while the order is not waiting for one.
    order.head.status = "picking_in_progress".into();
    assert_eq!(
        decide::substitution_answer(&order.head, &grocer, true),
        None
    );
    let view = TrackingView::new(&order.head, &order.log, &grocer);
    assert_eq!(view.proposal, None);
}
