//! The ports the domain talks through. Adapters live in `crate::store` and
//! `crate::relay`; the domain never sees an SDK type.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::cursor::Cursor;
use crate::merchant::{Delivery, Endpoint};
use crate::notify::Message;
use crate::order::inbound::{Inbound, PaymentKind, TrackingCode, TrackingLink};
use crate::order::{Event, Head, OrderSummary};

mod keys;

pub use keys::{DataKeys, KeyContext, KeyError, KeyWrap};

/// An order as a command needs it: the head and its parked facts, read together.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub head: Head,
    pub parked: Vec<Event>,
}

/// One command's writes, all or nothing.
#[derive(Clone, Debug)]
pub struct Commit {
    /// 0 creates the order; otherwise the head version being replaced.
    pub expected_version: u64,
    pub head: Head,
    /// The first status the command moves to. The adapter turns it into the
    /// database-side condition `status IN (legal predecessors)` using the
    /// lifecycle — never a list the caller hands it.
    pub first_move: Option<crate::order::decide::StatusMove>,
    pub events: Vec<Event>,
    pub park: Vec<Event>,
    pub unpark: Vec<crate::order::decide::ParkedKey>,
    /// `(source, external_id)` of the fact, refused if already seen.
    pub dedupe: Option<(String, String)>,
    pub idempotency: Option<IdempotencyRecord>,
    /// Tracking codes that now also lead to this order, within its tenant.
    pub tracking_codes: Vec<TrackingCode>,
}

impl Commit {
    /// The writes of a decision, with no dedupe marker or idempotency key.
    pub fn of(decision: crate::order::decide::Decision) -> Self {
        Commit {
            expected_version: decision.expected_version,
            head: decision.head,
            first_move: decision.first_move,
            events: decision.events,
            park: decision.park,
            unpark: decision.unpark,
            dedupe: None,
            idempotency: None,
            tracking_codes: decision.tracking_codes,
        }
    }
}

/// A stored response to a request that carried an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdempotencyRecord {
    pub tenant: String,
    pub key: String,
    /// Hash of the request body: a replay with another body is refused.
    pub fingerprint: String,
    pub order_id: String,
    /// The response the first request got, replayed verbatim.
    pub response: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListQuery {
    pub tenant: String,
    pub status: Option<String>,
    pub customer_id: Option<String>,
    /// Only orders of these stores; `None` for all of the tenant's.
    pub stores: Option<Vec<String>>,
    /// Only orders whose payment stands so.
    pub payment: Option<PaymentFilter>,
    /// Only flagged or overdue orders (as of `now`), or only healthy ones.
    pub stalled: Option<bool>,
    pub now: Option<DateTime<Utc>>,
    /// Where the previous page ended.
    pub after: Option<Cursor>,
    pub limit: usize,
}

impl ListQuery {
    /// Whether an order passes the filters a store may test on the summary
    /// rather than in its query: the stores and the payment.
    pub fn wants(&self, summary: &OrderSummary) -> bool {
        let store = &summary.store;
        self.stores
            .as_ref()
            .is_none_or(|stores| stores.iter().any(|s| s == store))
            && self.payment.is_none_or(|p| p.matches(summary.payment))
    }
}

/// Where an order's payment stands, as lists filter it (seed 003's "orders
/// with payment issues").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentFilter {
    /// No news from a payment provider yet.
    Pending,
    Paid,
    Failed,
    Refunded,
    Canceled,
}

impl PaymentFilter {
    /// The standing news this filter asks for; `None` for none yet.
    pub fn standing(self) -> Option<PaymentKind> {
        match self {
            PaymentFilter::Pending => None,
            PaymentFilter::Paid => Some(PaymentKind::Succeeded),
            PaymentFilter::Failed => Some(PaymentKind::Failed),
            PaymentFilter::Refunded => Some(PaymentKind::Refunded),
            PaymentFilter::Canceled => Some(PaymentKind::Canceled),
        }
    }

