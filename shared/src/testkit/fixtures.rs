//! What the cases share: a shipping order placed at a given minute, staff
//! and carrier origins, moves decided against the stored state, a stopped
//! clock and a service over the store under test.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::auth::{Principal, Role};
use crate::lifecycle::{Actor, Catalog, FulfilmentType, Lifecycle};
use crate::order::decide::{self, Decision, Origin, StatusClaim};
use crate::order::inbound::{Inbound, InboundFact, ShipmentNews, Subject};
use crate::order::{
    Contact, Head, LineItem, OrderPlaced, OrderPolicy, ShipmentStatus, TrackingInput,
};
use crate::ports::{Clock, Commit, Loaded, OrderStore};
use crate::service::{OrderService, TransitionRequest};
use crate::tenants::Tenants;

/// The preset lifecycles, as every store and service here uses them.
pub fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::presets())
}

pub(crate) fn shipping() -> Arc<Lifecycle> {
    Catalog::presets().get("shipping").expect("preset")
}

/// Minute `minutes` of the suite's day (1 March 2026, 09:00 UTC).
pub(crate) fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

pub(crate) fn staff() -> Origin {
    Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: Some("alice".into()),
        external_id: None,
    }
}

pub(crate) fn carrier(external_id: &str) -> Origin {
    Origin {
        source: "carrier:ups".into(),
        actor_kind: Actor::Carrier,
        actor: None,
        external_id: Some(external_id.into()),
    }
}

/// What a shipping order of `customer` holds at checkout: one chandelier.
pub fn shipping_snapshot(customer: &str) -> OrderPlaced {
    OrderPlaced {
        store: "main".into(),
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
    }
}

/// A shipping order for `tenant`, placed at minute `at`.
pub fn placed(tenant: &str, customer: &str, at: i64) -> Decision {
    let lifecycle = shipping();
    let snapshot = shipping_snapshot(customer);
    let ids = (decide::new_id("ord"), decide::new_secret_id("trk"));
    decide::place_order(ids, tenant, snapshot, &staff(), &lifecycle, t(at))
}

pub(crate) fn claim(to: &str, at: i64) -> StatusClaim {
    StatusClaim {
        to: to.into(),
        occurred_at: t(at),
        reason: None,
        tracking: None,
    }
}

pub(crate) async fn create(
    store: &Arc<dyn OrderStore>,
    tenant: &str,
    customer: &str,
    at: i64,
) -> Head {
    let d = placed(tenant, customer, at);
    let head = d.head.clone();
    store.commit(&Commit::of(d)).await.expect("create");
    head
}

/// A staff move of a shipping order to `to` at minute `at`, decided on
/// `loaded`.
pub fn staff_move(loaded: &Loaded, to: &str, at: i64) -> Decision {
    decide::transition(
        &loaded.head,
        &loaded.parked,
        &shipping(),
        &staff(),
        claim(to, at),
        None,
        t(at),
    )
    .expect("legal move")
}

/// Moves an order with a staff command decided against its stored state.
pub(crate) async fn advance(store: &Arc<dyn OrderStore>, id: &str, to: &str, at: i64) -> Head {
    let loaded = store.load(id).await.unwrap().expect("order exists");
    let d = staff_move(&loaded, to, at);
    let head = d.head.clone();
    store.commit(&Commit::of(d)).await.expect("commit");
    head
}

pub(crate) async fn ship(store: &Arc<dyn OrderStore>, id: &str, code: &str) {
    advance(store, id, "confirmed", 1).await;
    let loaded = store.load(id).await.unwrap().unwrap();
    let mut shipped = claim("shipped", 2);
    shipped.tracking = Some(TrackingInput {
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

/// A clock stopped at one instant, so deadlines and SLAs are exact.
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A service over `store` whose clock reads minute 60.
pub(crate) fn service(store: &Arc<dyn OrderStore>) -> Arc<OrderService> {
    service_at(store, t(60))
}

/// A service over `store` whose clock reads `now`.
pub(crate) fn service_at(store: &Arc<dyn OrderStore>, now: DateTime<Utc>) -> Arc<OrderService> {
    Arc::new(OrderService::new(
        store.clone(),
        catalog(),
        Arc::new(Tenants::default()),
        Arc::new(FixedClock(now)),
    ))
}

pub(crate) fn manager(tenant: &str) -> Principal {
    Principal {
        tenant: tenant.into(),
        role: Role::Manager,
        subject: "m".into(),
        stores: None,
    }
}

/// A carrier scan for `code`, as a webhook adapter hands it over.
pub(crate) fn scan(
    event_id: &str,
    code: &str,
    status: ShipmentStatus,
    at: DateTime<Utc>,
) -> Inbound {
    Inbound {
        source: "carrier:easypost".into(),
        event_id: event_id.into(),
        occurred_at: at,
        subject: Subject::Tracking { code: code.into() },
        fact: InboundFact::Shipment(ShipmentNews {
            tracking_code: code.into(),
            carrier: Some("UPS".into()),
            status,
            raw_status: format!("{status:?}"),
            message: None,
            location: None,
            tracking_url: None,
            estimated_delivery: None,
        }),
    }
}

pub(crate) fn ship_request(code: &str) -> TransitionRequest {
    TransitionRequest {
        to: "shipped".into(),
        reason: None,
        tracking: Some(TrackingInput {
            carrier: "UPS".into(),
            code: code.into(),
            url: None,
        }),
        expected_version: None,
    }
}

/// How many commits recorded the provider event `event_id` on the order
/// (one fact may write several events, all in one commit).
pub(crate) async fn recorded(store: &Arc<dyn OrderStore>, order_id: &str, event_id: &str) -> usize {
    let mut versions: Vec<u64> = store
        .events(order_id, 0, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.external_id.as_deref() == Some(event_id))
        .map(|e| e.version)
        .collect();
    versions.dedup();
    versions.len()
}
