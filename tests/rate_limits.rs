//! Rate limits of the local stack, black box (README › Rate limits): a
//! tenant's checkouts, an address's tracking reads and a tenant's webhooks
//! each held to their own bucket, answered 429 problem+json with
//! `Retry-After`, with nothing written, and nobody else's bucket touched.

mod common;

use common::*;
use order_core::auth::Role;
use serde_json::json;

fn limited() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("limits.json");
    let limits = json!({
        "per_address": {"per_second": 1000},
        "routes": [
            {"method": "POST", "path": "/orders", "per_tenant": {"per_second": 1, "burst": 3}},
            {"method": "GET", "path": "/track/*", "per_address": {"per_second": 1, "burst": 5}},
            {"method": "POST", "path": "/webhooks/*", "per_tenant": {"per_second": 1, "burst": 2}}
        ]
    });
    std::fs::write(&config, limits.to_string()).unwrap();
    let server = start_with(&["--rate-limits", config.to_str().unwrap()], &[], None);
    (server, dir)
}

fn assert_limited(resp: &Resp) {
    let problem = resp.problem(429);
    assert!(
        problem["detail"].as_str().unwrap().contains("retry after"),
        "{problem}"
    );
    let wait: u64 = resp
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
}

#[tokio::test]
async fn each_bucket_holds_its_own_traffic_and_nothing_else() {
    let (server, _dir) = limited();
    let acme = token("acme", Role::Manager);
    let mut public_id = String::new();
    for i in 0..3 {
        let placed = server
            .place(&acme, &checkout_body(&format!("cus_{i}"), "pickup"))
            .await;
        public_id = str_of(&placed, "public_id").to_string();
    }
    let fourth = server
        .checkout(&acme, &checkout_body("cus_4", "pickup"), None)
        .await;
    assert_limited(&fourth);
    assert_eq!(
        server.list_ids(&acme, &[]).await.len(),
        3,
        "the refused checkout wrote nothing"
    );
    // Another tenant's checkouts have their own bucket; reads are not checkouts.
    let globex = token("globex", Role::Manager);
    server
        .checkout(&globex, &checkout_body("cus_1", "pickup"), None)
        .await
        .expect(201);
    server.list(&acme, &[]).await.expect(200);

    for _ in 0..5 {
        server.track(&public_id).await.expect(200);
    }
    assert_limited(&server.track(&public_id).await);

    let unsigned = "{}";
    for _ in 0..2 {
        let resp = server
            .post_raw("/webhooks/acme/payment/stripe", "", unsigned)
            .await;
        resp.problem(404);
    }
    let resp = server
        .post_raw("/webhooks/acme/payment/stripe", "", unsigned)
        .await;
    assert_limited(&resp);
    let other = server
        .post_raw("/webhooks/globex/payment/stripe", "", unsigned)
        .await;
    other.problem(404);
}

#[tokio::test]
async fn without_limits_nothing_is_refused() {
    let server = start();
    let acme = token("acme", Role::Manager);
    for i in 0..20 {
        server
            .checkout(&acme, &checkout_body(&format!("cus_{i}"), "pickup"), None)
            .await
            .expect(201);
    }
}
