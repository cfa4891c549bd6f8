//! The store conformance suite on the DynamoDB adapter, against Amazon's
//! DynamoDB Local (started by `scripts/test.sh`, which sets
//! `DYNAMODB_ENDPOINT`). Each case gets a fresh table.

use std::sync::Arc;

use order_core::ports::{Commit, OrderStore};
use order_core::store::DynamoStore;
use order_core::testkit::{catalog, placed};

#[path = "dynamodb_store/layout.rs"]
mod layout;
#[path = "dynamodb_store/personal_data.rs"]
mod personal_data;

/// An item as the SDK hands it over.
type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

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
    use order_core::testkit::{catalog, shipping_snapshot};
    let store = Arc::new(fresh().await);
    let shipping = catalog().get("shipping").unwrap();
    let origin = Origin {
        source: "staff".into(),
        actor_kind: order_core::lifecycle::Actor::Manager,
        actor: None,
        external_id: None,
    };
    let now = chrono::Utc::now();
    for i in 0..202 {
        // Two placed an hour ago (past the 15-minute payment SLA), 200 just now.
        let at = if i < 2 {
            now - chrono::Duration::hours(1)
        } else {
            now
        };
        let ids = (format!("ord_{i:04}"), format!("trk_{i:04}"));
        let d = place_order(ids, "acme", shipping_snapshot("c"), &origin, &shipping, at);
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

/// The client the store was made with, for reading and writing items raw.
async fn raw_client() -> aws_sdk_dynamodb::Client {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    aws_sdk_dynamodb::Client::new(&order_core::aws::emulator_config(&endpoint).await)
}

/// A table's shape, as the template declares it or DynamoDB describes it.
#[derive(Debug, PartialEq)]
struct Shape {
    /// `(attribute, HASH | RANGE)`, in key order.
    keys: Vec<(String, String)>,
    /// `(attribute, S | N | B)`.
    attributes: std::collections::BTreeSet<(String, String)>,
    indexes: std::collections::BTreeMap<String, IndexShape>,
    billing: String,
    stream: String,
    /// The TTL attribute, if TTL is on.
    ttl: Option<String>,
}

#[derive(Debug, PartialEq)]
struct IndexShape {
    keys: Vec<(String, String)>,
    /// `KEYS_ONLY`, `INCLUDE` or `ALL`.
    projection: String,
    /// The non-key attributes an `INCLUDE` index copies.
    projected: std::collections::BTreeSet<String>,
}

/// `OrdersTable` in template.yaml. PyYAML comes with cfn-lint in the test
/// tools' Python (`TOOLS_PYTHON`, which scripts/test.sh sets): a real YAML
/// parser, so the template may use any YAML form, and no new Rust dependency.
fn template_shape() -> Shape {
    use serde_json::Value;
    const DUMP: &str = r#"
import json, sys, yaml
class Loader(yaml.SafeLoader): pass
# CloudFormation's short forms (!Ref, !If, ...) are not plain YAML; no key of
# the table's shape uses one.
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
with open(sys.argv[1]) as f:
    print(json.dumps(yaml.load(f, Loader)["Resources"]["OrdersTable"]["Properties"]))
"#;
    let python = std::env::var("TOOLS_PYTHON")
        .expect("TOOLS_PYTHON is not set: run the tests with scripts/test.sh, which installs the test tools");
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let out = std::process::Command::new(python)
        .args(["-c", DUMP, template])
        .output()
        .expect("run the tools' Python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table: Value = serde_json::from_slice(&out.stdout).expect("the dump is JSON");
    let text = |v: &Value| v.as_str().expect("a string").to_string();
    let pairs = |list: &Value, a: &str, b: &str| -> Vec<(String, String)> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|e| (text(&e[a]), text(&e[b])))
            .collect()
    };
    Shape {
        keys: pairs(&table["KeySchema"], "AttributeName", "KeyType"),
        attributes: pairs(
            &table["AttributeDefinitions"],
            "AttributeName",
            "AttributeType",
        )
        .into_iter()
        .collect(),
        indexes: table["GlobalSecondaryIndexes"]
            .as_array()
            .expect("indexes")
            .iter()
            .map(|index| {
                let projection = &index["Projection"];
                let projected = projection["NonKeyAttributes"]
                    .as_array()
                    .map(|names| names.iter().map(text).collect())
                    .unwrap_or_default();
                (
                    text(&index["IndexName"]),
                    IndexShape {
                        keys: pairs(&index["KeySchema"], "AttributeName", "KeyType"),
                        projection: text(&projection["ProjectionType"]),
                        projected,
                    },
                )
            })
            .collect(),
        billing: text(&table["BillingMode"]),
        stream: text(&table["StreamSpecification"]["StreamViewType"]),
        ttl: (table["TimeToLiveSpecification"]["Enabled"] == Value::Bool(true))
            .then(|| text(&table["TimeToLiveSpecification"]["AttributeName"])),
    }
}

