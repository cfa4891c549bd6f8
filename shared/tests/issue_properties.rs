//! Property tests of order issues (README › Order issues):
//!
//! - any sequence of steps, from anyone, on any of an order's issues keeps
//!   the head the projection of its log; an issue never leaves `resolved`
//!   and is acknowledged before (or when) it is assigned;
//! - an open issue always gives the order a deadline no later than its
//!   severity allows, acknowledging it takes that deadline away, and the
//!   sweep flags exactly the issues nobody acknowledged in time;
//! - a failed payment opens one payment issue, however often it is retried.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_core::lifecycle::{Actor, Catalog, Lifecycle};
use order_core::order::decide::{self, Decision, Origin};
use order_core::order::inbound::{Inbound, InboundFact, PaymentKind, PaymentNews, Subject};
use order_core::order::{
    projection, Event, Head, IssueKind, IssueState, IssueStep, OrderPlaced, Severity, StallReason,
};
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn shipping() -> Arc<Lifecycle> {
    Catalog::presets().get("shipping").unwrap()
}

fn staff() -> Origin {
    Origin {
        source: "staff".into(),
        actor_kind: Actor::Staff,
        actor: Some("ana".into()),
        external_id: None,
    }
}

fn placed() -> (Head, Vec<Event>) {
    let snapshot: OrderPlaced = serde_json::from_value(serde_json::json!({
        "store": "main", "lifecycle": "shipping", "fulfilment": "shipping",
        "status": "pending", "customer_id": "cus_1", "currency": "CAD",
        "items": [{"sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1}],
        "total": 100, "contact": {}, "policy": {"allow_tracking_pending": false}
    }))
    .unwrap();
    let ids = ("ord_1".to_string(), "trk_1".to_string());
    let d = decide::place_order(ids, "acme", snapshot, &staff(), &shipping(), t0());
    (d.head, d.events)
}

#[derive(Clone, Debug)]
enum Step {
    Open(Severity),
    Acknowledge(usize),
    Assign(usize, u8),
    Resolve(usize),
}

fn severity() -> impl Strategy<Value = Severity> {
    prop_oneof![
        Just(Severity::Low),
        Just(Severity::Medium),
        Just(Severity::High),
        Just(Severity::Critical)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        severity().prop_map(Step::Open),
        (0..4usize).prop_map(Step::Acknowledge),
        (0..4usize, 0..3u8).prop_map(|(i, who)| Step::Assign(i, who)),
        (0..4usize).prop_map(Step::Resolve),
    ]
}

fn decide_step(head: &Head, step: &Step, at: DateTime<Utc>) -> Option<Decision> {
    let lifecycle = shipping();
    let issue = |i: usize| head.issues.get(i).map(|x| x.issue_id.clone());
    let on = |i: usize, step: IssueStep| {
        let id = issue(i)?;
        decide::issue_step(head, &lifecycle, &staff(), &id, step, at).ok()
    };
    match step {
        Step::Open(severity) => decide::open_issue(
            head,
            &lifecycle,
            &staff(),
            IssueKind::Damaged,
            *severity,
            "box crushed".into(),
            at,
        )
        .ok(),
        Step::Acknowledge(i) => on(*i, IssueStep::Acknowledged),
        Step::Assign(i, who) => on(
            *i,
            IssueStep::Assigned {
                assignee: format!("agent-{who}"),
            },
        ),
        Step::Resolve(i) => on(
            *i,
            IssueStep::Resolved {
                resolution: "refunded".into(),
            },
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn issue_steps_keep_the_head_the_projection_of_the_log(steps in prop::collection::vec(step(), 1..24)) {
        let lifecycle = shipping();
        let (mut head, mut log) = placed();
        for (n, step) in steps.iter().enumerate() {
            let at = t0() + Duration::minutes(n as i64);
            let before = head.issues.clone();
            if let Some(decision) = decide_step(&head, step, at) {
                log.extend(decision.events);
                head = decision.head;
            }
            for (old, new) in before.iter().zip(&head.issues) {
                prop_assert_eq!(&old.issue_id, &new.issue_id);
                if old.state == IssueState::Resolved {
                    prop_assert_eq!(old, new, "a resolved issue never changes");
                }
            }
            for issue in &head.issues {
                if issue.assignee.is_some() {
                    prop_assert!(issue.acknowledged_at.is_some(), "assigned means acknowledged");
                }
            }
            // The due date is the earliest open issue's acknowledgement
            // deadline when there is one (the order's other deadlines may
            // come sooner).
            let earliest = head
                .issues
                .iter()
                .filter(|i| i.state == IssueState::Open)
                .map(|i| i.opened_at + Duration::minutes(i64::from(i.severity.ack_minutes())))
                .min();
            if let Some(earliest) = earliest {
                prop_assert!(head.due_at.is_some_and(|due| due <= earliest));
            }
        }
        let mut replayed = projection::start(&log[0], &lifecycle);
        for event in &log[1..] {
            projection::apply(&mut replayed, event, &lifecycle);
        }
        prop_assert_eq!(replayed, head);
    }

    #[test]
    fn the_sweep_flags_exactly_the_issues_nobody_acknowledged_in_time(
        severities in prop::collection::vec((severity(), any::<bool>()), 1..6),
        waited in 0i64..2000,
    ) {
        let lifecycle = shipping();
        let (mut head, _) = placed();
        // Placed orders have an SLA of their own; pay it so only issues count.
        head.policy.sla_minutes.insert("pending".into(), 100_000);
        let mut acknowledged = Vec::new();
        for (severity, ack) in &severities {
            head = decide::open_issue(&head, &lifecycle, &staff(), IssueKind::Late, *severity, "late".into(), t0())
                .unwrap()
                .head;
            let id = head.issues.last().unwrap().issue_id.clone();
            if *ack {
                head = decide::issue_step(&head, &lifecycle, &staff(), &id, IssueStep::Acknowledged, t0())
                    .unwrap()
                    .head;
                acknowledged.push(id);
            }
        }
        let now = t0() + Duration::minutes(waited);
        let flagged: Vec<String> = decide::sweep(&head, &lifecycle, now)
            .map(|d| d.head.flags.iter().filter_map(|f| match &f.cause {
                Some(StallReason::IssueUnacknowledged { issue_id }) => Some(issue_id.clone()),
                _ => None,
            }).collect())
            .unwrap_or_default();
        let overdue: Vec<String> = head
            .issues
            .iter()
            .filter(|i| !acknowledged.contains(&i.issue_id))
            .filter(|i| waited >= i64::from(i.severity.ack_minutes()))
            .map(|i| i.issue_id.clone())
            .collect();
        prop_assert_eq!(flagged, overdue);
    }
}

#[test]
fn acknowledging_clears_the_flag_and_a_failed_payment_opens_one_issue_however_retried() {
    let lifecycle = shipping();
    let (mut head, _) = placed();
    // Only the issue's deadline matters here, not the payment's SLA.
    head.policy.sla_minutes.insert("pending".into(), 100_000);
    let failed = |n: u32| Inbound {
        source: "payment:stripe".into(),
        event_id: format!("evt_fail_{n}"),
        occurred_at: t0() + Duration::minutes(i64::from(n)),
        subject: Subject::Order {
            order_id: "ord_1".into(),
        },
        fact: InboundFact::Payment(PaymentNews {
            kind: PaymentKind::Failed,
            reference: "pi_1".into(),
            amount: None,
            currency: None,
            message: Some("card declined".into()),
        }),
    };
    for n in 1..=2 {
        head = decide::record_inbound(
            &head,
            &[],
            &lifecycle,
            &failed(n),
            t0() + Duration::minutes(i64::from(n)),
        )
        .head;
    }
    assert_eq!(head.issues.len(), 1, "{:?}", head.issues);
    let issue = &head.issues[0];
    assert_eq!(
        (issue.kind, issue.severity),
        (IssueKind::PaymentProblem, Severity::High)
    );
    assert_eq!(issue.summary, "card declined");
    assert_eq!(issue.opened_by, "payment:stripe");

    // Nobody acknowledged it within the hour: flagged for review.
    let late = t0() + Duration::minutes(70);
    head = decide::sweep(&head, &lifecycle, late).unwrap().head;
    assert!(head.needs_attention());
    let id = head.issues[0].issue_id.clone();
    let step = |head: &Head, step| decide::issue_step(head, &lifecycle, &staff(), &id, step, late);
    head = step(&head, IssueStep::Acknowledged).unwrap().head;
    assert!(head.flags.is_empty(), "acknowledging clears its flag");
    assert!(step(&head, IssueStep::Acknowledged).is_err(), "not twice");
    head = step(
        &head,
        IssueStep::Resolved {
            resolution: "new card".into(),
        },
    )
    .unwrap()
    .head;
    assert!(!head.needs_attention());
    assert!(step(
        &head,
        IssueStep::Assigned {
            assignee: "bo".into()
        }
    )
    .is_err());
    // Resolved, a new failure opens a new issue.
    head = decide::record_inbound(&head, &[], &lifecycle, &failed(3), late).head;
    assert_eq!(head.open_issues().count(), 1);
}
