//! The tenant's own delivery fleet (seed 004): staff assign one of their
//! drivers to an order, and the driver — signed in with the `driver` role —
//! reports positions and progress on the deliveries assigned to them. What
//! a driver reports is recorded like a delivery partner's news (source
//! `delivery:fleet`), so it moves the order through the same roles; a
//! driver who goes silent while carrying an order gets a delivery issue
//! opened by the sweep ([`decide::sweep`](crate::order::decide::sweep)).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::requests::staff_text;
use super::{FactOutcome, OrderService, ServiceError};
use crate::auth::{Principal, FLEET_SOURCE};
use crate::order::decide::new_id;
use crate::order::inbound::{
    DeliveryKind, DeliveryNews, Driver, GeoPoint, Inbound, InboundFact, Subject,
};
use crate::order::limits;
use crate::views::OrderView;

/// `POST /orders/{id}/driver`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssignDriver {
    /// The driver's id: the `sub` of their token.
    pub driver_id: String,
    pub name: String,
    #[serde(default)]
    pub vehicle: Option<String>,
}

/// What a driver reports about a delivery.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "report", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriverReport {
    Position {
        lat: f64,
        lng: f64,
        #[serde(default)]
        accuracy_m: Option<f64>,
        /// When the device took it; now when absent.
        #[serde(default)]
        at: Option<DateTime<Utc>>,
    },
    PickedUp,
    Delivered,
    Failed {
        #[serde(default)]
        message: Option<String>,
    },
}

impl OrderService {
    /// Staff give one of their drivers the delivery.
    pub async fn assign_driver(
        &self,
        principal: &Principal,
        order_id: &str,
        request: AssignDriver,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        limits::id("driver_id", &request.driver_id)?;
        let name = staff_text("name", &request.name)?;
        let vehicle = limits::optional_text("vehicle", request.vehicle.as_deref(), 100)?;
        self.load_owned(principal, order_id).await?;
        let news = DeliveryNews {
            kind: DeliveryKind::DriverAssigned,
            reference: request.driver_id,
            driver: Some(Driver {
                name,
                vehicle,
                photo_url: None,
                phone: None,
            }),
            location: None,
            eta: None,
            message: None,
        };
        self.fleet_news(&principal.tenant, order_id, news, self.clock.now())
            .await?;
        self.get(principal, order_id).await
    }

    /// A driver reports on a delivery assigned to them; anyone else's is
    /// as unknown to them as another tenant's order.
    pub async fn driver_report(
        &self,
        principal: &Principal,
        order_id: &str,
        report: DriverReport,
    ) -> Result<FactOutcome, ServiceError> {
        principal.require_driver()?;
        let head = self.load_owned(principal, order_id).await?.head;
        let assigned = head
            .delivery
            .as_ref()
            .is_some_and(|d| d.partner == "fleet" && d.reference == principal.subject);
        if !assigned {
            return Err(ServiceError::NotFound);
        }
        let now = self.clock.now();
        let (kind, location, message, at) = match report {
            DriverReport::Position {
                lat,
                lng,
                accuracy_m,
                at,
            } => {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng) {
                    return Err(ServiceError::Invalid(
                        "lat must be -90..90 and lng -180..180".into(),
                    ));
                }
                let at = at.unwrap_or(now).min(now);
                let point = GeoPoint {
                    lat,
                    lng,
                    accuracy_m,
                    at,
                };
                (DeliveryKind::Location, Some(point), None, at)
            }
            DriverReport::PickedUp => (DeliveryKind::PickedUp, None, None, now),
            DriverReport::Delivered => (DeliveryKind::Delivered, None, None, now),
            DriverReport::Failed { message } => {
                let message =
                    limits::optional_text("message", message.as_deref(), limits::MAX_REASON)?;
                (DeliveryKind::Failed, None, message, now)
            }
        };
        let news = DeliveryNews {
            kind,
            reference: principal.subject.clone(),
            driver: None,
            location,
            eta: None,
            message,
        };
        self.fleet_news(&principal.tenant, order_id, news, at).await
    }

    async fn fleet_news(
        &self,
        tenant: &str,
        order_id: &str,
        news: DeliveryNews,
        at: DateTime<Utc>,
    ) -> Result<FactOutcome, ServiceError> {
        let inbound = Inbound {
            source: FLEET_SOURCE.to_string(),
            event_id: new_id("flt"),
            occurred_at: at,
            subject: Subject::Order {
                order_id: order_id.to_string(),
            },
            fact: InboundFact::Delivery(news),
        };
        self.deliver(tenant, &inbound).await
    }
}
