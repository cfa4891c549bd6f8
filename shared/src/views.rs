//! What people see: the staff view of an order and the customer's tracking
//! view. Both are projections of the head and the log.

mod substitutions;
pub use substitutions::{ProposalView, ProposedLineView, ReplacementView};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::lifecycle::{Actor, Lifecycle, StateRole};
use crate::order::decide::{next_actions, NextAction};
use crate::order::inbound::{GeoPoint, PaymentKind};
use crate::order::link;
use crate::order::{
    Disposition, Event, EventBody, Head, NotificationRecord, Shipment, ShipmentStatus,
};

/// One line of an order's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub status: String,
    pub label: String,
    pub occurred_at: DateTime<Utc>,
    pub source: String,
    /// Arrived after a later status was already known.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
}

/// Applied and late facts ordered by when they happened, not when they
/// arrived: a "delivered" that came before "in transit" still reads last.
///
/// Clocks are coarse and skewed (Stripe stamps whole seconds, a placement
/// carries nanoseconds), yet an effect never reads before its cause: nothing
/// reads before "Order placed"; a move never reads before the move that
/// brought the order to where it moved from; a late fact never reads after
/// the move that took the order past it. A line shows its time so adjusted
/// (the event keeps its source's own), and lines of one instant read in the
/// order the order took them.
pub fn timeline(events: &[Event], lifecycle: &Lifecycle) -> Vec<TimelineEntry> {
    let mut lines: Vec<Line> = events.iter().filter_map(Line::of).collect();
    lines.sort_by_key(|l| l.seq);
    let placed = lines.iter().find(|l| l.placement).map(|l| l.at);
    // In log order, the moves are a chain: each starts where the last ended.
    let mut cause = placed;
    for line in lines.iter_mut().filter(|l| !l.late) {
        line.at = cause.map_or(line.at, |c| line.at.max(c));
        cause = Some(line.at);
        line.place = (line.seq, true, 0);
    }
    let moves: Vec<(u64, String, DateTime<Utc>)> = lines
        .iter()
        .filter(|l| !l.late)
        .map(|l| (l.seq, l.status.clone(), l.at))
        .collect();
    for line in lines.iter_mut().filter(|l| l.late) {
        line.at = placed.map_or(line.at, |p| line.at.max(p));
        let past = moves
            .iter()
            .find(|(_, status, _)| lifecycle.is_before(&line.status, status));
        line.place = match past {
            // Just before the first move past it, in path order with the
            // other late facts placed there.
            Some((seq, _, at)) => {
                line.at = line.at.min(*at);
                (*seq, false, path_rank(lifecycle, &line.status))
            }
            None => (line.seq, true, 0),
        };
    }
    lines.sort_by_key(|l| (l.at, l.place, l.seq));
    let mut steps: Vec<TimelineEntry> = lines
        .into_iter()
        .map(|l| TimelineEntry {
            label: lifecycle
                .state(&l.status)
                .map_or_else(|| l.status.clone(), |d| d.label.clone()),
            status: l.status,
            occurred_at: l.at,
            source: l.source,
            late: l.late,
        })
        .collect();
    // Two reports of the same step in a row are one step, from its first report.
    steps.dedup_by(|later, earlier| later.status == earlier.status);
    steps
}

/// A timeline line while it is being placed.
struct Line {
    seq: u64,
    status: String,
    source: String,
    at: DateTime<Utc>,
    placement: bool,
    late: bool,
    /// Where it reads among lines of the same instant: the move it sits at
    /// (its own, or for a late fact the first move past it), whether it is
    /// that move itself (after the late facts placed before it), and its
    /// depth along the path.
    place: (u64, bool, usize),
}

