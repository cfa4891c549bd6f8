//! The head: everything a decision needs about an order, kept beside its log
//! and rewritten in the same conditional write as each new event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dispatch::{Dispatch, DispatchPolicy};
use super::flags::{Flag, FlagKind};
use super::inbound::{DeliveryKind, Driver, GeoPoint, PaymentKind};
use super::issue::{AckMinutes, OrderIssue, Severity};
use super::notification::NotifyPrefs;
use super::shipment::Shipment;
use super::substitution::{Amended, Proposal, SubstitutionPolicy};
use crate::lifecycle::FulfilmentType;

/// The store an order belongs to when its tenant never named one: a tenant
/// with a single store works without naming it (README › Stores).
pub const DEFAULT_STORE: &str = "main";

pub(crate) fn default_store() -> String {
    DEFAULT_STORE.to_string()
}

/// One line of the order as it was at checkout; frozen afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    /// Price of one unit in the currency's minor unit (cents).
    pub unit_price: i64,
    pub quantity: u32,
}

/// Where and how a shipping order goes; frozen at checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShippingSnapshot {
    pub method: String,
    pub name: String,
    pub address: Address,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Tenant rules captured at checkout, so a decision needs nothing but the head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPolicy {
    /// Let `shipped` advance without a tracking code ("tracking number pending").
    pub allow_tracking_pending: bool,
    /// The tenant's SLA per state, in minutes, over the lifecycle's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sla_minutes: BTreeMap<String, u32>,
    /// How long a package may ship without a tracking code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_pending_minutes: Option<u32>,
    /// How long a package may go without a carrier scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_scan_minutes: Option<u32>,
    /// How long a parked fact may wait before staff review it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked_minutes: Option<u32>,
    /// How long an open issue may wait for acknowledgement, by severity,
    /// over [`Severity::ack_minutes`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub issue_ack_minutes: AckMinutes,
    /// What happens to substitutions nobody answers.
    #[serde(default)]
    pub substitutions: SubstitutionPolicy,
    /// How long a driver of the tenant's own fleet may go without reporting
    /// a position while carrying the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet_position_minutes: Option<u32>,
    /// Which delivery partners are asked for a driver, and how.
    #[serde(default, skip_serializing_if = "DispatchPolicy::is_empty")]
    pub dispatch: DispatchPolicy,
}

/// Failed payment attempts after which the order is cancelled when it was
/// never paid (README › Webhooks, the payments rule).
pub const MAX_PAYMENT_FAILURES: u32 = 3;

/// Where an order's payment stands, from all the news about it.
///
/// Providers deliver out of order, so every field is folded from the *set*
/// of payment news, never from the last to arrive: the same news in any
/// order gives the same `PaymentInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentInfo {
    pub provider: String,
    /// The standing news: the newest by when it happened, except that money
    /// that moved (a success or a refund) outranks any failure or
    /// cancellation, whatever its age — a success means paid.
    pub status: PaymentKind,
    pub reference: String,
    /// The largest amount a success reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// The largest amount refunded so far (Stripe's is cumulative, so the
    /// largest is the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_refunded: Option<i64>,
    /// Failed attempts so far; the order is cancelled after too many.
    #[serde(default)]
    pub failures: u32,
    /// The standing news's own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the standing news happened, per the provider.
    #[serde(default)]
    pub occurred_at: DateTime<Utc>,
    /// The provider's id for the standing news; of two news of the same
    /// kind in the same second, the higher id stands, so arrival order
    /// cannot decide.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// When the earliest success happened; while there is one, no failure
    /// or cancellation cancels the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded_at: Option<DateTime<Utc>>,
    /// When the earliest failures happened, oldest first (at most
    /// [`MAX_PAYMENT_FAILURES`]): the last one dates the cancellation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_at: Vec<DateTime<Utc>>,
    /// When we last recorded payment news.
    pub updated_at: DateTime<Utc>,
}

/// What the delivery partner last told us.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryInfo {
    pub partner: String,
    pub reference: String,
    pub kind: DeliveryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Driver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParkedRef {
    pub event_id: String,
    pub target: String,
    pub recorded_at: DateTime<Utc>,
}