    pub fn matches(self, standing: Option<PaymentKind>) -> bool {
        self.standing() == standing
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where this page ends, if more follow.
    pub next: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Another command got there first. `head` is the order as the refused
    /// write found it, when the store could say (DynamoDB returns it with
    /// the refusal): the loser re-decides on it without reading again,
    /// unless it has parked facts, which are kept apart from the head.
    #[error("the order was changed concurrently; it is now at version {current}")]
    VersionConflict {
        current: u64,
        status: String,
        head: Option<Box<Head>>,
    },
    #[error("the database refused the move: the order is {current}")]
    IllegalTransition { current: String, version: u64 },
    #[error("this fact was already recorded")]
    Duplicate,
    #[error("the idempotency key was already used")]
    IdempotencyKeyTaken,
    #[error("order already exists")]
    AlreadyExists,
    #[error("unknown lifecycle {0}")]
    UnknownLifecycle(String),
    /// A request failed; retrying may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored item or row does not decode (a bad JSON body, a missing
    /// attribute): retrying will not mend it. The message names the item, for
    /// the log only.
    #[error("stored data does not decode: {0}")]
    Corrupt(String),
}

#[async_trait]
pub trait OrderStore: Send + Sync + 'static {
    /// The head and parked facts of an order, strongly consistent.
    async fn load(&self, order_id: &str) -> Result<Option<Loaded>, StoreError>;
    /// Appends a command's events and replaces the head in one conditional write.
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError>;
    /// The log from `after_seq` (exclusive), oldest first.
    async fn events(
        &self,
        order_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<Head>, StoreError>;
    /// Orders of a tenant, most recently updated first.
    async fn list(&self, query: &ListQuery) -> Result<Page<OrderSummary>, StoreError>;
    /// Every tenant with an order, in name order: what a whole-store audit
    /// or a disaster-recovery check walks. Reads every head; never on a
    /// request's path.
    async fn tenants(&self) -> Result<Vec<String>, StoreError>;
    /// Orders whose `due_at` has passed, earliest first.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Head>, StoreError>;
    async fn idempotency(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// The order a `(source, external_id)` fact was recorded against, if any.
    async fn seen(&self, source: &str, external_id: &str) -> Result<Option<String>, StoreError>;
    /// Every order of `tenant` a (normalised) tracking code was attached to;
    /// strongly consistent, so a code attached by a finished commit is seen.
    async fn find_by_tracking(
        &self,
        tenant: &str,
        code: &str,
    ) -> Result<Vec<TrackingLink>, StoreError>;
    /// Keeps a provider fact whose order is not known yet, under its subject
    /// key; false if that event was already kept. Strongly consistent with
    /// `stashed`: a fact kept before a read starts is in what it returns.
    /// `kept_at` is the service's clock: a store that lets waiting facts
    /// expire counts from it.
    async fn stash(
        &self,
        key: &str,
        inbound: &Inbound,
        kept_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The facts waiting under a subject key, in no particular order.
    async fn stashed(&self, key: &str) -> Result<Vec<Inbound>, StoreError>;
    async fn unstash(&self, key: &str, event_id: &str) -> Result<(), StoreError>;
    /// The tenant's events with ids after `after` (all of them without
    /// one), in id order — event ids are made in time order — up to the
    /// first recorded after `until`, at most `limit`.
    async fn feed(
        &self,
        tenant: &str,
        after: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
    /// How long after an event's id is made its commit may at most become
    /// visible: a feed that holds back younger events skips none.
    fn feed_settle(&self) -> std::time::Duration;
}

/// Committed events not yet handed to the publisher. The embedded store keeps
/// them in an outbox table; on AWS the DynamoDB stream plays this part.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    async fn pending(&self, limit: usize) -> Result<Vec<Event>, StoreError>;
    async fn acknowledge(&self, event_ids: &[String]) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
#[error("publish failed: {message}")]
pub struct PublishError {
    pub message: String,
    /// Events known not to have been published (all of them when unknown).
    pub failed: Vec<String>,
}

impl PublishError {
    pub fn all(events: &[Event], message: impl Into<String>) -> Self {
        PublishError {
            message: message.into(),
            failed: events.iter().map(|e| e.event_id.clone()).collect(),
        }
    }
}

/// Distributes committed events (EventBridge on AWS, in-process locally).
#[async_trait]
pub trait EventPublisher: Send + Sync + 'static {
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError>;
}

/// Who follows a live channel; who it is decides which channel
/// ([`ChannelName::of`](crate::live::ChannelName::of)), never the client.
#[derive(Clone, Debug, PartialEq)]
pub enum Viewer {
    /// Staff of a tenant: its store channel.
    Staff(Principal),
    /// Whoever holds an order's public id: that order's customer channel.
    Customer { public_id: String },
}

/// A WebSocket connection on API Gateway, kept in the table while it is open.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    /// API Gateway's connection id.
    pub id: String,
    pub viewer: Viewer,
    /// The channel's name (`store.<tenant>`, `customer.<public_id>`).
    pub channel: String,
    /// The last message id the client had when it connected: where its
    /// catch-up starts.
    pub last_event_id: Option<String>,
    /// When API Gateway will have closed it at the latest; the table forgets
    /// it after.
    pub expires_at: DateTime<Utc>,
}

/// The open WebSocket connections, by id and by channel (the table on AWS;
/// the local stack's sockets are its own).
#[async_trait]
pub trait Connections: Send + Sync + 'static {
    async fn open(&self, connection: &Connection) -> Result<(), StoreError>;
    async fn connection(&self, id: &str) -> Result<Option<Connection>, StoreError>;
    /// Forgets a connection that closed or is gone; nothing if unknown.
    async fn close(&self, id: &str) -> Result<(), StoreError>;
    /// The ids of the connections following `channel` that have not expired
    /// by `now`; strongly consistent, so a connection opened before the read
    /// starts is among them.
    async fn following(&self, channel: &str, now: DateTime<Utc>)
        -> Result<Vec<String>, StoreError>;
}

/// A single-use, short-lived pass that lets a browser open a staff
/// WebSocket without putting its bearer token in a URL.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// Where tickets wait to be redeemed.
#[async_trait]
pub trait Tickets: Send + Sync + 'static {
    /// Keeps `principal` under a new ticket until `expires_at`.
    async fn issue(
        &self,
        principal: &Principal,
        expires_at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError>;
    /// The principal the ticket was issued to, once: a ticket redeemed
    /// before, expired by `now` or never issued is `None`.
    async fn redeem(
        &self,
        ticket: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError>;
}

/// Why a message did not reach a connection.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PushError {
    /// The client has gone: forget the connection.
    #[error("the connection is gone")]
    Gone,
    /// Anything else (a timeout, throttling): the connection may still be there.
    #[error("push failed: {0}")]
    Failed(String),
}

/// Sends messages down open WebSocket connections (API Gateway's
/// Management API on AWS).
#[async_trait]
pub trait Push: Send + Sync + 'static {
    async fn send(&self, connection_id: &str, message: &[u8]) -> Result<(), PushError>;
    /// Closes a connection, so its client reconnects and catches up.
    async fn disconnect(&self, connection_id: &str) -> Result<(), PushError>;
}

