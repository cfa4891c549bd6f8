//! End to end in headless Chromium (Debian's package, driven by
//! playwright-core from `tests/e2e/board.cjs`): an order placed, moved from
//! the staff board, and the customer's page following live without a
//! reload. Screenshots of both pages land in `target/e2e/`.

mod common;

use std::process::Command;

use common::*;
use order_core::auth::Role;

#[tokio::test]
async fn staff_move_an_order_on_the_board_and_the_customer_page_follows_live() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let screenshots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../e2e");
    std::fs::create_dir_all(&screenshots).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/board.cjs");
    let output = tokio::task::spawn_blocking({
        let (base, order) = (server.base.clone(), order.clone());
        let screenshots = screenshots.clone();
        move || {
            Command::new("node")
                .arg(script)
                .env("BASE", base)
                .env("TOKEN", &manager)
                .env("ORDER_ID", str_of(&order, "id"))
                .env("PUBLIC_ID", str_of(&order, "public_id"))
                .env("SCREENSHOTS", screenshots)
                .output()
                .expect("node runs (scripts/test.sh installs chromium and playwright-core)")
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for page in ["board.png", "tracking.png"] {
        let size = std::fs::metadata(screenshots.join(page))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(size > 1000, "{page} screenshot saved");
    }
}
