//! What the live function's tests share: a service over a fresh table on
//! DynamoDB Local, orders placed with the personal data a customer must
//! never see on a socket, sample events from `events/`, and a fake
//! Management API that records what it is sent.

#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use live::fanout::Fanout;
use live::socket::Socket;
use order_core::auth::{Principal, Role};
use order_core::http::ApiPath as UrlPath;
use order_core::ports::{Push, SystemClock};
use order_core::service::{OrderService, TransitionRequest};
use order_core::store::DynamoStore;
use order_core::testkit::lambda_harness::fresh_table;
use serde_json::{json, Value};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What only staff may see, in every order placed here.
pub const EMAIL: &str = "dana@example.com";
pub const PHONE: &str = "+14165550100";
pub const STREET: &str = "1 King St W";

pub fn manager(tenant: &str) -> Principal {
    Principal {
        tenant: tenant.into(),
        role: Role::Manager,
        subject: "m".into(),
        stores: None,
    }
}

/// A table, the service over it, and the live parts on both.
pub struct World {
    pub table: Arc<DynamoStore>,
    pub service: Arc<OrderService>,
}

impl World {
    pub async fn new() -> World {
        let table = Arc::new(fresh_table().await);
        let service = Arc::new(OrderService::new(
            table.clone(),
            order_core::testkit::catalog(),
            Arc::default(),
            Arc::new(SystemClock),
        ));
        World { table, service }
    }

    pub fn socket(&self, push: Arc<dyn Push>) -> Socket {
        Socket {
            service: self.service.clone(),
            connections: self.table.clone(),
            tickets: self.table.clone(),
            push,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn fanout(&self, push: Arc<dyn Push>) -> Fanout {
        Fanout {
            service: self.service.clone(),
            connections: self.table.clone(),
            push,
            clock: Arc::new(SystemClock),
        }
    }

    /// Places a shipping order for `tenant`; its (id, public id).
    pub async fn place(&self, tenant: &str) -> (String, String) {
        let checkout = serde_json::from_value(json!({
            "customer_id": "cus_1", "currency": "CAD", "fulfilment": "shipping",
            "contact": { "email": EMAIL, "phone": PHONE },
            "shipping": { "method": "standard", "name": "Dana Doe", "address": {
                "line1": STREET, "city": "Toronto", "region": "ON",
                "postal_code": "M5H 1A1", "country": "CA" } },
            "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }]
        }))
        .unwrap();
        let placed = self
            .service
            .place(&manager(tenant), checkout, None)
            .await
            .unwrap()
            .body;
        let text = |name: &str| placed[name].as_str().unwrap().to_string();
        (text("id"), text("public_id"))
    }

    pub async fn move_to(&self, tenant: &str, order: &str, to: &str) {
        let request = TransitionRequest {
            to: to.into(),
            reason: None,
            tracking: None,
            expected_version: None,
        };
        self.service
            .transition(&manager(tenant), order, request)
            .await
            .unwrap();
    }
}

/// The sample event `events/<name>.json` for connection `id`, with
/// `query` as its query string.
pub fn sample(name: &str, id: &str, query: &[(&str, &str)]) -> ApiGatewayWebsocketProxyRequest {
    let text = std::fs::read_to_string(root().join(format!("events/{name}.json"))).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["requestContext"]["connectionId"] = json!(id);
    let single: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let multi: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), json!([v])))
        .collect();
    event["queryStringParameters"] = Value::Object(single);
    event["multiValueQueryStringParameters"] = Value::Object(multi);
    serde_json::from_value(event).unwrap()
}

/// A call the fake Management API received.
#[derive(Clone, Debug)]
pub enum Call {
    Post { connection: String, message: Value },
    Delete { connection: String },
}

/// `POST` / `DELETE /@connections/{id}` on a loopback port, as API
/// Gateway's Management API answers them: 200 and 204, `410 Gone` for the
/// connections named gone, and no answer at all for the stuck ones.
pub struct FakeApi {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

#[derive(Clone)]
struct Fake {
    calls: Arc<Mutex<Vec<Call>>>,
    gone: Arc<HashSet<String>>,
    stuck: Arc<HashSet<String>>,
}

async fn post_to(
    State(fake): State<Fake>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> (StatusCode, HeaderMap, &'static str) {
    if fake.stuck.contains(&id) {
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
    let mut headers = HeaderMap::new();
    if fake.gone.contains(&id) {
        headers.insert("x-amzn-errortype", "GoneException".parse().unwrap());
        return (StatusCode::GONE, headers, r#"{"message":null}"#);
    }
    let message = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.calls.lock().unwrap().push(Call::Post {
        connection: id,
        message,
    });
    (StatusCode::OK, headers, "")
}

async fn delete(State(fake): State<Fake>, UrlPath(id): UrlPath<String>) -> StatusCode {
    fake.calls
        .lock()
        .unwrap()
        .push(Call::Delete { connection: id });
    StatusCode::NO_CONTENT
}

impl FakeApi {
    pub async fn start(gone: &[&str], stuck: &[&str]) -> FakeApi {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let set = |ids: &[&str]| Arc::new(ids.iter().map(|s| s.to_string()).collect());
        let fake = Fake {
            calls: calls.clone(),
            gone: set(gone),
            stuck: set(stuck),
        };
        let app = Router::new()
            .route("/live/@connections/{id}", post(post_to).delete(delete))
            .with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/live", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeApi { url, calls }
    }

    /// The real adapter, pointed here.
    pub async fn push(&self) -> Arc<dyn Push> {
        let config = order_core::aws::emulator_config(&self.url).await;
        Arc::new(live::push::ManagementApi::new(&config, &self.url))
    }

    /// The messages connection `id` was sent, in order.
    pub fn messages(&self, id: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter_map(|call| match call {
                Call::Post {
                    connection,
                    message,
                } if connection == id => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    /// The connections closed.
    pub fn closed(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter_map(|call| match call {
                Call::Delete { connection } => Some(connection.clone()),
                _ => None,
            })
            .collect()
    }
}

/// The `id`s of messages.
pub fn ids(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["id"].as_str().unwrap_or_default().to_string())
        .collect()
}
