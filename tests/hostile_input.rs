//! Hostile and oversized input, black box against the running local stack:
//! links that are not http(s) (from a carrier or from staff), blank or
//! outsized tracking codes, free text and ids past their caps, bodies past
//! the limit, and the pages' Content-Security-Policy.

mod common;

use chrono::Utc;
use common::*;
use order_core::auth::Role;
use order_core::order::link::HOSTILE_LINKS;
use serde_json::{json, Value};

const SHIPPO: &str = "shippo-test-secret";
const CODE: &str = "1Z999AA10123456784";

/// Acme's Shippo account posts generic carrier webhooks; the default policy
/// (a tracking code is required to ship).
fn start_stack() -> Server {
    let secrets = json!({ "acme": { "shippo": SHIPPO } }).to_string();
    start_with(&[], &[("WEBHOOK_SECRETS", secrets.as_str())], None)
}

impl Server {
    /// A signed generic carrier scan for `CODE`, with `extra` fields.
    async fn scan(&self, event_id: &str, extra: Value) -> Resp {
        let mut body = json!({
            "id": event_id, "tracking_code": CODE, "carrier": "UPS",
            "status": "in_transit", "occurred_at": rfc3339(Utc::now()),
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let body = body.to_string();
        self.signed_scan(&body).await
    }

    async fn signed_scan(&self, body: &str) -> Resp {
        self.signed_webhook("/webhooks/acme/carrier/shippo", SHIPPO, body)
            .await
    }
}

/// A shipping order of acme's, confirmed (and shipped with `CODE` if asked).
async fn order(server: &Server, token: &str, ship: bool) -> (String, String) {
    let order = server
        .place(token, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id").to_string();
    server.advance(token, &id, "confirmed", json!({})).await;
    if ship {
        let tracking = json!({ "tracking": { "carrier": "UPS", "code": CODE } });
        server.advance(token, &id, "shipped", tracking).await;
    }
    (id, str_of(&order, "public_id").to_string())
}

/// No spelling of a script or data link anywhere in a response.
fn assert_no_hostile_link(what: &str, text: &str) {
    let text = text.to_lowercase();
    for needle in ["script:", "data:text"] {
        assert!(!text.contains(needle), "{what} carries {needle}: {text}");
    }
}

fn kinds(events: &[Value], kind: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

/// Asserts a 400 problem whose detail names `field`.
fn assert_names(resp: &Resp, field: &str) {
    let problem = resp.problem(400);
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(field), "{field} not named: {problem}");
}

// A carrier cannot hand the customer a script link: the link is dropped, the
// scan is kept (a carrier retrying a refused webhook forever would lose it).
#[tokio::test]
async fn a_carrier_link_that_is_not_http_never_reaches_a_view_and_the_scan_is_kept() {
    let server = start_stack();
    let token = token("acme", Role::Manager);
    let (id, public) = order(&server, &token, true).await;

    for (i, url) in HOSTILE_LINKS.iter().enumerate() {
        let resp = server
            .scan(&format!("evt_x{i}"), json!({ "tracking_url": url }))
            .await;
        assert_eq!(
            resp.expect(200)["outcomes"][0]["outcome"],
            "recorded",
            "{url:?}"
        );
        let customer = server.track(&public).await;
        let staff = server.get(&format!("/orders/{id}"), &token).await;
        for (who, view) in [("the customer view", &customer), ("the staff view", &staff)] {
            assert_no_hostile_link(who, &view.text);
            assert_eq!(
                view.expect(200)["shipments"][0]["tracking_url"],
                Value::Null
            );
        }
        let events = server.events(&token, &id).await;
        assert_eq!(kinds(&events, "shipment_updated").len(), i + 1, "scan kept");
        assert_eq!(customer.json["shipments"][0]["status"], "in_transit");
    }

    let good = "https://www.ups.com/track?tracknum=1Z999AA10123456784";
    server
        .scan("evt_good", json!({ "tracking_url": good }))
        .await
        .expect(200);
    let customer = server.track(&public).await;
    assert_eq!(customer.expect(200)["shipments"][0]["tracking_url"], good);
}

// Staff input with such a link is refused before anything is written, on
// every route that takes one.
#[tokio::test]
async fn staff_links_that_are_not_http_are_refused_and_nothing_is_written() {
    let server = start_stack();
    let token = token("acme", Role::Manager);
    let (id, _) = order(&server, &token, false).await;
    let (shipped, _) = order(&server, &token, true).await;
    for url in HOSTILE_LINKS {
        let tracking = json!({ "carrier": "UPS", "code": CODE, "url": url });
        let before = server.events(&token, &id).await.len();
        let resp = server
            .transition(
                &token,
                &id,
                json!({ "to": "shipped", "tracking": tracking }),
            )
            .await;
        assert_names(&resp, "tracking.url");
        assert_eq!(server.events(&token, &id).await.len(), before, "{url:?}");
        assert_eq!(server.order(&token, &id).await["status"], "confirmed");

        let before = server.events(&token, &shipped).await.len();
        let added = server
            .call(
                reqwest::Method::POST,
                &format!("/orders/{shipped}/shipments"),
                Some(&token),
                Some(&json!({ "carrier": "UPS", "code": "1ZOTHER", "url": url })),
            )
            .await;
        assert_names(&added, "tracking.url");
        let corrected = server
            .call(
                reqwest::Method::PUT,
                &format!("/orders/{shipped}/shipments/shp_1"),
                Some(&token),
                Some(&tracking),
            )
            .await;
        assert_names(&corrected, "tracking.url");
        assert_eq!(server.events(&token, &shipped).await.len(), before);
        assert_no_hostile_link(
            "the staff view",
            &server.get(&format!("/orders/{shipped}"), &token).await.text,
        );
    }
}

// "A blank tracking code counts as a tracking code": with the default policy
// a code of spaces no longer ships the order, and the customer never reads
// "shipped" with an empty code.
#[tokio::test]
async fn a_blank_or_malformed_tracking_code_is_refused_on_every_route() {
    let server = start_stack();
    let token = token("acme", Role::Manager);
    let (id, public) = order(&server, &token, false).await;
    let before = server.events(&token, &id).await.len();
    for (tracking, field) in [
        (json!({ "carrier": "UPS", "code": "  " }), "tracking.code"),
        (json!({ "carrier": "UPS", "code": "" }), "tracking.code"),
        (json!({ "carrier": "UPS", "code": "\t\n" }), "tracking.code"),
        (
            json!({ "carrier": "UPS", "code": "<script>" }),
            "tracking.code",
        ),
        (json!({ "carrier": "  ", "code": CODE }), "tracking.carrier"),
    ] {
        let resp = server
            .transition(
                &token,
                &id,
                json!({ "to": "shipped", "tracking": tracking }),
            )
            .await;
        assert_names(&resp, field);
        let added = server
            .call(
                reqwest::Method::POST,
                &format!("/orders/{id}/shipments"),
                Some(&token),
                Some(&tracking),
            )
            .await;
        assert_eq!(added.status, 400, "{tracking}: {}", added.text);
    }
    assert_eq!(server.events(&token, &id).await.len(), before);
    let view = server.track(&public).await;
    assert_eq!(view.expect(200)["status"], "confirmed");
    assert_eq!(view.json["shipments"], json!([]));

    // Spaces as USPS prints them are fine, and kept as one space each.
    let tracking = json!({ "carrier": " USPS ", "code": " 9400 1000  0000 0000 0000 00 " });
    let shipped = server
        .advance(&token, &id, "shipped", json!({ "tracking": tracking }))
        .await;
    assert_eq!(
        shipped["shipments"][0]["tracking_code"],
        "9400 1000 0000 0000 0000 00"
    );
    assert_eq!(shipped["shipments"][0]["carrier"], "USPS");
}

// Free text and ids have caps: over one is a 400 naming the field, with
// nothing written.
#[tokio::test]
async fn text_and_ids_over_their_caps_are_refused_naming_the_field() {
    let server = start_stack();
    let owner = token("acme", Role::Owner);
    let order = server
        .place(&owner, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    let before = server.events(&owner, id).await.len();
    let long = |n: usize| "x".repeat(n);
    let code = |n: usize| "1".repeat(n);

    for (body, field) in [
        (json!({ "to": "packing", "reason": long(2001) }), "reason"),
        (json!({ "to": long(10_000) }), "to"),
        (
            json!({ "to": "shipped", "reason": "r",
                    "tracking": { "carrier": "UPS", "code": code(100_000) } }),
            "tracking.code",
        ),
        (
            json!({ "to": "shipped", "reason": "r",
                    "tracking": { "carrier": long(100_000), "code": CODE } }),
            "tracking.carrier",
        ),
    ] {
        let resp = server.transition(&owner, id, body).await;
        assert_names(&resp, field);
    }
    assert_eq!(
        server.events(&owner, id).await.len(),
        before,
        "nothing written"
    );
    let moved = server
        .advance(&owner, id, "packing", json!({ "reason": long(2000) }))
        .await;
    assert_eq!(moved["status"], "packing");

    let long_id = long(300);
    assert_names(
        &server.get(&format!("/orders/{long_id}"), &owner).await,
        "order id",
    );
    assert_names(&server.track(&long_id).await, "public id");
    assert_names(
        &server.list(&owner, &[("customer_id", &long(10_000))]).await,
        "customer_id",
    );

    let mut body = checkout_body("cus_2", "shipping");
    body["shipping"]["address"]["line2"] = json!(long(10_000));
    body["contact"]["email"] = json!(format!("{}@example.com", long(1000)));
    let resp = server.checkout(&owner, &body, None).await;
    assert_names(&resp, "shipping.address.line2");
    assert_names(&resp, "contact.email");
}

// Every package lives in the order's head, rewritten by every command: past
// twenty, another is refused rather than growing it towards DynamoDB's
// 400 KB item limit.
#[tokio::test]
async fn an_order_holds_at_most_twenty_packages() {
    let server = start_stack();
    let token = token("acme", Role::Manager);
    let (id, _) = order(&server, &token, true).await;
    let add = |n: usize| {
        let body = json!({ "carrier": "UPS", "code": format!("1ZPKG{n:04}"),
                           "url": format!("https://www.ups.com/track?n={n}") });
        let path = format!("/orders/{id}/shipments");
        let (server, token) = (&server, &token);
        async move {
            server
                .call(reqwest::Method::POST, &path, Some(token), Some(&body))
                .await
        }
    };
    for n in 2..=20 {
        add(n).await.expect(200);
    }
    let before = server.events(&token, &id).await.len();
    let refused = add(21).await.problem(422).clone();
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("20 packages"),
        "{refused}"
    );
    assert_eq!(server.events(&token, &id).await.len(), before);
    let order = server.order(&token, &id).await;
    assert_eq!(order["shipments"].as_array().map(Vec::len), Some(20));
}

/// POSTs an oversized body and returns the status, content type and body of
/// the answer. Written by hand, with `Expect: 100-continue`: a server that
/// refuses on the announced length answers before any body is sent, so the
/// answer cannot be lost to a reset of a connection with unread data; one
/// that asks for the body gets it and must refuse it while reading.
async fn post_oversized(
    server: &Server,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (u16, String, Value) {
    use std::io::{Read, Write};
    let addr = server.base.trim_start_matches("http://").to_string();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n{auth}\r\n",
        body.len()
    );
    let answer = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(&addr).expect("connect");
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        socket
            .set_write_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        socket.write_all(head.as_bytes()).expect("send headers");
        // Read one answer: its head, then as much body as it announces.
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&answer).to_string();
            if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                if head.starts_with("HTTP/1.1 100") {
                    answer = rest.as_bytes().to_vec();
                    for chunk in body.chunks(64 << 10) {
                        if socket.write_all(chunk).is_err() {
                            break; // the server has answered and stopped reading
                        }
                    }
                    continue;
                }
                let length = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .and_then(|n| n.trim().parse::<usize>().ok())
                });
                if length.is_some_and(|n| rest.len() >= n) {
                    return text;
                }
            }
            match socket.read(&mut buffer) {
                Ok(0) => return text,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
                Err(e) => panic!("no answer ({e}); got {text:?}"),
            }
        }
    })
    .await
    .unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (
        status,
        content_type,
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

// A body past the limit is a 413 problem before anything reads it, JSON
// routes and webhooks alike: a megabyte reason is no longer a megabyte event.
#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_and_nothing_is_written() {
    let server = start_stack();
    let owner = token("acme", Role::Owner);
    let order = server
        .place(&owner, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    let megabyte_reason = json!({ "to": "packing", "reason": "x".repeat(1_000_000) });
    let ten_megabytes = format!(r#"{{"text":"{}"}}"#, "x".repeat(10 << 20));
    for (path, token, body) in [
        (
            format!("/orders/{id}/transitions"),
            Some(owner.as_str()),
            megabyte_reason.to_string(),
        ),
        (
            "/webhooks/acme/carrier/shippo".to_string(),
            None,
            ten_megabytes.clone(),
        ),
        (
            "/orders".to_string(),
            Some(owner.as_str()),
            ten_megabytes.clone(),
        ),
        (
            format!("/orders/{id}/notes"),
            Some(owner.as_str()),
            ten_megabytes.clone(),
        ),
    ] {
        let (status, content_type, problem) =
            post_oversized(&server, &path, token, body.into_bytes()).await;
        assert_eq!(status, 413, "{path}: {problem}");
        assert_eq!(content_type, "application/problem+json", "{path}");
        assert_eq!(problem["status"], 413, "{path}: {problem}");
    }
    assert_eq!(
        server.order(&owner, id).await["version"],
        1,
        "nothing written"
    );
}

// A provider's text is cut to size rather than refused, and a long event id
// still dedupes.
#[tokio::test]
async fn provider_text_is_cut_to_size_and_the_scan_kept() {
    let server = start_stack();
    let token = token("acme", Role::Manager);
    let (id, _) = order(&server, &token, true).await;
    let event_id = format!("evt_{}", "9".repeat(5000));
    let extra = json!({ "message": "é".repeat(50_000), "location": "L".repeat(10_000) });
    let resp = server.scan(&event_id, extra.clone()).await;
    assert_eq!(resp.expect(200)["outcomes"][0]["outcome"], "recorded");
    let again = server.scan(&event_id, extra).await;
    assert_eq!(again.expect(200)["outcomes"][0]["outcome"], "duplicate");

    let events = server.events(&token, &id).await;
    let scans = kinds(&events, "shipment_updated");
    assert_eq!(scans.len(), 1, "{events:?}");
    let message = str_of(&scans[0]["data"], "message");
    assert_eq!(message.chars().count(), 1000);
    assert!(message.ends_with('…'));
    assert!(str_of(&scans[0]["data"], "location").chars().count() <= 200);
    assert!(str_of(&scans[0], "external_id").chars().count() <= 128);
}

// The pages run only their own script: no inline script or style, a
// Content-Security-Policy that says so, and the board keeps no token in
// storage the customer's page (same origin) could read.
#[tokio::test]
async fn pages_are_served_under_a_content_security_policy() {
    let server = start_stack();
    let token = token("acme", Role::Manager);
    let (_, public) = order(&server, &token, false).await;
    for path in [format!("/t/{public}"), "/board".to_string()] {
        let page = server.call(reqwest::Method::GET, &path, None, None).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.content_type().starts_with("text/html"), "{path}");
        let policy = page
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"));
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        let html = page.text.to_lowercase();
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=").count(),
            "{path} has an inline script"
        );
        assert!(
            !html.contains("<style") && !html.contains(" style="),
            "{path}"
        );
        assert!(
            !html.contains(" onclick=") && !html.contains(" onload="),
            "{path}"
        );
    }
    for (path, kind) in [
        ("/t/app.js", "text/javascript"),
        ("/t/app.css", "text/css"),
        ("/board/app.js", "text/javascript"),
        ("/board/app.css", "text/css"),
    ] {
        let asset = server.call(reqwest::Method::GET, path, None, None).await;
        assert_eq!(asset.status, 200, "{path}");
        assert!(
            asset.content_type().starts_with(kind),
            "{path}: {}",
            asset.content_type()
        );
        assert_eq!(asset.header("x-content-type-options"), Some("nosniff"));
    }
    let board = server
        .call(reqwest::Method::GET, "/board/app.js", None, None)
        .await;
    assert!(!board.text.contains("localStorage.setItem"));
    assert!(!board.text.contains("sessionStorage.setItem"));
}
