//! The order aggregate: its events, the head they project to, and the pure
//! decisions that turn commands into events.

pub mod deadlines;
pub mod decide;
mod event;
mod head;
pub mod inbound;
pub mod limits;
pub mod link;
pub mod projection;
mod shipment;

pub use event::{Disposition, Event, EventBody, OrderPlaced, StatusFact};
pub use head::{
    Address, Contact, DeliveryInfo, Flag, FlagKind, Head, LineItem, OrderPolicy, OrderSummary,
    ParkedRef, PaymentInfo, ShippingSnapshot,
};
pub use shipment::{Shipment, ShipmentStatus, TrackingInput, MAX_CARRIER, MAX_TRACKING_CODE};
