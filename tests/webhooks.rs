//! Webhook intake, black box: signed provider payloads against the running
//! local stack, including every failure the README's "What happens to a fact" covers.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use order_core::auth::Role;
use serde_json::{json, Value};

const EASYPOST: &str = "easypost-test-secret";
const STRIPE: &str = "stripe-test-secret";
const DOORDASH: &str = "doordash-test-secret";

/// Globex's own EasyPost account signs with its own secret.
const GLOBEX_EASYPOST: &str = "globex-easypost-secret";

fn start_stack(extra: &[&str]) -> Server {
    start_stack_with(extra, &[])
}

/// Acme connects EasyPost, Stripe and DoorDash; globex connects EasyPost.
fn start_stack_with(extra: &[&str], envs: &[(&str, &str)]) -> Server {
    let secrets = json!({
        "acme": { "easypost": EASYPOST, "stripe": STRIPE, "doordash": DOORDASH },
        "globex": { "easypost": GLOBEX_EASYPOST }
    })
    .to_string();
    let mut all = vec![("WEBHOOK_SECRETS", secrets.as_str())];
    all.extend_from_slice(envs);
    start_with(
        extra,
        &all,
        Some(json!({ "tenants": {
            "acme": { "allow_tracking_pending": true },
            "globex": { "allow_tracking_pending": true }
        } })),
    )
}

impl Server {
    async fn easypost(&self, event_id: &str, code: &str, status: &str, at: DateTime<Utc>) -> Resp {
        let path = "/webhooks/acme/carrier/easypost";
        self.easypost_to(path, EASYPOST, event_id, code, status, at)
            .await
    }

