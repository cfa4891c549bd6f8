//! Admin reconciliation, black box: the sweep, the health view and every
//! reconciliation action against the running local stack, with a fake
//! carrier API on loopback for re-fetches.

mod common;

use axum::routing::get;
use axum::{Json, Router};
use chrono::{Duration, SecondsFormat, Utc};
use common::*;
use order_core::auth::Role;
use order_core::http::ApiPath;
use serde_json::{json, Value};

const DOORDASH: &str = "doordash-admin-secret";
const STRIPE: &str = "stripe-admin-secret";

/// A stack whose shipping orders are overdue for payment at once.
fn stack(extra: &[&str]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut shipping: Value =
        serde_json::from_str(include_str!("../shared/lifecycles/shipping.json")).unwrap();
    shipping["states"][0]["sla_minutes"] = json!(0);
    std::fs::write(dir.path().join("shipping.json"), shipping.to_string()).unwrap();
    let mut args = vec![
        "--lifecycles",
        dir.path().to_str().unwrap(),
        "--sweep-every",
        "0",
    ];
    args.extend_from_slice(extra);
    let secrets = json!({ "acme": { "doordash": DOORDASH, "stripe": STRIPE } }).to_string();
    (
        start_with(&args, &[("WEBHOOK_SECRETS", &secrets)], None),
        dir,
    )
}

impl Server {
    async fn post_json(&self, path: &str, token: &str, body: Value) -> Resp {
        self.post_raw(path, token, &body.to_string()).await
    }

