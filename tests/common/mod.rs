//! Helpers shared by the black-box tests: the local stack as a process
//! (`stack`, which the benchmarks share too), tokens, request bodies and
//! response checks. Each test crate uses a different part of them.
#![allow(dead_code)]

mod stack;

use order_core::auth::Role;
use reqwest::{Method, Url};
use serde_json::{json, Value};

pub use stack::{token_for, Launch, Server};

// ---------------------------------------------------------------------------
// Helpers: the stack, tokens, request bodies, responses.
// ---------------------------------------------------------------------------

/// Starts a stack with the default tenant policy.
pub fn start() -> Server {
    Launch::default().start()
}

/// Starts a stack with the given tenant policy file contents.
pub fn start_with_tenants(policy: Value) -> Server {
    Launch::default().tenants(policy).start()
}

/// Starts a stack with extra arguments, environment and tenant policy.
pub fn start_with(args: &[&str], envs: &[(&str, &str)], policy: Option<Value>) -> Server {
    let mut launch = Launch::default().args(args);
    for (name, value) in envs {
        launch = launch.env(name, value);
    }
    if let Some(policy) = policy {
        launch = launch.tenants(policy);
    }
    launch.start()
}

pub fn token(tenant: &str, role: Role) -> String {
    token_for(tenant, role, "user-1")
}

/// A token limited to some of the tenant's stores.
pub fn store_token(tenant: &str, role: Role, stores: &[&str]) -> String {
    order_core::auth::JwtKeys::hs256(order_tracking::DEV_JWT_SECRET.as_bytes()).mint_for_stores(
        tenant,
        role,
        "store-user",
        Some(stores.iter().map(|s| s.to_string()).collect()),
        chrono::Duration::hours(1),
    )
}

/// A checkout body; shipping and local delivery get an address.
pub fn checkout_body(customer: &str, fulfilment: &str) -> Value {
    let mut body = json!({
        "customer_id": customer,
        "currency": "CAD",
        "fulfilment": fulfilment,
        "items": [
            { "sku": "MUG-01", "name": "Blue mug", "unit_price": 1250, "quantity": 2 },
            { "sku": "TEA-07", "name": "Green tea", "unit_price": 899, "quantity": 3 }
        ],
        "contact": { "email": "dana@example.com", "phone": "+1-416-555-0199" }
    });
    if matches!(fulfilment, "shipping" | "local_delivery") {
        body["shipping"] = json!({
            "method": "standard",
            "name": "Dana Doe",
            "address": {
                "line1": "1 King St W", "line2": "Suite 900", "city": "Toronto",
                "region": "ON", "postal_code": "M5H 1A1", "country": "CA"
            }
        });
    }
    body
}

/// The total of `checkout_body`'s items: 2 × 1250 + 3 × 899.
pub const CHECKOUT_TOTAL: i64 = 2 * 1250 + 3 * 899;

pub fn tracking() -> Value {
    json!({ "carrier": "canada_post", "code": "CP123456789CA", "url": "https://track.example/CP123456789CA" })
}

/// A response, read in full.
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        &self.json
    }

    /// Asserts an RFC 9457 problem response with this status.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "an error must be a problem document (status {status}, body {})",
            self.text
        );
        assert_eq!(
            self.json["status"],
            json!(status),
            "problem body: {}",
            self.text
        );
        assert!(
            self.json["title"].as_str().is_some_and(|t| !t.is_empty()),
            "problem without a title: {}",
            self.text
        );
        &self.json
    }
}

