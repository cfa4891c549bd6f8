//! Personal data on the table: every item holds only the sealed form, the
//! customers' data keys are wrapped by KMS (moto's, on loopback) and kept
//! as items of their own, and forgetting one erases the customer.

use std::sync::Arc;

use order_core::pii::{Kms, Vault};
use order_core::ports::{KeyContext, KeyError, KeyWrap, SystemClock};
use order_core::service::{OrderService, TransitionRequest};
use order_core::testkit::catalog;
use order_core::testkit::shipping_run::{checkout, manager};

use super::{fresh, raw_client};

const EMAIL: &str = "quentin.zyxwv@pii-probe.example";
const NAME: &str = "Quentin Zyxwvut";
const LINE1: &str = "77 Xylophonic Crescent";
const POSTAL: &str = "Q9Z 4Z7";

/// A fresh KMS key on moto.
async fn moto_kms() -> Kms {
    let (endpoint, key_id) = order_core::testkit::lambda_harness::moto_kms_key().await;
    let client = aws_sdk_kms::Client::new(&order_core::aws::emulator_config(&endpoint).await);
    Kms::new(client, key_id)
}

fn context(customer: &str) -> KeyContext {
    KeyContext {
        tenant: "acme".into(),
        customer: customer.into(),
    }
}

#[tokio::test]
async fn a_data_key_is_kept_once_per_customer_and_forgotten() {
    order_core::testkit::data_key_cases::a_data_key_is_kept_once_per_customer_and_forgotten(
        Arc::new(fresh().await),
    )
    .await;
}

/// KMS binds a wrapped key to its tenant and customer.
#[tokio::test]
async fn a_kms_wrapped_key_unwraps_for_its_own_customer_only() {
    let kms = moto_kms().await;
    let (plain, wrapped) = kms.generate(&context("cus_1")).await.unwrap();
    assert_eq!(plain.len(), 32);
    assert_ne!(wrapped, plain);
    assert_eq!(
        kms.unwrap(&wrapped, &context("cus_1")).await.unwrap(),
        plain
    );
    assert!(matches!(
        kms.unwrap(&wrapped, &context("cus_2")).await,
        Err(KeyError::Refused)
    ));
}

#[tokio::test]
async fn no_item_holds_personal_data_and_an_erasure_forgets_it() {
    let store = Arc::new(fresh().await);
    let vault = Arc::new(Vault::new(Arc::new(moto_kms().await), store.clone()));
    let service = OrderService::new(
        store.clone(),
        catalog(),
        Arc::default(),
        Arc::new(SystemClock),
    )
    .with_vault(vault);
    let mut request = checkout();
    request.customer_id = "cus_pii".into();
    request.contact.email = Some(EMAIL.into());
    let shipping = request.shipping.as_mut().unwrap();
    shipping.name = NAME.into();
    shipping.address.line1 = LINE1.into();
    shipping.address.postal_code = POSTAL.into();
    let placed = service
        .place(&manager(), request, Some("cart-pii".into()))
        .await
        .unwrap();
    assert_eq!(placed.body["contact"]["email"], EMAIL);
    let id = placed.body["id"].as_str().unwrap().to_string();
    let to = |to: &str| TransitionRequest {
        to: to.into(),
        reason: None,
        tracking: None,
        expected_version: None,
    };
    let moved = service
        .transition(&manager(), &id, to("confirmed"))
        .await
        .unwrap();
    assert_eq!(moved.head.contact.email.as_deref(), Some(EMAIL));

    let items = raw_client()
        .await
        .scan()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let text = format!("{items:?}");
    assert!(
        text.contains(r#"S("DATAKEY#acme")"#) && text.contains(r#"S("cus_pii")"#),
        "the wrapped key's item"
    );
    assert!(text.contains("enc:v1:"), "sealed fields");
    for plain in [EMAIL, NAME, LINE1, POSTAL, "Xylophonic", "zyxwv@"] {
        assert!(!text.contains(plain), "{plain:?} is in an item");
    }

    let erased = service.erase_customer(&manager(), "cus_pii").await.unwrap();
    assert!(erased.key_erased);
    assert_eq!(erased.orders, 1);
    let view = service.get(&manager(), &id).await.unwrap();
    assert_eq!(view.head.contact.email.as_deref(), Some("[erased]"));
    let shipping = view.head.shipping.unwrap();
    assert_eq!(
        (shipping.name.as_str(), shipping.address.city.as_str()),
        ("[erased]", "Toronto")
    );
    assert_eq!(view.head.status, "confirmed");
}
