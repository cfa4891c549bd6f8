//! Stores within a tenant (seeds 001, 002, 004): an order belongs to one,
//! tokens may be limited to some, lists and reports filter and group by
//! them, and a tenant with one store never names it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use order_core::auth::Role;

fn two_stores() -> Value {
    json!({"tenants": {"acme": {
        "stores": {
            "soho": {"name": "SoHo", "utc_offset": "-05:00"},
            "tribeca": {"name": "Tribeca", "utc_offset": "-05:00"}
        },
        "shifts": [{"name": "all_day", "from": "00:00", "to": "23:59"}]
    }}})
}

fn at_store(customer: &str, store: &str) -> Value {
    let mut body = checkout_body(customer, "kitchen");
    body["store"] = json!(store);
    body
}

#[tokio::test]
async fn an_order_belongs_to_a_store_and_a_single_store_tenant_never_names_it() {
    let server = start_with_tenants(two_stores());
    let manager = token("acme", Role::Manager);
    let soho = server.place(&manager, &at_store("cus_1", "soho")).await;
    assert_eq!(soho["store"], "soho");

    // Two stores: an order must say which; an unknown one is refused.
    let unnamed = server
        .checkout(&manager, &checkout_body("cus_2", "kitchen"), None)
        .await;
    let problem = unnamed.problem(400);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("soho, tribeca"));
    server
        .checkout(&manager, &at_store("cus_2", "brooklyn"), None)
        .await
        .problem(400);
    assert_eq!(
        server.list(&manager, &[]).await.expect(200)["orders"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing written by a refusal"
    );

    // A tenant that lists no stores: the order is the default store's.
    let globex = token("globex", Role::Manager);
    let plain = server
        .place(&globex, &checkout_body("cus_3", "pickup"))
        .await;
    assert_eq!(plain["store"], "main");
    let listed = server.list(&globex, &[]).await;
    assert_eq!(listed.expect(200)["orders"][0]["store"], "main");
}

#[tokio::test]
async fn a_token_limited_to_a_store_sees_and_moves_only_its_orders() {
    let server = start_with_tenants(two_stores());
    let manager = token("acme", Role::Manager);
    let soho_staff = store_token("acme", Role::Staff, &["soho"]);
    let tribeca = server.place(&manager, &at_store("cus_1", "tribeca")).await;
    let tribeca_id = str_of(&tribeca, "id");

    // Its own store is the default at checkout; another store is refused.
    let own = server
        .place(&soho_staff, &checkout_body("cus_2", "kitchen"))
        .await;
    assert_eq!(own["store"], "soho");
    server
        .checkout(&soho_staff, &at_store("cus_3", "tribeca"), None)
        .await
        .problem(403);

    // Another store's order is as unknown as another tenant's.
    server
        .get(&format!("/orders/{tribeca_id}"), &soho_staff)
        .await
        .problem(404);
    server
        .transition(&soho_staff, tribeca_id, json!({"to": "confirmed"}))
        .await
        .problem(404);
    let order = server.order(&manager, tribeca_id).await;
    assert_eq!(order["version"], 1, "nothing written");
    assert_eq!(
        server.list_ids(&soho_staff, &[]).await,
        [str_of(&own, "id").to_string()]
    );
    server
        .list(&soho_staff, &[("store", "tribeca")])
        .await
        .problem(403);
    // What the whole tenant shares is not for it.
    server.get("/events", &soho_staff).await.problem(403);
    let stores = server.get("/stores", &soho_staff).await;
    assert_eq!(
        stores.expect(200),
        &json!({
            "stores": [{"id": "soho", "name": "SoHo", "utc_offset": "-05:00"}],
            "all_stores": false
        })
    );
}

#[tokio::test]
async fn lists_filter_by_store_and_reports_group_by_store_day_hour_and_shift() {
    let server = start_with_tenants(two_stores());
    let manager = token("acme", Role::Manager);
    let mut ids = Vec::new();
    for (customer, store) in [("c1", "soho"), ("c2", "soho"), ("c3", "tribeca")] {
        let order = server.place(&manager, &at_store(customer, store)).await;
        let id = str_of(&order, "id").to_string();
        for to in ["confirmed", "preparing", "ready"] {
            server.advance(&manager, &id, to, json!({})).await;
        }
        ids.push(id);
    }
    let soho = server.list_ids(&manager, &[("store", "soho")]).await;
    assert_eq!(soho.len(), 2);
    assert!(!soho.contains(&ids[2]));

    let by_store = server.get("/admin/reports/sla?by=store", &manager).await;
    let report = by_store.expect(200);
    assert_eq!(report["orders"], 3);
    assert_eq!(report["by"], "store");
    let groups: Vec<(Value, Value)> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].clone(), g["orders"].clone()))
        .collect();
    assert_eq!(
        groups,
        [(json!("soho"), json!(2)), (json!("tribeca"), json!(1))]
    );
    let one_store = server
        .get("/admin/reports/sla?store=tribeca", &manager)
        .await;
    assert_eq!(one_store.expect(200)["orders"], 1);
    for by in ["day", "hour", "shift"] {
        let report = server
            .get(&format!("/admin/reports/sla?by={by}"), &manager)
            .await;
        let groups = report.expect(200)["groups"].as_array().unwrap().clone();
        let counted: u64 = groups.iter().map(|g| g["orders"].as_u64().unwrap()).sum();
        assert_eq!(counted, 3, "every order in one {by}");
    }
    let span = server
        .get(
            "/admin/reports/span?lifecycle=kitchen&from_state=confirmed&to_state=ready&by=store",
            &manager,
        )
        .await;
    let span = span.expect(200);
    assert_eq!(span["overall"]["count"], 3);
    assert_eq!(span["overall"]["from_state"], "confirmed");
    assert_eq!(span["groups"][0]["key"], "soho");
    assert_eq!(span["groups"][0]["count"], 2);

    // Bad input is a clear 400; a store-limited manager's report is theirs.
    server
        .get("/admin/reports/sla?by=week", &manager)
        .await
        .problem(400);
    server
        .get("/admin/reports/span?lifecycle=kitchen", &manager)
        .await
        .problem(400);
    let soho_manager = store_token("acme", Role::Manager, &["soho"]);
    let theirs = server.get("/admin/reports/sla", &soho_manager).await;
    assert_eq!(theirs.expect(200)["orders"], 2);
    server
        .call(
            Method::GET,
            "/admin/reports/sla?store=tribeca",
            Some(&soho_manager),
            None,
        )
        .await
        .problem(403);
}
