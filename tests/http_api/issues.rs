//! Order issues (seed 004) and payment problems (seed 003), black box:
//! opened by staff or by a failed payment, acknowledged, assigned and
//! resolved, each an event; one winner when two people click at once; the
//! health view most severe first; the sweep flagging an issue nobody
//! acknowledged in time.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use order_core::auth::Role;

const STRIPE: &str = "stripe-issue-secret";

async fn open(server: &Server, token: &str, id: &str, body: Value) -> Resp {
    let path = format!("/orders/{id}/issues");
    server
        .call(Method::POST, &path, Some(token), Some(&body))
        .await
}

async fn step(server: &Server, token: &str, id: &str, issue: &str, body: Value) -> Resp {
    let path = format!("/orders/{id}/issues/{issue}");
    server
        .call(Method::POST, &path, Some(token), Some(&body))
        .await
}

fn damaged(severity: &str) -> Value {
    json!({"kind": "damaged", "severity": severity, "summary": "the lamp arrived cracked"})
}

#[tokio::test]
async fn staff_open_acknowledge_assign_and_resolve_an_issue_each_an_event() {
    let server = start();
    let staff = token("acme", Role::Staff);
    let order = server
        .place(&staff, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");

    let opened = open(&server, &staff, id, damaged("high")).await;
    let view = opened.expect(201);
    let issue = view["issues"][0].clone();
    assert_eq!(
        (
            &issue["kind"],
            &issue["severity"],
            &issue["state"],
            &issue["opened_by"]
        ),
        (
            &json!("damaged"),
            &json!("high"),
            &json!("open"),
            &json!("staff")
        )
    );
    let issue_id = issue["issue_id"].as_str().unwrap().to_string();
    let listed = server.list(&staff, &[]).await;
    assert_eq!(listed.expect(200)["orders"][0]["issue"], "high");

    step(
        &server,
        &staff,
        id,
        &issue_id,
        json!({"step": "acknowledged"}),
    )
    .await
    .expect(200);
    let assigned = step(
        &server,
        &staff,
        id,
        &issue_id,
        json!({"step": "assigned", "assignee": "ana"}),
    )
    .await;
    assert_eq!(assigned.expect(200)["issues"][0]["assignee"], "ana");
    let resolved = step(
        &server,
        &staff,
        id,
        &issue_id,
        json!({"step": "resolved", "resolution": "replacement sent"}),
    )
    .await;
    let view = resolved.expect(200);
    assert_eq!(view["issues"][0]["state"], "resolved");
    assert!(view.get("issue").is_none());

    // Each step is in the audit log, by whom.
    let steps: Vec<Value> = server
        .events(&staff, id)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "issue")
        .map(|e| e["data"]["step"].clone())
        .collect();
    assert_eq!(steps, ["opened", "acknowledged", "assigned", "resolved"]);

    // A resolved issue takes no more steps; bad input changes nothing.
    let again = step(
        &server,
        &staff,
        id,
        &issue_id,
        json!({"step": "acknowledged"}),
    )
    .await;
    assert_eq!(
        again.problem(409)["current_version"],
        5,
        "the caller is behind"
    );
    step(
        &server,
        &staff,
        id,
        "iss_nope",
        json!({"step": "acknowledged"}),
    )
    .await
    .problem(404);
    open(
        &server,
        &staff,
        id,
        json!({"kind": "bent", "severity": "high", "summary": "x"}),
    )
    .await
    .problem(400);
    open(
        &server,
        &staff,
        id,
        json!({"kind": "late", "severity": "high", "summary": " "}),
    )
    .await
    .problem(400);
    let version = server.order(&staff, id).await["version"].clone();
    assert_eq!(version, 5, "only the four steps were written");
    // Another tenant's order is not found.
    let globex = token("globex", Role::Staff);
    open(&server, &globex, id, damaged("low"))
        .await
        .problem(404);
}

