//! Staff clicking at the same time: a stale `expected_version` is a 409, and
//! a burst of identical transitions has exactly one winner and a legal log.

use crate::common::*;
use order_core::auth::Role;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Optimistic concurrency
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stale_expected_version_is_a_409_with_the_current_version() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    server
        .advance(&manager, id, "confirmed", json!({ "expected_version": 1 }))
        .await;

    let stale = server
        .transition(
            &manager,
            id,
            json!({ "to": "packing", "expected_version": 1 }),
        )
        .await;
    let problem = stale.problem(409);
    assert_eq!(problem["current_version"], 2, "{problem}");
    assert_eq!(
        server.order(&manager, id).await["version"],
        2,
        "a 409 writes nothing"
    );

    let ok = server
        .advance(&manager, id, "packing", json!({ "expected_version": 2 }))
        .await;
    assert_eq!(ok["version"], 3);
    assert_eq!(ok["status"], "packing");
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

/// Fires `n` identical transitions at once and returns each status and body;
/// every refusal must be a problem document.
async fn race(server: &Server, token: &str, id: &str, body: Value, n: usize) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let request = server
                .http
                .post(server.url(&format!("/orders/{id}/transitions")))
                .bearer_auth(token)
                .json(&body);
            tokio::spawn(async move {
                let response = request.send().await.expect("request reaches the stack");
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body: Value = response.json().await.expect("JSON body");
                if status != 200 {
                    assert_eq!(
                        content_type, "application/problem+json",
                        "status {status}: {body}"
                    );
                }
                (status, body)
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    results
}

fn statuses(results: &[(u16, Value)]) -> Vec<u16> {
    results.iter().map(|(s, _)| *s).collect()
}

/// The log is legal: seq and version go 1, 2, 3… and the only status change
/// is pending → confirmed.
async fn assert_single_confirmation(server: &Server, token: &str, id: &str) {
    let events = server.events(token, id).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(seqs, expected);
    assert_eq!(versions, expected);
    let moves: Vec<(&Value, &Value)> = events
        .iter()
        .filter(|e| e["kind"] == "status_fact")
        .map(|e| (&e["data"]["from"], &e["data"]["target"]))
        .collect();
    assert_eq!(
        moves,
        vec![(&json!("pending"), &json!("confirmed"))],
        "{events:?}"
    );
    let order = server.order(token, id).await;
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["version"], 2);
}

#[tokio::test]
async fn concurrent_transitions_with_expected_version_have_one_winner() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");

    let results = race(
        &server,
        &manager,
        id,
        json!({ "to": "confirmed", "expected_version": 1 }),
        20,
    )
    .await;
    let statuses = statuses(&results);
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 409)),
        "{statuses:?}"
    );
    for (_, problem) in results.iter().filter(|(s, _)| *s == 409) {
        assert_eq!(problem["current_version"], 2, "{problem}");
    }
    assert_single_confirmation(&server, &manager, id).await;
}

#[tokio::test]
async fn concurrent_transitions_without_expected_version_have_one_winner() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");

    let results = race(&server, &manager, id, json!({ "to": "confirmed" }), 20).await;
    let statuses = statuses(&results);
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 409)),
        "every loser of the race should get a 409: {statuses:?}"
    );
    for (_, problem) in results.iter().filter(|(s, _)| *s == 409) {
        assert_eq!(problem["current_status"], "confirmed", "{problem}");
        assert_eq!(problem["current_version"], 2, "{problem}");
    }
    assert_single_confirmation(&server, &manager, id).await;
}
