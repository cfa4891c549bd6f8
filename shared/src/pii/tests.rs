use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::lifecycle::FulfilmentType;
use crate::order::{Address, OrderPolicy};

#[derive(Default)]
struct Kept(Mutex<HashMap<(String, String), String>>);

#[async_trait]
impl DataKeys for Kept {
    async fn data_key(&self, tenant: &str, customer: &str) -> Result<Option<String>, StoreError> {
        let key = (tenant.to_string(), customer.to_string());
        Ok(self.0.lock().unwrap().get(&key).cloned())
    }

    async fn keep_data_key(
        &self,
        tenant: &str,
        customer: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let at = (tenant.to_string(), customer.to_string());
        match self.0.lock().unwrap().entry(at) {
            Entry::Occupied(_) => Ok(false),
            Entry::Vacant(slot) => {
                slot.insert(key.to_string());
                Ok(true)
            }
        }
    }

    async fn forget_data_key(&self, tenant: &str, customer: &str) -> Result<bool, StoreError> {
        let key = (tenant.to_string(), customer.to_string());
        Ok(self.0.lock().unwrap().remove(&key).is_some())
    }
}

fn vault(dir: &Path) -> Vault {
    let wrap = KeyFile::open_or_create(&dir.join("master.key")).unwrap();
    Vault::new(Arc::new(wrap), Arc::new(Kept::default()))
}

fn placed(customer: &str) -> OrderPlaced {
    OrderPlaced {
        store: "main".into(),
        lifecycle: "shipping".into(),
        fulfilment: FulfilmentType::Shipping,
        status: "pending".into(),
        customer_id: customer.into(),
        currency: "CAD".into(),
        items: Vec::new(),
        total: 0,
        shipping: Some(ShippingSnapshot {
            method: "standard".into(),
            name: "Dana Doe".into(),
            address: Address {
                line1: "1 King St W".into(),
                line2: Some("Unit 4".into()),
                city: "Toronto".into(),
                region: Some("ON".into()),
                postal_code: "M5H 1A1".into(),
                country: "CA".into(),
            },
        }),
        contact: Contact {
            email: Some("dana@example.com".into()),
            phone: Some("+14165550100".into()),
        },
        policy: OrderPolicy::default(),
    }
}

fn head_of(tenant: &str, placed: OrderPlaced) -> Head {
    let ids = ("ord_1".to_string(), "trk_1".to_string());
    let lifecycle = crate::lifecycle::Catalog::presets()
        .get("shipping")
        .unwrap();
    let origin = crate::order::decide::Origin {
        source: "staff".into(),
        actor_kind: crate::lifecycle::Actor::Manager,
        actor: None,
        external_id: None,
    };
    crate::order::decide::place_order(ids, tenant, placed, &origin, &lifecycle, chrono::Utc::now())
        .head
}

#[tokio::test]
async fn sealed_fields_hold_no_plaintext_and_open_to_what_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let mut sealed = placed("cus_1");
    vault.seal_placed("acme", &mut sealed).await.unwrap();
    let text = serde_json::to_string(&sealed).unwrap();
    for plain in ["Dana", "King", "Unit 4", "M5H", "dana@", "5550100"] {
        assert!(!text.contains(plain), "{plain} in {text}");
    }
    let address = &sealed.shipping.as_ref().unwrap().address;
    assert!(is_sealed(&address.line1));
    assert_eq!(
        (address.city.as_str(), address.country.as_str()),
        ("Toronto", "CA")
    );
    let mut head = head_of("acme", sealed);
    vault.open_head(&mut head).await.unwrap();
    let given = placed("cus_1");
    assert_eq!(head.contact, given.contact);
    assert_eq!(head.shipping, given.shipping);
}

#[tokio::test]
async fn the_same_value_seals_differently_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let (mut one, mut two) = (placed("cus_1"), placed("cus_1"));
    vault.seal_placed("acme", &mut one).await.unwrap();
    vault.seal_placed("acme", &mut two).await.unwrap();
    assert_ne!(one.contact.email, two.contact.email);
}

#[tokio::test]
async fn a_sealed_value_opens_for_neither_another_field_nor_another_customer() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let mut sealed = placed("cus_1");
    vault.seal_placed("acme", &mut sealed).await.unwrap();
    let mut moved = sealed.clone();
    moved.contact.phone = moved.contact.email.clone();
    let mut head = head_of("acme", moved);
    assert!(matches!(
        vault.open_head(&mut head).await,
        Err(VaultError::Tampered("contact.phone"))
    ));
    // Another customer has no key of this id: to them it is nothing.
    let mut theirs = sealed.clone();
    theirs.customer_id = "cus_2".into();
    let mut head = head_of("acme", theirs);
    vault.open_head(&mut head).await.unwrap();
    assert_eq!(head.contact.email.as_deref(), Some(ERASED));
}

#[tokio::test]
async fn erasure_makes_every_field_read_erased_and_a_later_order_gets_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let mut before = placed("cus_1");
    vault.seal_placed("acme", &mut before).await.unwrap();
    assert!(vault.erase("acme", "cus_1").await.unwrap());
    assert!(!vault.erase("acme", "cus_1").await.unwrap());
    let mut head = head_of("acme", before.clone());
    vault.open_head(&mut head).await.unwrap();
    let shipping = head.shipping.as_ref().unwrap();
    assert_eq!(head.contact.email.as_deref(), Some(ERASED));
    assert_eq!(shipping.address.line1, ERASED);
    assert_eq!(shipping.address.city, "Toronto");
    let mut after = placed("cus_1");
    vault.seal_placed("acme", &mut after).await.unwrap();
    let mut old = head_of("acme", before);
    vault.open_head(&mut old).await.unwrap();
    assert_eq!(old.contact.email.as_deref(), Some(ERASED));
    let mut new = head_of("acme", after);
    vault.open_head(&mut new).await.unwrap();
    assert_eq!(new.contact.email.as_deref(), Some("dana@example.com"));
}

#[tokio::test]
async fn the_key_file_is_made_once_and_read_after() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("master.key");
    let context = context("acme", "cus_1");
    let (plain, wrapped) = KeyFile::open_or_create(&path)
        .unwrap()
        .generate(&context)
        .await
        .unwrap();
    let again = KeyFile::open_or_create(&path).unwrap();
    assert_eq!(again.unwrap(&wrapped, &context).await.unwrap(), plain);
    assert!(matches!(
        again
            .unwrap(&wrapped, &super::context("acme", "cus_2"))
            .await,
        Err(KeyError::Refused)
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_providers_error_is_scrubbed_of_the_opened_values() {
    let head = head_of("acme", placed("cus_1"));
    let error =
        "422: dropoff_phone_number +14165550100 invalid for Dana Doe at 1 King St W, Toronto";
    assert_eq!(
        scrub(error, &head),
        "422: dropoff_phone_number [personal data] invalid for [personal data] at [personal data], Toronto"
    );
}
