//! Bad input: malformed bodies, queries and unknown routes are problems
//! with the right status, and write nothing.

use crate::common::*;
use order_core::auth::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn bad_input_is_a_400_problem_and_writes_nothing() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let valid = checkout_body("cus_1", "shipping");

    let malformed = server
        .post_raw("/orders", &manager, r#"{"customer_id": "cus_1", "#)
        .await;
    malformed.problem(400);
    let not_json = server.post_raw("/orders", &manager, "hello").await;
    not_json.problem(400);

    let mut unknown_field = valid.clone();
    unknown_field["discount"] = json!(100);
    let mut missing_items = valid.clone();
    missing_items.as_object_mut().unwrap().remove("items");
    let mut empty_items = valid.clone();
    empty_items["items"] = json!([]);
    let mut negative_price = valid.clone();
    negative_price["items"][0]["unit_price"] = json!(-1);
    let mut zero_quantity = valid.clone();
    zero_quantity["items"][0]["quantity"] = json!(0);
    let mut negative_quantity = valid.clone();
    negative_quantity["items"][0]["quantity"] = json!(-2);
    let mut lowercase_currency = valid.clone();
    lowercase_currency["currency"] = json!("cad");
    let mut no_address = valid.clone();
    no_address.as_object_mut().unwrap().remove("shipping");
    let mut bad_fulfilment = valid.clone();
    bad_fulfilment["fulfilment"] = json!("teleport");
    let mut blank_customer = valid.clone();
    blank_customer["customer_id"] = json!("  ");
    let mut bad_country = valid.clone();
    bad_country["shipping"]["address"]["country"] = json!("Canada");
    let mut no_sku = valid.clone();
    no_sku["items"][0]["sku"] = json!("");
    let mut overflow = valid.clone();
    overflow["items"][0]["unit_price"] = json!(i64::MAX);

    let cases = [
        ("unknown field", unknown_field),
        ("missing items", missing_items),
        ("empty items", empty_items),
        ("negative price", negative_price),
        ("zero quantity", zero_quantity),
        ("negative quantity", negative_quantity),
        ("lowercase currency", lowercase_currency),
        ("shipping without address", no_address),
        ("unknown fulfilment", bad_fulfilment),
        ("blank customer", blank_customer),
        ("country name", bad_country),
        ("empty sku", no_sku),
        ("total overflow", overflow),
    ];
    for (what, body) in &cases {
        let resp = server
            .checkout(&manager, body, Some(&format!("key-{what}")))
            .await;
        assert_eq!(resp.status, 400, "{what}: {}", resp.text);
        resp.problem(400);
    }

    // Not JSON at all.
    let text = server
        .send(
            server
                .http
                .post(server.url("/orders"))
                .bearer_auth(&manager)
                .header("content-type", "text/plain")
                .body(valid.to_string()),
        )
        .await;
    assert!(text.status == 400 || text.status == 415, "{}", text.text);
    text.problem(text.status);

    assert!(
        server.list_ids(&manager, &[]).await.is_empty(),
        "bad input must not create orders"
    );

    // Bad transition bodies and queries on a real order.
    let order = server.place(&manager, &valid).await;
    let id = str_of(&order, "id");
    let path = format!("/orders/{id}/transitions");
    server.post_raw(&path, &manager, "{").await.problem(400);
    server
        .post_raw(&path, &manager, r#"{"status": "confirmed"}"#)
        .await
        .problem(400);
    server
        .post_raw(&path, &manager, r#"{"to": "confirmed", "force": true}"#)
        .await
        .problem(400);
    server
        .post_raw(
            &path,
            &manager,
            r#"{"to": "confirmed", "expected_version": "one"}"#,
        )
        .await
        .problem(400);
    server
        .post_raw(
            &path,
            &manager,
            r#"{"to": "shipped", "tracking": {"carrier": "ups"}}"#,
        )
        .await
        .problem(400);
    assert_eq!(
        server.order(&manager, id).await["version"],
        1,
        "bad input changes nothing"
    );

    server.list(&manager, &[("limit", "0")]).await.problem(400);
    server
        .list(&manager, &[("limit", "100000")])
        .await
        .problem(400);
    server
        .list(&manager, &[("limit", "two")])
        .await
        .problem(400);
    server.list(&manager, &[("sort", "id")]).await.problem(400);
    server
        .get(&format!("/orders/{id}/events?limit=0"), &manager)
        .await
        .problem(400);

    // Unknown things.
    server
        .get("/orders/ord_missing", &manager)
        .await
        .problem(404);
    server.get("/nowhere", &manager).await.problem(404);
    server
        .call(Method::GET, "/nowhere", None, None)
        .await
        .problem(404);
    assert_eq!(server.list_ids(&manager, &[]).await, vec![id.to_string()]);
}

#[tokio::test]
async fn wrong_method_on_a_known_route_is_a_problem_document() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");

    let delete = server
        .call(
            Method::DELETE,
            &format!("/orders/{id}"),
            Some(&manager),
            None,
        )
        .await;
    delete.problem(405);
    let put = server
        .call(Method::PUT, "/orders", Some(&manager), Some(&json!({})))
        .await;
    put.problem(405);
    let post_track = server
        .call(
            Method::POST,
            &format!("/track/{}", str_of(&order, "public_id")),
            None,
            None,
        )
        .await;
    post_track.problem(405);
    assert_eq!(server.order(&manager, id).await["version"], 1);
}
