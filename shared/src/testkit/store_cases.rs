//! What every `OrderStore` adapter must do, written once against the port
//! alone: conditional appends, the database refusing a forged illegal move,
//! dedupe markers, idempotency keys, parked facts, paging, due look-ups,
//! tracking codes and waiting facts per tenant.

use std::sync::Arc;

use super::fixtures::{advance, carrier, claim, create, placed, ship, shipping, staff, t};
use crate::lifecycle::Actor;
use crate::order::decide::{self, Origin, StatusMove};
use crate::order::{Disposition, Head, TrackingInput};
use crate::ports::{Commit, IdempotencyRecord, ListQuery, OrderStore, StoreError};

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

/// Another checkout under an id already taken. (The very same commit sent
/// again is a retry; DynamoDB recognises it by its request token.)
pub async fn creating_twice_is_refused(store: Arc<dyn OrderStore>) {
    let d = placed("acme", "cus_1", 0);
    let mut other = placed("acme", "cus_2", 1);
    other.head.id = d.head.id.clone();
    for event in &mut other.events {
        event.order_id = d.head.id.clone();
    }
    store.commit(&Commit::of(d)).await.unwrap();
    assert_eq!(
        store.commit(&Commit::of(other)).await,
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
    let Err(StoreError::VersionConflict {
        current,
        status,
        head: found,
    }) = refused
    else {
        panic!("not a version conflict: {refused:?}");
    };
    assert_eq!((current, status.as_str()), (2, "confirmed"));
    let after = store.load(&head.id).await.unwrap().unwrap().head;
    assert_eq!((after.status.as_str(), after.version), ("confirmed", 2));
    assert_eq!(store.events(&head.id, 0, 100).await.unwrap().len(), 2);
    // A store that answers with the order as the refused write found it
    // (the loser re-decides on it) answers with the order as stored.
    if let Some(found) = found {
        assert_eq!(*found, after);
    }
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
    shipped.tracking = Some(TrackingInput {
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
    assert!(store.stash(&key, &inbound("a"), t(5)).await.unwrap());
    assert!(
        !store.stash(&key, &inbound("a"), t(5)).await.unwrap(),
        "a redelivery is kept once"
    );
    assert!(store.stash(&key, &inbound("b"), t(5)).await.unwrap());
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

/// A tenant's feed: every event of its orders once, in the order they were
/// recorded, nobody else's, page after page from the last id; and nothing
/// recorded after `until`, nor anything after that, until it settles.
pub async fn a_tenants_feed_is_its_events_in_order_once(store: Arc<dyn OrderStore>) {
    let a = create(&store, "acme", "cus_1", 0).await;
    let g = create(&store, "globex", "cus_9", 1).await;
    let b = create(&store, "acme", "cus_2", 2).await;
    advance(&store, &a.id, "confirmed", 3).await;
    advance(&store, &g.id, "confirmed", 4).await;
    advance(&store, &b.id, "confirmed", 5).await;
    advance(&store, &a.id, "packing", 6).await;

    let later = t(60);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .feed("acme", after.as_deref(), later, 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.event_id.clone());
        seen.extend(page.into_iter().map(|e| (e.order_id, e.seq)));
    }
    let expected = [(&a.id, 1), (&b.id, 1), (&a.id, 2), (&b.id, 2), (&a.id, 3)];
    let expected: Vec<_> = expected
        .iter()
        .map(|(id, seq)| (id.to_string(), *seq))
        .collect();
    assert_eq!(seen, expected);

    // Held back: the move recorded at minute 6 and, behind it, everything.
    let early = store.feed("acme", None, t(5), 100).await.unwrap();
    assert_eq!(early.len(), 4);
    assert!(store
        .feed("initech", None, later, 100)
        .await
        .unwrap()
        .is_empty());
}

pub async fn every_tenant_with_an_order_is_listed_once(store: Arc<dyn OrderStore>) {
    assert!(store.tenants().await.unwrap().is_empty());
    for (tenant, customer) in [("zeta", "c1"), ("acme", "c1"), ("zeta", "c2")] {
        create(&store, tenant, customer, 0).await;
    }
    assert_eq!(store.tenants().await.unwrap(), ["acme", "zeta"]);
}
