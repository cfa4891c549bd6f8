//! The behaviour every `OrderStore` adapter must have, written once against
//! the port. Each adapter's test crate runs the whole suite with
//! [`store_conformance_suite!`](crate::store_conformance_suite), handing it a
//! way to make a fresh, empty store; a behaviour that differs between
//! adapters fails here.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::auth::{Principal, Role};
use crate::cursor::Cursor;
use crate::lifecycle::{Actor, Catalog, FulfilmentType, Lifecycle};
use crate::order::decide::{self, Decision, Origin, StatusClaim, StatusMove};
use crate::order::{Contact, Disposition, Head, LineItem, OrderPlaced, OrderPolicy};
use crate::ports::{Clock, Commit, IdempotencyRecord, ListQuery, OrderStore, StoreError};
use crate::service::{FactOutcome, OrderService, ServiceError, TransitionRequest};
use crate::tenants::Tenants;

mod intake;
pub use intake::*;

/// Generates one `#[tokio::test]` per conformance case. `$make` is an
/// expression whose value is a future resolving to a fresh `Arc<dyn OrderStore>`.
#[macro_export]
macro_rules! store_conformance_suite {
    ($make:expr) => {
        $crate::__store_conformance_cases!($make;
            create_then_load_round_trips,
            creating_twice_is_refused,
            a_stale_version_is_refused_and_writes_nothing,
            the_database_refuses_an_illegal_transition,
            an_override_must_still_lead_forward,
            a_dedupe_marker_refuses_a_second_recording,
            an_idempotency_key_is_stored_with_its_order_and_refused_twice,
            parked_facts_load_with_the_head_and_leave_when_released,
            events_page_by_sequence,
            lists_filter_by_tenant_status_and_customer_and_page,
            stalled_and_due_look_ups_follow_deadlines,
            concurrent_commands_have_one_winner_per_version,
            concurrent_redeliveries_are_recorded_once,
            tracking_codes_are_kept_per_tenant_and_order,
            unmatched_facts_wait_once_per_event,
            a_fact_reaches_only_its_own_tenants_orders,
            a_fact_racing_its_tracking_code_is_applied_once,
            a_recycled_code_never_reaches_last_years_order,
            a_sweep_reads_only_the_overdue_orders,
            concurrent_sweeps_flag_each_order_once,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store: std::sync::Arc<dyn $crate::ports::OrderStore> = $make.await;
                $crate::store::conformance::$case(store).await;
            }
        )*
    };
}

pub fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::presets())
}

fn shipping() -> Arc<Lifecycle> {
    Catalog::presets().get("shipping").expect("preset")
}

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn staff() -> Origin {
    Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: Some("alice".into()),
        external_id: None,
    }
}

fn carrier(external_id: &str) -> Origin {
    Origin {
        source: "carrier:ups".into(),
        actor_kind: Actor::Carrier,
        actor: None,
        external_id: Some(external_id.into()),
    }
}

/// A shipping order for `tenant`, placed at minute `at`.
pub fn placed(tenant: &str, customer: &str, at: i64) -> Decision {
    let lifecycle = shipping();
    let snapshot = OrderPlaced {
        lifecycle: "shipping".into(),
        fulfilment: FulfilmentType::Shipping,
        status: "pending".into(),
        customer_id: customer.into(),
        currency: "CAD".into(),
        items: vec![LineItem {
            sku: "CHN-800".into(),
            name: "Chandelier".into(),
            unit_price: 80_000,
            quantity: 1,
        }],
        total: 80_000,
        shipping: None,
        contact: Contact::default(),
        policy: OrderPolicy::default(),
    };
    let ids = (decide::new_id("ord"), decide::new_id("trk"));
    decide::place_order(ids, tenant, snapshot, &staff(), &lifecycle, t(at))
}

fn claim(to: &str, at: i64) -> StatusClaim {
    StatusClaim {
        to: to.into(),
        occurred_at: t(at),
        reason: None,
        tracking: None,
    }
}

async fn create(store: &Arc<dyn OrderStore>, tenant: &str, customer: &str, at: i64) -> Head {
    let d = placed(tenant, customer, at);
    let head = d.head.clone();
    store.commit(&Commit::of(d)).await.expect("create");
    head
}

