//! Lifecycle versions on the running stack (README › Lifecycle versions):
//! a tenant's new definition takes new orders while orders in flight keep
//! the version they were placed under; a start that would strand them is
//! refused; moving them onto the new version happens only when every one
//! has a place in it, and then all move.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use order_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

const KITCHEN: &str = include_str!("../shared/lifecycles/kitchen.json");

/// The kitchen preset as the tenant's own `my_kitchen`, at `version`;
/// from version 2 `preparing` is called `cooking`, and `migrate_from` says
/// (or not) where orders still preparing go.
fn definition(version: u32, migrate: Option<Value>) -> String {
    let text = KITCHEN.replace("\"kitchen\"", "\"my_kitchen\"");
    let text = match version {
        1 => text,
        _ => text.replace("\"preparing\"", "\"cooking\""),
    };
    let mut def: Value = serde_json::from_str(&text).unwrap();
    def["version"] = json!(version);
    if let Some(migrate) = migrate {
        def["migrate_from"] = migrate;
    }
    def.to_string()
}

fn stack(data: &Path, lifecycles: &Path) -> Server {
    Launch::default()
        .data_dir(data)
        .args(&["--lifecycles", lifecycles.to_str().unwrap()])
        .tenants(json!({"tenants": {"acme": {"lifecycles": {"kitchen": "my_kitchen"}}}}))
        .start()
}

async fn migration(server: &Server, token: &str, method: Method) -> Resp {
    let path = "/admin/lifecycles/my_kitchen/migration";
    server.call(method, path, Some(token), None).await
}

#[tokio::test]
async fn orders_keep_their_version_and_move_only_when_none_is_stranded() {
    let data = tempfile::tempdir().unwrap();
    let defs = tempfile::tempdir().unwrap();
    let v1 = defs.path().join("my_kitchen.json");
    let v2 = defs.path().join("my_kitchen.v2.json");
    std::fs::write(&v1, definition(1, None)).unwrap();
    let owner = token("acme", Role::Owner);

    // Under version 1: an order is being prepared, another is ready.
    let first = stack(data.path(), defs.path());
    let preparing = first
        .place(&owner, &checkout_body("cus_1", "kitchen"))
        .await;
    let preparing = str_of(&preparing, "id").to_string();
    let ready = first
        .place(&owner, &checkout_body("cus_2", "kitchen"))
        .await;
    let ready = str_of(&ready, "id").to_string();
    for to in ["confirmed", "preparing"] {
        first.advance(&owner, &preparing, to, json!({})).await;
        first.advance(&owner, &ready, to, json!({})).await;
    }
    first.advance(&owner, &ready, "ready", json!({})).await;
    assert_eq!(
        first.order(&owner, &preparing).await["lifecycle"],
        "my_kitchen"
    );
    drop(first);

    // Version 2 alone would strand them: the stack will not start.
    std::fs::remove_file(&v1).unwrap();
    std::fs::write(&v2, definition(2, None)).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_order-tracking"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--lifecycles")
        .arg(defs.path())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("my_kitchen") && why.contains("--lifecycles"),
        "{why}"
    );

    // Both versions: new orders take version 2, the old ones keep version 1.
    std::fs::write(&v1, definition(1, None)).unwrap();
    let second = stack(data.path(), defs.path());
    let new = second
        .place(&owner, &checkout_body("cus_3", "kitchen"))
        .await;
    assert_eq!(new["lifecycle"], "my_kitchen@2");
    let new_id = str_of(&new, "id");
    second.advance(&owner, new_id, "confirmed", json!({})).await;
    second.advance(&owner, new_id, "cooking", json!({})).await;
    let old = second.order(&owner, &preparing).await;
    assert_eq!(
        (&old["lifecycle"], &old["status"]),
        (&json!("my_kitchen"), &json!("preparing"))
    );

    // Moving them: `preparing` has no place in version 2 — nothing moves.
    let report = migration(&second, &owner, Method::GET).await;
    let report = report.expect(200).clone();
    assert_eq!(report["to"], "my_kitchen@2");
    assert_eq!(report["stranded"], 1);
    let becomes: Vec<(Value, Value)> = report["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["order_id"].clone(), o["becomes"].clone()))
        .collect();
    assert!(becomes.contains(&(json!(preparing), Value::Null)));
    assert!(becomes.contains(&(json!(ready), json!("ready"))));
    let refused = migration(&second, &owner, Method::POST).await;
    assert!(refused.problem(400)["detail"]
        .as_str()
        .unwrap()
        .contains(&preparing));
    assert_eq!(
        second.order(&owner, &ready).await["lifecycle"],
        "my_kitchen"
    );
    migration(&second, &token("acme", Role::Manager), Method::POST)
        .await
        .problem(403);
    drop(second);

    // Version 2 says where they go: all move, their history intact.
    std::fs::write(&v2, definition(2, Some(json!({"preparing": "cooking"})))).unwrap();
    let third = stack(data.path(), defs.path());
    let moved = migration(&third, &owner, Method::POST).await;
    assert_eq!(moved.expect(200)["migrated"], 2);
    let order = third.order(&owner, &preparing).await;
    assert_eq!(
        (&order["lifecycle"], &order["status"]),
        (&json!("my_kitchen@2"), &json!("cooking"))
    );
    third.advance(&owner, &preparing, "ready", json!({})).await;
    let log = third.events(&owner, &preparing).await;
    let migrated = log
        .iter()
        .find(|e| e["kind"] == "lifecycle_migrated")
        .unwrap();
    assert_eq!(
        (&migrated["data"]["from"], &migrated["data"]["to_state"]),
        (&json!("my_kitchen"), &json!("cooking"))
    );
    assert_eq!(third.order(&owner, &ready).await["status"], "ready");
    // Nothing left behind: a second run moves nothing.
    let again = migration(&third, &owner, Method::POST).await;
    assert_eq!(again.expect(200)["orders"], json!([]));
}
