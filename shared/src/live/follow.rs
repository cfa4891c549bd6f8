//! The one loop every live stream runs, whatever carries it: the body of an
//! SSE response, or a WebSocket.
//!
//! The stream is the response body itself: no task and no queue per
//! subscriber, only the channel's own state, its place on the hub and the
//! frames of a catch-up being sent. The body carries the channel's shared
//! frames as they are (axum's `Sse` would build each subscriber an event of
//! its own, a copy of the bytes). A client that reads slowly stops its
//! body being polled; the hub keeps at most its channel's backlog for it,
//! and once it falls further behind it catches up from the store, so it
//! loses nothing and nothing is buffered for it without bound.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::live::{until, Channel, Frame, Live, Subscription, Update, HEARTBEAT, POLL_EVERY};

/// What an idle stream sends so proxies keep it open: an SSE comment.
const HEARTBEAT_FRAME: Bytes = Bytes::from_static(b":\n\n");

/// What a follower sends next.
pub enum Out {
    /// A message of the channel.
    Frame(Frame),
    /// Nothing was sent for a while: something that keeps proxies from
    /// closing the connection (an SSE comment, a WebSocket ping).
    Heartbeat,
}

/// Follows `channel` until `ends` (or for as long as it is polled): what
/// the client missed first, then the hub's news as it is published
/// (locally) or what a poll of the store finds (Lambda), with a heartbeat
/// whenever nothing was sent for a while. Each transport sends it its way:
/// [`respond`] as Server-Sent Events, the local stack's WebSocket as text
/// messages.
///
/// The channel is followed on the hub before anything is read, so nothing
/// committed while the catch-up reads is missed.
pub fn follow(
    live: &Live,
    ends: Option<Instant>,
    channel: impl Channel,
) -> impl Stream<Item = Out> + Send + 'static {
    let follow = Follow {
        feed: live.subscribe(channel.name()),
        channel,
        ends,
        pending: VecDeque::new(),
        catch_up: true,
        quiet_until: Instant::now() + HEARTBEAT,
    };
    futures_util::stream::unfold(follow, |mut follow| async move {
        let out = follow.next().await?;
        follow.quiet_until = Instant::now() + HEARTBEAT;
        Some((out, follow))
    })
    // Once ended it stays ended, whoever polls it again.
    .fuse()
}

/// Streams `channel` as Server-Sent Events until the client goes or `ends`
/// (see [`follow`]).
pub fn respond(live: &Live, ends: Option<Instant>, channel: impl Channel) -> Response {
    let frames = follow(live, ends, channel).map(|out| {
        Ok::<_, Infallible>(match out {
            Out::Frame(frame) => frame.into_bytes(),
            Out::Heartbeat => HEARTBEAT_FRAME,
        })
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

struct Follow<C> {
    channel: C,
    /// `None` on Lambda: poll the store instead.
    feed: Option<Subscription>,
    ends: Option<Instant>,
    /// A catch-up's frames not sent yet.
    pending: VecDeque<Frame>,
    /// Whether the store must be read before the next frame.
    catch_up: bool,
    /// When the next heartbeat is due, unless a frame goes first.
    quiet_until: Instant,
}

impl<C: Channel> Follow<C> {
    /// What to send next; `None` ends the stream.
    async fn next(&mut self) -> Option<Out> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(Out::Frame(frame));
            }
            if std::mem::take(&mut self.catch_up) {
                self.pending = self.channel.catch_up().await?.into();
                continue;
            }
            let heartbeat = tokio::time::sleep_until(self.quiet_until.into());
            let end = until(self.ends);
            let Some(feed) = &mut self.feed else {
                tokio::select! {
                    _ = tokio::time::sleep(POLL_EVERY) => self.catch_up = true,
                    _ = heartbeat => return Some(Out::Heartbeat),
                    _ = end => return None,
                }
                continue;
            };
            let news = tokio::select! {
                news = feed.recv() => news,
                _ = heartbeat => return Some(Out::Heartbeat),
                _ = end => return None,
            };
            match news {
                Ok(news) => match self.channel.news(&news).await {
                    Update::Send(frame) => return Some(Out::Frame(frame)),
                    Update::Nothing => {}
                    Update::CatchUp => self.catch_up = true,
                },
                Err(RecvError::Lagged(_)) => self.catch_up = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
