//! Asking the tenant's delivery partners for a driver (README › Delivery
//! partners): when an order's dispatch is due — it just became ready for a
//! driver, a partner without drivers is to be asked again, the next one is
//! to be asked, or a booked delivery is to be cancelled — the partner is
//! called and its answer recorded on the order. Right after the command
//! that made it due, and by every sweep for what is still due (a retry's
//! pause, a partner that was down).

use chrono::{DateTime, Utc};

use super::{OrderService, ServiceError};
use crate::order::decide;
use crate::order::dispatch::{Dispatch, DispatchState, DispatchStep};
use crate::order::Head;
use crate::pii;
use crate::ports::{Commit, DispatchRequest, PartnerError, StoreError};

/// Partner calls one go may make: every retry due now, then the next
/// partner's, for a short list.
const MAX_CALLS: usize = 8;

/// Whether `head`'s dispatch waits for a call at `now`.
pub(super) fn due(head: &Head, now: DateTime<Utc>) -> bool {
    head.dispatch
        .as_ref()
        .and_then(|d| d.due_at)
        .is_some_and(|at| at <= now)
}

impl OrderService {
    /// Makes the partner calls order `order_id`'s dispatch is due for, and
    /// records each answer. A call the store then refuses to record (the
    /// order changed meanwhile) is recorded on the order as it is now, if
    /// its dispatch has not moved on; otherwise the next run looks again.
    pub(super) async fn dispatch(&self, order_id: &str) -> Result<usize, ServiceError> {
        let mut calls = 0;
        while calls < MAX_CALLS {
            let now = self.clock.now();
            let Some(loaded) = self.store.load(order_id).await? else {
                break;
            };
            let head = loaded.head;
            if !due(&head, now) {
                break;
            }
            let Some(before) = head.dispatch.clone() else {
                break;
            };
            // The partner needs the customer's name, address and phone.
            let mut opened = self.opened(head.clone()).await?;
            super::personal::reachable(&mut opened.contact);
            let Some(step) = self.call_partner(&opened, &before).await else {
                break;
            };
            calls += 1;
            if !self.record_answer(head, &before, step).await? {
                break;
            }
        }
        Ok(calls)
    }

    /// What the partner said; `None` when there is nothing to record yet
    /// (a cancellation the partner could not take now is tried again).
    async fn call_partner(&self, head: &Head, dispatch: &Dispatch) -> Option<DispatchStep> {
        let name = head
            .policy
            .dispatch
            .partners
            .get(dispatch.partner)
            .cloned()
            .unwrap_or_default();
        let partner = self
            .partners
            .as_ref()
            .and_then(|p| p.partner(&head.tenant, &name));
        let declined = |reason: String, no_drivers| DispatchStep::Declined {
            partner: name.clone(),
            reason,
            no_drivers,
        };
        match (dispatch.state, partner) {
            (DispatchState::Requesting, None) => Some(declined(
                format!("{} has no {name} connection", head.tenant),
                false,
            )),
            (DispatchState::Requesting, Some(partner)) => {
                Some(match partner.create(&self.dispatch_request(head)).await {
                    Ok(booked) => DispatchStep::Booked {
                        partner: name.clone(),
                        delivery_id: booked.delivery_id,
                        tracking_url: booked.tracking_url,
                    },
                    // A partner's refusal may quote what it was sent; the
                    // log keeps the reason without the customer's data.
                    Err(PartnerError::NoDrivers(why)) => declined(pii::scrub(&why, head), true),
                    Err(e) => declined(pii::scrub(&e.to_string(), head), false),
                })
            }
            (DispatchState::Cancelling, partner) => {
                let delivery = dispatch.delivery_id.as_deref().unwrap_or(&head.id);
                match partner {
                    Some(partner) => match partner.cancel(delivery).await {
                        Ok(()) => {}
                        Err(e) => {
                            tracing::warn!(order_id = %head.id, partner = %name, error = %e, "delivery not cancelled yet");
                            return None;
                        }
                    },
                    None => {
                        tracing::warn!(order_id = %head.id, partner = %name, "no connection to cancel the delivery with")
                    }
                }
                Some(DispatchStep::Cancelled { partner: name })
            }
            _ => None,
        }
    }

    /// Records `step` on the order while its dispatch is still `before`;
    /// whether it was recorded.
    async fn record_answer(
        &self,
        mut head: Head,
        before: &Dispatch,
        step: DispatchStep,
    ) -> Result<bool, ServiceError> {
        for _ in 0..super::MAX_ATTEMPTS {
            let lifecycle = self.lifecycle(&head.lifecycle)?;
            let decision =
                decide::record_dispatch(&head, &lifecycle, step.clone(), self.clock.now());
            match self.store.commit(&Commit::of(decision)).await {
                Ok(()) => return Ok(true),
                Err(StoreError::VersionConflict { .. }) => {
                    let Some(loaded) = self.store.load(&head.id).await? else {
                        return Ok(false);
                    };
                    if loaded.head.dispatch.as_ref() != Some(before) {
                        return Ok(false);
                    }
                    head = loaded.head;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }

    /// The delivery as the partner is asked for it: from the order's store
    /// (its name, address and phone in the tenant's settings) to the
    /// customer.
    fn dispatch_request(&self, head: &Head) -> DispatchRequest {
        let settings = self.tenants.settings(&head.tenant);
        let store = settings.stores.get(&head.store);
        let (dropoff_name, dropoff_address) = match &head.shipping {
            Some(s) => {
                let a = &s.address;
                let parts = [
                    Some(a.line1.as_str()),
                    a.line2.as_deref(),
                    Some(a.city.as_str()),
                    a.region.as_deref(),
                    Some(a.postal_code.as_str()),
                    Some(a.country.as_str()),
                ];
                let address: Vec<&str> = parts.into_iter().flatten().collect();
                (s.name.clone(), address.join(", "))
            }
            None => (head.customer_id.clone(), String::new()),
        };
        DispatchRequest {
            order_id: head.id.clone(),
            pickup_name: store
                .and_then(|s| s.name.clone())
                .unwrap_or_else(|| head.store.clone()),
            pickup_address: store.and_then(|s| s.address.clone()).unwrap_or_default(),
            pickup_phone: store.and_then(|s| s.phone.clone()),
            dropoff_name,
            dropoff_address,
            dropoff_phone: head.contact.phone.clone(),
            order_value: head.current_total(),
            currency: head.currency.clone(),
        }
    }
}
