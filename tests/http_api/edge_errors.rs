//! Malformed requests at the edge: ids that are not UTF-8 on every route,
//! the extractors' refusals and undecodable cursors are all 400/415
//! problems, and change nothing.

use crate::common::*;
use order_core::auth::Role;
use reqwest::Method;
use serde_json::json;

/// `%ff` decodes to a byte that is not UTF-8, so no id can contain it: every
/// id route of every router answers a 400 problem, as do the other
/// extractors' refusals (content type, body, query), and nothing changes.
#[tokio::test]
async fn ids_that_are_not_utf8_and_every_other_refusal_at_the_edge_are_problems() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    let to_confirmed = json!({ "to": "confirmed" });
    let parked = json!({ "action": "discard", "reason": "test" });
    let approve = json!({ "decision": "approve" });
    let scan = json!({ "id": "evt_1", "status": "in_transit" });
    let shipment = tracking();
    let cases = [
        (Method::GET, "/orders/%ff".to_string(), None),
        (Method::GET, "/orders/%ff/events".to_string(), None),
        (
            Method::POST,
            "/orders/%ff/transitions".to_string(),
            Some(&to_confirmed),
        ),
        (
            Method::POST,
            "/orders/%ff/shipments".to_string(),
            Some(&shipment),
        ),
        (
            Method::PUT,
            format!("/orders/{id}/shipments/%ff"),
            Some(&shipment),
        ),
        (
            Method::POST,
            format!("/orders/{id}/parked/%ff"),
            Some(&parked),
        ),
        (Method::POST, "/orders/%ff/refetch".to_string(), None),
        (Method::GET, "/track/%ff".to_string(), None),
        (Method::GET, "/track/%ff/events".to_string(), None),
        (
            Method::POST,
            "/track/%ff/substitutions".to_string(),
            Some(&approve),
        ),
        (Method::GET, "/t/%ff".to_string(), None),
        (
            Method::POST,
            "/webhooks/%ff/carrier/easypost".to_string(),
            Some(&scan),
        ),
        (
            Method::POST,
            "/webhooks/acme/carrier/%ff".to_string(),
            Some(&scan),
        ),
        (
            Method::POST,
            "/webhooks/carrier/%ff".to_string(),
            Some(&scan),
        ),
    ];
    for (method, path, body) in cases {
        let resp = server
            .call(method.clone(), &path, Some(&manager), body)
            .await;
        assert_eq!(resp.status, 400, "{method} {path}: {}", resp.text);
        resp.problem(400);
    }

    let transitions = format!("/orders/{id}/transitions");
    let no_content_type = server
        .http
        .post(server.url(&transitions))
        .bearer_auth(&manager)
        .body(r#"{"to": "confirmed"}"#);
    server.send(no_content_type).await.problem(415);
    let form = server
        .http
        .post(server.url(&transitions))
        .bearer_auth(&manager)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("to=confirmed");
    server.send(form).await.problem(415);
    server
        .post_raw(&transitions, &manager, r#"{"to": 7}"#)
        .await
        .problem(400);
    server
        .get(&format!("/orders/{id}/events?after=first"), &manager)
        .await
        .problem(400);
    server
        .get("/orders?stalled=maybe", &manager)
        .await
        .problem(400);

    assert_eq!(
        server.order(&manager, id).await["version"],
        1,
        "bad input changes nothing"
    );
}

/// A cursor is opaque: one that is not ours is a 400, never "every order"
/// or "none"; an empty one is the first page.
#[tokio::test]
async fn a_cursor_that_does_not_decode_is_a_400_and_an_empty_one_is_the_first_page() {
    let server = start();
    let manager = token("acme", Role::Manager);
    for n in 0..3 {
        server
            .place(&manager, &checkout_body(&format!("cus_{n}"), "pickup"))
            .await;
    }
    let all = server.list_ids(&manager, &[]).await;
    assert_eq!(all.len(), 3);

    let no_position = base64url(b"no position here");
    let bad_time = base64url(format!("yesterday|{}", all[0]).as_bytes());
    let no_id = base64url(b"2026-01-01T00:00:00Z|");
    let plain = format!("2026-01-01T00:00:00.000000Z|{}", all[0]);
    for cursor in [
        "garbage",
        "%%%",
        "!!",
        &no_position,
        &bad_time,
        &no_id,
        &plain,
    ] {
        let resp = server.list(&manager, &[("cursor", cursor)]).await;
        assert_eq!(resp.status, 400, "cursor {cursor:?}: {}", resp.text);
        resp.problem(400);
    }

    assert_eq!(
        server.list_ids(&manager, &[("cursor", "")]).await,
        all,
        "an empty cursor is the first page"
    );

    let first = server.list(&manager, &[("limit", "1")]).await;
    let next = first.expect(200)["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_string();
    assert!(
        !next.contains(&all[0]) && !next.contains('|'),
        "cursors are opaque: {next}"
    );
    let second = server
        .list_ids(&manager, &[("limit", "1"), ("cursor", &next)])
        .await;
    assert_eq!(second, vec![all[1].clone()]);
}