/// The projection of an order's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Head {
    pub id: String,
    pub public_id: String,
    pub tenant: String,
    /// The store within the tenant that fulfils the order; fixed at checkout.
    #[serde(default = "default_store")]
    pub store: String,
    pub customer_id: String,
    pub lifecycle: String,
    pub fulfilment: FulfilmentType,
    pub status: String,
    /// When the current status was established, per its source.
    pub status_since: DateTime<Utc>,
    /// When we learned of the current status; its SLA runs from here.
    pub status_entered_at: DateTime<Utc>,
    /// Bumped once per committed command; the optimistic-concurrency token.
    pub version: u64,
    /// Sequence number of the last event.
    pub last_seq: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub currency: String,
    pub items: Vec<LineItem>,
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingSnapshot>,
    #[serde(default)]
    pub contact: Contact,
    #[serde(default)]
    pub policy: OrderPolicy,
    /// accepted_at, ready_at, completed_at…: first entry into each state.
    #[serde(default)]
    pub timestamps: BTreeMap<String, DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentInfo>,
    #[serde(default)]
    pub shipments: Vec<Shipment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryInfo>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Facts waiting for the states they need (the facts themselves are
    /// stored beside the head and loaded with it).
    #[serde(default)]
    pub parked: Vec<ParkedRef>,
    /// When the current status outstays its SLA; none once terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_due_at: Option<DateTime<Utc>>,
    /// The next moment the sweep should look at this order: the SLA deadline
    /// or a parked fact's review deadline, whichever comes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// What the customer chose to be told, from the tracking page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyPrefs>,
    /// Order issues, open and resolved, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<OrderIssue>,
    /// Substitutions the store proposed, waiting for the customer's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
    /// The lines and total since the first answered proposal; `items` and
    /// `total` stay the checkout's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amended: Option<Amended>,
    /// The hash of the last event, which the next one links to
    /// ([`chain`](super::chain)); none on orders not moved since before the
    /// log was chained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Requesting a driver from the tenant's delivery partners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<Dispatch>,
}

/// One row of a board or list: enough to show and sort an order, small
/// enough to copy into every list index cheaply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub id: String,
    pub public_id: String,
    pub tenant: String,
    #[serde(default = "default_store")]
    pub store: String,
    pub customer_id: String,
    pub fulfilment: FulfilmentType,
    pub status: String,
    pub version: u64,
    pub currency: String,
    pub total: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<FlagKind>,
    #[serde(default)]
    pub parked: usize,
    #[serde(default)]
    pub tracking_pending: bool,
    /// The payment's standing news; none before any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentKind>,
    /// The most severe open issue's severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<Severity>,
}

