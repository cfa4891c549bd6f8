//! What an order records about telling its customer: the customer's own
//! choices (opted out, or which news by which channel), and each decision
//! the notifier made — a message sent, with the provider's id, or not sent
//! and why — so "why didn't the customer get an email?" has an answer on
//! the order's log.

use serde::{Deserialize, Serialize};

/// How a customer is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// The customer's choices for one order, from the tracking page. A
/// channel's list of kinds of news (`placed`, a status, `delayed`, or `*`)
/// replaces the store's for that channel; none keeps the store's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotifyPrefs {
    #[serde(default)]
    pub opted_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<Vec<String>>,
}

impl NotifyPrefs {
    /// The customer's own list for `channel`, if they chose one.
    pub fn kinds(&self, channel: Channel) -> Option<&[String]> {
        match channel {
            Channel::Email => self.email.as_deref(),
            Channel::Sms => self.sms.as_deref(),
        }
    }
}

/// Why a customer was not told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Suppressed {
    /// The customer turned updates off for this order.
    OptedOut,
    /// The fact arrived after the order had moved past it.
    LateFact,
    /// A later move came within the collapse window; its message tells both.
    Collapsed,
    /// The order has no address or number for the channel.
    NoContact,
    /// The customer was already told this.
    AlreadyTold,
    /// The provider refused or failed.
    ProviderError,
    /// Sending was interrupted: the message may or may not have gone.
    Interrupted,
}

/// One decision about telling the customer one event's news by one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationRecord {
    /// The event whose news it was.
    pub about: String,
    /// The kind of news: `placed`, the status reached, `delayed`.
    pub news: String,
    pub channel: Channel,
    /// The provider's message id, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Why not, when not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
    /// More on why not (a provider's error, the later event it collapsed into).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl NotificationRecord {
    pub fn sent(&self) -> bool {
        self.message_id.is_some()
    }
}