/// The table `create_table` made, as DynamoDB describes it.
async fn described_shape(store: &DynamoStore) -> Shape {
    use aws_sdk_dynamodb::types::KeySchemaElement;
    let client = raw_client().await;
    let described = client
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let table = described.table().expect("a table");
    let keys = |schema: &[KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect()
    };
    let ttl = client
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    Shape {
        keys: keys(table.key_schema()),
        attributes: table
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_string(),
                    a.attribute_type().as_str().to_string(),
                )
            })
            .collect(),
        indexes: table
            .global_secondary_indexes()
            .iter()
            .map(|index| {
                let projection = index.projection().expect("a projection");
                (
                    index.index_name().expect("a name").to_string(),
                    IndexShape {
                        keys: keys(index.key_schema()),
                        projection: projection
                            .projection_type()
                            .expect("a projection type")
                            .as_str()
                            .to_string(),
                        projected: projection.non_key_attributes().iter().cloned().collect(),
                    },
                )
            })
            .collect(),
        billing: table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .expect("a billing mode")
            .as_str()
            .to_string(),
        stream: table
            .stream_specification()
            .and_then(|s| s.stream_view_type())
            .expect("a stream")
            .as_str()
            .to_string(),
        ttl: (ttl.time_to_live_status().map(|s| s.as_str()) == Some("ENABLED"))
            .then(|| ttl.attribute_name().unwrap_or_default().to_string()),
    }
}

/// The table every DynamoDB test runs on is the one the template deploys:
/// keys, attribute types, indexes with their keys and projections, billing,
/// stream and TTL. A change to one without the other fails here.
#[tokio::test]
async fn the_test_table_is_the_table_the_template_deploys() {
    let store = fresh().await;
    assert_eq!(described_shape(&store).await, template_shape());
}

