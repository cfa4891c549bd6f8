//! Immutable facts about an order. The log is the truth; the head and every
//! view are projections of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dispatch::DispatchStep;
use super::flags::{FlagKind, StallReason};
use super::head::{default_store, Contact, LineItem, OrderPolicy, ShippingSnapshot};
use super::inbound::{DeliveryNews, PaymentNews, ShipmentNews};
use super::issue::IssueNews;
use super::notification::{NotificationRecord, NotifyPrefs};
use super::shipment::TrackingInput;
use super::substitution::{Answered, Proposal};
use crate::lifecycle::{Actor, FulfilmentType};

/// One stored event. It carries the order's tenant, public id and the head
/// version it produced so that a publisher reading it from a stream (or the
/// outbox) needs nothing else to describe it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub event_id: String,
    pub order_id: String,
    pub tenant: String,
    /// The order's store within the tenant, so a store's board and its
    /// subscribers can be served without reading the order.
    #[serde(default = "default_store")]
    pub store: String,
    pub public_id: String,
    pub seq: u64,
    pub version: u64,
    /// When it happened, per its source.
    pub occurred_at: DateTime<Utc>,
    /// When we stored it.
    pub recorded_at: DateTime<Utc>,
    /// `staff`, `customer`, `system`, `payment:<provider>`, `carrier:<provider>`…
    pub source: String,
    /// Who, within the source (a user id, a provider account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The source's own id for the fact, used to drop redeliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The hash of the event before it in the order's log ([`chain`](super::chain));
    /// none on events written before the log was chained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    #[serde(flatten)]
    pub body: EventBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum EventBody {
    OrderPlaced(Box<OrderPlaced>),
    StatusFact(StatusFact),
    FlagRaised {
        flag: FlagKind,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<StallReason>,
        #[serde(default)]
        level: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        escalate_at: Option<DateTime<Utc>>,
    },
    /// Staff resolved flags of these kinds (needs review, exceptions).
    FlagsCleared {
        kinds: Vec<FlagKind>,
        reason: String,
    },
    NoteAdded {
        text: String,
    },
    /// A carrier's news about one package.
    ShipmentUpdated(ShipmentNews),
    /// Staff gave a tracking code after the fact (or another package).
    TrackingAdded(TrackingInput),
    /// Staff replaced a package's tracking code.
    TrackingCorrected {
        shipment_id: String,
        tracking: TrackingInput,
    },
    PaymentRecorded(PaymentNews),
    /// A delivery partner's news: driver, position, ETA.
    DeliveryUpdated(DeliveryNews),
    /// The customer chose what they are told about this order.
    NotifyPrefsSet(NotifyPrefs),
    /// The notifier told the customer an event's news, or did not and why.
    NotificationRecorded(NotificationRecord),
    /// An order issue was opened, acknowledged, assigned or resolved.
    Issue(IssueNews),
    /// The store proposes substitutions, line by line.
    SubstitutionsProposed(Proposal),
    /// The customer (or the tenant's policy) answered them: the order's
    /// lines are amended, and what it takes of each item adjusted.
    SubstitutionsAnswered(Answered),
    /// A delivery partner was (to be) asked for a driver, took the
    /// delivery, declined it, or had it cancelled.
    Dispatch(DispatchStep),
    /// The order moved onto a newer version of its lifecycle, its status
    /// kept or mapped as that version declares.
    LifecycleMigrated {
        from: String,
        to: String,
        from_state: String,
        to_state: String,
    },
}

impl EventBody {
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::OrderPlaced(_) => "order_placed",
            EventBody::StatusFact(_) => "status_fact",
            EventBody::FlagRaised { .. } => "flag_raised",
            EventBody::FlagsCleared { .. } => "flags_cleared",
            EventBody::NoteAdded { .. } => "note_added",
            EventBody::ShipmentUpdated(_) => "shipment_updated",
            EventBody::TrackingAdded(_) => "tracking_added",
            EventBody::TrackingCorrected { .. } => "tracking_corrected",
            EventBody::PaymentRecorded(_) => "payment_recorded",
            EventBody::DeliveryUpdated(_) => "delivery_updated",
            EventBody::NotifyPrefsSet(_) => "notify_prefs_set",
            EventBody::NotificationRecorded(_) => "notification_recorded",
            EventBody::Issue(_) => "issue",
            EventBody::SubstitutionsProposed(_) => "substitutions_proposed",
            EventBody::SubstitutionsAnswered(_) => "substitutions_answered",
            EventBody::LifecycleMigrated { .. } => "lifecycle_migrated",
            EventBody::Dispatch(_) => "dispatch",
        }
    }
}

/// The checkout snapshot. Nothing in it changes afterwards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPlaced {
    #[serde(default = "default_store")]
    pub store: String,
    pub lifecycle: String,
    pub fulfilment: FulfilmentType,
    pub status: String,
    pub customer_id: String,
    pub currency: String,
    pub items: Vec<LineItem>,
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingSnapshot>,
    #[serde(default)]
    pub contact: Contact,
    #[serde(default)]
    pub policy: OrderPolicy,
}

/// How a status fact was placed on the order's path (README › Out-of-order facts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Applied,
    Late,
    Parked,
    Conflict,
    /// A parked fact staff dropped.
    Discarded,
}

/// A claim that the order reached `target`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusFact {
    pub target: String,
    pub disposition: Disposition,
    /// The kind of actor that made the claim; a parked fact is retried with
    /// the same permissions it arrived with.
    pub by: Actor,
    /// Status before the fact, for applied facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Skippable states jumped over on the way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// An owner moved the order past the rules; `reason` says why.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overridden: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<TrackingInput>,
    /// Shipped without a tracking code, as the tenant's policy allows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tracking_pending: bool,
    /// The source's timestamp was in the future and was replaced by recorded_at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clamped_from: Option<DateTime<Utc>>,
    /// The parked fact this event settles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
}

impl StatusFact {
    pub fn new(target: impl Into<String>, disposition: Disposition, by: Actor) -> Self {
        StatusFact {
            target: target.into(),
            disposition,
            by,
            from: None,
            skipped: Vec::new(),
            reason: None,
            overridden: false,
            tracking: None,
            tracking_pending: false,
            clamped_from: None,
            released: None,
        }
    }
}

impl Event {
    pub fn status_fact(&self) -> Option<&StatusFact> {
        match &self.body {
            EventBody::StatusFact(f) => Some(f),
            _ => None,
        }
    }
}
