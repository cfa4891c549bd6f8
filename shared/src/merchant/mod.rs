//! Merchant webhooks: a tenant's own systems follow its orders. A tenant
//! registers endpoints; every event an endpoint wants is POSTed to it as
//! its [`Envelope`](crate::bus::Envelope), signed ([`signature`]), retried
//! on a schedule for a little over three days ([`schedule`]), each attempt
//! logged ([`delivery`]); an endpoint whose deliveries keep failing is
//! disabled. Never to an address inside our network ([`address`]).
//!
//! Pure: what an endpoint is ([`endpoint`]), what a delivery is, when it is
//! tried again. Sending and storing are the ports' (`MerchantStore`,
//! `Post`); the service ties them together.

pub mod address;
pub mod delivery;
pub mod endpoint;
pub mod schedule;
pub mod signature;

pub use delivery::{Attempt, Delivery, DeliveryState};
pub use endpoint::{Endpoint, NewEndpoint, UrlPolicy};