/// Moves an order with a staff command decided against its stored state.
async fn advance(store: &Arc<dyn OrderStore>, id: &str, to: &str, at: i64) -> Head {
    let loaded = store.load(id).await.unwrap().expect("order exists");
    let d = decide::transition(
        &loaded.head,
        &loaded.parked,
        &shipping(),
        &staff(),
        claim(to, at),
        None,
        t(at),
    )
    .expect("legal move");
    let head = d.head.clone();
    store.commit(&Commit::of(d)).await.expect("commit");
    head
}

pub async fn create_then_load_round_trips(store: Arc<dyn OrderStore>) {
    let d = placed("acme", "cus_1", 0);
    let event = d.events[0].clone();
    let head = d.head.clone();
    store.commit(&Commit::of(d)).await.unwrap();
    let loaded = store.load(&head.id).await.unwrap().expect("stored");
    assert_eq!(loaded.head, head);
    assert!(loaded.parked.is_empty());
    assert_eq!(store.events(&head.id, 0, 100).await.unwrap(), vec![event]);
    assert_eq!(
        store.find_by_public_id(&head.public_id).await.unwrap(),
        Some(head.clone())
    );
    assert_eq!(
        store.find_by_public_id(&head.id).await.unwrap(),
        None,
        "the internal id is not a public id"
    );
    assert!(store.load("ord_missing").await.unwrap().is_none());
}

pub async fn creating_twice_is_refused(store: Arc<dyn OrderStore>) {
    let d = placed("acme", "cus_1", 0);
    store.commit(&Commit::of(d.clone())).await.unwrap();
    assert_eq!(
        store.commit(&Commit::of(d)).await,
        Err(StoreError::AlreadyExists)
    );
}

pub async fn a_stale_version_is_refused_and_writes_nothing(store: Arc<dyn OrderStore>) {
    let head = create(&store, "acme", "cus_1", 0).await;
    let loaded = store.load(&head.id).await.unwrap().unwrap();
    let first = decide::transition(
        &loaded.head,
        &[],
        &shipping(),
        &staff(),
        claim("confirmed", 1),
        None,
        t(1),
    )
    .unwrap();
    let second = decide::transition(
        &loaded.head,
        &[],
        &shipping(),
        &staff(),
        claim("cancelled", 1),
        None,
        t(1),
    )
    .unwrap();
    store.commit(&Commit::of(first)).await.unwrap();
    let refused = store.commit(&Commit::of(second)).await;
    assert_eq!(
        refused,
        Err(StoreError::VersionConflict {
            current: 2,
            status: "confirmed".into()
        })
    );
    let after = store.load(&head.id).await.unwrap().unwrap().head;
    assert_eq!((after.status.as_str(), after.version), ("confirmed", 2));
    assert_eq!(store.events(&head.id, 0, 100).await.unwrap().len(), 2);
}

/// Bypasses the domain entirely: a hand-made commit claiming pending →
/// delivered. The store's own condition (status among the lifecycle's legal
/// predecessors) must refuse it.
pub async fn the_database_refuses_an_illegal_transition(store: Arc<dyn OrderStore>) {
    let head = create(&store, "acme", "cus_1", 0).await;
    let mut forged = head.clone();
    forged.status = "delivered".into();
    forged.version = 2;
    let legit = decide::transition(
        &head,
        &[],
        &shipping(),
        &staff(),
        claim("confirmed", 1),
        None,
        t(1),
    )
    .unwrap();
    let mut commit = Commit::of(legit);
    commit.head = forged;
    commit.first_move = Some(StatusMove {
        to: "delivered".into(),
        overriding: false,
    });
    let refused = store.commit(&commit).await;
    assert_eq!(
        refused,
        Err(StoreError::IllegalTransition {
            current: "pending".into(),
            version: 1
        })
    );
    let after = store.load(&head.id).await.unwrap().unwrap().head;
    assert_eq!(after, head);
    assert_eq!(store.events(&head.id, 0, 100).await.unwrap().len(), 1);
}

