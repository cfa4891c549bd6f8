//! What every `MerchantStore` adapter must do: the embedded store and the
//! table run the same cases.

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;

use crate::bus::Envelope;
use crate::merchant::{Attempt, Delivery, DeliveryState, Endpoint, NewEndpoint, UrlPolicy};
use crate::ports::MerchantStore;

fn endpoint(tenant: &str, url: &str, minutes_ago: i64) -> Endpoint {
    let new = NewEndpoint {
        url: url.into(),
        events: vec!["*".into()],
    };
    let at = Utc::now() - Duration::minutes(minutes_ago);
    Endpoint::register(tenant, new, UrlPolicy::default(), at).unwrap()
}

fn envelope(n: u32) -> Envelope {
    // Event ids sort by time, as the ones we make do.
    let id = format!("evt_{n:032}");
    Envelope {
        id: id.clone(),
        detail_type: "OrderPlaced".into(),
        data: json!({"event_id": id, "tenant": "acme", "seq": 1}),
    }
}

pub async fn endpoints_are_kept_per_tenant(store: Arc<dyn MerchantStore>) {
    let first = endpoint("acme", "https://a.example/1", 10);
    let second = endpoint("acme", "https://a.example/2", 5);
    let theirs = endpoint("globex", "https://g.example/", 1);
    for e in [&second, &first, &theirs] {
        store.add_endpoint(e).await.unwrap();
    }
    assert_eq!(
        store.endpoints("acme").await.unwrap(),
        [first.clone(), second.clone()]
    );
    assert_eq!(store.endpoints("initech").await.unwrap(), []);

    let mut disabled = first.clone();
    disabled.enabled = false;
    disabled.disabled_reason = Some("failing for 3 days".into());
    store.save_endpoint(&disabled).await.unwrap();
    assert_eq!(store.endpoints("acme").await.unwrap()[0], disabled);

    assert!(
        !store.remove_endpoint("globex", &first.id).await.unwrap(),
        "not theirs"
    );
    assert!(store.remove_endpoint("acme", &first.id).await.unwrap());
    assert!(!store.remove_endpoint("acme", &first.id).await.unwrap());
    assert_eq!(store.endpoints("acme").await.unwrap(), [second]);
}

pub async fn a_delivery_opens_once_and_the_log_is_newest_first(store: Arc<dyn MerchantStore>) {
    let e = endpoint("acme", "https://a.example/", 0);
    let now = Utc::now();
    let mut deliveries: Vec<Delivery> = (1..=3)
        .map(|n| Delivery::new(&e, &envelope(n), now))
        .collect();
    for d in &deliveries {
        assert!(store.open_delivery(d).await.unwrap());
    }
    assert!(
        !store.open_delivery(&deliveries[0]).await.unwrap(),
        "the event came again"
    );

    deliveries[0].record(
        Attempt {
            at: now,
            status: Some(500),
            latency_ms: 12,
            error: None,
        },
        0.5,
    );
    store.save_delivery(&deliveries[0]).await.unwrap();
    let stored = store
        .delivery("acme", &e.id, &deliveries[0].id)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(stored, deliveries[0]);
    assert_eq!(stored.state, DeliveryState::Pending);
    assert_eq!(stored.attempts.len(), 1);
    assert_eq!(
        store
            .delivery("globex", &e.id, &deliveries[0].id)
            .await
            .unwrap(),
        None
    );

    let log = store.deliveries("acme", &e.id, 2).await.unwrap();
    let ids: Vec<_> = log.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, [deliveries[2].id.as_str(), deliveries[1].id.as_str()]);
}
