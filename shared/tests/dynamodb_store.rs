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
