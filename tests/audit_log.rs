//! The tamper-evident audit log, black box (README › Tamper-evident audit
//! log): every order's log verifies as the stack wrote it; an event changed
//! in the store's file behind the stack's back is found by the order's
//! check, the tenant's, and the `verify` command.

mod common;

use std::process::Command;

use common::*;
use order_core::auth::Role;
use serde_json::json;

#[tokio::test]
async fn an_event_changed_in_the_file_is_found_by_every_check() {
    let data = tempfile::tempdir().unwrap();
    let manager = token("acme", Role::Manager);
    let server = Launch::default().data_dir(data.path()).start();
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let id = str_of(&order, "id").to_string();
    server
        .advance_through(&manager, &id, &["accepted", "in_progress"])
        .await;
    let other = server
        .place(&manager, &checkout_body("cus_2", "pickup"))
        .await;
    let other = str_of(&other, "id").to_string();

    let events = server.events(&manager, &id).await;
    assert_eq!(events[0]["prev_hash"], "0".repeat(64));
    assert_eq!(events.len(), 3);
    let check = server
        .get(&format!("/orders/{id}/events/verify"), &manager)
        .await;
    let check = check.expect(200);
    assert_eq!(
        (check["intact"].as_bool(), check["events"].as_u64()),
        (Some(true), Some(3))
    );
    assert_eq!(
        check["last_hash"],
        server.order(&manager, &id).await["chain"]
    );
    let all = server.get("/admin/audit/verify", &manager).await;
    assert_eq!(all.expect(200)["orders"], 2);
    // Staff may check an order; the whole tenant is a manager's.
    let staff = token("acme", Role::Staff);
    server.get("/admin/audit/verify", &staff).await.problem(403);
    server
        .get(&format!("/orders/{id}/events/verify"), &staff)
        .await
        .expect(200);
    server
        .get("/orders/ord_nope/events/verify", &staff)
        .await
        .problem(404);
    drop(server);

    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_order-tracking"))
            .arg("--data-dir")
            .arg(data.path())
            .arg("verify")
            .output()
            .unwrap()
    };
    let clean = verify();
    let said = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{said}");
    assert!(
        said.contains("acme: 2 orders, 4 events (0 from before the chain): intact"),
        "{said}"
    );

    // The accepted move, said to have happened a day earlier.
    let file = rusqlite::Connection::open(data.path().join("orders.sqlite3")).unwrap();
    let body: String = file
        .query_row(
            "SELECT body FROM events WHERE order_id = ?1 AND seq = 2",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    let mut forged: serde_json::Value = serde_json::from_str(&body).unwrap();
    forged["occurred_at"] = json!("2020-01-01T00:00:00Z");
    file.execute(
        "UPDATE events SET body = ?1 WHERE order_id = ?2 AND seq = 2",
        [forged.to_string(), id.clone()],
    )
    .unwrap();
    drop(file);

    let found = verify();
    let said = String::from_utf8_lossy(&found.stdout);
    assert!(!found.status.success(), "{said}");
    assert!(said.contains(&format!("{id} at event 3")), "{said}");

    let server = Launch::default().data_dir(data.path()).start();
    let check = server
        .get(&format!("/orders/{id}/events/verify"), &manager)
        .await;
    let check = check.expect(200);
    assert_eq!(
        (check["intact"].as_bool(), check["broken_at_seq"].as_u64()),
        (Some(false), Some(3))
    );
    let all = server.get("/admin/audit/verify", &manager).await;
    let all = all.expect(200);
    assert_eq!(all["intact"], false);
    assert_eq!(all["broken"][0]["order_id"], id.as_str());
    let untouched = server
        .get(&format!("/orders/{other}/events/verify"), &manager)
        .await;
    assert_eq!(untouched.expect(200)["intact"], true);
}
