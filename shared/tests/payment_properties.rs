//! Payment news arriving in any order (Stripe does not deliver in order, and
//! stamps whole seconds):
//!
//! - given the same set of payment facts, every arrival order gives the same
//!   status, the same staff `payment` and the same customer message and
//!   timeline — except when a success and a cancellation both happened,
//!   where the order is either confirmed or cancelled *and flagged for
//!   review*, never silently wrong;
//! - a success at any time means paid: no failure, older or newer, makes the
//!   customer read "did not go through";
//! - nothing on a timeline reads before "Order placed";
//! - what payment news does to the status is the lifecycle's to say, through
//!   the states playing its `paid` and `cancelled` roles.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_core::lifecycle::{Actor, Catalog, FulfilmentType, Lifecycle, LifecycleDef, StateRole};
use order_core::order::decide::{self, Origin};
use order_core::order::inbound::{Inbound, InboundFact, PaymentKind, PaymentNews, Subject};
use order_core::order::{Contact, Event, FlagKind, Head, LineItem, OrderPlaced, OrderPolicy};
use order_core::views::TrackingView;
use proptest::prelude::*;

/// A whole second, as Stripe stamps its events.
fn second(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::seconds(n)
}

/// Placement carries nanoseconds, so a payment in the same second reads as
/// earlier than the order.
fn placed_at() -> DateTime<Utc> {
    second(0) + Duration::milliseconds(567)
}

fn shipping() -> Arc<Lifecycle> {
    Catalog::presets().get("shipping").unwrap()
}

/// The shipping preset as a tenant might rewrite it in its own file.
fn custom_shipping(edit: impl FnOnce(&mut LifecycleDef)) -> Arc<Lifecycle> {
    let mut def = shipping().definition().clone();
    def.name = "custom".into();
    edit(&mut def);
    Arc::new(Lifecycle::from_definition(def).unwrap())
}

fn placed_order(lifecycle: &Lifecycle) -> (Head, Vec<Event>) {
    let placed = OrderPlaced {
        store: "main".into(),
        lifecycle: lifecycle.name().into(),
        fulfilment: FulfilmentType::Shipping,
        status: "pending".into(),
        customer_id: "cus_1".into(),
        currency: "CAD".into(),
        items: vec![LineItem {
            sku: "A".into(),
            name: "Lamp".into(),
            unit_price: 5000,
            quantity: 1,
        }],
        total: 5000,
        shipping: None,
        contact: Contact::default(),
        policy: OrderPolicy::default(),
    };
    let customer = Origin {
        source: "customer".into(),
        actor_kind: Actor::Customer,
        actor: None,
        external_id: None,
    };
    let ids = ("ord_1".to_string(), "trk_1".to_string());
    let d = decide::place_order(ids, "acme", placed, &customer, lifecycle, placed_at());
    (d.head, d.events)
}

/// One Stripe event about the order.
#[derive(Clone, Debug)]
struct Pay {
    kind: PaymentKind,
    at: DateTime<Utc>,
    reference: &'static str,
}

fn inbound(i: usize, pay: &Pay) -> Inbound {
    let amount = match pay.kind {
        PaymentKind::Succeeded => Some(5000),
        // Stripe's refunded amount is cumulative.
        PaymentKind::Refunded => Some(1000 * (i as i64 + 1)),
        PaymentKind::Failed | PaymentKind::Canceled => None,
    };
    Inbound {
        source: "payment:stripe".into(),
        event_id: format!("evt_{i}"),
        occurred_at: pay.at,
        subject: Subject::Order {
            order_id: "ord_1".into(),
        },
        fact: InboundFact::Payment(PaymentNews {
            kind: pay.kind,
            reference: pay.reference.into(),
            amount,
            currency: Some("cad".into()),
            message: Some(format!("news {i}")),
        }),
    }
}

/// Feeds the facts in the given order through the same decision the
/// service makes, each one recorded a second after the previous.
fn arrive(facts: &[Pay], order: &[usize]) -> Outcome {
    arrive_on(&shipping(), facts, order)
}

fn arrive_on(lifecycle: &Lifecycle, facts: &[Pay], order: &[usize]) -> Outcome {
    let (mut head, mut log) = placed_order(lifecycle);
    let mut parked: Vec<Event> = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        let now = second(600 + n as i64);
        let d = decide::record_inbound(&head, &parked, lifecycle, &inbound(i, &facts[i]), now);
        parked.retain(|p| !d.unpark.iter().any(|u| u.event_id == p.event_id));
        parked.extend(d.park);
        head = d.head;
        log.extend(d.events);
    }
    let view = TrackingView::new(&head, &log, lifecycle);
    Outcome {
        message: view.payment.as_ref().map(|p| p.message.clone()),
        timeline: view
            .timeline
            .iter()
            .map(|s| (s.status.clone(), s.occurred_at))
            .collect(),
        head,
    }
}

