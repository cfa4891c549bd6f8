//! End to end in headless Chromium (Debian's package, driven by
//! playwright-core from `tests/e2e/*.cjs`): an order placed, moved from
//! the staff board, and the customer's page following live without a
//! reload (screenshots of both pages land in `target/e2e/`); a board
//! narrowed to one store and its Analytics tab drawn; and text and
//! links from providers, customers and staff that try to run script on
//! either page, and never do.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use order_core::auth::Role;
use serde_json::json;

#[tokio::test]
async fn staff_move_an_order_on_the_board_and_the_customer_page_follows_live() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let second = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../e2e");
    std::fs::create_dir_all(&screenshots).unwrap();
    let screenshots_dir = screenshots.to_str().expect("a UTF-8 target dir");
    let key = order_core::notify::LinkKey::new(order_tracking::DEV_LINK_SECRET.as_bytes());
    let link = key.sign(
        str_of(&order, "public_id"),
        chrono::Utc::now() + order_core::notify::LINK_LIFETIME,
    );
    let envs = [
        ("TOKEN", manager.as_str()),
        ("MY_ORDERS", link.as_str()),
        ("ORDER_ID", str_of(&order, "id")),
        ("PUBLIC_ID", str_of(&order, "public_id")),
        ("CANCEL_PUBLIC_ID", str_of(&second, "public_id")),
        ("SCREENSHOTS", screenshots_dir),
    ];
    run_e2e(&server, "board.cjs", &envs).await;
    for page in ["board.png", "tracking.png"] {
        let size = std::fs::metadata(screenshots.join(page))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(size > 1000, "{page} screenshot saved");
    }
}

