//! Requesting drivers from delivery partners (seed 004), against fake
//! DoorDash Drive– and Uber Direct–shaped servers on loopback: an order
//! ready for a driver asks the tenant's first partner, which has no
//! drivers — asked again, then the next partner takes it; cancelling the
//! order cancels that delivery; when no partner takes it, staff get a
//! delivery issue.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{post, put};
use axum::{Json, Router};
use base64::Engine as _;
use common::*;
use order_core::auth::Role;
use order_core::http::ApiPath;
use reqwest::Method;
use serde_json::{json, Value};

/// DoorDash's signing secret, base64url as DoorDash hands it out.
const DD_SECRET: &str = "c2VjcmV0LWZvci10ZXN0cw";

/// What the fake partners were sent: (partner, path, authorization, body).
type Calls = Arc<Mutex<Vec<(String, String, String, Value)>>>;

fn log(calls: &Calls, partner: &str, path: String, headers: &HeaderMap, body: Value) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    calls
        .lock()
        .unwrap()
        .push((partner.into(), path, auth, body));
}

/// DoorDash never has a Dasher free; Uber always has a courier.
async fn fake_partners() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let app = Router::new()
        .route(
            "/drive/v2/deliveries",
            post(|State(calls): State<Calls>, headers: HeaderMap, Json(body): Json<Value>| async move {
                log(&calls, "doordash", "create".into(), &headers, body);
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"code": "no_available_dashers", "message": "no Dashers nearby"})),
                )
            }),
        )
        .route(
            "/drive/v2/deliveries/{id}/cancel",
            put(|State(calls): State<Calls>, ApiPath(id): ApiPath<String>, headers: HeaderMap| async move {
                log(&calls, "doordash", format!("cancel {id}"), &headers, Value::Null);
                Json(json!({}))
            }),
        )
        .route(
            "/v1/customers/{customer}/deliveries",
            post(|State(calls): State<Calls>, headers: HeaderMap, Json(body): Json<Value>| async move {
                log(&calls, "uber", "create".into(), &headers, body);
                Json(json!({"id": "del_uber_1", "status": "pending",
                            "tracking_url": "https://track.example/del_uber_1"}))
            }),
        )
        .route(
            "/v1/customers/{customer}/deliveries/{id}/cancel",
            post(|State(calls): State<Calls>, ApiPath((_, id)): ApiPath<(String, String)>, headers: HeaderMap| async move {
                log(&calls, "uber", format!("cancel {id}"), &headers, Value::Null);
                Json(json!({"id": id, "status": "canceled"}))
            }),
        )
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, calls)
}

fn stack(base: &str) -> Server {
    let partners = json!({
        "acme": {
            "doordash": {"url": base, "developer_id": "dev_1", "key_id": "key_1", "signing_secret": DD_SECRET},
            "uber": {"url": base, "customer_id": "cust_1", "token": "uber-token"}
        },
        "globex": {
            "doordash": {"url": base, "developer_id": "dev_2", "key_id": "key_2", "signing_secret": DD_SECRET}
        }
    })
    .to_string();
    let store = json!({"name": "Acme Market", "address": "10 Queen St W, Toronto", "phone": "+14165550100"});
    let tenants = json!({"tenants": {
        "acme": {"stores": {"main": store},
                 "dispatch": {"partners": ["doordash", "uber"], "attempts": 2, "backoff_seconds": 0}},
        "globex": {"dispatch": {"partners": ["doordash"], "attempts": 1}}
    }});
    Launch::default()
        .args(&["--delivery-partners", &partners])
        .tenants(tenants)
        .start()
}

/// A local delivery order of `tenant`, moved to ready for a driver.
async fn ready(server: &Server, tenant: &str) -> (String, String) {
    let staff = token(tenant, Role::Manager);
    let states = [
        "store_notified",
        "store_acknowledged",
        "picking_in_progress",
        "ready_for_pickup",
    ];
    let order = server.local_delivery(&staff, "cus_1", &states).await;
    let id = str_of(&order, "id").to_string();
    (id, staff)
}

#[tokio::test]
async fn a_partner_without_drivers_is_asked_again_then_the_next_one_takes_it() {
    let (base, calls) = fake_partners().await;
    let server = stack(&base);
    let (id, manager) = ready(&server, "acme").await;

    let order = server.order(&manager, &id).await;
    let dispatch = &order["dispatch"];
    assert_eq!(dispatch["state"], "booked", "{order}");
    assert_eq!(dispatch["delivery_id"], "del_uber_1");
    assert_eq!(dispatch["tracking_url"], "https://track.example/del_uber_1");
    let steps: Vec<(Value, Value)> = server
        .events(&manager, &id)
        .await
        .iter()
        .filter(|e| e["kind"] == "dispatch")
        .map(|e| (e["data"]["step"].clone(), e["data"]["partner"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (json!("started"), Value::Null),
            (json!("declined"), json!("doordash")),
            (json!("declined"), json!("doordash")),
            (json!("booked"), json!("uber")),
        ]
    );

    let sent = calls.lock().unwrap().clone();
    let creates: Vec<&(String, String, String, Value)> =
        sent.iter().filter(|c| c.1 == "create").collect();
    assert_eq!(creates.len(), 3);
    // DoorDash's JWT: its header says DD-JWT-V1 and its signature holds.
    let jwt = creates[0].2.strip_prefix("Bearer ").unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["dd-ver"], "DD-JWT-V1");
    let claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        (&claims["iss"], &claims["kid"]),
        (&json!("dev_1"), &json!("key_1"))
    );
    let expected = {
        use hmac::Mac;
        let secret = b64.decode(DD_SECRET).unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        b64.encode(mac.finalize().into_bytes())
    };
    assert_eq!(parts[2], expected);
    assert_eq!(creates[0].3["external_delivery_id"], id.as_str());
    // Uber: the store's pickup, the customer's drop-off.
    let uber = &creates[2];
    assert_eq!(uber.2, "Bearer uber-token");
    assert_eq!(uber.3["external_id"], id.as_str());
    assert_eq!(uber.3["pickup_address"], "10 Queen St W, Toronto");
    assert!(uber.3["dropoff_address"]
        .as_str()
        .unwrap()
        .starts_with("1 King St W"));
    assert_eq!(uber.3["dropoff_phone_number"], "+1-416-555-0199");

    // The order is cancelled: so is the delivery.
    server.advance(&manager, &id, "cancelled", json!({})).await;
    let cancelled: Vec<String> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.1.starts_with("cancel"))
        .map(|c| format!("{} {}", c.0, c.1))
        .collect();
    assert_eq!(cancelled, ["uber cancel del_uber_1"]);
    let order = server.order(&manager, &id).await;
    assert_eq!(order["dispatch"]["state"], "cancelled");
}

#[tokio::test]
async fn when_no_partner_takes_the_order_staff_get_a_delivery_issue() {
    let (base, calls) = fake_partners().await;
    let server = stack(&base);
    let (id, manager) = ready(&server, "globex").await;
    let order = server.order(&manager, &id).await;
    assert_eq!(order["dispatch"]["state"], "unassigned");
    let issues = order["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0]["kind"], "delivery_exception");
    assert!(issues[0]["summary"].as_str().unwrap().contains("doordash"));
    assert_eq!(
        calls.lock().unwrap().len(),
        1,
        "asked once, as the policy says"
    );
    // A sweep asks nobody again.
    server
        .call(Method::POST, "/admin/sweep", Some(&manager), None)
        .await
        .expect(200);
    assert_eq!(calls.lock().unwrap().len(), 1);
}
