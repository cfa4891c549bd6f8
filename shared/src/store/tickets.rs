//! Tickets in memory, for the local stack: one process issues and redeems
//! them, and each lives a minute, so nothing needs to outlast a restart.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::auth::Principal;
use crate::order::decide::new_secret_id;
use crate::ports::{StoreError, Ticket, Tickets};

#[derive(Default)]
pub struct MemoryTickets {
    waiting: Mutex<HashMap<String, (Principal, DateTime<Utc>)>>,
}

#[async_trait]
impl Tickets for MemoryTickets {
    async fn issue(
        &self,
        principal: &Principal,
        expires_at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError> {
        let ticket = new_secret_id("tkt");
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        // Tickets never redeemed would pile up; a new one clears the expired.
        let now = Utc::now();
        waiting.retain(|_, (_, expires_at)| *expires_at > now);
        waiting.insert(ticket.clone(), (principal.clone(), expires_at));
        Ok(Ticket { ticket, expires_at })
    }

    async fn redeem(
        &self,
        ticket: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(waiting
            .remove(ticket)
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(principal, _)| principal))
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use std::sync::Arc;

    use super::MemoryTickets;
    use crate::testkit::ticket_cases;

    #[tokio::test]
    async fn a_ticket_is_redeemed_once() {
        ticket_cases::a_ticket_is_redeemed_once(Arc::new(MemoryTickets::default())).await;
    }

    #[tokio::test]
    async fn an_expired_or_unknown_ticket_is_refused() {
        ticket_cases::an_expired_or_unknown_ticket_is_refused(Arc::new(MemoryTickets::default()))
            .await;
    }
}
