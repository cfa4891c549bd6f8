//! The disaster-recovery drill (README › Disaster recovery), against
//! DynamoDB Local: orders of two tenants written through the service, the
//! table restored into a new one by `scripts/restore-table.py`, which then
//! runs `order-audit` on it; every order must load as it was and check out,
//! and a restored table missing an event must not.

use std::process::{Command, Output};
use std::sync::Arc;

use order_core::auth::{Principal, Role};
use order_core::ports::{OrderStore, SystemClock};
use order_core::service::{Checkout, OrderService, TransitionRequest};
use order_core::store::DynamoStore;
use order_core::testkit::catalog;
use serde_json::json;

fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run the tests with scripts/test.sh")
}

fn manager(tenant: &str) -> Principal {
    Principal {
        tenant: tenant.into(),
        role: Role::Manager,
        subject: "m".into(),
        stores: None,
    }
}

async fn store(client: &aws_sdk_dynamodb::Client, table: &str) -> Arc<DynamoStore> {
    Arc::new(DynamoStore::new(client.clone(), table, catalog()))
}

fn restore(source: &str, target: &str) -> Output {
    let python = std::env::var("TOOLS_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/restore-table.py");
    Command::new(python)
        .arg(script)
        .args([
            "--source",
            source,
            "--target",
            target,
            "--endpoint",
            &endpoint(),
        ])
        .args(["--audit", env!("CARGO_BIN_EXE_order-audit")])
        .output()
        .expect("the restore script runs")
}

fn audit(table: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_order-audit"))
        .env("TABLE_NAME", table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint())
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_restored_table_holds_every_order_and_checks_out() {
    let config = order_core::aws::emulator_config(&endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let source = format!("orders-{}", uuid::Uuid::new_v4().simple());
    DynamoStore::create_table(&client, &source).await.unwrap();
    let service = OrderService::new(
        store(&client, &source).await,
        catalog(),
        Arc::default(),
        Arc::new(SystemClock),
    );
    let mut ids = Vec::new();
    for (tenant, moves) in [("acme", 0), ("acme", 3), ("globex", 2)] {
        let checkout: Checkout = serde_json::from_value(json!({
            "customer_id": "cus_1", "currency": "CAD", "fulfilment": "pickup",
            "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }]
        }))
        .unwrap();
        let placed = service
            .place(&manager(tenant), checkout, None)
            .await
            .unwrap();
        let id = placed.body["id"].as_str().unwrap().to_string();
        for to in ["accepted", "in_progress", "ready"].into_iter().take(moves) {
            let request = TransitionRequest {
                to: to.into(),
                reason: None,
                tracking: None,
                expected_version: None,
            };
            service
                .transition(&manager(tenant), &id, request)
                .await
                .unwrap();
        }
        ids.push(id);
    }

    let target = format!("{source}-restored");
    let drill = restore(&source, &target);
    let said = String::from_utf8_lossy(&drill.stdout);
    println!("{said}");
    assert!(
        drill.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&drill.stderr)
    );
    assert!(
        said.contains("acme: 2 orders, 5 events (0 from before the chain): intact"),
        "{said}"
    );
    assert!(
        said.contains("globex: 1 orders, 3 events (0 from before the chain): intact"),
        "{said}"
    );
    assert!(said.contains(&format!("checked {target} in")), "{said}");

    let (before, after) = (store(&client, &source).await, store(&client, &target).await);
    for id in &ids {
        let was = before.load(id).await.unwrap().unwrap().head;
        assert_eq!(after.load(id).await.unwrap().unwrap().head, was);
        assert_eq!(
            after.events(id, 0, 100).await.unwrap(),
            before.events(id, 0, 100).await.unwrap()
        );
    }

    // A restore that lost an event is not taken for a good one.
    client
        .delete_item()
        .table_name(&target)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ORDER#{}", ids[1])),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("EVENT#{:020}", 2)),
        )
        .send()
        .await
        .unwrap();
    let found = audit(&target);
    let said = String::from_utf8_lossy(&found.stdout);
    assert_eq!(found.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("{} at event", ids[1])), "{said}");
}