/// A fact for a tracking code the tenant does not have yet waits 30 days by
/// the service's clock — the one every other time it writes comes from —
/// not by the machine's.
#[tokio::test]
async fn a_waiting_fact_expires_by_the_services_clock() {
    use chrono::TimeZone;
    use order_core::order::inbound::{Inbound, InboundFact, ShipmentNews, Subject};
    use order_core::order::ShipmentStatus;
    use order_core::service::{FactOutcome, OrderService};
    use order_core::testkit::FixedClock;
    let store = Arc::new(fresh().await);
    let now = chrono::Utc.with_ymd_and_hms(2031, 1, 1, 9, 0, 0).unwrap();
    let service = OrderService::new(
        store.clone(),
        catalog(),
        Arc::default(),
        Arc::new(FixedClock(now)),
    );
    let scan = Inbound {
        source: "carrier:easypost".into(),
        event_id: "evt_early".into(),
        occurred_at: now,
        subject: Subject::Tracking {
            code: "1ZWAIT".into(),
        },
        fact: InboundFact::Shipment(ShipmentNews {
            tracking_code: "1ZWAIT".into(),
            carrier: Some("UPS".into()),
            status: ShipmentStatus::InTransit,
            raw_status: "in_transit".into(),
            message: None,
            location: None,
            tracking_url: None,
            estimated_delivery: None,
        }),
    };
    let outcome = service.intake("acme", &scan).await.unwrap();
    assert!(matches!(outcome, FactOutcome::Unmatched), "{outcome:?}");
    let item = raw_client()
        .await
        .get_item()
        .table_name(store.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("UNMATCHED#acme|tracking:1ZWAIT".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("evt_early".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the fact waits");
    let expires = item["expires_at"].as_n().unwrap().parse::<i64>().unwrap();
    assert_eq!(
        expires,
        (now + chrono::Duration::days(30)).timestamp(),
        "30 days after the service's now"
    );
}

/// An item that does not decode is corrupt, not an outage: the caller gets
/// a 500 that says nothing about the item (not a 503 asking to retry what
/// would fail the same way), and the log gets the details.
#[tokio::test]
async fn an_item_that_does_not_decode_is_a_500_not_a_retry() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use order_core::http::Problem;
    use order_core::ports::StoreError;
    use order_core::service::{OrderService, ServiceError};
    let store = Arc::new(fresh().await);
    raw_client()
        .await
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S("ORDER#ord_bad".into()))
        .item("sk", AttributeValue::S("HEAD".into()))
        .item("public_id", AttributeValue::S("pub_bad".into()))
        .item(
            "body",
            AttributeValue::S("{\"id\": \"ord_bad\", trunc".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(matches!(
        store.load("ord_bad").await,
        Err(StoreError::Corrupt(_))
    ));
    let service = OrderService::new(
        store.clone(),
        catalog(),
        Arc::default(),
        Arc::new(order_core::ports::SystemClock),
    );
    let error = service.track("pub_bad").await.unwrap_err();
    assert!(
        matches!(error, ServiceError::Store(StoreError::Corrupt(_))),
        "{error:?}"
    );
    let problem = Problem::from(error);
    assert_eq!(problem.status.as_u16(), 500);
    assert!(
        !problem.detail.contains("ord_bad") && !problem.detail.contains("decode"),
        "the item stays in the log: {}",
        problem.detail
    );
}

#[tokio::test]
async fn a_ticket_is_redeemed_once() {
    order_core::testkit::ticket_cases::a_ticket_is_redeemed_once(Arc::new(fresh().await)).await;
}

#[tokio::test]
async fn an_expired_or_unknown_ticket_is_refused() {
    order_core::testkit::ticket_cases::an_expired_or_unknown_ticket_is_refused(Arc::new(
        fresh().await,
    ))
    .await;
}

#[tokio::test]
async fn endpoints_are_kept_per_tenant() {
    order_core::testkit::merchant_cases::endpoints_are_kept_per_tenant(Arc::new(fresh().await))
        .await;
}

#[tokio::test]
async fn a_delivery_opens_once_and_the_log_is_newest_first() {
    order_core::testkit::merchant_cases::a_delivery_opens_once_and_the_log_is_newest_first(
        Arc::new(fresh().await),
    )
    .await;
}

#[tokio::test]
async fn a_claim_is_won_once() {
    order_core::testkit::claim_cases::a_claim_is_won_once(Arc::new(fresh().await)).await;
}

/// A commit carries a request token derived from it: sent again (a caller
/// retrying after a timeout whose write went through) it is recognised as
/// the write it was; another decision at the same version is still refused.
#[tokio::test]
async fn the_same_commit_sent_again_is_recognised_not_refused() {
    use order_core::ports::StoreError;
    let store = fresh().await;
    let d = placed("acme", "cus_1", 0);
    let id = d.head.id.clone();
    store.commit(&Commit::of(d)).await.unwrap();
    let loaded = store.load(&id).await.unwrap().unwrap();
    let accept = |loaded: &order_core::ports::Loaded| {
        order_core::testkit::fixtures::staff_move(loaded, "confirmed", 1)
    };
    let commit = Commit::of(accept(&loaded));
    store.commit(&commit).await.unwrap();
    store
        .commit(&commit)
        .await
        .expect("the same write, recognised");
    let again = store.commit(&Commit::of(accept(&loaded))).await;
    assert!(
        matches!(again, Err(StoreError::VersionConflict { current: 2, .. })),
        "{again:?}"
    );
    assert_eq!(store.events(&id, 0, 10).await.unwrap().len(), 2);
}

/// The log's hash chain read back from the table: intact as written, and an
/// event item rewritten behind the service's back found, for the order and
/// for its tenant.
#[tokio::test]
async fn an_event_item_rewritten_in_the_table_breaks_the_chain() {
    use order_core::auth::{Principal, Role};
    use order_core::ports::SystemClock;
    use order_core::service::OrderService;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT");
    let client = aws_sdk_dynamodb::Client::new(&order_core::aws::emulator_config(&endpoint).await);
    let table = format!("orders-{}", uuid::Uuid::new_v4().simple());
    DynamoStore::create_table(&client, &table).await.unwrap();
    let store = Arc::new(DynamoStore::new(client.clone(), &table, catalog()));
    let d = placed("acme", "cus_1", 0);
    let id = d.head.id.clone();
    store.commit(&Commit::of(d)).await.unwrap();
    let loaded = store.load(&id).await.unwrap().unwrap();
    let moved = order_core::testkit::fixtures::staff_move(&loaded, "confirmed", 1);
    store.commit(&Commit::of(moved)).await.unwrap();
    let service = OrderService::new(store, catalog(), Arc::default(), Arc::new(SystemClock));
    let owner = Principal {
        tenant: "acme".into(),
        role: Role::Owner,
        subject: "o".into(),
        stores: None,
    };
    let whole = service.verify_order(&owner, &id).await.unwrap();
    assert!(whole.intact, "{whole:?}");
    assert_eq!((whole.events, whole.unchained), (2, 0));

    let key = |sk: String| {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        [
            ("pk".to_string(), S(format!("ORDER#{id}"))),
            ("sk".to_string(), S(sk)),
        ]
    };
    let [pk, sk] = key(format!("EVENT#{:020}", 1));
    let item = client
        .get_item()
        .table_name(&table)
        .key(pk.0, pk.1)
        .key(sk.0, sk.1)
        .send()
        .await
        .unwrap()
        .item
        .expect("the first event item");
    let mut body: serde_json::Value = serde_json::from_str(item["body"].as_s().unwrap()).unwrap();
    body["occurred_at"] = serde_json::json!("2020-01-01T00:00:00Z");
    let mut forged: Item = item.clone();
    forged.insert(
        "body".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(body.to_string()),
    );
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(forged))
        .send()
        .await
        .unwrap();

    let broken = service.verify_order(&owner, &id).await.unwrap();
    assert!(!broken.intact);
    assert_eq!(broken.broken_at_seq, Some(2), "{broken:?}");
    let tenant = service.verify_tenant(&owner).await.unwrap();
    assert!(!tenant.intact);
    assert_eq!(tenant.orders, 1);
    assert_eq!(tenant.broken[0].order_id, id);
}
