//! Property tests of structured substitutions (README › Substitutions):
//! whatever the store proposes and the customer (or the tenant's policy)
//! answers, the checkout snapshot never changes, the current total is the
//! sum of the current lines, the head is the projection of the log, and the
//! inventory adjustments published add up, item by item, to the difference
//! between the lines the order holds now and at checkout.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_core::lifecycle::{Actor, Catalog, Lifecycle};
use order_core::order::decide::{self, LineProposal, Origin, StatusClaim};
use order_core::order::substitution::LineDecision;
use order_core::order::{projection, Event, EventBody, Head, LineItem, OrderPlaced};
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn local() -> Arc<Lifecycle> {
    Catalog::presets().get("local_delivery").unwrap()
}

fn by(actor: Actor) -> Origin {
    Origin {
        source: if actor == Actor::Customer {
            "customer"
        } else {
            "staff"
        }
        .into(),
        actor_kind: actor,
        actor: None,
        external_id: None,
    }
}

fn item(sku: &str, price: i64, quantity: u32) -> LineItem {
    LineItem {
        sku: sku.into(),
        name: sku.to_lowercase(),
        unit_price: price,
        quantity,
    }
}

/// A local delivery order being picked: three lines.
fn picking() -> (Head, Vec<Event>) {
    let lifecycle = local();
    let placed: OrderPlaced = serde_json::from_value(serde_json::json!({
        "store": "main", "lifecycle": "local_delivery", "fulfilment": "local_delivery",
        "status": "submitted", "customer_id": "cus_1", "currency": "CAD",
        "items": [item("MILK", 300, 2), item("EGGS", 500, 1), item("BREAD", 400, 3)],
        "total": 2300, "contact": {}, "policy": {"allow_tracking_pending": false}
    }))
    .unwrap();
    let ids = ("ord_1".to_string(), "trk_1".to_string());
    let d = decide::place_order(ids, "acme", placed, &by(Actor::Staff), &lifecycle, t0());
    let (mut head, mut log) = (d.head, d.events);
    for (i, to) in [
        "store_notified",
        "store_acknowledged",
        "picking_in_progress",
    ]
    .iter()
    .enumerate()
    {
        let claim = StatusClaim {
            to: to.to_string(),
            occurred_at: t0() + Duration::minutes(i as i64),
            reason: None,
            tracking: None,
        };
        let d = decide::transition(&head, &[], &lifecycle, &by(Actor::Owner), claim, None, t0())
            .unwrap();
        log.extend(d.events);
        head = d.head;
    }
    (head, log)
}

fn decision() -> impl Strategy<Value = LineDecision> {
    prop_oneof![
        Just(LineDecision::Approve),
        Just(LineDecision::Reject),
        Just(LineDecision::CancelLine)
    ]
}

/// A line proposal over one of the three skus.
fn line() -> impl Strategy<Value = LineProposal> {
    (
        0..3usize,
        1..3u32,
        proptest::option::of((0..2usize, 100..900i64, 1..3u32)),
    )
        .prop_map(|(sku, quantity, replacement)| LineProposal {
            sku: ["MILK", "EGGS", "BREAD"][sku].into(),
            quantity: Some(quantity),
            replacement: replacement.map(|(r, price, q)| item(["OAT", "TOFU"][r], price, q)),
        })
}

fn units(lines: &[LineItem]) -> BTreeMap<String, i64> {
    let mut units = BTreeMap::new();
    for l in lines {
        *units.entry(l.sku.clone()).or_default() += i64::from(l.quantity);
    }
    units
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn answers_amend_the_lines_and_the_adjustments_add_up(
        rounds in prop::collection::vec((prop::collection::vec(line(), 1..4), prop::collection::vec(decision(), 4), any::<bool>()), 1..5),
    ) {
        let lifecycle = local();
        let (mut head, mut log) = picking();
        let snapshot = (head.items.clone(), head.total);
        for (n, (proposed, answers, silent)) in rounds.iter().enumerate() {
            let at = t0() + Duration::hours(n as i64 + 1);
            // Back to picking after an answer, so the store may propose again.
            if head.status != "picking_in_progress" {
                let claim = StatusClaim { to: "picking_in_progress".into(), occurred_at: at, reason: None, tracking: None };
                if let Ok(d) = decide::transition(&head, &[], &lifecycle, &by(Actor::Owner), claim, None, at) {
                    log.extend(d.events);
                    head = d.head;
                }
            }
            let Ok(d) = decide::propose_substitutions(&head, &[], &lifecycle, &by(Actor::Staff), proposed, None, at) else {
                continue;
            };
            prop_assert_eq!(&d.head.status, "substitutions_needed");
            log.extend(d.events);
            head = d.head;
            let lines = head.proposal.as_ref().unwrap().lines.len();
            let d = if *silent {
                // Nobody answers: the sweep answers as the policy says.
                decide::sweep(&head, &lifecycle, at + Duration::hours(1)).unwrap()
            } else {
                decide::answer_substitutions(&head, &lifecycle, &by(Actor::Customer), answers[..lines].to_vec(), at).unwrap()
            };
            log.extend(d.events);
            head = d.head;
            prop_assert!(head.proposal.is_none());
            prop_assert_ne!(&head.status, "substitutions_needed");
        }
        prop_assert_eq!((&head.items, head.total), (&snapshot.0, snapshot.1), "the snapshot never changes");
        let current = head.current_lines();
        let sum: i64 = current.iter().map(|l| l.unit_price * i64::from(l.quantity)).sum();
        prop_assert_eq!(head.current_total(), sum);

        let mut adjusted = units(&snapshot.0);
        for event in &log {
            if let EventBody::SubstitutionsAnswered(answered) = &event.body {
                for a in &answered.adjustments {
                    *adjusted.entry(a.sku.clone()).or_default() += a.delta;
                }
            }
        }
        adjusted.retain(|_, n| *n != 0);
        prop_assert_eq!(adjusted, units(current));

        let mut replayed = projection::start(&log[0], &lifecycle);
        for event in &log[1..] {
            projection::apply(&mut replayed, event, &lifecycle);
        }
        prop_assert_eq!(replayed, head);
    }
}

#[test]
fn a_proposal_must_fit_the_order_and_wait_for_one_answer() {
    let lifecycle = local();
    let (head, _) = picking();
    let staff = by(Actor::Staff);
    let propose = |head: &Head, lines: &[LineProposal]| {
        decide::propose_substitutions(head, &[], &lifecycle, &staff, lines, None, t0())
    };
    let milk = |quantity| LineProposal {
        sku: "MILK".into(),
        quantity: Some(quantity),
        replacement: None,
    };
    assert!(propose(&head, &[milk(3)]).is_err(), "the order holds two");
    assert!(propose(&head, &[]).is_err());
    let proposed = propose(&head, &[milk(1)]).unwrap().head;
    assert!(
        propose(&proposed, &[milk(1)]).is_err(),
        "one proposal at a time"
    );
    let answer = |answers: Vec<LineDecision>| {
        decide::answer_substitutions(&proposed, &lifecycle, &by(Actor::Customer), answers, t0())
    };
    assert!(answer(vec![]).is_err(), "every line is answered");
    let rejected = answer(vec![LineDecision::Reject]).unwrap().head;
    assert_eq!(
        rejected.status, "picking_in_progress",
        "rejected: back to picking"
    );
    assert!(rejected.amended.as_ref().is_some_and(|a| a.total == 2300));
    let approved = answer(vec![LineDecision::Approve]).unwrap().head;
    assert_eq!(approved.status, "substitutions_approved");
    assert_eq!(approved.current_total(), 2000);
}
