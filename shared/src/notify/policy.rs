//! What is news to a customer, and what a store tells by which channel.

use serde::{Deserialize, Serialize};

use crate::lifecycle::{Lifecycle, ShipmentStatus};
use crate::order::{Channel, Disposition, Event, EventBody, Head, NotifyPrefs};
use crate::views::CustomerNotifications;

/// The kind of news an event is for its customer: `placed` (with the
/// tracking link), the status an applied or late fact reached, or
/// `delayed` (a carrier's delay or exception). `None`: nothing to tell.
pub fn news(event: &Event) -> Option<String> {
    match &event.body {
        EventBody::OrderPlaced(_) => Some("placed".into()),
        EventBody::StatusFact(f) => match f.disposition {
            Disposition::Applied | Disposition::Late => Some(f.target.clone()),
            _ => None,
        },
        EventBody::ShipmentUpdated(news) => (news.status == ShipmentStatus::Delayed
            || news.status.is_exception())
        .then(|| "delayed".into()),
        _ => None,
    }
}

/// A store's notifications (per tenant, in the tenants file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationPolicy {
    /// The name messages are sent in; the tenant's id when unset.
    #[serde(default)]
    pub sender: Option<String>,
    /// Kinds of news sent by email (`placed`, a status, `delayed`; `*`: all).
    #[serde(default = "all")]
    pub email: Vec<String>,
    /// Kinds of news sent by SMS; none unless the store chooses.
    #[serde(default)]
    pub sms: Vec<String>,
    /// Moves within this many seconds of the next one are told in that
    /// one's message only.
    #[serde(default = "collapse")]
    pub collapse_seconds: u32,
    /// The store's own address: told when one of its merchant webhook
    /// endpoints is disabled.
    #[serde(default)]
    pub alerts_email: Option<String>,
}

fn all() -> Vec<String> {
    vec!["*".into()]
}

fn collapse() -> u32 {
    60
}

impl Default for NotificationPolicy {
    fn default() -> Self {
        NotificationPolicy {
            sender: None,
            email: all(),
            sms: Vec::new(),
            collapse_seconds: collapse(),
            alerts_email: None,
        }
    }
}

impl NotificationPolicy {
    /// Whether `news` goes by `channel`, by the customer's choice where
    /// they made one, else the store's.
    pub fn wants(&self, channel: Channel, news: &str, prefs: Option<&NotifyPrefs>) -> bool {
        let store = match channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
        };
        let kinds = prefs.and_then(|p| p.kinds(channel)).unwrap_or(store);
        kinds.iter().any(|k| k == "*" || k == news)
    }
}

/// The tracking page's notification settings for `head`: the kinds of news
/// its lifecycle can bring, and which each channel carries now.
pub fn settings(
    head: &Head,
    lifecycle: &Lifecycle,
    policy: &NotificationPolicy,
) -> CustomerNotifications {
    let mut news = vec!["placed".to_string()];
    news.extend(lifecycle.definition().states.iter().map(|s| s.name.clone()));
    news.push("delayed".into());
    let prefs = head.notify.as_ref();
    let on = |channel: Channel| -> Vec<String> {
        news.iter()
            .filter(|n| policy.wants(channel, n, prefs))
            .cloned()
            .collect()
    };
    CustomerNotifications {
        opted_out: prefs.is_some_and(|p| p.opted_out),
        email: on(Channel::Email),
        sms: on(Channel::Sms),
        can_email: head.contact.email.is_some(),
        can_sms: head.contact.phone.is_some(),
        news,
    }
}