    /// An EasyPost `tracker.updated` posted to `path`, signed with `secret`.
    async fn easypost_to(
        &self,
        path: &str,
        secret: &str,
        event_id: &str,
        code: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Resp {
        let body = json!({
            "id": event_id, "object": "Event", "description": "tracker.updated",
            "created_at": rfc3339(Utc::now()),
            "result": {
                "object": "Tracker", "id": "trk_ep_1", "tracking_code": code, "carrier": "UPS",
                "status": status, "updated_at": rfc3339(at),
                "tracking_details": [{ "object": "TrackingDetail", "datetime": rfc3339(at),
                                       "status": status, "message": format!("UPS: {status}") }]
            }
        })
        .to_string();
        self.signed_webhook(path, secret, &body).await
    }

    async fn stripe(&self, event_id: &str, kind: &str, order_id: &str) -> Resp {
        let body = json!({
            "id": event_id, "object": "event", "type": kind, "created": Utc::now().timestamp(),
            "data": { "object": {
                "id": "pi_1", "object": "payment_intent", "amount": 5197, "amount_received": 5197,
                "amount_refunded": 5197, "payment_intent": "pi_1", "currency": "cad",
                "metadata": { "order_id": order_id },
                "last_payment_error": { "message": "Your card has insufficient funds." }
            } }
        })
        .to_string();
        self.signed_webhook("/webhooks/acme/payment/stripe", STRIPE, &body)
            .await
    }

    async fn doordash(&self, event: &str, order_id: &str, at: DateTime<Utc>) -> Resp {
        let body = json!({
            "event_name": event, "created_at": rfc3339(at), "external_delivery_id": order_id,
            "delivery_id": "dd_1", "dasher_name": "Robin", "dasher_dropoff_phone_number": "+14165550123",
            "dasher_vehicle_make": "Honda", "dasher_vehicle_model": "Civic",
            "dasher_location": { "lat": 43.6452, "lng": -79.3806 },
            "dropoff_time_estimated": rfc3339(at + Duration::minutes(20))
        })
        .to_string();
        self.signed_webhook("/webhooks/acme/delivery/doordash", DOORDASH, &body)
            .await
    }

    async fn events_count(&self, token: &str, id: &str) -> usize {
        self.events(token, id).await.len()
    }
}

fn outcome(resp: &Resp) -> &Value {
    &resp.expect(200)["outcomes"][0]
}

/// A shipping order for tenant acme, shipped with `code` (or pending).
async fn shipped(server: &Server, token: &str, code: Option<&str>) -> (String, String) {
    let order = server
        .place(token, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id").to_string();
    server.advance(token, &id, "confirmed", json!({})).await;
    let extra = match code {
        Some(code) => json!({ "tracking": { "carrier": "UPS", "code": code } }),
        None => json!({}),
    };
    server.advance(token, &id, "shipped", extra).await;
    (id, str_of(&order, "public_id").to_string())
}

fn timeline(view: &Value) -> Vec<String> {
    view["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|s| str_of(s, "status").to_string())
        .collect()
}

// A delayed payment webhook: the customer reads "Processing payment" with an
// estimated resolution time (README › Out-of-order facts, the customer view).
#[tokio::test]
async fn a_delayed_payment_shows_processing_with_an_estimate_then_confirms() {
    let server = start_stack(&[]);
    let token = token("acme", Role::Manager);
    let order = server
        .place(&token, &checkout_body("cus_1", "shipping"))
        .await;
    let (id, public) = (str_of(&order, "id"), str_of(&order, "public_id"));
    let waiting = server.track(public).await.expect(200).clone();
    assert!(
        str_of(&waiting, "message").contains("Processing payment"),
        "{waiting}"
    );
    assert!(
        waiting["expected_by"].is_string(),
        "an estimated resolution time: {waiting}"
    );

    let paid = server
        .stripe("evt_pay_1", "payment_intent.succeeded", id)
        .await;
    assert_eq!(outcome(&paid)["disposition"], "applied");
    let view = server.track(public).await.expect(200).clone();
    assert_eq!(view["status"], "confirmed");
    assert_eq!(view["payment"]["status"], "succeeded");
    assert!(str_of(&view, "message").contains("tracking will appear once dispatched"));
}

// Out-of-order carrier events: stored by the carrier's timestamp, shown from
// the sorted log (README › Webhooks, "a package's newest scan wins").
#[tokio::test]
async fn out_of_order_carrier_scans_read_in_carrier_order() {
    let server = start_stack(&[]);
    let token = token("acme", Role::Manager);
    let (id, public) = shipped(&server, &token, Some("1Z999AA10123456784")).await;
    // Scans seconds apart, after the staff's clicks (within the accepted clock skew).
    let now = Utc::now();
    let code = "1Z999AA10123456784";
    let delivered = server
        .easypost("evt_3", code, "delivered", now + Duration::seconds(3))
        .await;
    assert_eq!(outcome(&delivered)["status"], "delivered");
    let transit = server
        .easypost("evt_1", code, "in_transit", now + Duration::seconds(1))
        .await;
    assert_eq!(outcome(&transit)["disposition"], "late");
    server
        .easypost(
            "evt_2",
            code,
            "out_for_delivery",
            now + Duration::seconds(2),
        )
        .await;

    let view = server.track(&public).await.expect(200).clone();
    assert_eq!(view["status"], "delivered");
    assert_eq!(
        timeline(&view),
        [
            "pending",
            "confirmed",
            "shipped",
            "in_transit",
            "out_for_delivery",
            "delivered"
        ]
    );
    assert_eq!(
        view["shipments"][0]["status"], "delivered",
        "the newest scan wins"
    );
    let order = server.order(&token, &id).await;
    assert_eq!(
        order["timestamps"]["in_transit_at"]
            .as_str()
            .map(|s| s.len() > 10),
        Some(true)
    );
}

// A dropped webhook: the stall sweep flags the order for the health view
// after its SLA (README › Stalled orders and reconciliation). A tenant with a zero-minute payment SLA makes the
// timeout immediate.
#[tokio::test]
async fn an_order_whose_payment_never_arrives_is_listed_as_stalled() {
    let dir = tempfile::tempdir().unwrap();
    let mut shipping: Value =
        serde_json::from_str(include_str!("../shared/lifecycles/shipping.json")).unwrap();
    shipping["states"][0]["sla_minutes"] = json!(0);
    std::fs::write(dir.path().join("shipping.json"), shipping.to_string()).unwrap();
    let server = start_stack(&["--lifecycles", dir.path().to_str().unwrap()]);
    let token = token("acme", Role::Manager);
    let order = server
        .place(&token, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id").to_string();
    assert_eq!(
        server.list_ids(&token, &[("stalled", "true")]).await,
        std::slice::from_ref(&id)
    );

    // The late webhook finally comes: the order moves on and leaves the list.
    server
        .stripe("evt_pay_late", "payment_intent.succeeded", &id)
        .await
        .expect(200);
    assert!(server
        .list_ids(&token, &[("stalled", "true")])
        .await
        .is_empty());
}

// Shipped without a tracking number: the status advances and the customer
// reads "tracking number pending" (README › Lifecycle presets). A scan for the code that arrives
// before staff enter it waits, and applies the moment they do.
#[tokio::test]
async fn shipped_without_tracking_says_pending_until_the_code_arrives() {
    let server = start_stack(&[]);
    let token = token("acme", Role::Manager);
    let (id, public) = shipped(&server, &token, None).await;
    let view = server.track(&public).await.expect(200).clone();
    assert_eq!(view["status"], "shipped");
    assert!(
        str_of(&view, "message").contains("tracking number pending"),
        "{view}"
    );
    assert_eq!(view["shipments"][0]["status"], "tracking_pending");

    let early = server
        .easypost("evt_early", "1ZLATE0001", "in_transit", Utc::now())
        .await;
    assert_eq!(outcome(&early)["outcome"], "unmatched", "kept, not dropped");
    assert_eq!(server.order(&token, &id).await["status"], "shipped");

    let added = server
        .post_raw(
            &format!("/orders/{id}/shipments"),
            &token,
            &json!({ "carrier": "UPS", "code": "1ZLATE0001" }).to_string(),
        )
        .await;
    added.expect(200);
    let view = server.track(&public).await.expect(200).clone();
    assert_eq!(view["shipments"][0]["tracking_code"], "1ZLATE0001");
    assert_eq!(view["status"], "in_transit", "the waiting scan applied");
    assert!(!str_of(&view, "message").contains("pending"));
    // Its redelivery is now a duplicate.
    let again = server
        .easypost("evt_early", "1ZLATE0001", "in_transit", Utc::now())
        .await;
    assert_eq!(outcome(&again)["outcome"], "duplicate");
}

// A fact ahead of the order's states is parked and flagged for review if it
// waits past its window (README › Out-of-order facts); a delivery partner's
// driver details and position reach the customer, the phone never does.
#[tokio::test]
async fn a_fact_ahead_of_its_states_waits_then_applies_and_the_driver_is_shown_without_a_phone() {
    let server = start_stack(&[]);
    let token = token("acme", Role::Manager);
    let order = server
        .place(&token, &checkout_body("cus_1", "local_delivery"))
        .await;
    let (id, public) = (
        str_of(&order, "id").to_string(),
        str_of(&order, "public_id").to_string(),
    );
    for to in [
        "store_notified",
        "store_acknowledged",
        "picking_in_progress",
        "ready_for_pickup",
    ] {
        server.advance(&token, &id, to, json!({})).await;
    }
    let now = Utc::now();
    let early = server
        .doordash("DASHER_DROPPED_OFF", &id, now - Duration::seconds(1))
        .await;
    assert_eq!(outcome(&early)["disposition"], "parked");
    let waiting = server.order(&token, &id).await;
    assert_eq!(waiting["status"], "ready_for_pickup");
    assert_eq!(waiting["parked_facts"][0]["target"], "delivered");
    let due = DateTime::parse_from_rfc3339(str_of(&waiting, "due_at")).unwrap();
    assert!(
        due <= now + Duration::minutes(61),
        "due for review within the parked window"
    );

    let assigned = server
        .doordash("DASHER_CONFIRMED", &id, now - Duration::seconds(3))
        .await;
    assert_eq!(outcome(&assigned)["status"], "driver_assigned");
    let view = server.track(&public).await;
    let body = view.expect(200).clone();
    assert_eq!(body["delivery"]["driver_name"], "Robin");
    assert!(body["delivery"]["location"]["lat"].is_number());
    assert!(body["delivery"]["eta"].is_string());
    assert!(
        !view.text.contains("5550123"),
        "never the driver's phone: {}",
        view.text
    );

    let picked = server
        .doordash("DASHER_PICKED_UP", &id, now - Duration::seconds(2))
        .await;
    assert_eq!(
        outcome(&picked)["status"],
        "delivered",
        "the parked drop-off was released"
    );
    let done = server.order(&token, &id).await;
    assert!(done["parked_facts"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn signatures_are_checked_before_anything_is_stored() {
    let server = start_stack(&[]);
    let token = token("acme", Role::Manager);
    let (id, _) = shipped(&server, &token, Some("1ZSIG")).await;
    let before = server.events_count(&token, &id).await;
    let body = json!({ "id": "evt_x", "object": "Event", "description": "tracker.updated",
                       "result": { "object": "Tracker", "tracking_code": "1ZSIG", "status": "delivered" } })
    .to_string();
    let path = "/webhooks/acme/carrier/easypost";
    server
        .signed_webhook(path, "not-the-secret", &body)
        .await
        .problem(401);
    server
        .webhook(path, ("X-Other", "x".into()), &body)
        .await
        .problem(401);
    let right = webhook_signature(path, EASYPOST, Utc::now(), &body);
    let tampered = body.replace("delivered", "returned");
    server.webhook(path, right, &tampered).await.problem(401);

    let stripe = "/webhooks/acme/payment/stripe";
    let stale_body = json!({ "id": "evt_s", "type": "payment_intent.succeeded", "created": 0,
                             "data": { "object": { "id": "pi", "metadata": { "order_id": id } } } })
    .to_string();
    let half_an_hour_ago = Utc::now() - Duration::minutes(30);
    let stale = webhook_signature(stripe, STRIPE, half_an_hour_ago, &stale_body);
    server
        .webhook(stripe, stale, &stale_body)
        .await
        .problem(401);

    server
        .signed_webhook(path, EASYPOST, "{not json")
        .await
        .problem(400);
    server
        .webhook("/webhooks/acme/payment/paypal", ("X-Sig", "x".into()), "{}")
        .await
        .problem(404);
    server
        .webhook(
            "/webhooks/acme/carrier/fedex",
            ("X-Webhook-Signature", "t=1,v1=00".into()),
            "{}",
        )
        .await
        .problem(404);
    server
        .webhook(
            "/webhooks/acme/teleport/easypost",
            ("X-Sig", "x".into()),
            "{}",
        )
        .await
        .problem(404);

    assert_eq!(
        server.events_count(&token, &id).await,
        before,
        "nothing was stored"
    );
    assert_eq!(server.order(&token, &id).await["status"], "shipped");
}

#[tokio::test]
async fn a_redelivered_webhook_is_recorded_once() {
    let server = start_stack(&[]);
    let token = token("acme", Role::Manager);
    let (id, _) = shipped(&server, &token, Some("1ZDUP")).await;
    let first = server
        .easypost("evt_dup", "1ZDUP", "in_transit", Utc::now())
        .await;
    assert_eq!(outcome(&first)["outcome"], "recorded");
    let count = server.events_count(&token, &id).await;
    for _ in 0..3 {
        let again = server
            .easypost("evt_dup", "1ZDUP", "in_transit", Utc::now())
            .await;
        assert_eq!(outcome(&again)["outcome"], "duplicate");
    }
    assert_eq!(server.events_count(&token, &id).await, count);
}

// A payment that fails after its retries cancels the order (README ›
// Webhooks, the payments rule).
#[tokio::test]
async fn a_payment_failing_three_times_cancels_the_order_and_a_refund_is_recorded() {
    let server = start_stack(&[]);
    let token = token("acme", Role::Manager);
    let order = server
        .place(&token, &checkout_body("cus_1", "shipping"))
        .await;
    let (id, public) = (str_of(&order, "id"), str_of(&order, "public_id"));
    for n in 1..=2 {
        let failed = server
            .stripe(
                &format!("evt_fail_{n}"),
                "payment_intent.payment_failed",
                id,
            )
            .await;
        assert_eq!(
            outcome(&failed)["status"],
            "pending",
            "attempt {n} keeps the order open"
        );
    }
    let view = server.track(public).await.expect(200).clone();
    assert!(
        str_of(&view["payment"], "message").contains("did not go through"),
        "{view}"
    );
    let third = server
        .stripe("evt_fail_3", "payment_intent.payment_failed", id)
        .await;
    assert_eq!(outcome(&third)["status"], "cancelled");

    let refunded = server.stripe("evt_refund", "charge.refunded", id).await;
    assert_eq!(outcome(&refunded)["outcome"], "recorded");
    let order = server.order(&token, id).await;
    assert_eq!(order["payment"]["status"], "refunded");
    assert_eq!(order["payment"]["failures"], 3);
    assert_eq!(order["payment"]["amount_refunded"], 5197);
}

#[tokio::test]
async fn several_packages_roll_up_to_the_order_and_exceptions_reach_staff() {
    let server = start_stack(&[]);
    let token = token("acme", Role::Manager);
    let (id, public) = shipped(&server, &token, Some("1ZPKG0001")).await;
    server
        .post_raw(
            &format!("/orders/{id}/shipments"),
            &token,
            &json!({ "carrier": "UPS", "code": "1ZPKG0002" }).to_string(),
        )
        .await
        .expect(200);
    let now = Utc::now();
    server
        .easypost(
            "evt_a",
            "1ZPKG0001",
            "delivered",
            now - Duration::seconds(2),
        )
        .await
        .expect(200);
    let view = server.track(&public).await.expect(200).clone();
    assert_eq!(view["status"], "shipped", "one package is still on its way");
    assert!(
        str_of(&view, "message").contains("1 of 2 packages delivered"),
        "{view}"
    );

    let attempt = server
        .easypost("evt_b1", "1ZPKG0002", "failure", now - Duration::seconds(1))
        .await;
    attempt.expect(200);
    let order = server.order(&token, &id).await;
    assert!(
        order["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "delivery_exception"),
        "staff see the exception: {order}"
    );
    let view = server.track(&public).await.expect(200).clone();
    let message = str_of(&view["shipments"][1], "message");
    assert!(message.contains("could not deliver"), "{message}");

    server
        .easypost("evt_b2", "1ZPKG0002", "delivered", now)
        .await
        .expect(200);
    assert_eq!(
        server.track(&public).await.expect(200)["status"],
        "delivered"
    );
}

// ---------------------------------------------------------------------------
// Tenancy: each tenant's provider accounts reach that tenant's orders only.
// ---------------------------------------------------------------------------

/// Acme and globex ship with the same code (globex in lower case): the
/// carrier's news on each tenant's endpoint reaches that tenant's order
/// only, whichever shipped last.
#[tokio::test]
async fn two_tenants_with_the_same_code_each_get_only_their_own_news() {
    let server = start_stack(&[]);
    let acme = token("acme", Role::Manager);
    let globex = token("globex", Role::Manager);
    let (ours, our_public) = shipped(&server, &acme, Some("1ZAAA111")).await;
    let (theirs, their_public) = shipped(&server, &globex, Some("1zaaa111")).await;

    let at = Utc::now() - Duration::minutes(5);
    let scan = server
        .easypost("evt_acme_1", "1ZAAA111", "delivered", at)
        .await;
    assert_eq!(outcome(&scan)["status"], "delivered");
    assert_eq!(server.order(&acme, &ours).await["status"], "delivered");
    let untouched = server.order(&globex, &theirs).await;
    assert_eq!(untouched["status"], "shipped");
    assert_eq!(untouched["version"], 3, "nothing written to globex's order");
    let their_view = server.track(&their_public).await.expect(200).clone();
    assert!(
        !their_view.to_string().contains("UPS: delivered"),
        "globex never sees acme's carrier messages: {their_view}"
    );

    let scan = server
        .easypost_to(
            "/webhooks/globex/carrier/easypost",
            GLOBEX_EASYPOST,
            "evt_globex_1",
            "1ZAAA111",
            "in_transit",
            at,
        )
        .await;
    assert_eq!(outcome(&scan)["status"], "in_transit");
    assert_eq!(server.order(&globex, &theirs).await["status"], "in_transit");
    assert_eq!(server.order(&acme, &ours).await["status"], "delivered");
    assert_eq!(
        server.track(&our_public).await.expect(200)["status"],
        "delivered"
    );
}

/// A request signed with acme's secret is refused on globex's endpoint (and
/// the other way round), and a tenant that has not connected a provider has
/// no endpoint for it: nothing is stored either way.
#[tokio::test]
async fn a_tenants_secret_never_verifies_another_tenants_endpoint() {
    let server = start_stack(&[]);
    let globex = token("globex", Role::Manager);
    let (theirs, _) = shipped(&server, &globex, Some("1ZBBB222")).await;
    let at = Utc::now();
    for (path, secret) in [
        ("/webhooks/globex/carrier/easypost", EASYPOST),
        ("/webhooks/acme/carrier/easypost", GLOBEX_EASYPOST),
    ] {
        let refused = server
            .easypost_to(path, secret, "evt_cross", "1ZBBB222", "delivered", at)
            .await;
        assert_eq!(refused.problem(401)["title"], "Bad signature");
    }
    for path in [
        "/webhooks/globex/payment/stripe",
        "/webhooks/initech/carrier/easypost",
    ] {
        server
            .easypost_to(path, EASYPOST, "evt_none", "1ZBBB222", "delivered", at)
            .await
            .problem(404);
    }
    let view = server.order(&globex, &theirs).await;
    assert_eq!(
        (view["status"].as_str(), view["version"].as_u64()),
        (Some("shipped"), Some(3))
    );
}

/// The single-secret URLs of earlier releases keep working during a
/// migration, for the one tenant `WEBHOOK_LEGACY_TENANT` names; without it
/// they are off.
#[tokio::test]
async fn single_secret_urls_serve_only_the_legacy_tenant() {
    const OLD: &str = "the-old-shared-secret";
    let legacy = [
        ("WEBHOOK_SECRET_EASYPOST", OLD),
        ("WEBHOOK_LEGACY_TENANT", "acme"),
    ];
    let server = start_stack_with(&[], &legacy);
    let acme = token("acme", Role::Manager);
    let globex = token("globex", Role::Manager);
    let (ours, _) = shipped(&server, &acme, Some("1ZOLD1")).await;
    let (theirs, _) = shipped(&server, &globex, Some("1ZOLD1")).await;
    let path = "/webhooks/carrier/easypost";
    let at = Utc::now();
    let scan = server
        .easypost_to(path, OLD, "evt_old_1", "1ZOLD1", "delivered", at)
        .await;
    assert_eq!(outcome(&scan)["status"], "delivered");
    assert_eq!(server.order(&acme, &ours).await["status"], "delivered");
    assert_eq!(server.order(&globex, &theirs).await["status"], "shipped");

    let off = start_stack_with(&[], &legacy[..1]);
    off.easypost_to(path, OLD, "evt_old_2", "1ZOLD1", "delivered", at)
        .await
        .problem(404);
}