pub async fn an_override_must_still_lead_forward(store: Arc<dyn OrderStore>) {
    let head = create(&store, "acme", "cus_1", 0).await;
    advance(&store, &head.id, "cancelled", 1).await;
    let cancelled = store.load(&head.id).await.unwrap().unwrap().head;
    let owner = Origin {
        actor_kind: Actor::Owner,
        ..staff()
    };
    let mut request = claim("confirmed", 2);
    request.reason = Some("customer changed their mind".into());
    let refused = decide::transition(&cancelled, &[], &shipping(), &owner, request, None, t(2));
    assert!(
        refused.is_err(),
        "not even an owner leaves a terminal state"
    );
    // And if a forged override reached the store, the store refuses it too.
    let mut forged = cancelled.clone();
    forged.status = "packing".into();
    forged.version += 1;
    let commit = Commit {
        first_move: Some(StatusMove {
            to: "packing".into(),
            overriding: true,
        }),
        head: forged,
        expected_version: cancelled.version,
        events: Vec::new(),
        park: Vec::new(),
        unpark: Vec::new(),
        dedupe: None,
        idempotency: None,
        tracking_codes: Vec::new(),
    };
    assert!(matches!(
        store.commit(&commit).await,
        Err(StoreError::IllegalTransition { .. })
    ));
}

pub async fn a_dedupe_marker_refuses_a_second_recording(store: Arc<dyn OrderStore>) {
    let head = create(&store, "acme", "cus_1", 0).await;
    let lifecycle = shipping();
    let fact = |h: &Head| {
        decide::record_fact(
            h,
            &[],
            &lifecycle,
            &carrier("evt_9"),
            claim("delivered", 1),
            t(2),
        )
    };
    let key = Some(("carrier:ups".to_string(), "evt_9".to_string()));
    store
        .commit(&Commit {
            dedupe: key.clone(),
            ..Commit::of(fact(&head))
        })
        .await
        .unwrap();
    assert_eq!(
        store.seen("carrier:ups", "evt_9").await.unwrap(),
        Some(head.id.clone())
    );
    assert_eq!(store.seen("carrier:fedex", "evt_9").await.unwrap(), None);
    let current = store.load(&head.id).await.unwrap().unwrap().head;
    let again = store
        .commit(&Commit {
            dedupe: key,
            ..Commit::of(fact(&current))
        })
        .await;
    assert_eq!(again, Err(StoreError::Duplicate));
    let after = store.load(&head.id).await.unwrap().unwrap();
    assert_eq!(after.head, current, "a duplicate writes nothing");
    assert_eq!(after.parked.len(), 1);
}

pub async fn an_idempotency_key_is_stored_with_its_order_and_refused_twice(
    store: Arc<dyn OrderStore>,
) {
    let record = |order_id: &str| IdempotencyRecord {
        tenant: "acme".into(),
        key: "key-1".into(),
        fingerprint: "abc".into(),
        order_id: order_id.into(),
        response: serde_json::json!({ "id": order_id }),
        created_at: t(0),
    };
    let first = placed("acme", "cus_1", 0);
    let first_id = first.head.id.clone();
    store
        .commit(&Commit {
            idempotency: Some(record(&first_id)),
            ..Commit::of(first)
        })
        .await
        .unwrap();
    assert_eq!(
        store.idempotency("acme", "key-1").await.unwrap(),
        Some(record(&first_id))
    );
    assert_eq!(
        store.idempotency("other", "key-1").await.unwrap(),
        None,
        "keys are per tenant"
    );
    let second = placed("acme", "cus_1", 1);
    let second_id = second.head.id.clone();
    let refused = store
        .commit(&Commit {
            idempotency: Some(record(&second_id)),
            ..Commit::of(second)
        })
        .await;
    assert_eq!(refused, Err(StoreError::IdempotencyKeyTaken));
    assert!(
        store.load(&second_id).await.unwrap().is_none(),
        "the whole commit was undone"
    );
}

