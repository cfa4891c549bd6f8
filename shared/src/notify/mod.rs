//! Customer notifications, decided: which events are news a customer may
//! be told ([`news`]), what the store and the customer asked for
//! ([`NotificationPolicy`], [`NotifyPrefs`](crate::order::NotifyPrefs)),
//! whether to tell them now or why not ([`decide`]), and the words
//! ([`message`]), built from the same honest messages the tracking page
//! shows. Pure: sending and remembering are the ports'; the service ties
//! them together.

pub mod decide;
pub mod message;
pub mod orders_link;
mod policy;

pub use decide::{decide, Verdict};
pub use message::Message;
pub use orders_link::{LinkError, LinkKey, LINK_LIFETIME};
pub use policy::{news, settings, NotificationPolicy};