#[derive(Debug)]
struct Outcome {
    head: Head,
    /// The customer's line about the payment.
    message: Option<String>,
    /// The customer's timeline: (status, when).
    timeline: Vec<(String, DateTime<Utc>)>,
}

impl Outcome {
    fn flagged(&self) -> bool {
        self.head.has_flag(FlagKind::NeedsReview)
    }
}

fn in_time_order(facts: &[Pay]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..facts.len()).collect();
    order.sort_by_key(|&i| facts[i].at);
    order
}

fn pay(kind: PaymentKind, at: i64) -> Pay {
    Pay {
        kind,
        at: second(at),
        reference: "pi_1",
    }
}

#[test]
fn an_older_failure_arriving_after_a_success_is_history() {
    let facts = [pay(PaymentKind::Succeeded, 2), pay(PaymentKind::Failed, 1)];
    let out = arrive(&facts, &[0, 1]);
    assert_eq!(out.head.status, "confirmed");
    let payment = out.head.payment.as_ref().unwrap();
    assert_eq!(payment.status, PaymentKind::Succeeded, "staff see it paid");
    assert_eq!(payment.failures, 1, "the failed attempt is still counted");
    assert_eq!(out.message.as_deref(), Some("Paid."));
}

#[test]
fn a_success_keeps_the_order_whatever_failures_come_after() {
    let facts = [
        pay(PaymentKind::Succeeded, 1),
        pay(PaymentKind::Failed, 2),
        pay(PaymentKind::Failed, 3),
        pay(PaymentKind::Failed, 4),
    ];
    let out = arrive(&facts, &[0, 1, 2, 3]);
    assert_eq!(out.head.status, "confirmed");
    assert!(!out.flagged(), "nothing to review: the order is paid");
    assert_eq!(out.message.as_deref(), Some("Paid."));
}

#[test]
fn the_third_failure_by_time_dates_the_cancellation() {
    let facts = [
        pay(PaymentKind::Failed, 4),
        pay(PaymentKind::Failed, 2),
        pay(PaymentKind::Failed, 3),
        pay(PaymentKind::Failed, 1),
    ];
    let out = arrive(&facts, &[0, 1, 2]);
    assert_eq!(out.head.status, "cancelled");
    assert_eq!(
        out.timeline.last().unwrap(),
        &("cancelled".into(), second(4))
    );
    // An older failure turns up: the third failure happened earlier.
    let out = arrive(&facts, &[0, 1, 2, 3]);
    assert_eq!(
        out.timeline.last().unwrap(),
        &("cancelled".into(), second(3))
    );
    assert_eq!(out.head.timestamps["cancelled_at"], second(3));
}

#[test]
fn a_success_after_the_cancellation_is_kept_and_flagged_for_a_refund() {
    let facts = [
        pay(PaymentKind::Failed, 1),
        pay(PaymentKind::Failed, 2),
        pay(PaymentKind::Failed, 3),
        pay(PaymentKind::Succeeded, 2),
    ];
    let out = arrive(&facts, &[0, 1, 2, 3]);
    assert_eq!(out.head.status, "cancelled", "a terminal state is final");
    assert!(out.flagged(), "staff must refund or re-place the order");
    assert_eq!(
        out.head.payment.as_ref().unwrap().status,
        PaymentKind::Succeeded
    );
    assert!(
        out.message
            .as_deref()
            .unwrap()
            .contains("after this order was cancelled"),
        "{:?}",
        out.message
    );
    assert!(!out.head.timestamps.contains_key("confirmed_at"));
}

#[test]
fn a_payment_in_the_second_the_order_was_placed_reads_after_it() {
    let out = arrive(&[pay(PaymentKind::Succeeded, 0)], &[0]);
    assert_eq!(
        out.timeline,
        vec![
            ("pending".to_string(), placed_at()),
            ("confirmed".to_string(), placed_at())
        ]
    );
    assert_eq!(out.head.timestamps["confirmed_at"], out.head.created_at);
}

#[test]
fn a_success_moves_the_order_to_the_state_playing_paid() {
    // No `paid` alias: the role alone says what a payment confirms.
    let lifecycle = custom_shipping(|def| {
        def.aliases.remove("paid");
    });
    let out = arrive_on(&lifecycle, &[pay(PaymentKind::Succeeded, 5)], &[0]);
    assert_eq!(out.head.status, "confirmed");
    assert_eq!(out.head.timestamps["confirmed_at"], second(5));
}