pub async fn parked_facts_load_with_the_head_and_leave_when_released(store: Arc<dyn OrderStore>) {
    let head = create(&store, "acme", "cus_1", 0).await;
    let lifecycle = shipping();
    let d = decide::record_fact(
        &head,
        &[],
        &lifecycle,
        &carrier("scan-1"),
        claim("in_transit", 5),
        t(6),
    );
    assert_eq!(d.disposition, Disposition::Parked);
    store.commit(&Commit::of(d)).await.unwrap();
    let loaded = store.load(&head.id).await.unwrap().unwrap();
    assert_eq!(loaded.parked.len(), 1);
    assert_eq!(loaded.head.parked.len(), 1);

    advance(&store, &head.id, "confirmed", 7).await;
    let mut shipped = claim("shipped", 8);
    shipped.tracking = Some(crate::order::TrackingInput {
        carrier: "UPS".into(),
        code: "1Z1".into(),
        url: None,
    });
    let loaded = store.load(&head.id).await.unwrap().unwrap();
    let d = decide::transition(
        &loaded.head,
        &loaded.parked,
        &lifecycle,
        &staff(),
        shipped,
        None,
        t(8),
    )
    .unwrap();
    store.commit(&Commit::of(d)).await.unwrap();
    let loaded = store.load(&head.id).await.unwrap().unwrap();
    assert!(loaded.parked.is_empty(), "released when shipped arrived");
    assert_eq!(loaded.head.status, "in_transit");
}

pub async fn events_page_by_sequence(store: Arc<dyn OrderStore>) {
    let head = create(&store, "acme", "cus_1", 0).await;
    for (i, to) in ["confirmed", "packing", "cancelled"].iter().enumerate() {
        advance(&store, &head.id, to, i as i64 + 1).await;
    }
    let all = store.events(&head.id, 0, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let page = store.events(&head.id, 2, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].seq, 3);
    assert!(store.events(&head.id, 4, 10).await.unwrap().is_empty());
}

pub async fn lists_filter_by_tenant_status_and_customer_and_page(store: Arc<dyn OrderStore>) {
    let mut acme = Vec::new();
    for i in 0..5 {
        acme.push(
            create(
                &store,
                "acme",
                if i % 2 == 0 { "cus_even" } else { "cus_odd" },
                i,
            )
            .await,
        );
    }
    create(&store, "globex", "cus_even", 9).await;
    advance(&store, &acme[0].id, "confirmed", 10).await;

    let query = |status: Option<&str>, customer: Option<&str>| ListQuery {
        tenant: "acme".into(),
        status: status.map(Into::into),
        customer_id: customer.map(Into::into),
        limit: 50,
        ..ListQuery::default()
    };
    let all = store.list(&query(None, None)).await.unwrap();
    assert_eq!(all.items.len(), 5);
    assert!(all.items.iter().all(|h| h.tenant == "acme"));
    assert_eq!(all.items[0].id, acme[0].id, "most recently updated first");
    let confirmed = store.list(&query(Some("confirmed"), None)).await.unwrap();
    assert_eq!(
        confirmed.items.iter().map(|h| &h.id).collect::<Vec<_>>(),
        [&acme[0].id]
    );
    let even = store.list(&query(None, Some("cus_even"))).await.unwrap();
    assert_eq!(even.items.len(), 3);

    let mut seen = Vec::new();
    let mut page = ListQuery {
        limit: 2,
        ..query(None, None)
    };
    loop {
        let result = store.list(&page).await.unwrap();
        assert!(result.items.len() <= 2);
        // A page ends at its last order, and the token clients get back
        // reads as that same position.
        let last = result.items.last().map(Cursor::after);
        seen.extend(result.items.into_iter().map(|h| h.id));
        match result.next {
            Some(next) => {
                assert_eq!(Some(&next), last.as_ref());
                page.after = Some(next.to_string().parse().unwrap());
            }
            None => break,
        }
    }
    let mut expected: Vec<_> = acme.iter().map(|h| h.id.clone()).collect();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected, "pages cover every order exactly once");
}

pub async fn stalled_and_due_look_ups_follow_deadlines(store: Arc<dyn OrderStore>) {
    // Pending orders are due 15 minutes after placement (the payment SLA).
    let old = create(&store, "acme", "cus_1", 0).await;
    let fresh = create(&store, "acme", "cus_1", 100).await;
    let done = create(&store, "acme", "cus_1", 0).await;
    advance(&store, &done.id, "cancelled", 1).await;

    let due: Vec<String> = store
        .due(t(30), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(
        due,
        std::slice::from_ref(&old.id),
        "only the overdue, live order"
    );
    assert!(store.due(t(0), 100).await.unwrap().is_empty());

    let stalled = ListQuery {
        tenant: "acme".into(),
        stalled: Some(true),
        now: Some(t(30)),
        limit: 50,
        ..ListQuery::default()
    };
    let ids: Vec<String> = store
        .list(&stalled)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, std::slice::from_ref(&old.id));
    let healthy = ListQuery {
        stalled: Some(false),
        ..stalled
    };
    let ids: Vec<String> = store
        .list(&healthy)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&fresh.id) && ids.contains(&done.id));
}

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn service(store: &Arc<dyn OrderStore>) -> Arc<OrderService> {
    Arc::new(OrderService::new(
        store.clone(),
        catalog(),
        Arc::new(Tenants::default()),
        Arc::new(FixedClock(t(60))),
    ))
}

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

