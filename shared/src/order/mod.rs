//! The order aggregate: its events, the head they project to, and the pure
//! decisions that turn commands into events.

pub mod chain;
pub mod deadlines;
pub mod decide;
pub mod dispatch;
mod event;
mod flags;
mod head;
pub mod inbound;
pub mod issue;
pub mod limits;
pub mod link;
mod notification;
pub mod projection;
mod shipment;
pub mod substitution;

/// The canonical package statuses are lifecycle vocabulary; kept here too
/// because the order is where packages live.
pub use crate::lifecycle::ShipmentStatus;
pub use event::{Disposition, Event, EventBody, OrderPlaced, StatusFact};
pub use flags::{Flag, FlagKind, StallReason};
pub use head::{
    Address, Contact, DeliveryInfo, Head, LineItem, OrderPolicy, OrderSummary, ParkedRef,
    PaymentInfo, ShippingSnapshot, DEFAULT_STORE, MAX_PAYMENT_FAILURES,
};
pub use issue::{IssueKind, IssueNews, IssueState, IssueStep, OrderIssue, Severity};
pub use limits::{MAX_CARRIER, MAX_TRACKING_CODE};
pub use notification::{Channel, NotificationRecord, NotifyPrefs, Suppressed};
pub use shipment::{Shipment, TrackingInput};