#[tokio::test]
async fn of_two_people_acknowledging_at_once_one_wins_and_the_other_gets_409() {
    let server = start();
    let staff = token("acme", Role::Staff);
    let order = server
        .place(&staff, &checkout_body("cus_1", "pickup"))
        .await;
    let id = str_of(&order, "id");
    let view = open(&server, &staff, id, damaged("critical")).await;
    let issue_id = view.expect(201)["issues"][0]["issue_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Eight clicks at once, each on its own task.
    let clicks: Vec<_> = (0..8)
        .map(|_| {
            let request = server
                .http
                .post(server.url(&format!("/orders/{id}/issues/{issue_id}")))
                .bearer_auth(&staff)
                .json(&json!({"step": "acknowledged"}));
            tokio::spawn(async move {
                request
                    .send()
                    .await
                    .expect("reaches the stack")
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for click in clicks {
        statuses.push(click.await.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "the others lost a race: {statuses:?}"
    );
    let acks = server
        .events(&staff, id)
        .await
        .into_iter()
        .filter(|e| e["data"]["step"] == "acknowledged")
        .count();
    assert_eq!(acks, 1);
}

#[tokio::test]
async fn a_failed_payment_opens_an_issue_and_lists_among_payment_problems() {
    let secrets = json!({ "acme": { "stripe": STRIPE } }).to_string();
    let tenants = json!({"tenants": {"acme": {"issue_ack_minutes": {"high": 0}}}});
    let server = start_with(&[], &[("WEBHOOK_SECRETS", &secrets)], Some(tenants));
    let manager = token("acme", Role::Manager);
    let failing = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let calm = server
        .place(&manager, &checkout_body("cus_2", "shipping"))
        .await;
    let minor = server
        .place(&manager, &checkout_body("cus_3", "shipping"))
        .await;
    open(&server, &manager, str_of(&minor, "id"), damaged("low"))
        .await
        .expect(201);
    let id = str_of(&failing, "id");
    for attempt in ["evt_f1", "evt_f2"] {
        let body = json!({
            "id": attempt, "object": "event", "type": "payment_intent.payment_failed",
            "created": chrono::Utc::now().timestamp(),
            "data": { "object": {
                "id": "pi_1", "object": "payment_intent", "amount": 5197, "currency": "cad",
                "metadata": { "order_id": id },
                "last_payment_error": { "message": "Your card was declined." }
            } }
        })
        .to_string();
        server
            .signed_webhook("/webhooks/acme/payment/stripe", STRIPE, &body)
            .await
            .expect(200);
    }
    let order = server.order(&manager, id).await;
    let issues = order["issues"].as_array().unwrap();
    assert_eq!(
        issues.len(),
        1,
        "one issue however often it fails: {issues:?}"
    );
    assert_eq!(issues[0]["kind"], "payment_problem");
    assert_eq!(issues[0]["summary"], "Your card was declined.");
    assert_eq!(issues[0]["opened_by"], "payment:stripe");

    assert_eq!(
        server.list_ids(&manager, &[("payment", "failed")]).await,
        [id.to_string()]
    );
    let pending = server.list_ids(&manager, &[("payment", "pending")]).await;
    assert!(pending.contains(&str_of(&calm, "id").to_string()));
    assert!(!pending.contains(&id.to_string()));
    server
        .list(&manager, &[("payment", "bounced")])
        .await
        .problem(400);

    // The tenant gives high issues no time: the sweep flags it, and the
    // health view puts it before the low one.
    server
        .call(Method::POST, "/admin/sweep", Some(&manager), None)
        .await
        .expect(200);
    let health = server.get("/admin/health", &manager).await;
    let entries = health.expect(200)["orders"].as_array().unwrap().clone();
    let order_ids: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(order_ids, [id, str_of(&minor, "id")]);
    assert_eq!(entries[0]["severity"], "high");
    assert!(entries[0]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "needs_review" && f["suggested_actions"][0] == "acknowledge_issue"));
}
