//! What one shipping order costs in DynamoDB, command by command, from
//! checkout to delivered: requests, and read/write capacity units as DynamoDB
//! reports them (ReturnConsumedCapacity). Then the same move on an order with
//! a long history, to show a command's cost does not grow with it.
//!
//! `scripts/with-emulators.sh cargo bench -p order-core --bench dynamodb_cost`

use std::sync::Arc;

use chrono::Utc;
use order_core::auth::{Principal, Role};
use order_core::lifecycle::Actor;
use order_core::order::decide::{Origin, StatusClaim};
use order_core::order::TrackingInput;
use order_core::ports::SystemClock;
use order_core::service::{Checkout, OrderService, TransitionRequest};
use order_core::store::Usage;
use order_core::testkit::catalog;
use order_core::testkit::lambda_harness::fresh_table;
use serde_json::json;

struct Meter {
    usage: Arc<Usage>,
    last: (u64, f64, f64),
    total: (u64, f64, f64),
}

impl Meter {
    fn step(&mut self, name: &str) {
        let now = self.usage.totals();
        let d = (
            now.0 - self.last.0,
            now.1 - self.last.1,
            now.2 - self.last.2,
        );
        println!("{name:<34} {:>8} {:>8.1} {:>8.1}", d.0, d.1, d.2);
        self.total = (self.total.0 + d.0, self.total.1 + d.1, self.total.2 + d.2);
        self.last = now;
    }
}

fn fact(source: &str, actor: Actor, id: &str, to: &str) -> (Origin, StatusClaim) {
    (
        Origin {
            source: source.into(),
            actor_kind: actor,
            actor: None,
            external_id: Some(id.into()),
        },
        StatusClaim {
            to: to.into(),
            occurred_at: Utc::now(),
            reason: None,
            tracking: None,
        },
    )
}

fn staff(to: &str, tracking: Option<TrackingInput>) -> TransitionRequest {
    TransitionRequest {
        to: to.into(),
        reason: None,
        tracking,
        expected_version: None,
    }
}

#[tokio::main]
async fn main() {
    let store = Arc::new(fresh_table().await);
    let service = OrderService::new(
        store.clone(),
        catalog(),
        Arc::default(),
        Arc::new(SystemClock),
    );
    let manager = Principal {
        tenant: "acme".into(),
        role: Role::Manager,
        subject: "m".into(),
    };
    let mut meter = Meter {
        usage: store.usage(),
        last: store.usage().totals(),
        total: (0, 0.0, 0.0),
    };
    println!(
        "{:<34} {:>8} {:>8} {:>8}",
        "command", "requests", "RCU", "WCU"
    );
    let checkout: Checkout = serde_json::from_value(json!({
        "customer_id": "cus_42", "currency": "CAD", "fulfilment": "shipping",
        "items": [{ "sku": "CHN-800", "name": "Crystal chandelier", "unit_price": 80000, "quantity": 1 }],
        "shipping": { "method": "standard", "name": "Dana Doe",
            "address": { "line1": "1 King St W", "city": "Toronto", "postal_code": "M5H 1A1", "country": "CA" } }
    }))
    .unwrap();
    let placed = service
        .place(&manager, checkout, Some("cart-42".into()))
        .await
        .unwrap();
    let id = placed.body["id"].as_str().unwrap().to_string();
    meter.step("checkout (with Idempotency-Key)");

    let (origin, claim) = fact("payment:stripe", Actor::Payment, "pi_1", "paid");
    service.record_fact(&id, &origin, claim).await.unwrap();
    meter.step("payment webhook: paid");
    service
        .transition(&manager, &id, staff("packing", None))
        .await
        .unwrap();
    meter.step("staff: packing");
    let tracking = TrackingInput {
        carrier: "UPS".into(),
        code: "1Z999AA10123456784".into(),
        url: None,
    };
    service
        .transition(&manager, &id, staff("shipped", Some(tracking)))
        .await
        .unwrap();
    meter.step("staff: shipped (tracking)");
    for (n, to) in ["in_transit", "out_for_delivery", "delivered"]
        .iter()
        .enumerate()
    {
        let (origin, claim) = fact("carrier:easypost", Actor::Carrier, &format!("trk_{n}"), to);
        service.record_fact(&id, &origin, claim).await.unwrap();
        meter.step(&format!("carrier webhook: {to}"));
    }
    println!(
        "{:<34} {:>8} {:>8.1} {:>8.1}",
        "whole order", meter.total.0, meter.total.1, meter.total.2
    );

    // Flat in history: a second order with 200 late facts, then one more move.
    let checkout: Checkout = serde_json::from_value(json!({
        "customer_id": "cus_43", "currency": "CAD", "fulfilment": "pickup",
        "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }]
    }))
    .unwrap();
    let placed = service.place(&manager, checkout, None).await.unwrap();
    let long = placed.body["id"].as_str().unwrap().to_string();
    service
        .transition(&manager, &long, staff("accepted", None))
        .await
        .unwrap();
    for n in 0..200 {
        let (origin, claim) = fact("system", Actor::System, &format!("late_{n}"), "pending");
        service.record_fact(&long, &origin, claim).await.unwrap();
    }
    meter.last = store.usage().totals();
    meter.total = (0, 0.0, 0.0);
    service
        .transition(&manager, &long, staff("in_progress", None))
        .await
        .unwrap();
    meter.step("staff move after 200 more events");
}
