//! What every `DataKeys` adapter must do: one key per customer of a tenant,
//! the first kept however many race to make it, gone once forgotten.

use std::sync::Arc;

use crate::ports::DataKeys;

pub async fn a_data_key_is_kept_once_per_customer_and_forgotten(keys: Arc<dyn DataKeys>) {
    assert_eq!(keys.data_key("acme", "cus_1").await.unwrap(), None);
    let tries = (0..8).map(|i| {
        let keys = keys.clone();
        async move {
            keys.keep_data_key("acme", "cus_1", &format!("k{i}:AAAA"))
                .await
        }
    });
    let kept = futures_util::future::join_all(tries).await;
    let won: Vec<usize> = (0..8).filter(|i| *kept[*i].as_ref().unwrap()).collect();
    assert_eq!(won.len(), 1, "{kept:?}");
    let key = format!("k{}:AAAA", won[0]);
    assert_eq!(
        keys.data_key("acme", "cus_1").await.unwrap(),
        Some(key.clone())
    );
    // Another customer, or the same customer id at another tenant, is apart.
    assert!(keys.keep_data_key("acme", "cus_2", "x:BBBB").await.unwrap());
    assert!(keys
        .keep_data_key("globex", "cus_1", "y:CCCC")
        .await
        .unwrap());

    assert!(keys.forget_data_key("acme", "cus_1").await.unwrap());
    assert!(!keys.forget_data_key("acme", "cus_1").await.unwrap());
    assert_eq!(keys.data_key("acme", "cus_1").await.unwrap(), None);
    assert_eq!(
        keys.data_key("acme", "cus_2").await.unwrap().as_deref(),
        Some("x:BBBB")
    );
    assert_eq!(
        keys.data_key("globex", "cus_1").await.unwrap().as_deref(),
        Some("y:CCCC")
    );
    // Ids that could spell each other's when joined stay apart.
    assert!(keys.keep_data_key("acme", "x#y", "s:EEEE").await.unwrap());
    assert!(keys.keep_data_key("acme#x", "y", "t:FFFF").await.unwrap());
    assert!(keys.forget_data_key("acme#x", "y").await.unwrap());
    assert_eq!(
        keys.data_key("acme", "x#y").await.unwrap().as_deref(),
        Some("s:EEEE")
    );
    // After an erasure the customer gets a new key.
    assert!(keys.keep_data_key("acme", "cus_1", "z:DDDD").await.unwrap());
}