impl Line {
    fn of(e: &Event) -> Option<Line> {
        let (status, placement, late) = match &e.body {
            EventBody::OrderPlaced(p) => (p.status.clone(), true, false),
            EventBody::StatusFact(f) => match f.disposition {
                Disposition::Applied => (f.target.clone(), false, false),
                Disposition::Late => (f.target.clone(), false, true),
                _ => return None,
            },
            _ => return None,
        };
        Some(Line {
            seq: e.seq,
            status,
            source: e.source.clone(),
            at: e.occurred_at,
            placement,
            late,
            place: (e.seq, true, 0),
        })
    }
}

/// How many states lie before `status` on the forward path: it grows along
/// every path, so it orders late facts of one instant as the path does.
fn path_rank(lifecycle: &Lifecycle, status: &str) -> usize {
    lifecycle
        .definition()
        .states
        .iter()
        .filter(|s| lifecycle.is_before(&s.name, status))
        .count()
}

/// A fact waiting for the states it needs.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParkedView {
    pub event_id: String,
    pub target: String,
    pub source: String,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// One decision of the notifier, when it was made.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationLine {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub record: NotificationRecord,
}

/// The staff view: the head, its history and what may happen next.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    #[serde(flatten)]
    pub head: Head,
    pub status_label: String,
    /// Left out of command responses, so a command costs one read and one
    /// write however long the history; `GET /orders/{id}` has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineEntry>>,
    /// What the customer was told, or not and why, oldest first; with the
    /// timeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Vec<NotificationLine>>,
    pub parked_facts: Vec<ParkedView>,
    pub allowed_actions: Vec<NextAction>,
    pub tracking_url: String,
}

impl OrderView {
    pub fn new(
        head: Head,
        parked: &[Event],
        events: Option<&[Event]>,
        lifecycle: &Lifecycle,
        actor: Actor,
    ) -> Self {
        OrderView {
            status_label: lifecycle
                .state(&head.status)
                .map(|s| s.label.clone())
                .unwrap_or_default(),
            timeline: events.map(|e| timeline(e, lifecycle)),
            notifications: events.map(|events| {
                events
                    .iter()
                    .filter_map(|e| match &e.body {
                        EventBody::NotificationRecorded(record) => Some(NotificationLine {
                            at: e.recorded_at,
                            record: record.clone(),
                        }),
                        _ => None,
                    })
                    .collect()
            }),
            parked_facts: parked
                .iter()
                .filter_map(|e| {
                    e.status_fact().map(|f| ParkedView {
                        event_id: e.event_id.clone(),
                        target: f.target.clone(),
                        source: e.source.clone(),
                        occurred_at: e.occurred_at,
                        recorded_at: e.recorded_at,
                    })
                })
                .collect(),
            allowed_actions: next_actions(&head, lifecycle, actor),
            tracking_url: format!("/track/{}", head.public_id),
            head: without_unsafe_links(head),
        }
    }
}

/// The customer's view: honest about what is known, nothing personal, and
/// never the internal order id.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackingView {
    pub public_id: String,
    pub status: String,
    pub label: String,
    pub message: String,
    pub terminal: bool,
    /// When the current step should be done by, from its SLA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_by: Option<DateTime<Utc>>,
    pub placed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The order's lines as they stand (substitutions answered).
    pub items: Vec<TrackedItem>,
    pub total: i64,
    pub currency: String,
    /// The checkout's total, when answered substitutions changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_total: Option<i64>,
    /// Substitutions waiting for the customer's answer, line by line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substitutions: Option<ProposalView>,
    pub shipments: Vec<TrackedShipment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<Destination>,
    /// The driver on the way, while there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentView>,
    /// The store waits for the customer's answer to its proposal (the
    /// state playing `awaiting_substitutions` in the lifecycle).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_answer: bool,
    /// The customer may still cancel the order themselves.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub can_cancel: bool,
    /// What the store proposes while it waits for the customer's answer
    /// (substitutions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<String>,
    pub timeline: Vec<CustomerStep>,
    /// What the customer is told and may choose (the tracking page's
    /// settings); set where the store's policy is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications: Option<CustomerNotifications>,
}

