//! What every `Claims` adapter must do: one winner however many ask.

use std::sync::Arc;

use chrono::{Duration, Utc};

use crate::ports::Claims;

pub async fn a_claim_is_won_once(claims: Arc<dyn Claims>) {
    let until = Utc::now() + Duration::days(30);
    let tries = (0..8).map(|_| claims.claim("acme/evt_1:email", until));
    let won = futures_util::future::join_all(tries).await;
    let won = won.into_iter().filter(|w| *w.as_ref().unwrap()).count();
    assert_eq!(won, 1);
    assert!(
        claims.claim("acme/evt_1:sms", until).await.unwrap(),
        "another key"
    );
    assert!(!claims.claim("acme/evt_1:email", until).await.unwrap());
}