impl Server {
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let response = request.send().await.expect("request reaches the stack");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    /// A request to `path` (or a full URL), with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            self.url(path)
        };
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// A POST whose body is sent verbatim as JSON text.
    pub async fn post_raw(&self, path: &str, token: &str, body: &str) -> Resp {
        let request = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(request).await
    }

    pub async fn checkout(&self, token: &str, body: &Value, key: Option<&str>) -> Resp {
        let mut request = self
            .http
            .post(self.url("/orders"))
            .bearer_auth(token)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    /// Places an order and returns its view (asserting 201).
    pub async fn place(&self, token: &str, body: &Value) -> Value {
        self.checkout(token, body, None).await.expect(201).clone()
    }

    pub async fn transition(&self, token: &str, id: &str, body: Value) -> Resp {
        self.call(
            Method::POST,
            &format!("/orders/{id}/transitions"),
            Some(token),
            Some(&body),
        )
        .await
    }

    /// Moves an order to `to` (with optional extra fields), asserting 200.
    pub async fn advance(&self, token: &str, id: &str, to: &str, extra: Value) -> Value {
        let mut body = json!({ "to": to });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        self.transition(token, id, body).await.expect(200).clone()
    }

    /// Moves the order through `states`, one legal move after another.
    pub async fn advance_through(&self, token: &str, id: &str, states: &[&str]) {
        for to in states {
            self.advance(token, id, to, json!({})).await;
        }
    }

    /// A local delivery order of `customer`, moved on to `states`' last.
    pub async fn local_delivery(&self, token: &str, customer: &str, states: &[&str]) -> Value {
        let order = self
            .place(token, &checkout_body(customer, "local_delivery"))
            .await;
        self.advance_through(token, str_of(&order, "id"), states)
            .await;
        order
    }

    pub async fn order(&self, token: &str, id: &str) -> Value {
        self.get(&format!("/orders/{id}"), token)
            .await
            .expect(200)
            .clone()
    }

    pub async fn events(&self, token: &str, id: &str) -> Vec<Value> {
        let page = self.get(&format!("/orders/{id}/events"), token).await;
        page.expect(200)["events"]
            .as_array()
            .expect("events array")
            .clone()
    }

    pub async fn track(&self, public_id: &str) -> Resp {
        self.call(Method::GET, &format!("/track/{public_id}"), None, None)
            .await
    }

    /// GET /orders with query parameters (properly encoded).
    pub async fn list(&self, token: &str, params: &[(&str, &str)]) -> Resp {
        let mut url = Url::parse(&self.url("/orders")).expect("url");
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        self.call(Method::GET, url.as_str(), Some(token), None)
            .await
    }

    /// Every order id the token's tenant can list.
    pub async fn list_ids(&self, token: &str, params: &[(&str, &str)]) -> Vec<String> {
        let page = self.list(token, params).await;
        ids(&page.expect(200)["orders"])
    }
}

pub fn ids(orders: &Value) -> Vec<String> {
    orders
        .as_array()
        .expect("orders array")
        .iter()
        .map(|o| o["id"].as_str().expect("order id").to_string())
        .collect()
}

pub fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {value}"))
}

pub fn allowed_targets(problem_or_view: &Value) -> Vec<String> {
    problem_or_view["allowed_actions"]
        .as_array()
        .unwrap_or_else(|| panic!("allowed_actions missing in {problem_or_view}"))
        .iter()
        .map(|a| str_of(a, "to").to_string())
        .collect()
}

/// Asserts a 422 illegal-transition problem that tells the caller where the
/// order is and what it may do instead.
pub fn assert_illegal(resp: &Resp, current: &str) -> Value {
    let problem = resp.problem(422).clone();
    assert_eq!(problem["current_status"], json!(current), "{problem}");
    assert!(problem["allowed_actions"].is_array(), "{problem}");
    problem
}

pub fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn claims(tenant: &str, role: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": "mallory", "tenant_id": tenant, "role": role, "iat": now, "exp": now + 3600 })
}

pub fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

// ---------------------------------------------------------------------------
// Signed webhooks: every test signs and sends a provider's request this way.
// ---------------------------------------------------------------------------

/// The signature header, name and value, that the provider a webhook `path`
/// ends with (`/webhooks/<tenant>/<kind>/<provider>`) sends with `body`,
/// keyed with `secret` and, in the timestamped schemes, dated `at`. Written
/// from the README's table, apart from the stack's code, so each checks the
/// other.
pub fn webhook_signature(
    path: &str,
    secret: &str,
    at: chrono::DateTime<chrono::Utc>,
    body: &str,
) -> (&'static str, String) {
    use base64::Engine as _;
    use order_core::hex;

    let body_digest = || hmac_sha256(secret, body.as_bytes());
    let timestamped = || {
        let t = at.timestamp();
        let v1 = hex::encode(&hmac_sha256(secret, format!("{t}.{body}").as_bytes()));
        format!("t={t},v1={v1}")
    };
    match path.rsplit('/').next().unwrap_or_default() {
        "easypost" => (
            "X-Hmac-Signature",
            format!("hmac-sha256-hex={}", hex::encode(&body_digest())),
        ),
        "aftership" => (
            "aftership-hmac-sha256",
            base64::engine::general_purpose::STANDARD.encode(body_digest()),
        ),
        "uber" => ("X-Uber-Signature", hex::encode(&body_digest())),
        "stripe" => ("Stripe-Signature", timestamped()),
        "doordash" => ("X-DoorDash-Signature", timestamped()),
        _ => ("X-Webhook-Signature", timestamped()),
    }
}

fn hmac_sha256(secret: &str, data: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl Server {
    /// POSTs `body` to the webhook `path`, signed now with `secret` as the
    /// provider the path names signs.
    pub async fn signed_webhook(&self, path: &str, secret: &str, body: &str) -> Resp {
        let signature = webhook_signature(path, secret, chrono::Utc::now(), body);
        self.webhook(path, signature, body).await
    }

    /// POSTs `body` to the webhook `path` with the header given: a signature
    /// made for another body, time or secret, or no signature at all.
    pub async fn webhook(&self, path: &str, header: (&str, String), body: &str) -> Resp {
        let request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .header(header.0, header.1)
            .body(body.to_owned());
        self.send(request).await
    }
}