async fn ship(store: &Arc<dyn OrderStore>, id: &str, code: &str) {
    advance(store, id, "confirmed", 1).await;
    let loaded = store.load(id).await.unwrap().unwrap();
    let mut shipped = claim("shipped", 2);
    shipped.tracking = Some(crate::order::TrackingInput {
        carrier: "UPS".into(),
        code: code.into(),
        url: None,
    });
    let d = decide::transition(
        &loaded.head,
        &loaded.parked,
        &shipping(),
        &staff(),
        shipped,
        None,
        t(2),
    )
    .unwrap();
    let codes: Vec<&str> = d.tracking_codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, [code]);
    store.commit(&Commit::of(d)).await.unwrap();
}

/// A tracking code leads to every order of the tenant that used it (carriers
/// recycle codes), each with its carrier and when it was attached; another
/// tenant's use of the same code is invisible.
pub async fn tracking_codes_are_kept_per_tenant_and_order(store: Arc<dyn OrderStore>) {
    let first = create(&store, "acme", "cus_1", 0).await;
    let second = create(&store, "acme", "cus_2", 0).await;
    let other = create(&store, "globex", "cus_3", 0).await;
    assert!(store
        .find_by_tracking("acme", "1Z999")
        .await
        .unwrap()
        .is_empty());
    ship(&store, &first.id, "1Z999").await;
    let links = store.find_by_tracking("acme", "1Z999").await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].order_id, first.id);
    assert_eq!(links[0].carrier.as_deref(), Some("UPS"));
    ship(&store, &second.id, "1Z999").await;
    ship(&store, &other.id, "1Z999").await;
    let mut found: Vec<String> = store
        .find_by_tracking("acme", "1Z999")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.order_id)
        .collect();
    found.sort();
    let mut expected = vec![first.id.clone(), second.id.clone()];
    expected.sort();
    assert_eq!(found, expected, "both of acme's orders, not globex's");
    let theirs = store.find_by_tracking("globex", "1Z999").await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].order_id, other.id);
}

pub async fn unmatched_facts_wait_once_per_event(store: Arc<dyn OrderStore>) {
    use crate::order::inbound::{Inbound, InboundFact, ShipmentNews, Subject};
    use crate::order::ShipmentStatus;
    let inbound = |event_id: &str| Inbound {
        source: "carrier:ups".into(),
        event_id: event_id.into(),
        occurred_at: t(5),
        subject: Subject::Tracking {
            code: "1Z42".into(),
        },
        fact: InboundFact::Shipment(ShipmentNews {
            tracking_code: "1Z42".into(),
            carrier: Some("UPS".into()),
            status: ShipmentStatus::InTransit,
            raw_status: "I".into(),
            message: None,
            location: None,
            tracking_url: None,
            estimated_delivery: None,
        }),
    };
    let key = inbound("a").subject.key("acme");
    assert!(store.stash(&key, &inbound("a")).await.unwrap());
    assert!(
        !store.stash(&key, &inbound("a")).await.unwrap(),
        "a redelivery is kept once"
    );
    assert!(store.stash(&key, &inbound("b")).await.unwrap());
    let waiting = store.stashed(&key).await.unwrap();
    assert_eq!(waiting.len(), 2);
    assert!(store
        .stashed(&inbound("a").subject.key("globex"))
        .await
        .unwrap()
        .is_empty());
    store.unstash(&key, "a").await.unwrap();
    let left: Vec<String> = store
        .stashed(&key)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.event_id)
        .collect();
    assert_eq!(left, ["b"]);
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
