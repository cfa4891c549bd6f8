//! The customer's tracking view: honest about where the order is, reachable
//! by public id only, and free of anything personal.

use crate::common::*;
use order_core::auth::Role;
use serde_json::json;

#[tokio::test]
async fn tracking_view_is_honest_and_leaks_nothing_personal() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    let public_id = str_of(&order, "public_id");

    let assert_private = |resp: &Resp| {
        let body = &resp.text;
        for secret in [
            "ord_",
            id,
            "dana@example.com",
            "555-0199",
            "1 King St W",
            "Suite 900",
            "M5H 1A1",
            "Dana Doe",
            "acme",
            "user-1",
        ] {
            assert!(
                !body.contains(secret),
                "tracking view leaks {secret:?}: {body}"
            );
        }
    };

    let pending = server.track(public_id).await;
    let view = pending.expect(200).clone();
    assert!(pending.content_type().starts_with("application/json"));
    assert_private(&pending);
    assert_eq!(view["public_id"], public_id);
    assert_eq!(view["status"], "pending");
    assert!(
        str_of(&view, "message").contains("Processing payment"),
        "{view}"
    );
    assert_eq!(
        view["ship_to"],
        json!({ "city": "Toronto", "country": "CA" })
    );
    assert_eq!(
        view["items"],
        json!([
            { "name": "Blue mug", "quantity": 2, "unit_price": 1250 },
            { "name": "Green tea", "quantity": 3, "unit_price": 899 }
        ])
    );
    assert_eq!(view["terminal"], false);

    server.advance(&manager, id, "confirmed", json!({})).await;
    let confirmed = server.track(public_id).await;
    let view = confirmed.expect(200).clone();
    assert_private(&confirmed);
    assert_eq!(view["status"], "confirmed");
    assert!(
        str_of(&view, "message").contains("tracking will appear once dispatched"),
        "{view}"
    );
    let steps: Vec<&str> = view["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|s| str_of(s, "status"))
        .collect();
    assert_eq!(steps, vec!["pending", "confirmed"]);

    server
        .advance(&manager, id, "shipped", json!({ "tracking": tracking() }))
        .await;
    let shipped = server.track(public_id).await;
    let view = shipped.expect(200).clone();
    assert_private(&shipped);
    assert_eq!(view["message"], "Your order has shipped!");
    assert_eq!(view["shipments"][0]["tracking_code"], "CP123456789CA");

    // The view is reachable by public id only.
    server.track("trk_doesnotexist").await.problem(404);
    server.track(id).await.problem(404);
}