/// Merchants' endpoints and the log of what was delivered to them (the
/// embedded store locally; the table on AWS, where SQS holds the schedule).
#[async_trait]
pub trait MerchantStore: Send + Sync + 'static {
    async fn add_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;
    /// The tenant's endpoints, oldest first.
    async fn endpoints(&self, tenant: &str) -> Result<Vec<Endpoint>, StoreError>;
    /// Replaces a stored endpoint (its status).
    async fn save_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;
    /// False if the tenant has no such endpoint.
    async fn remove_endpoint(&self, tenant: &str, id: &str) -> Result<bool, StoreError>;
    /// Records a new delivery; false if one with its id is already there
    /// (the event reached us again).
    async fn open_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError>;
    /// Replaces a stored delivery (its attempts, state and next attempt).
    async fn save_delivery(&self, delivery: &Delivery) -> Result<(), StoreError>;
    async fn delivery(
        &self,
        tenant: &str,
        endpoint_id: &str,
        id: &str,
    ) -> Result<Option<Delivery>, StoreError>;
    /// An endpoint's deliveries, newest first.
    async fn deliveries(
        &self,
        tenant: &str,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
}

/// Things done once however often they are asked for: a notification per
/// event and channel. A claim is kept until `expires_at`.
#[async_trait]
pub trait Claims: Send + Sync + 'static {
    /// True for the first claim of `key`; false for every later one.
    async fn claim(&self, key: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// Sends messages to customers (Amazon SES and SNS on AWS, the development
/// mailbox locally): the provider's message id, or why it did not go.
#[async_trait]
pub trait Outbound: Send + Sync + 'static {
    async fn send(&self, tenant: &str, message: &Message) -> Result<String, String>;
}