#[test]
fn without_a_paid_role_a_success_is_recorded_and_moves_nothing() {
    // The `paid` alias still maps staff input; it does not make a role.
    let lifecycle = custom_shipping(|def| {
        def.roles.remove(&StateRole::Paid);
    });
    let out = arrive_on(&lifecycle, &[pay(PaymentKind::Succeeded, 5)], &[0]);
    assert_eq!(out.head.status, "pending", "staff confirm it themselves");
    assert!(!out.flagged(), "nothing is wrong with the order");
    assert_eq!(
        out.head.payment.as_ref().unwrap().status,
        PaymentKind::Succeeded,
        "staff see it paid"
    );
    assert_eq!(out.message.as_deref(), Some("Paid."));
    assert_eq!(out.timeline, [("pending".to_string(), placed_at())]);
}

#[test]
fn without_a_cancelled_role_failures_are_recorded_and_the_order_waits() {
    let lifecycle = custom_shipping(|def| {
        def.roles.remove(&StateRole::Cancelled);
    });
    let facts = [
        pay(PaymentKind::Failed, 1),
        pay(PaymentKind::Failed, 2),
        pay(PaymentKind::Canceled, 3),
    ];
    let out = arrive_on(&lifecycle, &facts, &[0, 1, 2]);
    assert_eq!(out.head.status, "pending");
    assert_eq!(out.head.payment.as_ref().unwrap().failures, 2);
    assert!(!out.head.timestamps.contains_key("cancelled_at"));
}

fn kind() -> impl Strategy<Value = PaymentKind> {
    prop_oneof![
        3 => Just(PaymentKind::Failed),
        2 => Just(PaymentKind::Succeeded),
        1 => Just(PaymentKind::Canceled),
        1 => Just(PaymentKind::Refunded),
    ]
}

/// Up to seven payment facts within a few whole seconds of placement (so
/// ties, and facts "before" the order, are common), on one or two intents.
fn facts() -> impl Strategy<Value = (Vec<Pay>, Vec<usize>)> {
    prop::collection::vec((kind(), 0i64..4, prop::bool::weighted(0.2)), 1..8)
        .prop_map(|raw| {
            raw.into_iter()
                .map(|(kind, at, second_intent)| Pay {
                    kind,
                    at: second(at),
                    reference: if second_intent { "pi_2" } else { "pi_1" },
                })
                .collect::<Vec<_>>()
        })
        .prop_flat_map(|facts| {
            let order = Just((0..facts.len()).collect::<Vec<_>>()).prop_shuffle();
            (Just(facts), order)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn payment_news_gives_the_same_answer_in_any_arrival_order((facts, order) in facts()) {
        let expected = arrive(&facts, &in_time_order(&facts));
        let got = arrive(&facts, &order);

        let count = |k: PaymentKind| facts.iter().filter(|f| f.kind == k).count();
        let paid = count(PaymentKind::Succeeded) > 0;
        let ends = count(PaymentKind::Failed) >= order_core::order::MAX_PAYMENT_FAILURES as usize
            || count(PaymentKind::Canceled) > 0;

        prop_assert_eq!(&got.head.payment, &expected.head.payment);
        let payment = got.head.payment.as_ref().unwrap();
        prop_assert_eq!(payment.failures as usize, count(PaymentKind::Failed));
        if paid || count(PaymentKind::Refunded) > 0 {
            prop_assert!(matches!(payment.status, PaymentKind::Succeeded | PaymentKind::Refunded));
            prop_assert!(!got.message.as_deref().unwrap_or_default().contains("did not go through"));
        }
        for out in [&got, &expected] {
            prop_assert_eq!(&out.timeline[0], &("pending".to_string(), placed_at()), "placement first");
            prop_assert!(out.timeline.windows(2).all(|w| w[0].1 <= w[1].1), "{:?}", out.timeline);
            prop_assert!(out.head.timestamps.values().all(|t| *t >= out.head.created_at));
        }
        if paid && ends {
            // Whether the success was known before the cancellation took
            // effect depends on arrival: a terminal state is final, so the
            // late success is flagged for staff instead.
            for out in [&got, &expected] {
                let confirmed = out.head.status == "confirmed" && !out.flagged();
                let cancelled = out.head.status == "cancelled" && out.flagged();
                prop_assert!(confirmed || cancelled, "{} flagged={}", out.head.status, out.flagged());
            }
        } else {
            let status = if paid { "confirmed" } else if ends { "cancelled" } else { "pending" };
            prop_assert_eq!(&got.head.status, status);
            prop_assert_eq!(&expected.head.status, status);
            prop_assert_eq!(&got.message, &expected.message);
            prop_assert_eq!(&got.timeline, &expected.timeline);
            prop_assert_eq!(got.flagged(), expected.flagged());
            prop_assert_eq!(&got.head.timestamps, &expected.head.timestamps);
        }
    }
}