#[tokio::test]
async fn a_manager_narrows_the_board_to_a_store_acknowledges_an_issue_and_sees_the_analytics() {
    let server = start_with_tenants(json!({"tenants": {"acme": {"stores": {
        "soho": {"name": "SoHo"}, "tribeca": {"name": "Tribeca"}
    }}}}));
    let manager = token("acme", Role::Manager);
    let mut placed = Vec::new();
    for (i, store) in ["soho", "tribeca", "soho", "tribeca"].iter().enumerate() {
        let mut body = checkout_body(&format!("cus_{i}"), "kitchen");
        body["store"] = json!(store);
        let order = server.place(&manager, &body).await;
        let id = str_of(&order, "id").to_string();
        for to in ["confirmed", "preparing", "ready"] {
            server.advance(&manager, &id, to, json!({})).await;
        }
        placed.push(id);
    }
    let issue = json!({"kind": "missing_item", "severity": "critical", "summary": "no rice"});
    let path = format!("/orders/{}/issues", placed[0]);
    server
        .call(reqwest::Method::POST, &path, Some(&manager), Some(&issue))
        .await
        .expect(201);
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../e2e");
    std::fs::create_dir_all(&screenshots).unwrap();
    let envs = [
        ("TOKEN", manager.as_str()),
        ("SOHO_ORDER", placed[0].as_str()),
        ("TRIBECA_ORDER", placed[1].as_str()),
        (
            "SCREENSHOTS",
            screenshots.to_str().expect("a UTF-8 target dir"),
        ),
    ];
    run_e2e(&server, "analytics.cjs", &envs).await;
    let size = std::fs::metadata(screenshots.join("analytics.png"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(size > 1000, "analytics screenshot saved");
}

#[tokio::test]
async fn a_customer_answers_substitutions_line_by_line_on_the_tracking_page() {
    let server = start();
    let staff = token("acme", Role::Staff);
    let order = server
        .place(&staff, &checkout_body("cus_1", "local_delivery"))
        .await;
    let id = str_of(&order, "id");
    for to in [
        "store_notified",
        "store_acknowledged",
        "picking_in_progress",
    ] {
        server.advance(&staff, id, to, json!({})).await;
    }
    let proposal = json!({"lines": [
        {"sku": "MUG-01", "quantity": 1,
         "replacement": {"sku": "MUG-02", "name": "Green mug", "unit_price": 1400, "quantity": 1}},
        {"sku": "TEA-07"}
    ]});
    let path = format!("/orders/{id}/substitutions");
    server
        .call(reqwest::Method::POST, &path, Some(&staff), Some(&proposal))
        .await
        .expect(200);
    run_e2e(
        &server,
        "substitutions.cjs",
        &[("PUBLIC_ID", str_of(&order, "public_id"))],
    )
    .await;
    let amended = server.order(&staff, id).await;
    assert_eq!(amended["amended"]["total"], 1250 + 1400 + 3 * 899);
}

/// Script a provider, a customer or staff might try to slip onto a page.
const IMG: &str = r#"<img src=x onerror="window.__pwned='img'">"#;
const SCRIPT: &str = "<script>window.__pwned='script'</script>";
const SHIPPO: &str = "shippo-test-secret";
const DOORDASH: &str = "doordash-test-secret";

#[tokio::test]
async fn text_and_links_from_providers_and_people_never_run_as_script() {
    let secrets = json!({ "acme": { "shippo": SHIPPO, "doordash": DOORDASH } }).to_string();
    let server = start_with(&[], &[("WEBHOOK_SECRETS", &secrets)], None);
    let manager = token("acme", Role::Manager);

    // A local delivery: the customer named an item with markup, the store
    // proposes substitutions with some, the driver's name and car carry some.
    let mut body = checkout_body("cus_1", "local_delivery");
    body["items"][0]["name"] = json!(IMG);
    let delivery = server.place(&manager, &body).await;
    let delivery_id = str_of(&delivery, "id");
    for to in [
        "store_notified",
        "store_acknowledged",
        "picking_in_progress",
    ] {
        server.advance(&manager, delivery_id, to, json!({})).await;
    }
    let proposal = json!({ "reason": format!("Swap the bulb {SCRIPT}") });
    server
        .advance(&manager, delivery_id, "substitutions_needed", proposal)
        .await;
    let now = rfc3339(chrono::Utc::now());
    let dasher = json!({
        "event_name": "DASHER_CONFIRMED", "created_at": now,
        "external_delivery_id": delivery_id, "delivery_id": "dd_1",
        "dasher_name": SCRIPT, "dasher_vehicle_make": IMG, "dasher_vehicle_model": "Civic",
    });
    server
        .signed_webhook(
            "/webhooks/acme/delivery/doordash",
            DOORDASH,
            &dasher.to_string(),
        )
        .await
        .expect(200);

    // A parcel whose carrier tried a script link, with markup in its message.
    let parcel = server
        .place(&manager, &checkout_body("cus_2", "shipping"))
        .await;
    let parcel_id = str_of(&parcel, "id");
    server
        .advance(&manager, parcel_id, "confirmed", json!({}))
        .await;
    let tracking = json!({ "tracking": { "carrier": "UPS", "code": "1Z999AA10123456784" } });
    server
        .advance(&manager, parcel_id, "shipped", tracking)
        .await;
    let scan = json!({
        "id": "evt_hostile", "tracking_code": "1Z999AA10123456784", "carrier": "UPS",
        "status": "delivery_attempted", "occurred_at": now,
        "message": format!("{IMG}{SCRIPT}"),
        "tracking_url": "javascript:window.__pwned='link'",
    });
    server
        .signed_webhook("/webhooks/acme/carrier/shippo", SHIPPO, &scan.to_string())
        .await
        .expect(200);

    let envs = [
        ("TOKEN", manager.as_str()),
        ("DELIVERY_PUBLIC_ID", str_of(&delivery, "public_id")),
        ("PARCEL_PUBLIC_ID", str_of(&parcel, "public_id")),
        ("PARCEL_ID", parcel_id),
        ("IMG", IMG),
        ("SCRIPT", SCRIPT),
    ];
    run_e2e(&server, "hostile.cjs", &envs).await;
}

/// Runs `tests/e2e/<script>` in Node against `server` (as `BASE`) with `envs`
/// set, and fails the test with everything the script printed if it fails.
async fn run_e2e(server: &Server, script: &str, envs: &[(&str, &str)]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let mut node = Command::new("node");
    node.arg(path.join(script))
        .env("BASE", &server.base)
        .envs(envs.iter().copied());
    // The browser runs for seconds; keep the test's runtime thread free.
    let output = tokio::task::spawn_blocking(move || node.output())
        .await
        .expect("the node runner")
        .expect("node runs (scripts/test.sh installs chromium and playwright-core)");
    assert!(
        output.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
