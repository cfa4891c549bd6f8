//! The store conformance suite on the DynamoDB adapter, against Amazon's
//! DynamoDB Local (started by `scripts/test.sh`, which sets
//! `DYNAMODB_ENDPOINT`). Each case gets a fresh table.

use std::sync::Arc;

use order_core::ports::{Commit, OrderStore};
use order_core::store::conformance::{catalog, placed};
use order_core::store::DynamoStore;

async fn fresh() -> DynamoStore {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run the tests with scripts/test.sh, which starts DynamoDB Local");
    let config = order_core::aws::emulator_config(&endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("orders-{}", uuid::Uuid::new_v4().simple());
    DynamoStore::create_table(&client, &table)
        .await
        .expect("create table");
    DynamoStore::new(client, table, catalog())
}

order_core::store_conformance_suite!(async { Arc::new(fresh().await) });

/// Consumed capacity is reported per request, so costs can be measured.
#[tokio::test]
async fn capacity_is_accounted_per_request() {
    let store = fresh().await;
    let d = placed("acme", "cus_1", 0);
    let id = d.head.id.clone();
    store.commit(&Commit::of(d)).await.unwrap();
    store.load(&id).await.unwrap().expect("stored");
    let (requests, read, write) = store.usage().totals();
    assert_eq!(requests, 2);
    assert!(
        write >= 2.0,
        "a head and an event written transactionally: {write} WCU"
    );
    assert!(read > 0.0, "one consistent query: {read} RCU");
}

/// The sweep's reads on DynamoDB grow with the overdue orders, not the table.
#[tokio::test]
async fn a_sweep_reads_capacity_for_the_overdue_orders_only() {
    use order_core::order::decide::{place_order, Origin};
    use order_core::ports::SystemClock;
    use order_core::service::OrderService;
    use order_core::store::conformance::catalog;
    let store = Arc::new(fresh().await);
    let shipping = catalog().get("shipping").unwrap();
    let origin = Origin {
        source: "staff".into(),
        actor_kind: order_core::lifecycle::Actor::Manager,
        actor: None,
        external_id: None,
    };
    let snapshot = |d: &order_core::order::decide::Decision| match &d.events[0].body {
        order_core::order::EventBody::OrderPlaced(p) => p.as_ref().clone(),
        _ => unreachable!(),
    };
    let template = placed("acme", "c", 0);
    let now = chrono::Utc::now();
    for i in 0..202 {
        // Two placed an hour ago (past the 15-minute payment SLA), 200 just now.
        let at = if i < 2 {
            now - chrono::Duration::hours(1)
        } else {
            now
        };
        let ids = (format!("ord_{i:04}"), format!("trk_{i:04}"));
        let d = place_order(ids, "acme", snapshot(&template), &origin, &shipping, at);
        store.commit(&Commit::of(d)).await.unwrap();
    }
    let service = OrderService::new(
        store.clone(),
        catalog(),
        Arc::default(),
        Arc::new(SystemClock),
    );
    let (_, read_before, _) = store.usage().totals();
    let report = service.sweep(100).await.unwrap();
    let (_, read_after, _) = store.usage().totals();
    assert_eq!((report.read, report.orders_flagged), (2, 2));
    let units = read_after - read_before;
    assert!(units < 20.0, "{units} RCU for 2 overdue orders among 202");
}

/// A table written before tracking codes were kept per tenant holds one
/// global pointer per code. It is still offered as a candidate, to the
/// tenant look-up only: the service applies a fact through it only to an
/// order of the webhook's tenant.
#[tokio::test]
async fn an_older_global_tracking_pointer_is_still_found() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let store = fresh().await;
    let d = placed("acme", "cus_1", 0);
    let id = d.head.id.clone();
    store.commit(&Commit::of(d)).await.unwrap();
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let config = order_core::aws::emulator_config(&endpoint).await;
    aws_sdk_dynamodb::Client::new(&config)
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S("TRACKING#1ZOLD".into()))
        .item("sk", AttributeValue::S("TRACKING".into()))
        .item("order_id", AttributeValue::S(id.clone()))
        .send()
        .await
        .unwrap();
    let links = store.find_by_tracking("acme", "1ZOLD").await.unwrap();
    assert_eq!(
        links
            .iter()
            .map(|l| l.order_id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );
}
