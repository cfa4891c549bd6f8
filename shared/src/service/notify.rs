//! Customer notifications as a service: once an event's collapse window
//! has passed, decide what its customer is told by which channel, send it,
//! and record every decision on the order's log.
//!
//! Exactly one message per event and channel however often the event
//! arrives: the channel's claim is taken before anything is sent, and the
//! record is committed under a dedupe marker of the same key. A crash after
//! the claim and before the record leaves no line on the log for that
//! message (it may or may not have gone), never a second message.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::commands::{Attempt, OnRace, Target};
use super::reads::MAX_LOG;
use super::{OrderService, ServiceError};
use crate::lifecycle::Actor;
use crate::metrics::{self, Metric};
use crate::notify::{self, message, LinkKey, Verdict, LINK_LIFETIME};
use crate::order::decide::{self, Origin};
use crate::order::{Event, NotificationRecord};
use crate::ports::{Claims, Commit, Outbound, StoreError};
use crate::views::TrackingView;

/// How long a claim is kept: longer than any redelivery of an event.
const CLAIM_KEPT: Duration = Duration::days(30);

pub struct Notifications {
    service: Arc<OrderService>,
    claims: Arc<dyn Claims>,
    outbound: Arc<dyn Outbound>,
    /// Where the tracking page is (`https://…`), for the link in every message.
    tracking_url: String,
    /// Signs the customer's "my orders" link.
    links: Option<LinkKey>,
}

impl Notifications {
    pub fn new(
        service: Arc<OrderService>,
        claims: Arc<dyn Claims>,
        outbound: Arc<dyn Outbound>,
        tracking_url: impl Into<String>,
    ) -> Self {
        Notifications {
            service,
            claims,
            outbound,
            tracking_url: tracking_url.into(),
            links: None,
        }
    }

    /// When `event`'s notifications are decided: once its tenant's collapse
    /// window has passed. `None` if it is no news to a customer.
    pub fn due(&self, event: &Event) -> Option<DateTime<Utc>> {
        notify::news(event)?;
        Some(self.due_at(&event.tenant, event.recorded_at))
    }

    /// When news of `tenant` recorded at `recorded_at` is decided.
    pub fn due_at(&self, tenant: &str, recorded_at: DateTime<Utc>) -> DateTime<Utc> {
        let policy = &self.service.tenants.settings(tenant).notifications;
        recorded_at + Duration::seconds(i64::from(policy.collapse_seconds))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.service.clock.now()
    }

    /// Signs the "my orders" links messages carry (none without a key).
    pub fn with_links(mut self, key: LinkKey) -> Self {
        self.links = Some(key);
        self
    }

    /// The customer's "my orders" page, open for [`LINK_LIFETIME`] from now.
    fn orders_link(&self, public_id: &str, now: DateTime<Utc>) -> Option<String> {
        let link = self.links.as_ref()?.sign(public_id, now + LINK_LIFETIME);
        Some(format!(
            "{}/my/{link}",
            self.tracking_url.trim_end_matches('/')
        ))
    }

    /// Decides, sends and records the notifications of the event `event_id`
    /// of order `order_id`; the records made now (none for what was decided
    /// before, or for an event that is no news).
    pub async fn notify(
        &self,
        order_id: &str,
        event_id: &str,
    ) -> Result<Vec<NotificationRecord>, ServiceError> {
        let store = &self.service.store;
        let Some(loaded) = store.load(order_id).await? else {
            return Ok(Vec::new());
        };
        let mut head = self.service.opened(loaded.head).await?;
        super::personal::reachable(&mut head.contact);
        let log = store.events(order_id, 0, MAX_LOG).await?;
        let Some(event) = log.iter().find(|e| e.event_id == event_id) else {
            return Ok(Vec::new());
        };
        let settings = self.service.tenants.settings(&head.tenant);
        let policy = &settings.notifications;
        let lifecycle = self.service.lifecycle(&head.lifecycle)?;
        let now = self.now();
        let mut records = Vec::new();
        for (channel, news, verdict) in notify::decide(event, &head, &log, policy, now) {
            let key = format!("{}/{event_id}:{}", head.tenant, channel.as_str());
            if !self.claims.claim(&key, now + CLAIM_KEPT).await? {
                continue;
            }
            let mut record = NotificationRecord {
                about: event_id.to_string(),
                news,
                channel,
                message_id: None,
                suppressed: None,
                detail: None,
            };
            match verdict {
                Verdict::Send => {
                    let view = TrackingView::new(&head, &log, &lifecycle);
                    let sender = policy.sender.as_deref().unwrap_or(&head.tenant);
                    let all_orders = self.orders_link(&head.public_id, now);
                    let message = message::render(
                        channel,
                        &head,
                        &view,
                        sender,
                        &self.tracking_url,
                        all_orders.as_deref(),
                    );
                    let sent = match message {
                        // A provider's refusal may quote the address; the
                        // log keeps the reason without it.
                        Some(message) => self
                            .outbound
                            .send(&head.tenant, &message)
                            .await
                            .map_err(|e| e.replace(&message.to, "[recipient]")),
                        None => Err("no address".to_string()),
                    };
                    match sent {
                        Ok(id) => record.message_id = Some(id),
                        Err(e) => {
                            record.suppressed = Some(crate::order::Suppressed::ProviderError);
                            record.detail = Some(e);
                        }
                    }
                }
                Verdict::Suppress(why, detail) => {
                    record.suppressed = Some(why);
                    record.detail = detail;
                }
            }
            let outcome = if record.sent() { "sent" } else { "suppressed" };
            metrics::count(Metric::Notifications, outcome, 1);
            self.record(&head.id, &key, record.clone()).await?;
            records.push(record);
        }
        Ok(records)
    }

    /// Commits a record under the dedupe marker of its claim: recorded once.
    async fn record(
        &self,
        order_id: &str,
        key: &str,
        record: NotificationRecord,
    ) -> Result<(), ServiceError> {
        let origin = Origin {
            source: "system".into(),
            actor_kind: Actor::System,
            actor: Some("notifier".into()),
            external_id: Some(key.to_string()),
        };
        let now = self.now();
        let recorded = self
            .service
            .run(
                Target::Any(order_id),
                OnRace::Retry,
                |loaded, lifecycle, _| {
                    let decision = decide::record_notification(
                        &loaded.head,
                        lifecycle,
                        &origin,
                        record.clone(),
                        now,
                    );
                    let commit = Commit {
                        dedupe: Some(("notifier".into(), key.to_string())),
                        ..Commit::of(decision)
                    };
                    Ok(Attempt::Commit(Box::new(commit), ()))
                },
            )
            .await;
        match recorded {
            Ok(()) | Err(ServiceError::Store(StoreError::Duplicate)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