/// The customer's notification settings for one order: whether they are
/// told at all, and which news each channel carries now — their own choice,
/// or the store's ([`notify::settings`](crate::notify::settings)). Whether
/// the order has an address or a number, never either.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerNotifications {
    pub opted_out: bool,
    /// The kinds of news this order can bring: `placed`, each state of its
    /// lifecycle, `delayed`.
    pub news: Vec<String>,
    pub email: Vec<String>,
    pub sms: Vec<String>,
    pub can_email: bool,
    pub can_sms: bool,
}

/// What a customer may know of their driver: no phone number.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentView {
    pub status: PaymentKind,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackedItem {
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackedShipment {
    pub status: ShipmentStatus,
    pub carrier: Option<String>,
    pub tracking_code: Option<String>,
    pub tracking_url: Option<String>,
    pub message: String,
    /// The carrier's delivery estimate, while the parcel is on its way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<DateTime<Utc>>,
    /// The carrier's last scan: when, and where (a facility or a city, as
    /// the carrier names it — never the customer's address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_scan_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_location: Option<String>,
}

/// City-level destination only: no street, no name.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Destination {
    pub city: String,
    pub country: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerStep {
    pub status: String,
    pub label: String,
    pub occurred_at: DateTime<Utc>,
}

impl TrackingView {
    pub fn new(head: &Head, events: &[Event], lifecycle: &Lifecycle) -> Self {
        let state = lifecycle.state(&head.status);
        let mut message = match state {
            Some(s) if head.tracking_pending() => s
                .message_tracking_pending
                .clone()
                .unwrap_or_else(|| s.message.clone()),
            Some(s) => s.message.clone(),
            None => String::new(),
        };
        let delivered = head
            .shipments
            .iter()
            .filter(|s| s.status == ShipmentStatus::Delivered)
            .count();
        if delivered > 0 && delivered < head.shipments.len() {
            message = format!(
                "{message} {delivered} of {} packages delivered.",
                head.shipments.len()
            );
        }
        let terminal = lifecycle.is_terminal(&head.status);
        // Paid, but the order ended without ever reaching the state a
        // payment confirms: staff are flagged to refund it or place it again.
        let paid_too_late = terminal
            && lifecycle
                .role(StateRole::Paid)
                .and_then(|paid| lifecycle.stamps(paid).into_iter().next())
                .is_some_and(|stamp| !head.timestamps.contains_key(&stamp));
        let payment = head.payment.as_ref().map(|p| PaymentView {
            status: p.status,
            message: match p.status {
                PaymentKind::Succeeded if paid_too_late => {
                    "Your payment arrived after this order was cancelled; we will refund it or contact you.".to_string()
                }
                PaymentKind::Succeeded => "Paid.".to_string(),
                PaymentKind::Failed if !terminal => {
                    "Your payment did not go through; we will try again or contact you.".to_string()
                }
                PaymentKind::Failed | PaymentKind::Canceled => {
                    "The payment did not go through.".to_string()
                }
                PaymentKind::Refunded => "Refunded.".to_string(),
            },
        });
        TrackingView {
            public_id: head.public_id.clone(),
            status: head.status.clone(),
            label: state.map(|s| s.label.clone()).unwrap_or_default(),
            message,
            terminal,
            expected_by: head.sla_due_at,
            placed_at: head.created_at,
            updated_at: head.updated_at,
            total: head.current_total(),
            currency: head.currency.clone(),
            original_total: head.amended.as_ref().map(|_| head.total),
            substitutions: head.proposal.as_ref().map(ProposalView::new),
            items: head
                .current_lines()
                .iter()
                .map(|i| TrackedItem {
                    name: i.name.clone(),
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
            shipments: head.shipments.iter().map(tracked_shipment).collect(),
            ship_to: head.shipping.as_ref().map(|s| Destination {
                city: s.address.city.clone(),
                country: s.address.country.clone(),
            }),
            delivery: head
                .delivery
                .as_ref()
                .filter(|_| !terminal)
                .map(|d| DeliveryView {
                    driver_name: d.driver.as_ref().map(|x| x.name.clone()),
                    vehicle: d.driver.as_ref().and_then(|x| x.vehicle.clone()),
                    photo_url: link::safe(d.driver.as_ref().and_then(|x| x.photo_url.as_deref())),
                    location: d.location.clone(),
                    eta: d.eta,
                }),
            payment,
            awaiting_answer: lifecycle.plays(&head.status, StateRole::AwaitingSubstitutions),
            can_cancel: crate::order::decide::customer_cancellation(head, lifecycle).is_some(),
            proposal: lifecycle
                .plays(&head.status, StateRole::AwaitingSubstitutions)
                .then(|| {
                    events
                        .iter()
                        .rev()
                        .filter_map(Event::status_fact)
                        .find(|f| f.disposition == Disposition::Applied)
                        .and_then(|f| f.reason.clone())
                })
                .flatten(),
            timeline: timeline(events, lifecycle)
                .into_iter()
                .map(|t| CustomerStep {
                    status: t.status,
                    label: t.label,
                    occurred_at: t.occurred_at,
                })
                .collect(),
            notifications: None,
        }
    }
}

/// The head as staff see it: a link stored before links were checked (or
/// any that is not http(s)) is left out, so no page can be handed one.
fn without_unsafe_links(mut head: Head) -> Head {
    for shipment in &mut head.shipments {
        shipment.tracking_url = link::safe(shipment.tracking_url.as_deref());
    }
    if let Some(driver) = head.delivery.as_mut().and_then(|d| d.driver.as_mut()) {
        driver.photo_url = link::safe(driver.photo_url.as_deref());
    }
    head
}

fn tracked_shipment(s: &Shipment) -> TrackedShipment {
    let message = match s.status {
        ShipmentStatus::TrackingPending => {
            "Tracking number pending — it will appear here as soon as the carrier provides it."
        }
        ShipmentStatus::LabelCreated => "Label created; waiting for the carrier's first scan.",
        ShipmentStatus::InTransit => "In transit.",
        ShipmentStatus::Delayed => "Delayed in transit — the carrier reports a delay.",
        ShipmentStatus::OutForDelivery => "Out for delivery.",
        ShipmentStatus::DeliveryAttempted => {
            "Delivery attempted — the carrier will try again or leave a notice."
        }
        ShipmentStatus::ReadyForPickup => "Waiting for you at the carrier's pickup point.",
        ShipmentStatus::ActionRequired => {
            "The carrier needs more information to deliver this parcel."
        }
        ShipmentStatus::Delivered => "Delivered.",
        ShipmentStatus::Returning => "On its way back to us.",
        ShipmentStatus::Returned => "Returned to us.",
        ShipmentStatus::Failed => "The carrier could not deliver this parcel.",
        ShipmentStatus::Cancelled => "Shipment cancelled.",
        ShipmentStatus::Stale => "No news from the carrier for a while; we are checking.",
    };
    TrackedShipment {
        status: s.status,
        carrier: s.carrier.clone(),
        tracking_code: s.tracking_code.clone(),
        tracking_url: link::safe(s.tracking_url.as_deref()),
        message: message.to_string(),
        estimated_delivery: s.estimated_delivery.filter(|_| on_the_way(s.status)),
        last_scan_at: s.last_scan_at,
        last_location: s.location.clone(),
    }
}

/// Whether a parcel is still to arrive, so an estimate means something.
fn on_the_way(status: ShipmentStatus) -> bool {
    matches!(
        status,
        ShipmentStatus::LabelCreated
            | ShipmentStatus::InTransit
            | ShipmentStatus::Delayed
            | ShipmentStatus::OutForDelivery
            | ShipmentStatus::DeliveryAttempted
            | ShipmentStatus::ActionRequired
            | ShipmentStatus::Stale
    )
}
