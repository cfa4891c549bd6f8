//! The customer's "my orders" page: every order of the customer behind one
//! order's public id, at that order's tenant, as the customer may see them
//! — no contact details, addresses or internal ids. The caller has checked
//! the signed link that named the public id ([`LinkKey`](crate::notify::LinkKey)).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{OrderService, ServiceError};
use crate::ports::ListQuery;
use crate::views::TrackingView;

/// Orders one page lists: a customer of one store has few.
const MAX_ORDERS: usize = 50;

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyOrder {
    pub public_id: String,
    pub status: String,
    pub label: String,
    pub terminal: bool,
    pub placed_at: DateTime<Utc>,
    pub total: i64,
    pub currency: String,
    pub items: usize,
}

impl OrderService {
    /// The orders of `public_id`'s customer, most recently updated first.
    pub async fn my_orders(&self, public_id: &str) -> Result<Vec<MyOrder>, ServiceError> {
        let head = self.find_public(public_id).await?;
        let query = ListQuery {
            tenant: head.tenant.clone(),
            customer_id: Some(head.customer_id.clone()),
            limit: MAX_ORDERS,
            ..ListQuery::default()
        };
        let mut orders = Vec::new();
        for summary in self.store.list(&query).await?.items {
            let Some(loaded) = self.store.load(&summary.id).await? else {
                continue;
            };
            let head = loaded.head;
            let lifecycle = self.lifecycle(&head.lifecycle)?;
            let view = TrackingView::new(&head, &[], &lifecycle);
            orders.push(MyOrder {
                public_id: head.public_id.clone(),
                status: view.status,
                label: view.label,
                terminal: view.terminal,
                placed_at: head.created_at,
                total: head.total,
                currency: head.currency.clone(),
                items: head.items.iter().map(|i| i.quantity as usize).sum(),
            });
        }
        Ok(orders)
    }
}