/// POSTs a delivery: the endpoint's status code, or why none came.
#[async_trait]
pub trait Post: Send + Sync + 'static {
    async fn post(&self, url: &str, headers: &[(&str, String)], body: &[u8])
        -> Result<u16, String>;
}

/// What a carrier says about a package when asked directly.
#[derive(Clone, Debug, PartialEq)]
pub struct CarrierStatus {
    pub news: crate::order::inbound::ShipmentNews,
    pub occurred_at: DateTime<Utc>,
    /// Identifies this report, so asking twice records it once.
    pub event_id: String,
}

/// Re-fetches a package's status from the carrier (admin reconciliation).
#[async_trait]
pub trait CarrierClient: Send + Sync + 'static {
    /// `None` when the carrier does not know the code.
    async fn track(&self, carrier: &str, code: &str) -> Result<Option<CarrierStatus>, String>;
}

/// Time, injected so SLA and sweep logic is testable without sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What a delivery partner is asked for: a driver to take one order from
/// the store to the customer.
#[derive(Clone, Debug, PartialEq)]
pub struct DispatchRequest {
    /// Our order id: the partner's external delivery id, which its webhooks
    /// send back (and which makes asking twice harmless).
    pub order_id: String,
    pub pickup_name: String,
    pub pickup_address: String,
    pub pickup_phone: Option<String>,
    pub dropoff_name: String,
    pub dropoff_address: String,
    pub dropoff_phone: Option<String>,
    /// The order's value in the currency's minor unit.
    pub order_value: i64,
    pub currency: String,
}

/// The partner's delivery, once it took it.
#[derive(Clone, Debug, PartialEq)]
pub struct Booked {
    pub delivery_id: String,
    pub tracking_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PartnerError {
    /// It has no driver free now: worth asking again later.
    #[error("no drivers available: {0}")]
    NoDrivers(String),
    /// It will not take this delivery (address out of its area, bad data).
    #[error("refused: {0}")]
    Refused(String),
    /// It could not be reached or failed; treated like a refusal when
    /// booking, retried when cancelling.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// A delivery partner's API (DoorDash Drive, Uber Direct…).
#[async_trait]
pub trait DeliveryPartner: Send + Sync {
    async fn create(&self, request: &DispatchRequest) -> Result<Booked, PartnerError>;
    async fn cancel(&self, delivery_id: &str) -> Result<(), PartnerError>;
    /// The partner's own word for where the delivery stands.
    async fn status(&self, delivery_id: &str) -> Result<String, PartnerError>;
}

/// The partners each tenant has connected, by name.
pub trait Partners: Send + Sync {
    fn partner(&self, tenant: &str, name: &str) -> Option<std::sync::Arc<dyn DeliveryPartner>>;
}
