//! What every `Tickets` adapter must do: the table on AWS and the local
//! stack's memory run the same cases.

use std::sync::Arc;

use chrono::{Duration, Utc};

use crate::auth::{Principal, Role};
use crate::ports::Tickets;

fn staff() -> Principal {
    Principal {
        tenant: "acme".into(),
        role: Role::Staff,
        subject: "sam".into(),
        stores: None,
    }
}

/// A ticket gives back who it was issued to, once; two redeeming it at the
/// same time get it once between them.
pub async fn a_ticket_is_redeemed_once(tickets: Arc<dyn Tickets>) {
    let now = Utc::now();
    let ticket = tickets
        .issue(&staff(), now + Duration::seconds(60))
        .await
        .unwrap();
    assert!(ticket.ticket.len() >= 32, "unguessable: {}", ticket.ticket);
    let (a, b) = tokio::join!(
        tickets.redeem(&ticket.ticket, now),
        tickets.redeem(&ticket.ticket, now)
    );
    let won: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(won, [staff()]);
    assert_eq!(tickets.redeem(&ticket.ticket, now).await.unwrap(), None);
}

/// An expired or never issued ticket gives nothing.
pub async fn an_expired_or_unknown_ticket_is_refused(tickets: Arc<dyn Tickets>) {
    let now = Utc::now();
    let ticket = tickets
        .issue(&staff(), now + Duration::seconds(60))
        .await
        .unwrap();
    let later = now + Duration::seconds(61);
    assert_eq!(tickets.redeem(&ticket.ticket, later).await.unwrap(), None);
    assert_eq!(tickets.redeem("tkt_never_issued", now).await.unwrap(), None);
}
