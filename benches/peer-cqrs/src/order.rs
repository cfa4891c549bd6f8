//! The shipping lifecycle as a cqrs-es aggregate, written the way the
//! framework's own examples are: commands decided against the state rebuilt
//! from every event, one event per command.
//!
//! It makes the decisions ours makes for the benchmark's commands: the path
//! pending → confirmed → packing → shipped → in_transit → out_for_delivery →
//! delivered, skippable carrier sub-states, and a tracking code to ship.

use std::fmt;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    New,
    Pending,
    Confirmed,
    Packing,
    Shipped,
    InTransit,
    OutForDelivery,
    Delivered,
}

impl Status {
    /// States a move may pass over without reaching them.
    fn skippable(self) -> bool {
        matches!(
            self,
            Status::Packing | Status::InTransit | Status::OutForDelivery
        )
    }

    /// Forward along the path, passing over skippable states only.
    fn may_move_to(self, to: Status) -> bool {
        const PATH: [Status; 7] = [
            Status::Pending,
            Status::Confirmed,
            Status::Packing,
            Status::Shipped,
            Status::InTransit,
            Status::OutForDelivery,
            Status::Delivered,
        ];
        let (Some(from), Some(to)) = (
            PATH.iter().position(|s| *s == self),
            PATH.iter().position(|s| *s == to),
        ) else {
            return false;
        };
        from < to && PATH[from + 1..to].iter().all(|s| s.skippable())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub line1: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shipping {
    pub method: String,
    pub name: String,
    pub address: Address,
}

pub enum Command {
    Place {
        tenant: String,
        customer_id: String,
        currency: String,
        items: Vec<Line>,
        shipping: Shipping,
        contact_email: String,
    },
    /// A payment provider's success.
    RecordPayment,
    /// A staff move.
    Move { to: Status, actor: String },
    /// A staff move to shipped, with the package's tracking code.
    Ship {
        carrier: String,
        code: String,
        actor: String,
    },
    /// A carrier's scan.
    Scan { to: Status },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OrderEvent {
    Placed {
        tenant: String,
        customer_id: String,
        currency: String,
        items: Vec<Line>,
        shipping: Shipping,
        contact_email: String,
        total: i64,
        occurred_at: DateTime<Utc>,
    },
    Moved {
        from: Status,
        to: Status,
        source: String,
        actor: Option<String>,
        occurred_at: DateTime<Utc>,
    },
    Shipped {
        carrier: String,
        code: String,
        actor: String,
        occurred_at: DateTime<Utc>,
    },
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        match self {
            OrderEvent::Placed { .. } => "OrderPlaced",
            OrderEvent::Moved { .. } => "OrderStatusChanged",
            OrderEvent::Shipped { .. } => "OrderShipped",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1.0".into()
    }
}

#[derive(Debug)]
pub struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Order {
    status: Status,
    total: i64,
    tracking: Vec<(String, String)>,
}

impl Order {
    fn moved(
        &self,
        to: Status,
        source: &str,
        actor: Option<String>,
    ) -> Result<OrderEvent, Refused> {
        if !self.status.may_move_to(to) {
            return Err(Refused(format!("{:?} cannot move to {to:?}", self.status)));
        }
        Ok(OrderEvent::Moved {
            from: self.status,
            to,
            source: source.into(),
            actor,
            occurred_at: Utc::now(),
        })
    }
}

impl Aggregate for Order {
    const TYPE: &'static str = "Order";
    type Command = Command;
    type Event = OrderEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(
        &mut self,
        command: Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        let event = match command {
            Command::Place {
                tenant,
                customer_id,
                currency,
                items,
                shipping,
                contact_email,
            } => {
                if self.status != Status::New {
                    return Err(Refused("already placed".into()));
                }
                let total = items
                    .iter()
                    .map(|l| l.unit_price * i64::from(l.quantity))
                    .sum();
                OrderEvent::Placed {
                    tenant,
                    customer_id,
                    currency,
                    items,
                    shipping,
                    contact_email,
                    total,
                    occurred_at: Utc::now(),
                }
            }
            Command::RecordPayment => self.moved(Status::Confirmed, "payment:stripe", None)?,
            Command::Move { to, actor } => self.moved(to, "staff", Some(actor))?,
            Command::Ship {
                carrier,
                code,
                actor,
            } => {
                if code.trim().is_empty() {
                    return Err(Refused("shipped needs a tracking code".into()));
                }
                self.moved(Status::Shipped, "staff", None)?;
                OrderEvent::Shipped {
                    carrier,
                    code,
                    actor,
                    occurred_at: Utc::now(),
                }
            }
            Command::Scan { to } => self.moved(to, "carrier:easypost", None)?,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: OrderEvent) {
        match event {
            OrderEvent::Placed { total, .. } => {
                self.status = Status::Pending;
                self.total = total;
            }
            OrderEvent::Moved { to, .. } => self.status = to,
            OrderEvent::Shipped { carrier, code, .. } => {
                self.status = Status::Shipped;
                self.tracking.push((carrier, code));
            }
        }
    }
}
