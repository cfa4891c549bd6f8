//! The service over each adapter, where only concurrency shows what a store
//! really guarantees: 50 racing staff commands get one winner per version,
//! 50 redeliveries of one fact are recorded once, and sweeps read only the
//! overdue orders and never double a flag.

use std::sync::Arc;

use super::fixtures::{claim, create, service, t};
use crate::auth::{Principal, Role};
use crate::lifecycle::Actor;
use crate::order::decide::Origin;
use crate::order::Disposition;
use crate::ports::OrderStore;
use crate::service::{FactOutcome, ServiceError, TransitionRequest};

/// 50 staff commands race for the same order. With the version they read,
/// exactly one wins and the rest get a conflict; without it, the losers
/// re-read, find the move already made, and also get a conflict. The log
/// stays legal either way.
pub async fn concurrent_commands_have_one_winner_per_version(store: Arc<dyn OrderStore>) {
    let head = create(&store, "acme", "cus_1", 0).await;
    let service = service(&store);
    let principal = Principal {
        tenant: "acme".into(),
        role: Role::Manager,
        subject: "m".into(),
        stores: None,
    };
    let race = |to: &str, expected_version: Option<u64>| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let (service, principal, id) =
                    (service.clone(), principal.clone(), head.id.clone());
                let request = TransitionRequest {
                    to: to.into(),
                    reason: None,
                    tracking: None,
                    expected_version,
                };
                tokio::spawn(async move { service.transition(&principal, &id, request).await })
            })
            .collect();
        async move {
            let mut outcomes = Vec::new();
            for h in handles {
                outcomes.push(h.await.expect("task"));
            }
            outcomes
        }
    };
    for (to, expected) in [("confirmed", Some(1)), ("packing", None)] {
        let outcomes = race(to, expected).await;
        let winners = outcomes.iter().filter(|o| o.is_ok()).count();
        let conflicts = outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Err(ServiceError::Conflict { .. }) | Err(ServiceError::Rejected(_))
                )
            })
            .count();
        assert_eq!(winners, 1, "exactly one winner moving to {to}");
        assert_eq!(conflicts, 49);
        for o in &outcomes {
            if let Err(e) = o {
                assert!(
                    matches!(e, ServiceError::Conflict { .. }),
                    "a lost race is a conflict, got {e:?}"
                );
            }
        }
    }
    let events = store.events(&head.id, 0, 1000).await.unwrap();
    assert_eq!(
        events.len(),
        3,
        "placed, confirmed, packing: no duplicate event"
    );
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    let after = store.load(&head.id).await.unwrap().unwrap().head;
    assert_eq!((after.status.as_str(), after.version), ("packing", 3));
}

pub async fn concurrent_redeliveries_are_recorded_once(store: Arc<dyn OrderStore>) {
    let head = create(&store, "acme", "cus_1", 0).await;
    let service = service(&store);
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let (service, id) = (service.clone(), head.id.clone());
            tokio::spawn(async move {
                let origin = Origin {
                    source: "payment:stripe".into(),
                    actor_kind: Actor::Payment,
                    actor: None,
                    external_id: Some("pi_123".into()),
                };
                service.record_fact(&id, &origin, claim("paid", 1)).await
            })
        })
        .collect();
    let mut recorded = 0;
    for h in handles {
        match h.await.expect("task").expect("no error for a redelivery") {
            FactOutcome::Recorded { disposition, .. } => {
                assert_eq!(disposition, Disposition::Applied);
                recorded += 1;
            }
            other => assert_eq!(other, FactOutcome::Duplicate),
        }
    }
    assert_eq!(recorded, 1);
    let after = store.load(&head.id).await.unwrap().unwrap().head;
    assert_eq!((after.status.as_str(), after.version), ("confirmed", 2));
    assert_eq!(store.events(&head.id, 0, 100).await.unwrap().len(), 2);
}

/// Many healthy orders, a few overdue: the sweep reads the few.
pub async fn a_sweep_reads_only_the_overdue_orders(store: Arc<dyn OrderStore>) {
    // The service's clock reads minute 60; pending orders have a 15-minute SLA.
    for _ in 0..40 {
        create(&store, "acme", "cus_ok", 50).await;
    }
    let mut late = Vec::new();
    for _ in 0..4 {
        late.push(create(&store, "acme", "cus_late", 0).await.id);
    }
    let service = service(&store);
    let first = service.sweep(100).await.unwrap();
    assert_eq!(
        (first.read, first.orders_flagged, first.flags_raised),
        (4, 4, 4)
    );
    for id in &late {
        let head = store.load(id).await.unwrap().unwrap().head;
        let flag = &head.flags[0];
        assert_eq!(
            (flag.kind, flag.level),
            (crate::order::FlagKind::Stalled, 1)
        );
        assert!(
            head.due_at > Some(t(60)),
            "a flagged order is due again only when it escalates"
        );
    }
    let again = service.sweep(100).await.unwrap();
    assert_eq!(
        again.read, 0,
        "nothing more is due until the escalation time"
    );
}

pub async fn concurrent_sweeps_flag_each_order_once(store: Arc<dyn OrderStore>) {
    let mut late = Vec::new();
    for _ in 0..5 {
        late.push(create(&store, "acme", "cus_late", 0).await.id);
    }
    let service = service(&store);
    let (a, b) = tokio::join!(service.sweep(100), service.sweep(100));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.orders_flagged + b.orders_flagged, 5, "{a:?} {b:?}");
    for id in &late {
        let head = store.load(id).await.unwrap().unwrap().head;
        assert_eq!(head.flags.len(), 1, "one flag, not two: {:?}", head.flags);
        assert_eq!(store.events(id, 0, 100).await.unwrap().len(), 2);
    }
}
