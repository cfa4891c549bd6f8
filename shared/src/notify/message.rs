//! The words a customer gets: the tracking page's own honest message for
//! the order's state, in the store's name, always with the tracking link.

use crate::order::{Channel, Head};
use crate::views::TrackingView;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub channel: Channel,
    /// An email address or a phone number.
    pub to: String,
    /// The sender's name (the store's).
    pub from: String,
    /// Email only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
}

/// The message telling `head`'s customer how their order stands, as
/// `view` says it, by `channel`; `None` without an address or number. An
/// email also carries `all_orders`, the customer's signed "my orders" link,
/// when there is one.
pub fn render(
    channel: Channel,
    head: &Head,
    view: &TrackingView,
    sender: &str,
    tracking_url: &str,
    all_orders: Option<&str>,
) -> Option<Message> {
    let link = format!(
        "{}/t/{}",
        tracking_url.trim_end_matches('/'),
        head.public_id
    );
    let (to, subject, text) = match channel {
        Channel::Email => {
            let mut text = format!("{}\n\n{}\n", view.label, view.message);
            if let (Some(by), false) = (view.expected_by, view.terminal) {
                text.push_str(&format!(
                    "Expected by {}.\n",
                    by.format("%A %-d %B, %H:%M UTC")
                ));
            }
            text.push_str(&format!("\nFollow your order: {link}\n"));
            if let Some(all) = all_orders {
                text.push_str(&format!("All your orders with us: {all}\n"));
            }
            text.push_str(&format!(
                "\n— {sender}\n\nTo stop these messages, open the link and turn updates off.\n"
            ));
            let subject = format!("{sender}: {}", view.label);
            (head.contact.email.clone()?, Some(subject), text)
        }
        Channel::Sms => {
            let text = format!("{sender}: {}. {link}", view.label);
            (head.contact.phone.clone()?, None, text)
        }
    };
    Some(Message {
        channel,
        to,
        from: sender.to_string(),
        subject,
        text,
    })
}
