//! The workload the throughput benchmarks share: one shipping order through
//! six commands (checkout, paid, packing, shipped with tracking, in transit,
//! delivered) — the scenario the peer runs too — and many orders through it,
//! a number of workers at a time. Payment and carrier news carry no provider
//! event id, as the peer's commands do not: a webhook's dedupe check is a
//! cost of its own, measured apart.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde_json::json;

use crate::auth::{Principal, Role};
use crate::lifecycle::Actor;
use crate::order::decide::{Origin, StatusClaim};
use crate::order::TrackingInput;
use crate::service::{Checkout, OrderService, TransitionRequest};

/// The commands of one order's life, in the order they run.
pub const LIFECYCLE: [&str; 6] = [
    "checkout",
    "paid (payment)",
    "packing (staff)",
    "shipped + tracking (staff)",
    "in_transit (carrier)",
    "delivered (carrier)",
];

/// The README's walk-through order: a chandelier shipped to Toronto.
pub fn checkout() -> Checkout {
    serde_json::from_value(json!({
        "customer_id": "cus_42", "currency": "CAD", "fulfilment": "shipping",
        "items": [{ "sku": "CHN-800", "name": "Crystal chandelier", "unit_price": 80000, "quantity": 1 }],
        "shipping": { "method": "standard", "name": "Dana Doe",
            "address": { "line1": "1 King St W", "city": "Toronto", "postal_code": "M5H 1A1", "country": "CA" } },
        "contact": { "email": "dana@example.com" }
    }))
    .expect("a valid checkout")
}

pub fn manager() -> Principal {
    Principal {
        tenant: "acme".into(),
        role: Role::Manager,
        subject: "m".into(),
        stores: None,
    }
}

pub fn origin(source: &str, actor_kind: Actor, external_id: Option<&str>) -> Origin {
    Origin {
        source: source.into(),
        actor_kind,
        actor: None,
        external_id: external_id.map(str::to_string),
    }
}

pub fn claim(to: &str) -> StatusClaim {
    StatusClaim {
        to: to.into(),
        occurred_at: Utc::now(),
        reason: None,
        tracking: None,
    }
}

pub fn staff(to: &str, tracking: Option<TrackingInput>) -> TransitionRequest {
    TransitionRequest {
        to: to.into(),
        reason: None,
        tracking,
        expected_version: None,
    }
}

/// Runs command `n` of [`LIFECYCLE`] on the order `id` (none before its
/// checkout) and returns the order's id; `code` is the tracking code it ships
/// with. Panics on any refusal: a benchmark measures the path that works.
pub async fn command(service: &OrderService, n: usize, id: Option<&str>, code: &str) -> String {
    let manager = manager();
    let Some(id) = id else {
        let placed = service.place(&manager, checkout(), None).await.unwrap();
        return placed.body["id"].as_str().unwrap().to_string();
    };
    let payment = origin("payment:stripe", Actor::Payment, None);
    let carrier = origin("carrier:easypost", Actor::Carrier, None);
    match n {
        1 => drop(
            service
                .record_fact(id, &payment, claim("paid"))
                .await
                .unwrap(),
        ),
        2 => drop(
            service
                .transition(&manager, id, staff("packing", None))
                .await
                .unwrap(),
        ),
        3 => {
            let tracking = TrackingInput {
                carrier: "UPS".into(),
                code: code.into(),
                url: None,
            };
            let request = staff("shipped", Some(tracking));
            drop(service.transition(&manager, id, request).await.unwrap());
        }
        4 => drop(
            service
                .record_fact(id, &carrier, claim("in_transit"))
                .await
                .unwrap(),
        ),
        5 => drop(
            service
                .record_fact(id, &carrier, claim("delivered"))
                .await
                .unwrap(),
        ),
        _ => unreachable!("six commands"),
    }
    id.to_string()
}

/// One order through the whole lifecycle, `after(n)` called after command
/// `n`; returns the order's id.
pub async fn lifecycle(service: &OrderService, code: &str, mut after: impl FnMut(usize)) -> String {
    let mut id = None;
    for n in 0..LIFECYCLE.len() {
        id = Some(command(service, n, id.as_deref(), code).await);
        after(n);
    }
    id.expect("placed")
}

/// Commands per second for `orders` orders through the lifecycle, `workers`
/// at a time, each on its own orders; `run` keeps the tracking codes of
/// different runs apart.
pub async fn throughput(
    service: &Arc<OrderService>,
    run: &str,
    orders: usize,
    workers: usize,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (service, next, run) = (service.clone(), next.clone(), run.to_string());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= orders {
                        return;
                    }
                    lifecycle(&service, &format!("1Z{run}{i:08}"), |_| {}).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a worker");
    }
    (orders * LIFECYCLE.len()) as f64 / started.elapsed().as_secs_f64()
}
