//! What every `OrderStore` adapter's lists must do, written once against
//! the port: filters by tenant, status, customer, store and payment, the
//! orders needing attention, and paging that covers every order once; and
//! heads carrying every part since checkout coming back as they went.

use std::sync::Arc;

use super::fixtures::{advance, claim, create, placed, shipping, staff, t};
use crate::cursor::Cursor;
use crate::order::decide;
use crate::order::inbound::{Inbound, InboundFact, PaymentKind, PaymentNews, Subject};
use crate::order::{Head, IssueStep, Severity};
use crate::ports::{Commit, ListQuery, OrderStore, PaymentFilter};

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

/// An order keeps its store, and lists of one or some stores hold only
/// theirs, whichever other filter applies and however they are paged.
pub async fn lists_filter_by_store(store: Arc<dyn OrderStore>) {
    let mut soho = Vec::new();
    for i in 0..6 {
        let mut decision = placed("acme", if i < 3 { "cus_a" } else { "cus_b" }, i);
        let name = if i % 2 == 0 { "soho" } else { "tribeca" };
        decision.head.store = name.into();
        for event in &mut decision.events {
            event.store = name.into();
        }
        let head = decision.head.clone();
        store.commit(&Commit::of(decision)).await.expect("create");
        if i % 2 == 0 {
            soho.push(head.id);
        }
    }
    create(&store, "acme", "cus_a", 7).await;
    let loaded = store.load(&soho[0]).await.unwrap().unwrap();
    assert_eq!(loaded.head.store, "soho");

    let query = |stores: &[&str], customer: Option<&str>, limit| ListQuery {
        tenant: "acme".into(),
        stores: Some(stores.iter().map(|s| s.to_string()).collect()),
        customer_id: customer.map(Into::into),
        limit,
        ..ListQuery::default()
    };
    let mut seen = Vec::new();
    let mut page = query(&["soho"], None, 1);
    loop {
        let result = store.list(&page).await.unwrap();
        assert!(result.items.iter().all(|o| o.store == "soho"));
        seen.extend(result.items.into_iter().map(|o| o.id));
        match result.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    seen.sort();
    soho.sort();
    assert_eq!(seen, soho, "pages cover the store's orders exactly once");
    let of_customer = store
        .list(&query(&["soho"], Some("cus_b"), 50))
        .await
        .unwrap();
    assert_eq!(of_customer.items.len(), 1);
    assert_eq!(of_customer.items[0].store, "soho");
    let both = store
        .list(&query(&["soho", "tribeca"], None, 50))
        .await
        .unwrap();
    assert_eq!(both.items.len(), 6);
    let unnamed = store.list(&query(&["main"], None, 50)).await.unwrap();
    assert_eq!(
        unnamed.items.len(),
        1,
        "an order naming no store is the default one's"
    );
    let everyone = ListQuery {
        stores: None,
        ..query(&[], None, 50)
    };
    assert_eq!(store.list(&everyone).await.unwrap().items.len(), 7);
}

/// Lists by where the payment stands (seed 003's orders with payment
/// problems); an order with an open issue is listed among those needing
/// attention until the issue is resolved.
pub async fn lists_filter_by_payment_and_open_issues(store: Arc<dyn OrderStore>) {
    let lifecycle = shipping();
    let pay = |head: &Head, kind: PaymentKind, n: i64| {
        let inbound = Inbound {
            source: "payment:stripe".into(),
            event_id: format!("evt_{}_{n}", head.id),
            occurred_at: t(n),
            subject: Subject::Order {
                order_id: head.id.clone(),
            },
            fact: InboundFact::Payment(PaymentNews {
                kind,
                reference: "pi_1".into(),
                amount: Some(100),
                currency: None,
                message: None,
            }),
        };
        decide::record_inbound(head, &[], &lifecycle, &inbound, t(n))
    };
    let waiting = create(&store, "acme", "cus_1", 0).await;
    let failed = create(&store, "acme", "cus_1", 1).await;
    let paid = create(&store, "acme", "cus_2", 2).await;
    let failed_decision = pay(&failed, PaymentKind::Failed, 3);
    let failed = failed_decision.head.clone();
    store.commit(&Commit::of(failed_decision)).await.unwrap();
    store
        .commit(&Commit::of(pay(&paid, PaymentKind::Succeeded, 4)))
        .await
        .unwrap();

    let listed = |payment: PaymentFilter, customer: Option<&str>| {
        let store = store.clone();
        let query = ListQuery {
            tenant: "acme".into(),
            payment: Some(payment),
            customer_id: customer.map(Into::into),
            limit: 50,
            ..ListQuery::default()
        };
        async move {
            let page = store.list(&query).await.unwrap();
            page.items.into_iter().map(|o| o.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(PaymentFilter::Failed, None).await,
        [failed.id.as_str()]
    );
    assert_eq!(
        listed(PaymentFilter::Failed, Some("cus_1")).await,
        [failed.id.as_str()]
    );
    assert_eq!(
        listed(PaymentFilter::Pending, None).await,
        [waiting.id.as_str()]
    );
    assert_eq!(listed(PaymentFilter::Paid, None).await, [paid.id.as_str()]);
    assert!(listed(PaymentFilter::Refunded, None).await.is_empty());

    // The failed payment opened an issue: the order needs attention until
    // it is resolved, whether or not anything is overdue.
    let attention = ListQuery {
        tenant: "acme".into(),
        stalled: Some(true),
        now: Some(t(5)),
        limit: 50,
        ..ListQuery::default()
    };
    let loaded = store.load(&failed.id).await.unwrap().unwrap().head;
    assert_eq!(
        loaded, failed,
        "the head, its issue and payment, round-trips"
    );
    let needing = store.list(&attention).await.unwrap();
    assert_eq!(needing.items.len(), 1);
    assert_eq!(needing.items[0].issue, Some(Severity::High));
    let issue = failed.issues[0].issue_id.clone();
    let resolved = decide::issue_step(
        &failed,
        &lifecycle,
        &staff(),
        &issue,
        IssueStep::Resolved {
            resolution: "customer paid by phone".into(),
        },
        t(6),
    )
    .unwrap();
    store.commit(&Commit::of(resolved)).await.unwrap();
    assert!(store.list(&attention).await.unwrap().items.is_empty());
}

/// A local delivery with every part a head may carry since checkout — an
/// answered proposal (amended lines), one waiting, a delivery partner
/// being asked, a store — is stored and loaded as it was decided.
pub async fn a_head_with_substitutions_and_dispatch_round_trips(store: Arc<dyn OrderStore>) {
    let lifecycle = crate::lifecycle::Catalog::presets()
        .get("local_delivery")
        .expect("preset");
    let mut placed = super::fixtures::shipping_snapshot("cus_1");
    placed.lifecycle = "local_delivery".into();
    placed.fulfilment = crate::lifecycle::FulfilmentType::LocalDelivery;
    placed.status = "submitted".into();
    placed.store = "soho".into();
    placed.policy.dispatch.partners = vec!["doordash".into()];
    let ids = (decide::new_id("ord"), decide::new_secret_id("trk"));
    let d = decide::place_order(ids, "acme", placed, &staff(), &lifecycle, t(0));
    let mut head = d.head.clone();
    store.commit(&Commit::of(d)).await.unwrap();
    let steps = [
        "store_notified",
        "store_acknowledged",
        "picking_in_progress",
    ];
    for (i, to) in steps.iter().enumerate() {
        let at = i as i64 + 1;
        let d = decide::transition(&head, &[], &lifecycle, &staff(), claim(to, at), None, t(at));
        head = record(&store, d.unwrap()).await;
    }
    let sku = head.items[0].sku.clone();
    let remove = [decide::LineProposal {
        sku,
        quantity: None,
        replacement: None,
    }];
    let d = decide::propose_substitutions(&head, &[], &lifecycle, &staff(), &remove, None, t(5));
    head = record(&store, d.unwrap()).await;
    let answer = vec![crate::order::substitution::LineDecision::Approve];
    let d = decide::answer_substitutions(&head, &lifecycle, &staff(), answer, t(6));
    head = record(&store, d.unwrap()).await;
    let ready = claim("ready_for_pickup", 7);
    let d = decide::transition(&head, &[], &lifecycle, &staff(), ready, None, t(7));
    head = record(&store, d.unwrap()).await;
    assert!(
        head.amended.is_some() && head.dispatch.is_some(),
        "{head:?}"
    );
    let loaded = store.load(&head.id).await.unwrap().unwrap().head;
    assert_eq!(loaded, head);
}

/// Commits `d`; the head it leads to.
async fn record(store: &Arc<dyn OrderStore>, d: decide::Decision) -> Head {
    let head = d.head.clone();
    store.commit(&Commit::of(d)).await.expect("commit");
    head
}