    async fn dropped_off(&self, order_id: &str, event: &str) -> Resp {
        let body = json!({ "id": event, "event_name": "DASHER_DROPPED_OFF", "external_delivery_id": order_id,
                           "created_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true) })
        .to_string();
        self.signed_webhook("/webhooks/acme/delivery/doordash", DOORDASH, &body)
            .await
    }

    async fn paid(&self, order_id: &str, event: &str) -> Resp {
        let body = json!({ "id": event, "type": "payment_intent.succeeded", "created": Utc::now().timestamp(),
                           "data": { "object": { "id": "pi_9", "amount": 100, "currency": "cad",
                                                 "metadata": { "order_id": order_id } } } })
        .to_string();
        self.signed_webhook("/webhooks/acme/payment/stripe", STRIPE, &body)
            .await
    }

    async fn event_kinds(&self, token: &str, id: &str) -> Vec<String> {
        self.events(token, id)
            .await
            .iter()
            .map(|e| str_of(e, "kind").to_string())
            .collect()
    }
}

#[tokio::test]
async fn the_sweep_fills_the_health_view_with_reasons_and_actions() {
    let (server, _dir) = stack(&[]);
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id").to_string();

    let staff = token("acme", Role::Staff);
    server
        .post_json("/admin/sweep", &staff, json!({}))
        .await
        .problem(403);
    let swept = server.post_json("/admin/sweep", &manager, json!({})).await;
    let report = swept.expect(200);
    assert_eq!(
        (report["read"].as_u64(), report["orders_flagged"].as_u64()),
        (Some(1), Some(1))
    );
    let again = server.post_json("/admin/sweep", &manager, json!({})).await;
    assert_eq!(again.expect(200)["orders_flagged"], 0, "not flagged twice");

    let health = server.get("/admin/health", &manager).await;
    let entry = &health.expect(200)["orders"][0];
    assert_eq!(entry["id"], json!(id));
    let issue = &entry["issues"][0];
    assert_eq!(
        (issue["kind"].as_str(), issue["level"].as_u64()),
        (Some("stalled"), Some(1))
    );
    assert!(str_of(issue, "reason").contains("pending"), "{issue}");
    assert!(issue["suggested_actions"]
        .as_array()
        .unwrap()
        .contains(&json!("advance")));
    server.get("/admin/health", &staff).await.problem(403);
    let other = token("globex", Role::Manager);
    assert!(
        server.get("/admin/health", &other).await.expect(200)["orders"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The payment finally arrives: the stall clears itself.
    server.paid(&id, "evt_late").await.expect(200);
    assert!(
        server.get("/admin/health", &manager).await.expect(200)["orders"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn parked_facts_are_discarded_or_applied_by_managers_and_owners() {
    let (server, _dir) = stack(&[]);
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "local_delivery"))
        .await;
    let id = str_of(&order, "id").to_string();
    for to in ["store_acknowledged", "picking_in_progress"] {
        server.advance(&manager, &id, to, json!({})).await;
    }
    server.dropped_off(&id, "dd_wrong").await.expect(200);
    let parked = server.order(&manager, &id).await["parked_facts"][0]["event_id"].clone();
    let path = format!("/orders/{id}/parked/{}", parked.as_str().unwrap());

    let staff = token("acme", Role::Staff);
    server
        .post_json(&path, &staff, json!({ "action": "discard", "reason": "x" }))
        .await
        .problem(403);
    // A fact the order does not have waiting is as unknown as an order.
    server
        .post_json(
            &format!("/orders/{id}/parked/evt_nope"),
            &manager,
            json!({ "action": "discard", "reason": "x" }),
        )
        .await
        .problem(404);
    server
        .post_json(
            &path,
            &manager,
            json!({ "action": "discard", "reason": "" }),
        )
        .await
        .problem(400);
    let discarded = server
        .post_json(
            &path,
            &manager,
            json!({ "action": "discard", "reason": "misrouted: another store's order" }),
        )
        .await;
    let view = discarded.expect(200);
    assert!(view["parked_facts"].as_array().unwrap().is_empty());
    assert_eq!(view["status"], "picking_in_progress");

    server.dropped_off(&id, "dd_real").await.expect(200);
    let parked = server.order(&manager, &id).await["parked_facts"][0]["event_id"].clone();
    let path = format!("/orders/{id}/parked/{}", parked.as_str().unwrap());
    let refused = server
        .post_json(
            &path,
            &manager,
            json!({ "action": "apply", "reason": "driver confirmed by phone" }),
        )
        .await;
    assert_illegal(&refused, "picking_in_progress");
    let owner = token("acme", Role::Owner);
    let applied = server
        .post_json(
            &path,
            &owner,
            json!({ "action": "apply", "reason": "driver confirmed by phone" }),
        )
        .await;
    assert_eq!(applied.expect(200)["status"], "delivered");
    let log = server.events(&manager, &id).await;
    let last = log.last().unwrap();
    assert_eq!(
        (
            last["data"]["overridden"].as_bool(),
            last["data"]["reason"].as_str()
        ),
        (Some(true), Some("driver confirmed by phone"))
    );
    assert!(
        log.iter().any(|e| e["data"]["disposition"] == "discarded"),
        "the discard is audited"
    );
}

#[tokio::test]
async fn review_flags_are_resolved_with_a_reason_and_notes_are_kept() {
    let (server, _dir) = stack(&[]);
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let id = str_of(&order, "id").to_string();
    server.advance(&manager, &id, "cancelled", json!({})).await;
    // A payment captured after the cancellation cannot fit: kept and flagged
    // for review. (Stripe's timestamps have whole seconds.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let late = server.paid(&id, "evt_after_cancel").await;
    assert_eq!(late.expect(200)["outcomes"][0]["disposition"], "conflict");
    let flagged = server.order(&manager, &id).await;
    assert_eq!(flagged["flags"][0]["kind"], "needs_review");

    let path = format!("/orders/{id}/flags/resolve");
    server
        .post_json(&path, &token("acme", Role::Staff), json!({ "reason": "x" }))
        .await
        .problem(403);
    let resolved = server
        .post_json(
            &path,
            &manager,
            json!({ "reason": "refund issued in Stripe" }),
        )
        .await;
    assert!(resolved.expect(200)["flags"].as_array().unwrap().is_empty());
    let again = server
        .post_json(&path, &manager, json!({ "reason": "again" }))
        .await;
    assert_eq!(again.problem(422)["title"], "Nothing to resolve");

    let noted = server
        .post_json(
            &format!("/orders/{id}/notes"),
            &token("acme", Role::Staff),
            json!({ "text": "customer called" }),
        )
        .await;
    noted.expect(200);
    let kinds = server.event_kinds(&manager, &id).await;
    assert!(
        kinds.ends_with(&["flags_cleared".to_string(), "note_added".to_string()]),
        "{kinds:?}"
    );
}

async fn fake_carrier() -> String {
    let app = Router::new().route(
        "/trackers/{carrier}/{code}",
        get(
            |ApiPath((carrier, code)): ApiPath<(String, String)>| async move {
                if carrier != "UPS" || code != "1ZREFETCH" {
                    return Err(axum::http::StatusCode::NOT_FOUND);
                }
                let at = (Utc::now() - Duration::seconds(1))
                    .to_rfc3339_opts(SecondsFormat::Millis, true);
                Ok(Json(
                    json!({ "status": "delivered", "occurred_at": at, "raw_status": "D",
                            "message": "Delivered, front door", "event_id": "ups-1ZREFETCH-D" }),
                ))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_manager_re_fetches_the_carrier_and_corrects_a_wrong_code() {
    let carrier = fake_carrier().await;
    let (server, _dir) = stack(&["--carrier-api", &carrier]);
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id").to_string();
    server.advance(&manager, &id, "confirmed", json!({})).await;
    server
        .advance(
            &manager,
            &id,
            "shipped",
            json!({ "tracking": { "carrier": "UPS", "code": "1ZTYPO" } }),
        )
        .await;

    // The carrier does not know the mistyped code: nothing changes.
    let nothing = server
        .post_json(&format!("/orders/{id}/refetch"), &manager, json!({}))
        .await;
    assert!(nothing.expect(200)["outcomes"]
        .as_array()
        .unwrap()
        .is_empty());

    let shipment = server.order(&manager, &id).await["shipments"][0]["shipment_id"].clone();
    let path = format!("/orders/{id}/shipments/{}", shipment.as_str().unwrap());
    let request = server
        .http
        .put(server.url(&path))
        .bearer_auth(&manager)
        .json(&json!({ "carrier": "UPS", "code": "1ZREFETCH" }));
    let corrected = server.send(request).await;
    assert_eq!(
        corrected.expect(200)["shipments"][0]["tracking_code"],
        "1ZREFETCH"
    );
    let unknown = server
        .http
        .put(server.url(&format!("/orders/{id}/shipments/shp_nope")))
        .bearer_auth(&manager)
        .json(&json!({ "carrier": "UPS", "code": "1ZOTHER" }));
    server.send(unknown).await.problem(404);

    let fetched = server
        .post_json(&format!("/orders/{id}/refetch"), &manager, json!({}))
        .await;
    let body = fetched.expect(200);
    assert_eq!(body["order"]["status"], "delivered");
    assert_eq!(
        body["order"]["shipments"][0]["message"],
        "Delivered, front door"
    );
    let again = server
        .post_json(&format!("/orders/{id}/refetch"), &manager, json!({}))
        .await;
    assert_eq!(
        again.expect(200)["outcomes"][0]["outcome"],
        "duplicate",
        "asked twice, recorded once"
    );

    let (no_api, _d) = stack(&[]);
    let order = no_api
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let path = format!("/orders/{}/refetch", str_of(&order, "id"));
    // No carrier API is a state of the setup, not an outage: a 4xx.
    let problem = no_api.post_json(&path, &manager, json!({})).await;
    assert_eq!(problem.problem(422)["title"], "Not configured");
    // Ownership comes first: another tenant's or an unknown order is a 404,
    // with or without a carrier API.
    let globex = token("globex", Role::Manager);
    let ours = format!("/orders/{id}/refetch");
    for (server, path) in [(&server, &ours), (&no_api, &path)] {
        server
            .post_json(path, &globex, json!({}))
            .await
            .problem(404);
        server
            .post_json("/orders/ord_unknown/refetch", &manager, json!({}))
            .await
            .problem(404);
    }
}

#[tokio::test]
async fn the_sla_report_covers_stages_statuses_and_amounts() {
    let (server, _dir) = stack(&[]);
    let manager = token("acme", Role::Manager);
    let from = Utc::now() - Duration::minutes(1);
    for n in 0..3 {
        let order = server
            .place(&manager, &checkout_body(&format!("cus_{n}"), "pickup"))
            .await;
        let id = str_of(&order, "id").to_string();
        for to in ["accepted", "in_progress", "ready", "completed"]
            .iter()
            .take(n + 2)
        {
            server.advance(&manager, &id, to, json!({})).await;
        }
    }
    let to = Utc::now() + Duration::minutes(1);
    let fmt = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let url = format!("/admin/reports/sla?from={}&to={}", fmt(from), fmt(to)).replace('+', "%2B");
    let report = server.get(&url, &manager).await;
    let body = report.expect(200);
    assert_eq!(body["orders"], 3);
    let stage = body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["from_state"] == "pending" && s["to_state"] == "accepted")
        .expect("pending → accepted");
    assert_eq!(stage["count"], 3);
    let statuses: Vec<(&str, u64)> = body["by_status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (str_of(s, "status"), s["count"].as_u64().unwrap()))
        .collect();
    assert!(
        statuses.contains(&("completed", 1)) && statuses.contains(&("ready", 1)),
        "{statuses:?}"
    );
    let completed = body["by_status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "completed")
        .unwrap();
    assert_eq!(completed["amount"], json!(CHECKOUT_TOTAL));

    server
        .get("/admin/reports/sla?from=yesterday", &manager)
        .await
        .problem(400);
    server
        .get(&url, &token("acme", Role::Staff))
        .await
        .problem(403);
}

#[tokio::test]
async fn the_sla_report_defaults_to_the_last_30_days() {
    use chrono::Timelike;
    let (server, _dir) = stack(&[]);
    let manager = token("acme", Role::Manager);
    server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let time = |report: &Value, key: &str| {
        chrono::DateTime::parse_from_rfc3339(str_of(report, key))
            .unwrap()
            .with_timezone(&Utc)
    };
    let fmt = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);

    let before = Utc::now();
    let report = server.get("/admin/reports/sla", &manager).await;
    let report = report.expect(200);
    let to = time(report, "to");
    assert!(
        before - Duration::seconds(1) <= to && to <= Utc::now(),
        "to defaults to now: {report}"
    );
    assert_eq!(time(report, "from"), to - Duration::days(30), "{report}");
    assert_eq!(report["orders"], 1);

    // Only `to`: the 30 days before it.
    let until = Utc::now() - Duration::days(1);
    let earlier = server
        .get(&format!("/admin/reports/sla?to={}", fmt(until)), &manager)
        .await;
    let earlier = earlier.expect(200);
    assert_eq!(
        time(earlier, "from"),
        time(earlier, "to") - Duration::days(30)
    );
    assert_eq!(earlier["orders"], 0);

    // Only `from`: up to now.
    let since = Utc::now() - Duration::hours(1);
    let recent = server
        .get(&format!("/admin/reports/sla?from={}", fmt(since)), &manager)
        .await;
    let recent = recent.expect(200);
    assert_eq!(time(recent, "from"), since.with_nanosecond(0).unwrap());
    assert_eq!(recent["orders"], 1);

    let future = fmt(Utc::now() + Duration::days(1));
    server
        .get(&format!("/admin/reports/sla?from={future}"), &manager)
        .await
        .problem(400);
    server
        .get("/admin/reports/sla?days=7", &manager)
        .await
        .problem(400);
}
