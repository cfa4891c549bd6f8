//! The live channels (`customer.<public_id>`, `store.<tenant>`): what each
//! says, and how a stream or a socket follows one.
//!
//! Locally, committed events reach subscribers from the in-process relay the
//! moment they are published, through the [`Hub`]: one broadcast per
//! channel, so an event wakes only the streams and sockets that follow its
//! order or its tenant, and is serialized once per channel into a [`Frame`]
//! that every subscriber shares. On AWS the pages follow the WebSocket API
//! (the `live` function's fan-out renders the same frames); where a socket
//! cannot open, an SSE stream on Lambda catches up from the table and then
//! polls the order's head until its time budget runs out, ending before the
//! invocation's deadline so the browser reconnects with `Last-Event-ID` and
//! loses nothing.
//!
//! - `hub`: the in-process fan-out and its channels ([`Hub`], [`News`]);
//! - [`CustomerChannel`]: what a customer's stream says;
//! - `store`: what the board's store channel says ([`store_channel`]);
//! - `follow`: the one stream loop for the board and the customer (catch
//!   up, then follow the hub or poll the store), as an HTTP response
//!   ([`respond`]).

mod customer;
mod follow;
mod hub;
mod store;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Bytes;
use serde::Serialize;

use crate::deadline::Deadline;

pub use customer::{customer_frame, customer_update, CustomerChannel, CustomerUpdate};
pub use follow::{follow, respond, Out};
pub use hub::{ChannelName, Hub, News, Subscription};
pub use store::{store_channel, store_frame};

/// How often a polling stream looks for news.
pub const POLL_EVERY: Duration = Duration::from_millis(1000);
/// How often an idle stream sends a comment so proxies keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Where a stream's news comes from, and for how long it may run.
#[derive(Clone, Default)]
pub struct Live {
    hub: Option<Arc<Hub>>,
    /// How long one stream may last (Lambda); `None` for as long as the client stays.
    budget: Option<Duration>,
    /// Where the pages open the live channels' WebSocket, if anywhere:
    /// `/live` on the local stack, the WebSocket API's `wss://` URL on AWS.
    socket: Option<Arc<str>>,
}

impl Live {
    /// Fed by the in-process relay.
    pub fn in_process(hub: Arc<Hub>) -> Self {
        Live {
            hub: Some(hub),
            budget: None,
            socket: None,
        }
    }

    /// No shared feed: streams poll the store and end after `budget`.
    pub fn polling(budget: Duration) -> Self {
        Live {
            hub: None,
            budget: Some(budget),
            socket: None,
        }
    }

    /// The pages open the WebSocket at `url` first, and fall back to SSE
    /// where it cannot be opened.
    pub fn with_socket(mut self, url: &str) -> Self {
        self.socket = Some(url.into());
        self
    }

    pub fn socket(&self) -> Option<&str> {
        self.socket.as_deref()
    }

    /// Follows `name` on the hub; `None` when there is no hub (Lambda).
    pub fn subscribe(&self, name: ChannelName) -> Option<Subscription> {
        self.hub.as_ref().map(|hub| hub.subscribe(name))
    }

    /// When a stream starting now ends: once its budget is spent, and in any
    /// case in time to answer before the request's deadline; `None` while
    /// the client stays (the local stack).
    pub fn ends_at(&self, deadline: Option<Deadline>) -> Option<Instant> {
        let by_budget = self.budget.map(|budget| Instant::now() + budget);
        let by_deadline = deadline.map(Deadline::wrap_up_by);
        by_budget.into_iter().chain(by_deadline).min()
    }
}

/// Resolves at `end`, or never.
pub async fn until(end: Option<Instant>) {
    match end {
        Some(end) => tokio::time::sleep_until(end.into()).await,
        None => std::future::pending().await,
    }
}

/// One message as it goes on the wire, in both of the wire's forms: a
/// Server-Sent Event, and the same id, name and data as one WebSocket text
/// message, `{"id":…,"event":…,"data":…}`. Built once per event and
/// channel, its data serialized once for both, then shared: every
/// subscriber sends the same `Bytes`, and a clone costs reference counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    id: Arc<str>,
    sse: Bytes,
    text: Bytes,
}

