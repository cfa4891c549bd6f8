//! Listing orders: filters by status and customer, and pages without
//! duplicates or another tenant's orders.

use std::collections::{BTreeSet, HashSet};

use crate::common::*;
use order_core::auth::Role;
use serde_json::json;

#[tokio::test]
async fn list_filters_by_status_and_customer_and_pages_without_duplicates() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let mut all = Vec::new();
    for i in 0..7 {
        let customer = if i % 3 == 0 { "cus_a" } else { "cus_b" };
        let fulfilment = if i % 2 == 0 { "shipping" } else { "pickup" };
        let order = server
            .place(&manager, &checkout_body(customer, fulfilment))
            .await;
        all.push(str_of(&order, "id").to_string());
    }
    // Another tenant's orders never show up.
    let other = token("globex", Role::Manager);
    server
        .place(&other, &checkout_body("cus_a", "shipping"))
        .await;

    let shipping_ids = [&all[0], &all[2]];
    for id in shipping_ids {
        server.advance(&manager, id, "confirmed", json!({})).await;
    }
    let confirmed: BTreeSet<String> = server
        .list_ids(&manager, &[("status", "confirmed")])
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = shipping_ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(confirmed, expected);
    let page = server.list(&manager, &[("status", "confirmed")]).await;
    for order in page.expect(200)["orders"].as_array().unwrap() {
        assert_eq!(order["status"], "confirmed");
    }
    assert_eq!(
        server
            .list_ids(&manager, &[("status", "pending")])
            .await
            .len(),
        5
    );
    assert!(server
        .list_ids(&manager, &[("status", "delivered")])
        .await
        .is_empty());
    // A padded status is the status; an empty filter filters nothing.
    let padded: BTreeSet<String> = server
        .list_ids(&manager, &[("status", " confirmed ")])
        .await
        .into_iter()
        .collect();
    assert_eq!(padded, expected);
    assert_eq!(
        server
            .list_ids(&manager, &[("status", ""), ("customer_id", "")])
            .await
            .len(),
        7
    );

    let for_a: BTreeSet<String> = server
        .list_ids(&manager, &[("customer_id", "cus_a")])
        .await
        .into_iter()
        .collect();
    let expected_a: BTreeSet<String> = [&all[0], &all[3], &all[6]]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(for_a, expected_a);
    let both = server
        .list_ids(
            &manager,
            &[("customer_id", "cus_a"), ("status", "confirmed")],
        )
        .await;
    assert_eq!(both, vec![all[0].clone()]);

    // Walk every page of two.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut params = vec![("limit", "2")];
        if let Some(c) = &cursor {
            params.push(("cursor", c.as_str()));
        }
        let page = server.list(&manager, &params).await;
        let page = page.expect(200);
        let batch = ids(&page["orders"]);
        assert!(batch.len() <= 2);
        seen.extend(batch);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "duplicates across pages: {seen:?}"
    );
    let walked: BTreeSet<String> = seen.into_iter().collect();
    let everything: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(walked, everything);
}
