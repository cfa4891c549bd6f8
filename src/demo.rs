//! `order-tracking demo`: places an order in every preset and drives it to the
//! end of its lifecycle through the HTTP API, feeding outside facts (payment,
//! carrier, delivery partner) the way the webhook intake does — including
//! carrier scans that arrive out of order — and prints what the customer's
//! tracking view says after each step.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use order_core::auth::Role;
use order_core::lifecycle::Actor;
use order_core::order::decide::{Origin, StatusClaim};
use order_core::order::TrackingInput;
use order_core::service::OrderService;
use serde_json::{json, Value};

/// Drives the scenarios against a stack listening at `base`.
pub struct Demo<'a> {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub service: &'a OrderService,
    pub pace: Duration,
    pub steps: usize,
}

impl Demo<'_> {
    pub async fn run(&mut self) -> Result<(), String> {
        self.shipping().await?;
        self.pickup().await?;
        self.kitchen().await?;
        self.local_delivery().await?;
        Ok(())
    }

    async fn checkout(
        &mut self,
        fulfilment: &str,
        items: Value,
    ) -> Result<(String, String), String> {
        let address = json!({ "method": "standard", "name": "Dana Doe",
            "address": { "line1": "1 King St W", "city": "Toronto", "region": "ON",
                         "postal_code": "M5H 1A1", "country": "CA" } });
        let mut body = json!({ "customer_id": "cus_demo", "currency": "CAD",
                               "fulfilment": fulfilment, "items": items,
                               "contact": { "email": "dana@example.com" } });
        if matches!(fulfilment, "shipping" | "local_delivery") {
            body["shipping"] = address;
        }
        let order: Value = self
            .send(self.http.post(format!("{}/orders", self.base)).json(&body))
            .await?;
        let id = order["id"].as_str().unwrap_or_default().to_string();
        let public_id = order["public_id"].as_str().unwrap_or_default().to_string();
        println!("\n== {fulfilment}: order {id}");
        println!("   customer tracking view: {}/track/{public_id}", self.base);
        self.show(&public_id, "placed").await?;
        Ok((id, public_id))
    }

    async fn staff(
        &mut self,
        id: &str,
        public_id: &str,
        to: &str,
        extra: Value,
    ) -> Result<(), String> {
        let mut body = json!({ "to": to });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let url = format!("{}/orders/{id}/transitions", self.base);
        let _: Value = self.send(self.http.post(url).json(&body)).await?;
        self.show(public_id, &format!("staff → {to}")).await
    }

    async fn fact(
        &mut self,
        id: &str,
        public_id: &str,
        source: &str,
        to: &str,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let origin = Origin {
            source: source.to_string(),
            actor_kind: Actor::of_source(source),
            actor: None,
            external_id: Some(order_core::order::decide::new_id("ext")),
        };
        let claim = StatusClaim {
            to: to.to_string(),
            occurred_at: at,
            reason: None,
            tracking: None,
        };
        let outcome = self
            .service
            .record_fact(id, &origin, claim)
            .await
            .map_err(|e| e.to_string())?;
        let outcome = serde_json::to_value(outcome).unwrap_or_default();
        let disposition = outcome["disposition"].as_str().unwrap_or("duplicate");
        self.show(public_id, &format!("{source} says {to} ({disposition})"))
            .await
    }

    async fn show(&mut self, public_id: &str, step: &str) -> Result<(), String> {
        tokio::time::sleep(self.pace).await;
        self.steps += 1;
        let view: Value = self
            .send(self.http.get(format!("{}/track/{public_id}", self.base)))
            .await?;
        let timeline: Vec<&str> = view["timeline"]
            .as_array()
            .map(|t| t.iter().filter_map(|s| s["status"].as_str()).collect())
            .unwrap_or_default();
        println!(
            "   {step:<48} │ {:<18} │ {}\n   {:<48} │ timeline: {}",
            view["status"].as_str().unwrap_or_default(),
            view["message"].as_str().unwrap_or_default(),
            "",
            timeline.join(" → ")
        );
        Ok(())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, String> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{status}: {body}"))
        }
    }

    async fn shipping(&mut self) -> Result<(), String> {
        let items = json!([{ "sku": "CHN-800", "name": "Crystal chandelier", "unit_price": 80000, "quantity": 1 }]);
        let (id, public) = self.checkout("shipping", items).await?;
        self.fact(&id, &public, "payment:stripe", "PAID", Utc::now())
            .await?;
        self.staff(&id, &public, "packing", json!({})).await?;
        let tracking = TrackingInput {
            carrier: "UPS".into(),
            code: "1Z999AA10123456784".into(),
            url: Some("https://www.ups.com/track?tracknum=1Z999AA10123456784".into()),
        };
        self.staff(&id, &public, "shipped", json!({ "tracking": tracking }))
            .await?;
        // The carrier's scans arrive out of order: "delivered" first.
        let scans = scan_times();
        self.fact(&id, &public, "carrier:easypost", "delivered", scans[2])
            .await?;
        self.fact(&id, &public, "carrier:easypost", "in_transit", scans[0])
            .await?;
        self.fact(
            &id,
            &public,
            "carrier:easypost",
            "out_for_delivery",
            scans[1],
        )
        .await
    }

    async fn pickup(&mut self) -> Result<(), String> {
        let items = json!([{ "sku": "BULB-3", "name": "LED bulb 3-pack", "unit_price": 1299, "quantity": 2 }]);
        let (id, public) = self.checkout("pickup", items).await?;
        for to in ["accepted", "in_progress", "ready", "completed"] {
            self.staff(&id, &public, to, json!({})).await?;
        }
        Ok(())
    }

    async fn kitchen(&mut self) -> Result<(), String> {
        let items = json!([{ "sku": "SHAW-1", "name": "Chicken shawarma", "unit_price": 1150, "quantity": 2 }]);
        let (id, public) = self.checkout("kitchen", items).await?;
        self.fact(&id, &public, "payment:stripe", "paid", Utc::now())
            .await?;
        for to in ["preparing", "ready", "delivering"] {
            self.staff(&id, &public, to, json!({})).await?;
        }
        self.fact(&id, &public, "delivery:uber", "completed", Utc::now())
            .await
    }

    async fn local_delivery(&mut self) -> Result<(), String> {
        let items =
            json!([{ "sku": "MILK-2L", "name": "Milk 2L", "unit_price": 549, "quantity": 1 }]);
        let (id, public) = self.checkout("local_delivery", items).await?;
        self.fact(&id, &public, "system", "store_notified", Utc::now())
            .await?;
        for to in [
            "store_acknowledged",
            "picking_in_progress",
            "substitutions_needed",
            "picking_in_progress",
            "ready_for_pickup",
        ] {
            self.staff(&id, &public, to, json!({})).await?;
        }
        // "Delivered" arrives before "picked up": it waits (parked) for the
        // pickup it needs, then applies; "driver assigned" comes in last, late.
        let scans = scan_times();
        self.fact(&id, &public, "delivery:doordash", "delivered", scans[2])
            .await?;
        self.fact(&id, &public, "delivery:doordash", "picked_up", scans[1])
            .await?;
        self.fact(
            &id,
            &public,
            "delivery:doordash",
            "driver_assigned",
            scans[0],
        )
        .await
    }
}

/// Three moments just past, oldest first, for a provider's event sequence.
fn scan_times() -> [DateTime<Utc>; 3] {
    let now = Utc::now();
    [
        now - Span::milliseconds(3),
        now - Span::milliseconds(2),
        now - Span::milliseconds(1),
    ]
}

/// The role the demo acts as: a manager can do every staff step.
pub const DEMO_ROLE: Role = Role::Manager;