impl Frame {
    /// A message with an `id`, an `event` name and its data as one line of
    /// JSON (serde_json escapes every line break inside strings, so one
    /// `data:` line holds it). `None` if the data does not serialize, or if
    /// the id or name holds a line break, which would forge a field.
    pub fn json(id: &str, event: &str, data: &impl Serialize) -> Option<Frame> {
        let breaks = |s: &str| s.contains(['\n', '\r']);
        if breaks(id) || breaks(event) {
            return None;
        }
        let data = serde_json::to_vec(data).ok()?;
        let mut sse = Vec::with_capacity(data.len() + id.len() + event.len() + 24);
        for (field, value) in [("id: ", id), ("\nevent: ", event), ("\ndata: ", "")] {
            sse.extend_from_slice(field.as_bytes());
            sse.extend_from_slice(value.as_bytes());
        }
        sse.extend_from_slice(&data);
        sse.extend_from_slice(b"\n\n");
        let mut text = Vec::with_capacity(data.len() + id.len() + event.len() + 32);
        text.extend_from_slice(b"{\"id\":");
        serde_json::to_writer(&mut text, id).ok()?;
        text.extend_from_slice(b",\"event\":");
        serde_json::to_writer(&mut text, event).ok()?;
        text.extend_from_slice(b",\"data\":");
        text.extend_from_slice(&data);
        text.push(b'}');
        Some(Frame {
            id: id.into(),
            sse: sse.into(),
            text: text.into(),
        })
    }

    /// The message's id: what a reconnecting client sends as `Last-Event-ID`
    /// (or `last_event_id` on a WebSocket).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The Server-Sent Event.
    pub fn bytes(&self) -> &Bytes {
        &self.sse
    }

    pub fn into_bytes(self) -> Bytes {
        self.sse
    }

    /// The WebSocket text message: UTF-8 JSON.
    pub fn text(&self) -> &Bytes {
        &self.text
    }
}

/// What one committed event brings one subscriber.
#[derive(Debug, PartialEq)]
pub enum Update {
    /// This frame (shared with the channel's other subscribers).
    Send(Frame),
    /// Nothing: not news for this client, or its catch-up already sent it.
    Nothing,
    /// The client missed something: read what it has not seen from the store.
    CatchUp,
}

/// What one live channel sends: the board's store channel or a customer's
/// order. The loop that drives it ([`respond`]) is the same for both.
#[async_trait]
pub trait Channel: Send + 'static {
    /// Its name on the hub; only events of this channel reach it.
    fn name(&self) -> ChannelName;
    /// The frames the client has not seen yet (everything since its
    /// `Last-Event-ID` on the first call, since the last frame after);
    /// `None` if the store cannot say, which ends the stream, and the
    /// client reconnects with `Last-Event-ID`.
    async fn catch_up(&mut self) -> Option<Vec<Frame>>;
    /// What one committed event of the channel brings this client. Render
    /// through [`News::frame`], so the channel's subscribers share one frame.
    async fn news(&mut self, news: &News) -> Update;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadline::MARGIN;

    #[test]
    fn a_polling_stream_ends_with_its_budget_or_before_the_deadline_whichever_is_first() {
        let live = Live::polling(Duration::from_secs(20));
        let now = Instant::now();

        let without_deadline = live.ends_at(None).unwrap();
        assert!(without_deadline >= now + Duration::from_secs(20));

        let long = Deadline::at(now + Duration::from_secs(60));
        let by_budget = live.ends_at(Some(long)).unwrap();
        assert!(
            by_budget < now + Duration::from_secs(21),
            "the budget caps it"
        );

        let short = Deadline::at(now + Duration::from_secs(5));
        let by_deadline = live.ends_at(Some(short)).unwrap();
        assert!(by_deadline <= now + Duration::from_secs(5) - MARGIN);
        assert!(by_deadline >= now + Duration::from_secs(2));
    }

    #[test]
    fn an_in_process_stream_lasts_as_long_as_the_client_unless_a_deadline_says_otherwise() {
        let live = Live::in_process(Arc::new(Hub::default()));
        assert_eq!(live.ends_at(None), None);
        let deadline = Deadline::at(Instant::now() + Duration::from_secs(5));
        let end = live
            .ends_at(Some(deadline))
            .expect("the deadline bounds it");
        assert!(end <= deadline.instant() - MARGIN);
    }

    #[test]
    fn a_frame_is_one_sse_message_and_refuses_a_line_break_that_would_forge_a_field() {
        let frame = Frame::json("7", "status", &serde_json::json!({"note": "a\nb"})).unwrap();
        assert_eq!(
            std::str::from_utf8(frame.bytes()).unwrap(),
            "id: 7\nevent: status\ndata: {\"note\":\"a\\nb\"}\n\n"
        );
        assert_eq!(frame.id(), "7");
        let text: serde_json::Value = serde_json::from_slice(frame.text()).unwrap();
        assert_eq!(
            text,
            serde_json::json!({"id": "7", "event": "status", "data": {"note": "a\nb"}})
        );
        assert_eq!(Frame::json("7\ndata: x", "status", &1), None);
        assert_eq!(Frame::json("7", "status\r", &1), None);
    }
}