/// Where a head's fields live when a store keeps them apart, as the
/// DynamoDB adapter does: what checkout fixes is written once, and only the
/// rest is rewritten by every command. Each list names fields of the head's
/// JSON; a field in neither list changes with commands.
impl Head {
    /// Fixed at checkout, and what a list shows of an order besides where
    /// it stands.
    pub const CARD: [&'static str; 10] = [
        "id",
        "public_id",
        "tenant",
        "store",
        "customer_id",
        "lifecycle",
        "fulfilment",
        "created_at",
        "currency",
        "total",
    ];
    /// Fixed at checkout, and read only with the whole order: the lines,
    /// where it goes, who to tell, the tenant's rules of the day.
    pub const SNAPSHOT: [&'static str; 4] = ["items", "shipping", "contact", "policy"];

    pub fn summary(&self) -> OrderSummary {
        OrderSummary {
            id: self.id.clone(),
            public_id: self.public_id.clone(),
            tenant: self.tenant.clone(),
            store: self.store.clone(),
            customer_id: self.customer_id.clone(),
            fulfilment: self.fulfilment,
            status: self.status.clone(),
            version: self.version,
            currency: self.currency.clone(),
            total: self.total,
            created_at: self.created_at,
            updated_at: self.updated_at,
            due_at: self.due_at,
            flags: self.flags.iter().map(|f| f.kind).collect(),
            parked: self.parked.len(),
            tracking_pending: self.tracking_pending(),
            payment: self.payment.as_ref().map(|p| p.status),
            issue: self.open_issues().map(|i| i.severity).max(),
        }
    }

    /// The order's lines as they stand: the checkout's, amended by every
    /// answered proposal.
    pub fn current_lines(&self) -> &[LineItem] {
        self.amended.as_ref().map_or(&self.items, |a| &a.lines)
    }

    pub fn current_total(&self) -> i64 {
        self.amended.as_ref().map_or(self.total, |a| a.total)
    }

    pub fn open_issues(&self) -> impl Iterator<Item = &OrderIssue> {
        self.issues.iter().filter(|i| i.is_open())
    }

    /// Whether staff should look at it: it is flagged or has an open issue.
    /// What the stores index as `flagged`, so the health view finds it.
    pub fn needs_attention(&self) -> bool {
        !self.flags.is_empty() || self.open_issues().next().is_some()
    }

    pub fn has_flag(&self, kind: FlagKind) -> bool {
        self.flags.iter().any(|f| f.kind == kind)
    }

    pub fn tracking_pending(&self) -> bool {
        self.shipments.iter().any(|s| s.tracking_code.is_none())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::lifecycle::{Actor, Catalog};
    use crate::order::decide::{self, Origin, StatusClaim};
    use crate::order::{OrderPlaced, TrackingInput};

    fn staff() -> Origin {
        Origin {
            source: "staff".into(),
            actor_kind: Actor::Manager,
            actor: None,
            external_id: None,
        }
    }

    /// The fields a store writes once must be real fields, and stay as
    /// checkout left them through a life of moves, packages and flags.
    #[test]
    fn card_and_snapshot_fields_are_fixed_at_checkout() {
        let lifecycle = Catalog::presets().get("shipping").unwrap();
        let at = |m| Utc.with_ymd_and_hms(2026, 3, 1, 9, m, 0).unwrap();
        let placed = OrderPlaced {
            store: "main".into(),
            lifecycle: "shipping".into(),
            fulfilment: FulfilmentType::Shipping,
            status: "pending".into(),
            customer_id: "cus_1".into(),
            currency: "CAD".into(),
            items: vec![LineItem {
                sku: "A".into(),
                name: "Lamp".into(),
                unit_price: 100,
                quantity: 2,
            }],
            total: 200,
            shipping: Some(ShippingSnapshot {
                method: "standard".into(),
                name: "Dana Doe".into(),
                address: Address {
                    line1: "1 King St W".into(),
                    line2: None,
                    city: "Toronto".into(),
                    region: None,
                    postal_code: "M5H 1A1".into(),
                    country: "CA".into(),
                },
            }),
            contact: Contact {
                email: Some("dana@example.com".into()),
                phone: None,
            },
            policy: OrderPolicy::default(),
        };
        let ids = ("ord_1".to_string(), "trk_1".to_string());
        let first = decide::place_order(ids, "acme", placed, &staff(), &lifecycle, at(0)).head;
        let fixed = |head: &Head| {
            let json = serde_json::to_value(head).unwrap();
            let names = Head::CARD.iter().chain(&Head::SNAPSHOT);
            names.map(|n| (*n, json[*n].clone())).collect::<Vec<_>>()
        };
        let at_checkout = fixed(&first);
        assert!(
            at_checkout.iter().all(|(_, value)| !value.is_null()),
            "{at_checkout:?}"
        );
        let mut head = first;
        for (minute, to) in [(1, "confirmed"), (2, "packing"), (3, "shipped")] {
            let claim = StatusClaim {
                to: to.into(),
                occurred_at: at(minute),
                reason: None,
                tracking: (to == "shipped").then(|| TrackingInput {
                    carrier: "UPS".into(),
                    code: "1Z999".into(),
                    url: None,
                }),
            };
            head = decide::transition(&head, &[], &lifecycle, &staff(), claim, None, at(minute))
                .unwrap()
                .head;
        }
        head = decide::add_note(&head, &lifecycle, &staff(), "fragile".into(), at(4)).head;
        assert_eq!(head.status, "shipped");
        assert_eq!(fixed(&head), at_checkout);
    }
}
